/** The message-cache calls, as the WebSocket wrapper takes them (src/rpc/transfers.js). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeMulti } from "@msgpack/msgpack";
import { decodeObject, objectEnd } from "../src/msgpack.js";
import { encodeMessage } from "../src/index.js";
import { NDArray } from "../src/ndarray.js";
import { Transfers } from "../src/rpc/transfers.js";

const OWNER = "ws-a/owner";
const OTHER = "ws-b/attacker";
const SELF = "ws-c/me";
const KEY = "s1~ha~k1";
const STOCK_KEY = "stock-session";
const CALLER_PROMISE = { resolve: { _rtype: "method", _rtarget: "ws-a/owner", _rmethod: "call7.resolve" }, reject: { _rtype: "method", _rtarget: "ws-a/owner", _rmethod: "call7.reject" } };

/** A Transfers whose replies and deliveries are recorded; `call` sends it one message-cache call and returns its reply. */
function transfers(options = {}) {
  const replies = [];
  const delivered = [];
  const box = new Transfers(options, (frame) => {
    const end = objectEnd(frame, 0, 8);
    replies.push([decodeObject(frame.subarray(0, end)), decodeObject(frame.subarray(end))]);
  }, (message) => delivered.push(message));
  const call = (sender, name, ...args) => {
    const header = { type: "method", from: sender, to: SELF, ws: "ws-c", session: "s1", user: { id: "anonymous" }, method: `services.built-in.message_cache.${name}` };
    const before = replies.length;
    assert.equal(box.take(header, () => ({ args, with_kwargs: false, promise: "*" })), true);
    assert.ok(replies.length > before, "every call is answered");
    return replies.at(-1);
  };
  return { box, call, replies, delivered };
}

/** A call of `services.data.describe` as a peer sends it, with a 4 KB array in a hybrid frame. */
function hybridCall({ promise = null, from = OWNER } = {}) {
  const extra = { args: [new NDArray(new Float64Array(500).fill(2), [500])], with_kwargs: false };
  if (promise) extra.promise = promise;
  return encodeMessage({ type: "method", from, to: SELF, method: "services.data.describe" }, extra);
}

const rejected = ([header, extra]) => (header.method.endsWith(".reject") ? extra.args[0]._rvalue : null);

test("a message's chunks are joined and the decoded message delivered with the server-stated sender, not the one it names", () => {
  const { call, delivered } = transfers();
  const frame = hybridCall({ from: "ws-x/forged" });
  call(OWNER, "create", KEY, false);
  call(OWNER, "set", KEY, 1, frame.subarray(100), false);
  call(OWNER, "set", KEY, 0, frame.subarray(0, 100), false);
  const [header, extra] = call(OWNER, "process", KEY, false);
  assert.deepEqual([header.method, header.to, extra.args], ["s1.resolve", OWNER, [null]]);
  assert.equal(delivered.length, 1);
  assert.deepEqual([delivered[0].from, delivered[0].to, delivered[0].ws, delivered[0].method], [OWNER, SELF, "ws-c", "services.data.describe"]);
  assert.ok(delivered[0].args[0] instanceof NDArray);
  assert.equal(delivered[0].args[0].data[499], 2);
});

test("a stock sender's message (hypha-rpc's own key) is kept here too, and handed to hypha-rpc as the frame it would have joined", () => {
  const { box, call, delivered } = transfers();
  const frame = encodeMessage({ type: "method", from: "ws-x/forged", to: SELF, method: "services.data.size" }, { args: [new Uint8Array(3000).fill(7)], with_kwargs: false });
  call(OWNER, "create", STOCK_KEY, false);
  call(OWNER, "append", STOCK_KEY, frame.subarray(0, 1000), false);
  call(OWNER, "append", STOCK_KEY, frame.subarray(1000), false);
  assert.equal(box.budgets.pendingBytes, frame.length);
  call(OWNER, "process", STOCK_KEY, false);
  assert.equal(delivered.length, 1);
  assert.ok(delivered[0] instanceof ArrayBuffer);
  const [main, extra] = [...decodeMulti(new Uint8Array(delivered[0]))];
  assert.deepEqual([main.from, main.to, main.user, main.method], [OWNER, SELF, { id: "anonymous" }, "services.data.size"]);
  assert.deepEqual(extra.args[0], new Uint8Array(3000).fill(7));
  assert.equal(box.budgets.pendingBytes, 0);
});

test("a stock sender's heartbeat flag resets its session's timer through hypha-rpc, once the chunk is admitted", () => {
  const { call, delivered } = transfers({ maxMessageBytes: 10 });
  call(OWNER, "create", STOCK_KEY, true);
  call(OWNER, "set", STOCK_KEY, 0, new Uint8Array(4), true);
  assert.match(rejected(call(OWNER, "set", STOCK_KEY, 1, new Uint8Array(40), true)), /max_message_bytes=10/);
  assert.deepEqual(delivered.map((m) => [m.method, m.from, m.to]), [[`${STOCK_KEY}.heartbeat`, OWNER, SELF], [`${STOCK_KEY}.heartbeat`, OWNER, SELF]]);
});

