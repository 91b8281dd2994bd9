/**
 * Stock compatibility through a real Hypha server: a plain hypha-rpc JS client and a stock Python
 * client (plain hypha_rpc, its own process) keep working with hypha-arrow peers in every
 * direction, small values and ones over 1 MiB (so chunking runs each way), exactly and without
 * one hybrid frame reaching them. And a call sent hybrid to a client id a stock client took over
 * is refused by it and sent again, stock.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { Table, Utf8, vectorFromArray } from "apache-arrow";
import { hyphaWebsocketClient } from "hypha-rpc";
import { NDArray, connectToServer } from "../src/index.js";
import { ARRAYS, ndarray, sha256 } from "./support/kinds.js";
import { startPython, stop } from "./support/processes.js";
import { onlyHybridPeersRead, recording } from "./support/recording.js";

const LARGE = 500_000; // float64: 4 MB, over the 1 MiB frame limit
let python;
let stockPython;
let ids;
let client;
let arrowJs;
let arrowJsId;
let plain;
const plainFrames = [];

const steps = (n) => Float64Array.from({ length: n }, (_, k) => k / 3);
const config = () => ({ server_url: ids.url, method_timeout: 60, logger: null });

before(async () => {
  globalThis.WebSocket = WebSocket;
  python = await startPython("python_service.py");
  ids = python.info;
  stockPython = await startPython("stock_python_client.py", [ids.url]);
  client = await connectToServer(config());
  arrowJs = await connectToServer(config());
  arrowJsId = (
    await arrowJs.registerService({
      id: "arrow-js",
      config: { visibility: "public" },
      echo: (value) => value,
      digest: (value) => ({ type: value?.constructor?.name, sha256: sha256(value instanceof NDArray ? value.data : value) }),
      steps: (n) => new NDArray(steps(n), [n]),
      small: () => ndarray("i4_small"),
      table: () => new Table({ s: vectorFromArray(["a", "b"], new Utf8()) }),
    })
  ).id;
  // (stock hypha-rpc JS starts a chunked call's timer once its chunks are sent, even when the reply came first: a short timeout lets Node exit soon after)
  plain = await hyphaWebsocketClient.connectToServer({ ...config(), method_timeout: 10, WebSocketClass: recording(plainFrames) });
});

after(async () => {
  for (const server of [client, arrowJs, plain]) await server?.disconnect();
  await stop(stockPython?.child);
  await stop(python?.child);
});

/** The bytes of hypha-rpc's `{_rtype: "ndarray"}` form, checked to be that form. */
function stockBytes(form, dtype, shape) {
  assert.equal(form?._rtype, "ndarray", "hypha-rpc's ndarray form");
  assert.deepEqual([form._rdtype, form._rshape], [dtype, shape]);
  return form._rvalue;
}

describe("a plain hypha-rpc JS client", () => {
  test("gets a hypha_arrow Python service's arrays in hypha-rpc's form, small and chunked, exactly", async () => {
    const data = await plain.getService(ids.service);
    assert.equal(sha256(stockBytes(await data.make("f8"), "float64", [2000])), sha256(ARRAYS.f8[3]));
    assert.equal(sha256(stockBytes(await data.big(LARGE), "float64", [LARGE])), await data.big_digest(LARGE));
  });

  test("sends a hypha_arrow Python service TypedArrays, small and chunked, that arrive exactly", async () => {
    const data = await plain.getService(ids.service);
    assert.deepEqual(await data.check("f8", ARRAYS.f8[3]), { type: "ndarray", equal: true });
    const large = steps(LARGE);
    assert.deepEqual(await data.digest_of(large), { type: "ndarray", dtype: "<f8", shape: [LARGE], sha256: sha256(large) });
  });

  test("gets a hypha-arrow JS service's NDArrays in hypha-rpc's form, small and chunked, exactly", async () => {
    const service = await plain.getService(arrowJsId);
    assert.deepEqual(Array.from(new Int32Array(stockBytes(await service.small(), "int32", [6]).slice().buffer)), [0, 1, 2, 3, 4, 5]);
    assert.equal(sha256(stockBytes(await service.steps(LARGE), "float64", [LARGE])), sha256(steps(LARGE)));
  });

  test("sends a hypha-arrow JS service TypedArrays, small and chunked, that arrive exactly", async () => {
    const service = await plain.getService(arrowJsId);
    assert.deepEqual(await service.digest(ARRAYS.f8[3]), { type: "Float64Array", sha256: sha256(ARRAYS.f8[3]) });
    assert.deepEqual(await service.digest(steps(LARGE)), { type: "Float64Array", sha256: sha256(steps(LARGE)) });
  });

  test("is told clearly that a Table cannot come to it, instead of a timeout", async () => {
    const service = await plain.getService(arrowJsId);
    await assert.rejects(service.table(), /can only be sent to a peer that reads hybrid frames/);
  });

  test("never received a frame only a hypha_arrow peer reads", () => {
    assert.ok(plainFrames.length > 20);
    assert.deepEqual(plainFrames.filter(onlyHybridPeersRead).length, 0);
  });
});

