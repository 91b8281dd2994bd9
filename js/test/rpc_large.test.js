/**
 * Large messages both ways through a real Hypha server (chunked, pipelined and paced): a 100 MB
 * float64 array and a 1e6-row DataFrame in each direction, checked exactly by digests computed on
 * both sides; and a chunked send the receiver refuses fails its call at once, with the reason.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import WebSocket from "ws";
import { Table, Utf8, vectorFromArray } from "apache-arrow";
import { NDArray, connectToServer } from "../src/index.js";
import { sha256 } from "./support/kinds.js";
import { startPython, stop } from "./support/processes.js";

const BIG = 12_500_000; // float64: 100 MB
const ROWS = 1_000_000;
let python;
let ids;
let client;
let jsServer;
let jsServiceId;

before(async () => {
  globalThis.WebSocket = WebSocket;
  python = await startPython("python_service.py");
  ids = python.info;
  client = await connectToServer({ server_url: ids.url, method_timeout: 120, logger: null });
  jsServer = await connectToServer({ server_url: ids.url, method_timeout: 120, logger: null });
  const service = { id: "js-echo", config: { visibility: "public" }, echo: (value) => value };
  jsServiceId = (await jsServer.registerService(service)).id;
});

after(async () => {
  await client?.disconnect();
  await jsServer?.disconnect();
  await stop(python?.child);
});

/** sha256 of each column as kinds.py's frame_digests computes it: numbers by their bytes, strings joined by newlines. */
function tableDigests(table) {
  const columns = {};
  for (const field of table.schema.fields) {
    const hash = createHash("sha256");
    const vector = table.getChild(field.name);
    if (["Utf8", "LargeUtf8"].includes(String(field.type))) {
      let first = true;
      for (const text of vector) {
        hash.update(first ? text : `\n${text}`);
        first = false;
      }
    } else {
      for (const data of vector.data) {
        const values = data.values.subarray(0, data.length);
        hash.update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
      }
    }
    columns[field.name] = hash.digest("hex");
  }
  return { rows: table.numRows, columns };
}

async function timed(t, what, work) {
  const start = performance.now();
  const result = await work();
  t.diagnostic(`${what}: ${Math.round(performance.now() - start)} ms`);
  return result;
}

test("a 100 MB float64 array from Python arrives exactly", async (t) => {
  const data = await client.getService(ids.service);
  const array = await timed(t, "100 MB, Python to JS", () => data.big(BIG));
  assert.ok(array instanceof NDArray && array.data instanceof Float64Array);
  assert.deepEqual(array.shape, [BIG]);
  assert.equal(sha256(array.data), await data.big_digest(BIG));
});

test("a 100 MB NDArray from JavaScript arrives in Python exactly", async (t) => {
  const data = await client.getService(ids.service);
  const values = Float64Array.from({ length: BIG }, (_, k) => k / 7);
  const report = await timed(t, "100 MB, JS to Python", () => data.digest_of(new NDArray(values, [BIG])));
  assert.deepEqual(report, { type: "ndarray", dtype: "<f8", shape: [BIG], sha256: sha256(values) });
});

test("a 1e6-row DataFrame from Python arrives as a Table, and goes back as an equal DataFrame", async (t) => {
  const data = await client.getService(ids.service);
  const table = await timed(t, "1e6-row DataFrame, Python to JS", () => data.frame_1m());
  assert.ok(table instanceof Table);
  assert.deepEqual(tableDigests(table), await data.frame_1m_digests());
  const report = await timed(t, "1e6-row Table (from the DataFrame), JS to Python", () => data.frame_report(table));
  assert.deepEqual(report, { type: "DataFrame", equal: true, ...(await data.frame_1m_digests()) });
});

test("a 1e6-row Table built in JavaScript arrives in Python exactly", async (t) => {
  const data = await client.getService(ids.service);
  const table = new Table({
    x: vectorFromArray(Float64Array.from({ length: ROWS }, (_, k) => k * 1.5)),
    name: vectorFromArray(Array.from({ length: ROWS }, (_, k) => `row ${k}`), new Utf8()),
  });
  const report = await timed(t, "1e6-row Table, JS to Python", () => data.frame_report(table));
  assert.deepEqual(report, { type: "Table", ...tableDigests(table) });
});

test("between two hypha-arrow JS clients: a 40 MB NDArray and a 1e6-row Table go and come back exactly, chunked", async (t) => {
  const echo = await client.getService(jsServiceId);
  const values = Float64Array.from({ length: 5_000_000 }, (_, k) => k * 0.25 - 3);
  const back = await timed(t, "40 MB, JS to JS and back", () => echo.echo(new NDArray(values, [5_000_000])));
  assert.ok(back instanceof NDArray && back.data instanceof Float64Array);
  assert.equal(sha256(back.data), sha256(values));
  const table = new Table({ x: vectorFromArray(Float64Array.from({ length: ROWS }, (_, k) => k / 9)), name: vectorFromArray(Array.from({ length: ROWS }, (_, k) => `n${k}`), new Utf8()) });
  const returned = await timed(t, "1e6-row Table, JS to JS and back", () => echo.echo(table));
  assert.ok(returned instanceof Table);
  assert.deepEqual(tableDigests(returned), tableDigests(table));
});

test("a bare 4 MB Float64Array, and a 2 MB string beside an NDArray, arrive exactly (the wrapper, not hypha-rpc, chunks them)", async () => {
  const data = await client.getService(ids.service);
  const bare = Float64Array.from({ length: 500_000 }, (_, k) => k - 0.5);
  assert.deepEqual(await data.digest_of(bare), { type: "ndarray", dtype: "<f8", shape: [500_000], sha256: sha256(bare) });
  const array = new NDArray(Float64Array.from({ length: 5000 }, (_, k) => k), [5000]);
  assert.deepEqual(await data.text_and_array("x".repeat(2 << 20), array), { text: 2 << 20, type: "ndarray", dtype: "<f8", shape: [5000], sha256: sha256(array.data) });
});

test("a chunked send the receiver refuses (over its max_message_bytes) fails the call at once, with the reason", async () => {
  const tight = await client.getService(ids.tight);
  const start = performance.now();
  await assert.rejects(tight.digest_of(new NDArray(new Float64Array(1_000_000), [1_000_000])), /max_message_bytes/);
  assert.ok(performance.now() - start < 10_000, "well before the method timeout");
});
