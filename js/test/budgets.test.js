/**
 * The receive-side budgets (src/rpc/budgets.js), driven as the message cache (src/rpc/transfers.js)
 * drives them; the cases of Python's tests/rpc/test_budgets.py. The real-server attacks are in
 * test/rpc_attacks.test.js.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { TransferRefused } from "../src/errors.js";
import { CHUNK_MAX, HYBRID_MAX_CHUNKS, IncomingTransfers, KEY_MARK, MAX_KEY_LENGTH } from "../src/rpc/budgets.js";

const OWNER = "ws-a/owner";
const OTHER = "ws-b/attacker";
const HYBRID_KEY = `s1${KEY_MARK}x`;

/** The message cache as the budgets see it: what was admitted is stored, what is dropped goes. */
class Cache {
  constructor(limits = {}) {
    this.messages = new Map();
    this.budgets = new IncomingTransfers(limits, (key) => this.messages.delete(key));
  }

  create(key, sender = OWNER) {
    this.budgets.admitCreate(key, sender);
    this.messages.set(key, new Map());
    this.budgets.created(key, sender);
  }

  set(key, index, data, sender = OWNER) {
    const admitted = this.budgets.admitChunk(key, sender, index, data);
    this.messages.get(key).set(admitted.index, data);
    this.budgets.stored(key, admitted, data.length);
  }

  finish(key) {
    this.budgets.finished(key);
    this.messages.delete(key);
  }
}

const bytes = (n) => new Uint8Array(n);
const refused = (pattern) => (error) => error instanceof TransferRefused && pattern.test(error.message);

test("chunks are counted per message, per sender and in all, and an overwrite counts once", () => {
  const cache = new Cache();
  cache.create("a");
  cache.set("a", 0, bytes(100));
  cache.set("a", 0, bytes(40)); // the same index again replaces, it does not add
  cache.set("a", null, bytes(10)); // appended after the highest index
  cache.create("b", OTHER);
  cache.set("b", 0, bytes(5), OTHER);
  assert.deepEqual([cache.budgets.partials.size, cache.budgets.pendingBytes], [2, 55]);
  assert.deepEqual([...cache.messages.get("a").keys()], [0, 1]);
  cache.budgets.claim("a", OWNER);
  cache.finish("a");
  assert.deepEqual([cache.budgets.partials.size, cache.budgets.pendingBytes], [1, 5]);
});

for (const [limit, sizes] of [
  ["maxMessageBytes", [600, 600]],
  ["maxPendingBytesPerSender", [600, 0, 600]], // 0: a second message of the same sender
  ["maxPendingBytes", [600, -1, 600]], // -1: a second message from another sender
]) {
  const name = limit.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  test(`a chunk over ${name} is refused naming it, and its message freed`, () => {
    const cache = new Cache({ [limit]: 1000 });
    cache.create("first");
    cache.set("first", null, bytes(sizes[0]));
    let [key, sender] = ["first", OWNER];
    if (sizes.length === 3) {
      [key, sender] = ["second", sizes[1] === 0 ? OWNER : OTHER];
      cache.create(key, sender);
    }
    assert.throws(() => cache.set(key, null, bytes(sizes.at(-1)), sender), refused(new RegExp(`^${key}: refused: .*over ${name}=1000; the message was dropped$`)));
    assert.equal(cache.messages.has(key), false);
    assert.equal(cache.budgets.pendingBytes, key === "first" ? 0 : 600);
    // its sender's next chunk: the same error
    assert.throws(() => cache.budgets.admitChunk(key, sender, null, bytes(1)), refused(new RegExp(name)));
  });
}

test("counts of unfinished messages are bounded per sender and in all", () => {
  const cache = new Cache({ maxPartialMessagesPerSender: 2, maxPartialMessages: 3 });
  cache.create("a1");
  cache.create("a2");
  assert.throws(() => cache.budgets.admitCreate("a3", OWNER), refused(/ws-a\/owner has 2 unfinished messages here, the most max_partial_messages_per_sender=2 allows/));
  cache.create("b1", OTHER);
  assert.throws(() => cache.budgets.admitCreate("c1", "ws-c/third"), refused(/3 unfinished messages are held here, the most max_partial_messages=3 allows/));
  cache.budgets.claim("a1", OWNER);
  cache.finish("a1");
  cache.create("a3"); // room again
});

