/**
 * Every row of the value table, both ways, through a real Hypha server: a JavaScript
 * client calling a Python hypha_arrow service (Python to JS in returns, JS to Python in
 * arguments) and the Python service calling a JavaScript service (`through_js`); compressed
 * sections; callbacks and generators each way. Python checks what reaches it against its own
 * value exactly (support/kinds.py); JavaScript checks what reaches it against the same formulas.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { Int32, Table, Utf8, vectorFromArray } from "apache-arrow";
import { NDArray, connectToServer } from "../src/index.js";
import { ARRAYS, LISTS, RECORDS, ROWS, ndarray } from "./support/kinds.js";
import { startPython, stop } from "./support/processes.js";
import { recording } from "./support/recording.js";

let python;
let ids;
let client;
let tableClient;
let jsServer;
let jsService;
let strictServer;
let strictId;
const frames = { js: [] }; // every frame the JavaScript service's socket received
const received = []; // every value the JavaScript service's echo was given

before(async () => {
  globalThis.WebSocket = WebSocket;
  python = await startPython("python_service.py");
  ids = python.info;
  const config = { server_url: ids.url, method_timeout: 60, logger: null };
  client = await connectToServer(config);
  tableClient = await connectToServer(config, { arrow: { recordsAs: "table" } });
  jsServer = await connectToServer({ ...config, WebSocketClass: recording(frames.js) });
  jsService = await jsServer.registerService({
    id: "js",
    config: { visibility: "public" },
    echo(value) {
      received.push(value);
      return value;
    },
    apply: (callback, value) => callback(value),
    async *stream(count) {
      for (let k = 0; k < count; k++) yield ndarray("f8");
    },
  });
  strictServer = await connectToServer(config, { arrow: { maxSectionBytes: 4096 } });
  strictId = (await strictServer.registerService({ id: "strict", config: { visibility: "public" }, echo: (value) => value })).id;
});

after(async () => {
  for (const server of [client, tableClient, jsServer, strictServer]) await server?.disconnect();
  await stop(python?.child);
});

/** Assert `value` is the NDArray kinds.js describes for `kind`. */
function assertArray(kind, value) {
  const [View, dtype, shape, data, order = "C"] = ARRAYS[kind];
  assert.ok(value instanceof NDArray, `${kind}: an NDArray`);
  assert.equal(value.data.constructor, View, `${kind}: ${View.name}`);
  assert.deepEqual([value.dtype, value.shape, value.order], [dtype, shape, order], kind);
  assert.deepEqual(Array.from(value.data), Array.from(data), `${kind}: every element`);
}

describe("numpy arrays, Python to JavaScript and back", () => {
  for (const kind of Object.keys(ARRAYS)) {
    test(`${kind} arrives as an NDArray of its TypedArray and goes back as the same numpy array`, async () => {
      const data = await client.getService(ids.service);
      const value = await data.make(kind);
      assertArray(kind, value);
      assert.deepEqual(await data.check(kind, value), { type: "ndarray", equal: true });
    });
  }
});

describe("NDArrays built in JavaScript, to Python", () => {
  for (const kind of Object.keys(ARRAYS)) {
    test(`${kind} arrives as a numpy array of the same dtype, shape, order and elements`, async () => {
      const data = await client.getService(ids.service);
      assert.deepEqual(await data.check(kind, ndarray(kind)), { type: "ndarray", equal: true });
    });
  }

  test("a bare Float64Array or Int32Array above the threshold arrives as a 1-d numpy array", async () => {
    const data = await client.getService(ids.service);
    assert.deepEqual(await data.check("f8", ARRAYS.f8[3]), { type: "ndarray", equal: true });
    assert.deepEqual(await data.check("i4", ARRAYS.i4[3]), { type: "ndarray", equal: true });
  });
});

