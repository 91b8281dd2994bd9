/** The message-cache calls for hybrid keys, as the WebSocket wrapper takes them (src/rpc/transfers.js). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeObject, objectEnd } from "../src/msgpack.js";
import { encode } from "../src/index.js";
import { NDArray } from "../src/ndarray.js";
import { Transfers } from "../src/rpc/transfers.js";

const OWNER = "ws-a/owner";
const OTHER = "ws-b/attacker";
const SELF = "ws-c/me";
const KEY = "s1~ha~k1";

/** A Transfers whose replies and deliveries are recorded. */
function transfers(options = {}) {
  const replies = [];
  const delivered = [];
  const box = new Transfers(options, (frame) => {
    const end = objectEnd(frame, 0, 8);
    replies.push([decodeObject(frame.subarray(0, end)), decodeObject(frame.subarray(end))]);
  }, (message) => delivered.push(message));
  const call = (sender, name, ...args) => {
    const header = { type: "method", from: sender, to: SELF, ws: "ws-c", session: "s1", method: `services.built-in.message_cache.${name}` };
    assert.equal(box.take(header, () => ({ args, with_kwargs: false, promise: "*" })), true);
    return replies.at(-1);
  };
  return { box, call, replies, delivered };
}

test("a message's chunks are joined and the decoded message delivered with the server-stated sender", () => {
  const { call, delivered } = transfers();
  const frame = encode({ a: new NDArray(new Float64Array(500).fill(2), [500]) });
  call(OWNER, "create", KEY, false);
  call(OWNER, "set", KEY, 1, frame.subarray(100), false);
  call(OWNER, "set", KEY, 0, frame.subarray(0, 100), false);
  const [header, extra] = call(OWNER, "process", KEY, false);
  assert.equal(header.method, "s1.resolve");
  assert.equal(header.to, OWNER);
  assert.deepEqual(extra.args, [null]);
  assert.equal(delivered.length, 1);
  assert.equal(delivered[0].from, OWNER);
});

test("only the creator may add to, process or remove a message", () => {
  const { box, call } = transfers();
  call(OWNER, "create", KEY, false);
  call(OWNER, "set", KEY, 0, new Uint8Array(4), false);
  for (const [name, ...args] of [["set", KEY, 1, new Uint8Array(4), false], ["process", KEY, false], ["remove", KEY], ["create", KEY, false]]) {
    const [header, extra] = call(OTHER, name, ...args);
    assert.equal(header.method, "s1.reject");
    assert.match(extra.args[0]._rvalue, /created by another client/);
  }
  assert.equal(box.partials.get(KEY).size, 4);
});

test("a chunk over the message budget is refused and the message dropped", () => {
  const { box, call } = transfers({ maxMessageBytes: 10 });
  call(OWNER, "create", KEY, false);
  const [header, extra] = call(OWNER, "set", KEY, 0, new Uint8Array(11), false);
  assert.equal(header.method, "s1.reject");
  assert.match(extra.args[0]._rvalue, /over max_message_bytes=10; the message was dropped/);
  assert.equal(box.partials.has(KEY), false);
});

test("frames that are not message-cache calls for a hybrid key are left to hypha-rpc", () => {
  const { box } = transfers();
  assert.equal(box.take({ type: "method", method: "services.built-in.ping" }, () => ({})), false);
  assert.equal(box.take({ type: "method", method: "services.built-in.message_cache.create" }, () => ({ args: ["stock-session-key"] })), false);
});
