/**
 * `transfers.js` with a compressed message: its `process` inflates in the worker
 * (`inflater.js`), delivers the decoded message, then answers; a message the limits refuse is
 * answered with the reason, as when decoded in one go.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { NDArray, encodeMessage } from "../src/index.js";
import { decodeObject, objectEnd } from "../src/msgpack.js";
import { Transfers } from "../src/rpc/transfers.js";

const OWNER = "ws-a/owner";
const KEY = "s1~ha~k1";
const values = Float64Array.from({ length: 300_000 }, (_, i) => i % 11);
const frame = encodeMessage({ type: "method", from: OWNER, to: "ws-c/me", method: "services.data.describe" }, { args: [new NDArray(values, [values.length])], with_kwargs: false }, { compression: "lz4" });

/** Send the compressed message in two chunks and process it; the replies and deliveries, and the promise `process` gave. */
function processed(options) {
  const replies = [];
  const delivered = [];
  const box = new Transfers(options, (reply) => {
    const end = objectEnd(reply, 0, 8);
    replies.push([decodeObject(reply.subarray(0, end)), decodeObject(reply.subarray(end))]);
  }, (message) => delivered.push(message));
  const call = (name, ...args) => box.take({ type: "method", from: OWNER, to: "ws-c/me", session: "s1", method: `services.built-in.message_cache.${name}` }, () => ({ args, promise: "*" }));
  call("create", KEY, false);
  const half = frame.length >> 1;
  call("set", KEY, 0, frame.subarray(0, half), false);
  call("set", KEY, 1, frame.subarray(half), false);
  assert.equal(replies.length, 3);
  const processing = call("process", KEY, false);
  return { box, replies, delivered, processing };
}

test("a compressed message's process inflates off the event loop, then delivers it exactly and answers", async () => {
  assert.ok(frame.length < values.byteLength / 4, `the frame is compressed: ${frame.length} bytes`);
  const { box, replies, delivered, processing } = processed({});
  assert.ok(processing instanceof Promise, "process goes on in the worker");
  assert.equal(delivered.length, 0);
  assert.equal(replies.length, 3, "answered only once handed over");
  assert.equal(box.budgets.pendingBytes, frame.length, "its bytes count until then");
  await processing;
  assert.equal(delivered.length, 1);
  assert.deepEqual(delivered[0].args[0].data, values);
  assert.equal(replies.at(-1)[0].method, "s1.resolve");
  assert.equal(box.budgets.pendingBytes, 0);
});

test("a compressed message over max_decompressed_bytes is refused at process with the reason, and freed", async () => {
  const { box, replies, delivered, processing } = processed({ maxDecompressedBytes: 1_000_000 });
  await processing;
  assert.equal(delivered.length, 0);
  const [header, extra] = replies.at(-1);
  assert.equal(header.method, "s1.reject");
  assert.match(extra.args[0]._rvalue, /refused: Arrow section inflates to more than max_decompressed_bytes=1000000/);
  assert.equal(box.budgets.pendingBytes, 0);
});
