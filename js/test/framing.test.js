/** `joinFrame`: a chunked message's parts joined so its section is viewed, not copied again. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { NDArray, decodeMessage, encodeMessage } from "../src/index.js";
import { joinFrame } from "../src/framing.js";
import { objectEnd } from "../src/msgpack.js";
import { encode as packed } from "@msgpack/msgpack";

const header = { type: "method", from: "ws/a", to: "ws/b", method: "svc.take" };

/** What the server does: the header re-packed with keys of its own, the rest unchanged (the section lands anywhere). */
function rewritten(frame, user) {
  const rest = frame.subarray(objectEnd(frame, 0, 10));
  const head = packed({ ...header, ws: "ws", user: { id: user } });
  const out = new Uint8Array(head.length + rest.length);
  out.set(head);
  out.set(rest, head.length);
  return out;
}

function partsOf(frame, first, size) {
  const parts = [frame.slice(0, first)];
  for (let start = first; start < frame.length; start += size) parts.push(frame.slice(start, start + size));
  return parts;
}

test("parts joined put the section at an aligned address, so the decoded array views the joined frame", () => {
  const values = Float64Array.from({ length: 100_000 }, (_, i) => i / 7);
  const sent = encodeMessage(header, { args: [new NDArray(values, [100_000])], with_kwargs: false });
  for (const [first, user] of [[4093, "u"], [65_537, "us"], [100_003, "use"], [5000, "user-1"]]) {
    const frame = rewritten(sent, user);
    const joined = joinFrame(partsOf(frame, first, 65_536));
    assert.deepEqual(joined, frame);
    const [, extra] = decodeMessage(joined);
    const array = extra.args[0];
    assert.equal(array.data.buffer, joined.buffer, `user ${user}: the section was copied to align it`);
    assert.deepEqual(array.data, values);
  }
});

test("a first part too short for the header and skeleton still joins into the same frame", () => {
  const frame = encodeMessage(header, { args: [new NDArray(new Int32Array(5000).fill(7), [5000])], with_kwargs: false });
  const joined = joinFrame(partsOf(frame, 3, 1000));
  assert.deepEqual(joined, frame);
  assert.deepEqual(decodeMessage(joined)[1].args[0].data, new Int32Array(5000).fill(7));
  assert.equal(joinFrame([]).length, 0);
});
