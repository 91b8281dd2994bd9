/** `Peers`: who this connection believes reads hybrid frames, bounded as Python's `peers.py`. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_PEERS, Peers } from "../src/rpc/websocket.js";

test("a header's _ha wins over method tags, and a departed client is forgotten", () => {
  const peers = new Peers();
  peers.heard({ from: "ws/a" }, () => ({ svc: { _rtype: "method", _rtarget: "ws/b", _rarrow: 1 } }));
  assert.equal(peers.readsHybrid("ws/a"), false);
  assert.equal(peers.readsHybrid("ws/b"), true);
  peers.heard({ from: "ws/b" }, null);
  assert.equal(peers.readsHybrid("ws/b"), false, "its own stock header outranks its tags");
  peers.heard({ from: "ws/a", _ha: 1 }, null);
  assert.equal(peers.readsHybrid("ws/a"), true);
  peers.left("ws/a");
  assert.equal(peers.readsHybrid("ws/a"), false);
});

test("at most MAX_PEERS are remembered, the least recently heard forgotten first", () => {
  const peers = new Peers();
  peers.heard({ from: "ws/first", _ha: 1 }, () => ({ m: { _rtype: "method", _rtarget: "ws/tagged", _rarrow: 1 } }));
  peers.heard({ from: "ws/kept", _ha: 1 }, null);
  for (let i = 0; i < MAX_PEERS - 1; i++) peers.heard({ from: `ws/c${i}`, _ha: 1 }, () => ({ m: { _rtype: "method", _rtarget: `ws/t${i}`, _rarrow: 1 } }));
  peers.heard({ from: "ws/kept", _ha: 1 }, null); // heard again: the most recent now
  peers.heard({ from: "ws/last", _ha: 1 }, null);
  assert.equal(peers.heardFrom.size, MAX_PEERS);
  assert.equal(peers.tagged.size, MAX_PEERS);
  assert.equal(peers.readsHybrid("ws/first"), false, "the oldest header is forgotten");
  assert.equal(peers.readsHybrid("ws/kept"), true);
  assert.equal(peers.readsHybrid("ws/last"), true);
  assert.equal(peers.tagged.has("ws/tagged"), true, "one more tag would push the oldest tag out");
  peers.heard({ from: "ws/x" }, () => ({ m: { _rtype: "method", _rtarget: "ws/one-more", _rarrow: 1 } }));
  assert.equal(peers.tagged.has("ws/tagged"), false);
});