describe("a stock Python client", () => {
  test("called by hypha-arrow JS: NDArrays of every numeric dtype go in hypha-rpc's form and come back exactly", async () => {
    const stock = await client.getService(stockPython.info.service);
    for (const kind of Object.keys(ARRAYS).filter((name) => name !== "U")) {
      const [, dtype, shape, data] = ARRAYS[kind];
      const back = await stock.echo(ndarray(kind));
      assert.ok(back instanceof NDArray, kind);
      assert.deepEqual([back.dtype, back.shape], [dtype, shape], kind);
      if (kind !== "f8_F") assert.deepEqual(Array.from(back.data), Array.from(data), kind);
      else assert.deepEqual(await stock.digest_of(ndarray(kind)), { type: "ndarray", dtype, shape, sha256: sha256(cOrder(data, 40, 50)) });
    }
  });

  test("called by hypha-arrow JS: a 4 MB NDArray goes to it in stock chunks and one comes back, exactly", async () => {
    const stock = await client.getService(stockPython.info.service);
    const large = steps(LARGE);
    assert.deepEqual(await stock.digest_of(new NDArray(large, [LARGE])), { type: "ndarray", dtype: "<f8", shape: [LARGE], sha256: sha256(large) });
    assert.deepEqual(await stock.digest_of(large), { type: "ndarray", dtype: "<f8", shape: [LARGE], sha256: sha256(large) }, "a bare Float64Array");
    const back = await stock.steps(LARGE);
    assert.ok(back instanceof NDArray && back.data instanceof Float64Array);
    assert.equal(sha256(back.data), await stock.steps_digest(LARGE));
  });

  test("called by hypha-arrow JS with a Table: an EncodeError naming why, at once", async () => {
    const stock = await client.getService(stockPython.info.service);
    await assert.rejects(stock.echo(new Table({ s: vectorFromArray(["a"], new Utf8()) })), /EncodeError: args\[0\]: a Table can only be sent to a peer that reads hybrid frames/);
  });

  test("calling a hypha-arrow JS service: arrays of the table go and come back exactly", async () => {
    const stock = await client.getService(stockPython.info.service);
    // (stock hypha-rpc delivers every array in C order: a Fortran one arrives with equal values, as stock JS sends it)
    for (const kind of ["f8", "f4", "i8", "u8", "b1", "M8", "m8", "i4_small"]) {
      assert.deepEqual(await stock.call_js(arrowJsId, kind), { type: "ndarray", equal: true }, kind);
    }
  });

  test("calling a hypha-arrow JS service: a 4 MB array goes in stock chunks and one comes back, exactly", async () => {
    const result = await (await client.getService(stockPython.info.service)).call_js_large(arrowJsId, LARGE);
    assert.equal(result.sent.sha256, result.expected);
    assert.deepEqual(result.back, { type: "ndarray", dtype: "<f8", shape: [LARGE], sha256: result.expected });
  });

  test("calling a hypha-arrow JS service that returns a Table: told why, not left to time out", async () => {
    const text = await (await client.getService(stockPython.info.service)).call_js_error(arrowJsId, "table");
    assert.match(text, /can only be sent to a peer that reads hybrid frames/);
  });

  test("never received a frame only a hypha_arrow peer reads", async () => {
    const seen = await (await client.getService(stockPython.info.service)).seen();
    assert.ok(seen.frames > 20);
    assert.equal(seen.hybrid, 0);
  });
});

describe("a client id taken over by a stock client", () => {
  // what reaches the stock client before the resend: the hybrid frame it refuses, or the `create` and `remove` of a `~ha~` key
  for (const [what, value, hybridFrames] of [["a small", () => ndarray("f8"), 1], ["a 4 MB", () => new NDArray(steps(LARGE), [LARGE]), 2]]) {
    test(`${what} call sent hybrid is refused by the stock client and sent again, stock`, async () => {
      // in the Python service's workspace: this client is not told when the first holder leaves
      const data = await client.getService(ids.service);
      const stock = await client.getService(stockPython.info.service);
      const arrow = await data.open_swap();
      const swap = await client.getService(arrow.id);
      const sent = value();
      const digest = { type: "ndarray", dtype: "<f8", shape: sent.shape, sha256: sha256(sent.data) };
      assert.deepEqual(await swap.describe(sent), { reader: "hypha_arrow", ...digest });
      await data.close_swap();
      assert.equal(await stock.open_swap(arrow.workspace, arrow.token), arrow.id);
      try {
        assert.deepEqual(await swap.describe(sent), { reader: "stock", ...digest });
        assert.equal((await stock.swap_seen()).hybrid, hybridFrames);
      } finally {
        await stock.close_swap();
      }
    });
  }

  test("in this client's workspace, the first holder's departure is announced: the next call goes stock at once", async () => {
    const data = await client.getService(ids.service);
    const stock = await client.getService(stockPython.info.service);
    const workspace = client.config.workspace;
    const token = await client.generateToken();
    const arrow = await data.open_swap(workspace, token);
    const swap = await client.getService(arrow.id);
    const sent = ndarray("f8");
    assert.equal((await swap.describe(sent)).reader, "hypha_arrow");
    await data.close_swap();
    await new Promise((resolve) => setTimeout(resolve, 1000)); // the server's client_disconnected event
    assert.equal(await stock.open_swap(workspace, token), arrow.id);
    try {
      assert.equal((await swap.describe(sent)).reader, "stock");
      assert.equal((await stock.swap_seen()).hybrid, 0);
    } finally {
      await stock.close_swap();
    }
  });
});

function cOrder(fortran, rows, cols) {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = fortran[c * rows + r];
  return out;
}