test("only the creator may add to, process or remove a message", () => {
  const { box, call } = transfers();
  call(OWNER, "create", KEY, false);
  call(OWNER, "set", KEY, 0, new Uint8Array(4), false);
  for (const [name, ...args] of [["set", KEY, 1, new Uint8Array(4), false], ["append", KEY, new Uint8Array(4)], ["process", KEY, false], ["remove", KEY], ["create", KEY, false, true]]) {
    assert.match(rejected(call(OTHER, name, ...args)), new RegExp(`^${KEY}: refused: the message was created by another client, not by ${OTHER}$`));
  }
  assert.deepEqual([box.budgets.pendingBytes, [...box.chunks.get(KEY).keys()]], [4, [0]]);
});

test("a chunk over the message budget is refused, the message freed, its later chunks refused alike and its remove quiet", () => {
  const { box, call } = transfers({ maxMessageBytes: 10 });
  call(OWNER, "create", KEY, false);
  call(OWNER, "set", KEY, 0, new Uint8Array(6), false);
  assert.match(rejected(call(OWNER, "set", KEY, 1, new Uint8Array(6), false)), /^s1~ha~k1: refused: 12 bytes would be over max_message_bytes=10; the message was dropped$/);
  assert.deepEqual([box.chunks.has(KEY), box.budgets.pendingBytes], [false, 0]);
  assert.match(rejected(call(OWNER, "set", KEY, 2, new Uint8Array(1), false)), /max_message_bytes=10/);
  assert.match(rejected(call(OWNER, "process", KEY, false)), /max_message_bytes=10/);
  assert.equal(rejected(call(OWNER, "remove", KEY)), null);
  assert.match(rejected(call(OWNER, "remove", KEY)), /Message with key s1~ha~k1 does not exists/);
});

test("create refuses an existing key unless told to overwrite, which starts the message afresh", () => {
  const { box, call } = transfers();
  call(OWNER, "create", KEY, false);
  call(OWNER, "set", KEY, 0, new Uint8Array(5), false);
  assert.match(rejected(call(OWNER, "create", KEY, false)), /already exists in the cache store/);
  assert.equal(rejected(call(OWNER, "create", KEY, false, true)), null);
  assert.deepEqual([box.chunks.get(KEY).size, box.budgets.pendingBytes], [0, 0]);
});

test("a message with a chunk missing, or that is no message, is refused at process and freed", () => {
  const { box, call, delivered } = transfers();
  call(OWNER, "create", KEY, false);
  call(OWNER, "set", KEY, 0, new Uint8Array(5), false);
  call(OWNER, "set", KEY, 2, new Uint8Array(5), false);
  assert.match(rejected(call(OWNER, "process", KEY, false)), /^s1~ha~k1: refused: chunks \[1\] are missing$/);
  call(OWNER, "create", STOCK_KEY, false);
  call(OWNER, "set", STOCK_KEY, 0, new Uint8Array([0xc1, 1, 2]), false);
  assert.match(rejected(call(OWNER, "process", STOCK_KEY, false)), /^stock-session: refused: .*msgpack/);
  assert.deepEqual([box.chunks.size, box.budgets.pendingBytes, delivered.length], [0, 0, 0]);
});

test("a processed hybrid call whose section is refused fails at its caller with the reason; without a promise, its process is refused", () => {
  const { box, call, replies, delivered } = transfers({ maxSectionBytes: 100 });
  call(OWNER, "create", KEY, false);
  call(OWNER, "set", KEY, 0, hybridCall({ promise: CALLER_PROMISE }), false);
  const processed = replies.length;
  call(OWNER, "process", KEY, false);
  const [callerHeader, callerExtra] = replies[processed];
  assert.deepEqual([callerHeader.to, callerHeader.method], [OWNER, "call7.reject"]);
  assert.match(callerExtra.args[0]._rvalue, /^hypha_arrow at ws-c\/me refused the call of 'services.data.describe': .*over max_section_bytes=100$/);
  assert.equal(replies.at(-1)[0].method, "s1.resolve"); // the process itself went through
  call(OWNER, "create", KEY, false);
  call(OWNER, "set", KEY, 0, hybridCall(), false);
  assert.match(rejected(call(OWNER, "process", KEY, false)), /^s1~ha~k1: refused: .*over max_section_bytes=100$/);
  assert.deepEqual([delivered.length, box.budgets.pendingBytes], [0, 0]);
});

test("frames that are not message-cache calls are left to hypha-rpc", () => {
  const { box } = transfers();
  assert.equal(box.take({ type: "method", method: "services.built-in.ping" }, () => ({})), false);
  assert.equal(box.take({ type: "event", method: "services.built-in.message_cache.create" }, () => ({})), false);
});
