/**
 * Through a real Hypha server (started by a Python process, with a Python hypha_arrow service):
 * what a JavaScript client connected with `connectToServer` receives.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Table } from "apache-arrow";
import { EncodeError, NDArray, connectToServer } from "../src/index.js";
import { startPython, stop } from "./support/processes.js";

let python;
let server;
let client;

before(async () => {
  python = await startPython("python_service.py");
  server = python.info;
  client = await connectToServer({ server_url: server.url, method_timeout: 30, logger: null }); // Node 20: no WebSocket set up by hand
  assert.ok(globalThis.WebSocket, "connectToServer sets up the ws package, as hypha-rpc JS needs in Node");
});

after(async () => {
  await client?.disconnect();
  await stop(python?.child);
});

test("connectToServer checks its options before it connects", async () => {
  await assert.rejects(connectToServer({ server_url: server.url }, { arrow: { compression: "zstd" } }), EncodeError);
  await assert.rejects(connectToServer({ server_url: server.url }, { arrow: { binaryTreshold: 10 } }), /unknown option binaryTreshold/);
});

test("a DataFrame from a Python service arrives as an apache-arrow Table with its pandas metadata", async () => {
  const table = await (await client.getService(server.service)).frame();
  assert.ok(table instanceof Table);
  assert.equal(table.numRows, 5000);
  assert.deepEqual(table.schema.fields.map((f) => f.name), ["id", "x", "name"]);
  assert.equal(table.getChild("x").get(12), 1.5);
  assert.equal(table.getChild("name").get(4999), "n4999");
  assert.ok(table.schema.metadata.has("pandas"));
});

test("numpy arrays arrive as NDArrays, large ones as views of the frame and small ones from hypha-rpc's form", async () => {
  const data = await client.getService(server.service);
  const array = await data.array();
  assert.ok(array instanceof NDArray && array.data instanceof Float64Array);
  assert.deepEqual([array.dtype, array.shape, array.order], ["<f8", [250, 200], "C"]);
  assert.equal(array.data[49999], 49999);
  const small = await data.small();
  assert.ok(small instanceof NDArray);
  assert.deepEqual([small.dtype, small.shape, Array.from(small.data)], ["<i4", [6], [0, 1, 2, 3, 4, 5]]);
});

test("messages larger than a frame arrive through the message cache, joined and decoded by hypha-arrow", async () => {
  const data = await client.getService(server.service);
  const large = await data.large();
  assert.ok(large instanceof NDArray && large.data instanceof Float64Array);
  assert.deepEqual(large.shape, [2_500_000]);
  assert.equal(large.data[2_499_999], 2_499_999);
  const frame = await data.large_frame();
  assert.ok(frame instanceof Table);
  assert.equal(frame.numRows, 200_000);
  assert.equal(frame.getChild("x").get(199_999), 49_999.75);
});

test("NDArrays and a Table from a DataFrame go to a Python service in hybrid frames and arrive as numpy arrays and an equal DataFrame", async () => {
  const data = await client.getService(server.service);
  const array = new NDArray(new Float64Array(Array.from({ length: 6000 }, (_, i) => i)), [60, 100]);
  assert.deepEqual(await data.describe(array), { type: "ndarray", dtype: "<f8", shape: [60, 100], fortran: false, sum: 17997000 });
  const small = new NDArray(new Int32Array([1, 2, 3, 4, 5, 6]), [2, 3], "<i4", "F");
  assert.deepEqual(await data.describe(small), { type: "ndarray", dtype: "<i4", shape: [2, 3], fortran: true, sum: 21 });
  const table = await data.frame();
  assert.deepEqual(await data.describe(table), { type: "DataFrame", equal: true, rows: 5000 });
});

test("a 40 MB NDArray and a 200,000-row Table go to Python through its message cache", async () => {
  const data = await client.getService(server.service);
  const array = new NDArray(new Float64Array(5_000_000).fill(0.5), [5_000_000]);
  assert.deepEqual(await data.describe(array), { type: "ndarray", dtype: "<f8", shape: [5_000_000], fortran: false, sum: 2_500_000 });
  const frame = await data.large_frame();
  assert.deepEqual((await data.describe(frame)).rows, 200_000);
});