test("only the creator may add to, process or remove a message", () => {
  const cache = new Cache();
  cache.create("k");
  cache.set("k", 0, new TextEncoder().encode("mine"));
  for (const touch of [
    () => cache.budgets.admitChunk("k", OTHER, 1, bytes(6)),
    () => cache.budgets.admitChunk("k", OTHER, null, bytes(6)),
    () => cache.budgets.claim("k", OTHER),
    () => cache.budgets.admitRemove("k", OTHER),
    () => cache.budgets.admitCreate("k", OTHER), // overwrite would reset it
  ]) {
    assert.throws(touch, refused(new RegExp(`created by another client, not by ${OTHER}`)));
  }
  assert.deepEqual([[...cache.messages.get("k").keys()], cache.budgets.pendingBytes], [[0], 4]);
  assert.equal(cache.budgets.admitRemove("k", OWNER), true);
});

test("a message refused for its owner stays the owner's error and is nobody else's", () => {
  const cache = new Cache({ maxMessageBytes: 10 });
  cache.create("k");
  assert.throws(() => cache.set("k", 0, bytes(11)), TransferRefused);
  assert.equal(cache.budgets.admitChunk("k", OTHER, 0, bytes(1)), null); // unknown to it: "no such key"
  assert.equal(cache.budgets.admitRemove("k", OTHER), true); // "no such key" again
  assert.equal(cache.budgets.admitRemove("k", OWNER), false); // the sender cleaning up: nothing to do, no error
  assert.equal(cache.budgets.admitRemove("k", OWNER), true); // once
  cache.create("k"); // the owner may start again
  cache.set("k", 0, bytes(10));
});

for (const [key, index, data, reason] of [
  ["stock-key", 8192, bytes(1), "chunk index 8192 is not an int from 0 to 8191 (max_chunks)"],
  ["stock-key", -1, bytes(1), "chunk index -1 "],
  ["stock-key", "0", bytes(1), "chunk index '0' "],
  ["stock-key", true, bytes(1), "chunk index true "],
  ["stock-key", 1.5, bytes(1), "chunk index 1.5 "],
  [HYBRID_KEY, HYBRID_MAX_CHUNKS, bytes(1), `from 0 to ${HYBRID_MAX_CHUNKS - 1}`],
  [HYBRID_KEY, 0, bytes(CHUNK_MAX + 1), `a chunk of ${CHUNK_MAX + 1} bytes is over the ${CHUNK_MAX} hypha_arrow senders send`],
  ["stock-key", 0, "text", "a chunk must be bytes, got string"],
  ["stock-key", 0, [1, 2], "a chunk must be bytes, got Array"],
]) {
  test(`a chunk no sender sends is refused: ${reason}`, () => {
    const cache = new Cache();
    cache.create(key);
    assert.throws(() => cache.budgets.admitChunk(key, OWNER, index, data), (error) => error instanceof TransferRefused && error.message.includes(reason));
    assert.equal(cache.messages.has(key), false);
  });
}

for (const [name, key] of [["an int", 7], ["null", null], ["a long string", "k".repeat(MAX_KEY_LENGTH + 1)]]) {
  test(`a key must be a short string, not ${name}`, () => {
    assert.throws(() => new Cache().budgets.admitCreate(key, OWNER), refused(new RegExp(`a message key must be a string of at most ${MAX_KEY_LENGTH} characters`)));
  });
}

test("a silent message goes at the idle timeout and a trickling one at the deadline", async () => {
  const cache = new Cache({ transferIdleTimeout: 0.3, transferDeadline: 1.0 });
  const started = performance.now();
  cache.create("silent");
  cache.create("trickle");
  let silentGone = null;
  while (cache.messages.has("trickle")) {
    cache.set("trickle", null, bytes(1));
    await sleep(100);
    if (!cache.messages.has("silent")) silentGone ??= (performance.now() - started) / 1000;
  }
  const trickleGone = (performance.now() - started) / 1000;
  assert.ok(silentGone >= 0.3 && silentGone < 0.5, `the silent message went after ${silentGone} s`);
  assert.ok(trickleGone >= 1.0 && trickleGone < 1.2, `the trickling message went after ${trickleGone} s`);
  assert.equal(cache.budgets.partials.size, 0);
  assert.equal(cache.budgets.expiry, null, "no timer is left running once nothing is held");
  assert.throws(() => cache.budgets.admitChunk("trickle", OWNER, null, bytes(1)), refused(/transfer_deadline=1 s/));
});

test("the budgets are the package's options, checked as Python's Config checks them", () => {
  assert.equal(new IncomingTransfers({}, () => {}).budgets.maxChunks, 8192);
  assert.throws(() => new IncomingTransfers({ transferIdleTimeout: 0 }, () => {}), /transferIdleTimeout must be a number of seconds > 0/);
  assert.throws(() => new IncomingTransfers({ maxPendingBytes: 1.5 }, () => {}), /maxPendingBytes must be an integer >= 1/);
});