describe("DataFrame, Series, pyarrow Table and RecordBatch", () => {
  test("a DataFrame arrives as a Table with pandas metadata and goes back as an equal DataFrame", async () => {
    const data = await client.getService(ids.service);
    const table = await data.make("frame");
    assert.ok(table instanceof Table);
    assert.deepEqual(table.schema.fields.map((f) => f.name), ["id", "x", "name", "flag", "when"]);
    assert.equal(table.numRows, ROWS);
    assert.equal(table.getChild("x").get(2999), 2999 / 8);
    assert.equal(table.getChild("name").get(7), "n7");
    assert.equal(table.getChild("flag").get(3), false);
    assert.ok(table.schema.metadata.has("pandas"));
    assert.deepEqual(await data.check("frame", table), { type: "DataFrame", equal: true });
  });

  test("a Series arrives as a one-column Table and goes back as an equal Series", async () => {
    const data = await client.getService(ids.service);
    const table = await data.make("series");
    assert.ok(table instanceof Table);
    assert.equal(table.numCols, 1);
    assert.equal(table.getChildAt(0).get(5), 2.5);
    assert.deepEqual(await data.check("series", table), { type: "Series", equal: true });
  });

  test("a pyarrow Table and a RecordBatch arrive as Tables and go back equal", async () => {
    const data = await client.getService(ids.service);
    const table = await data.make("table");
    assert.ok(table instanceof Table);
    assert.deepEqual([table.numRows, table.getChild("a").get(2999), table.getChild("s").get(1)], [ROWS, 2999, "t1"]);
    assert.deepEqual(await data.check("table", table), { type: "Table", equal: true });
    const batch = await data.make("batch");
    assert.ok(batch instanceof Table);
    assert.deepEqual([batch.getChild("n").get(4), batch.getChild("odd").get(1)], [12n, true]);
    assert.equal((await data.check("batch", batch)).equal, true);
  });

  test("a Table built in JavaScript arrives in Python as a pyarrow Table", async () => {
    const data = await client.getService(ids.service);
    const a = Int32Array.from({ length: ROWS }, (_, k) => k);
    const table = new Table({ a: vectorFromArray(Array.from(a), new Int32()), s: vectorFromArray(Array.from({ length: ROWS }, (_, k) => `t${k}`), new Utf8()) });
    assert.deepEqual(await data.check("table", table), { type: "Table", equal: true });
  });
});

describe("lists and records", () => {
  for (const kind of Object.keys(LISTS)) {
    test(`a list of ${kind} arrives as an array and goes back as the same list`, async () => {
      const data = await client.getService(ids.service);
      const value = await data.make(kind);
      assert.ok(Array.isArray(value));
      assert.deepEqual(value, LISTS[kind]);
      assert.deepEqual(await data.check(kind, LISTS[kind]), { type: "list", equal: true });
    });
  }

  test("records arrive as plain objects and go back as a list of dicts", async () => {
    const data = await client.getService(ids.service);
    assert.deepEqual(await data.make("records"), RECORDS);
    assert.deepEqual(await data.check("records", RECORDS), { type: "list", equal: true });
  });

  test('with recordsAs "table", records arrive as a Table', async () => {
    const data = await tableClient.getService(ids.service);
    const table = await data.make("records");
    assert.ok(table instanceof Table);
    assert.equal(table.numRows, RECORDS.length);
    assert.deepEqual([table.getChild("id").get(499), table.getChild("x").get(499), table.getChild("name").get(499)], [499n, 124.875, "r499"]);
  });
});

describe("Python calling a JavaScript service", () => {
  test("the service's methods carry _rarrow, so Python's first call already comes hybrid", async () => {
    const before = frames.js.length;
    assert.deepEqual(await (await client.getService(ids.service)).through_js(jsService.id, "f8"), { type: "ndarray", equal: true });
    const call = frames.js.slice(before).find((frame) => new TextDecoder().decode(frame.subarray(0, 2000)).includes("services.js.echo"));
    assert.ok(call, "the call reached the JavaScript service");
    assert.ok(new TextDecoder().decode(call).includes("hypha_arrow column"), "the call was a hybrid frame");
  });

  for (const kind of [...Object.keys(ARRAYS), "frame", "table", ...Object.keys(LISTS), "records"]) {
    test(`${kind}: to JavaScript as an argument and back as the return value, exactly`, async () => {
      const data = await client.getService(ids.service);
      const result = await data.through_js(jsService.id, kind);
      assert.equal(result.equal, true, JSON.stringify(result));
      const arrived = received.at(-1);
      if (kind in ARRAYS) assertArray(kind, arrived);
      else if (kind in LISTS) assert.deepEqual(arrived, LISTS[kind]);
      else if (kind === "records") assert.deepEqual(arrived, RECORDS);
      else assert.ok(arrived instanceof Table);
    });
  }
});

describe("refusals", () => {
  test("a hybrid call a JavaScript service refuses (over its maxSectionBytes) fails at its Python caller at once, with the reason", async () => {
    const start = performance.now();
    const text = await (await client.getService(ids.service)).through_js_error(strictId, "f8");
    assert.match(text, /refused the call of services\.strict\.echo/);
    assert.match(text, /4096/);
    assert.ok(performance.now() - start < 10_000);
  });
});

describe("compressed sections from Python", () => {
  for (const [algorithm, magic] of [["lz4", [0x04, 0x22, 0x4d, 0x18]], ["zstd", [0x28, 0xb5, 0x2f, 0xfd]]]) {
    test(`${algorithm}: a 4 MB array arrives compressed in one small frame and decodes exactly`, async () => {
      const seen = [];
      const watcher = await connectToServer({ server_url: ids.url, logger: null, WebSocketClass: recording(seen) });
      try {
        const steps = await (await watcher.getService(ids[algorithm])).steps();
        assert.ok(steps instanceof NDArray && steps.data instanceof Float64Array);
        assert.equal(steps.data.length, 500_000);
        for (let k = 0; k < steps.data.length; k += 997) assert.equal(steps.data[k], Math.floor(k / 1000));
        const reply = seen.findLast((frame) => frame.length > 1000);
        assert.ok(reply.length < 400_000, `the frame is ${reply.length} bytes`);
        assert.ok(contains(reply, magic), `the frame holds ${algorithm}-compressed buffers`);
      } finally {
        await watcher.disconnect();
      }
    });
  }
});

function contains(bytes, pattern) {
  outer: for (let k = 0; k + pattern.length <= bytes.length; k++) {
    for (let m = 0; m < pattern.length; m++) if (bytes[k + m] !== pattern[m]) continue outer;
    return true;
  }
  return false;
}

describe("callbacks and generators", () => {
  test("a JavaScript callback passed to Python is called with an NDArray and its return goes back exactly", async () => {
    const data = await client.getService(ids.service);
    const arrived = [];
    const result = await data.call_back("i8", (value) => {
      arrived.push(value);
      return value;
    });
    assertArray("i8", arrived[0]);
    assert.deepEqual(result, { type: "ndarray", equal: true });
  });

  test("a Python callback is called by a JavaScript service with an array, which comes back exactly", async () => {
    const result = await (await client.getService(ids.service)).through_js_callback(jsService.id, "M8");
    assert.deepEqual(result, { callback: { type: "ndarray", equal: true }, back: { type: "ndarray", equal: true } });
  });

  test("an async generator of a Python service yields NDArrays to JavaScript", async () => {
    const items = [];
    for await (const item of await (await client.getService(ids.service)).stream("u8", 3)) items.push(item);
    assert.equal(items.length, 3);
    for (const item of items) assertArray("u8", item);
  });

  test("an async generator of a JavaScript service yields arrays to Python", async () => {
    const result = await (await client.getService(ids.service)).through_js_stream(jsService.id, 3);
    assert.deepEqual(result, Array(3).fill({ type: "ndarray", equal: true }));
  });
});
