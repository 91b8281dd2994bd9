/**
 * `inbox.js`: a sender whose frame is still being handled (its section inflating in the
 * worker) has its later frames handled after it, in order; other senders' frames at once; and
 * what waits counts against the sender's receive budgets.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { NDArray, TransferRefused, encodeMessage } from "../src/index.js";
import { resolveOptions } from "../src/options.js";
import { Inbox } from "../src/rpc/inbox.js";
import { decodeOffLoop } from "../src/rpc/inflater.js";
import { Transfers } from "../src/rpc/transfers.js";

const OPTIONS = resolveOptions({ maxPendingBytesPerSender: 10_000, maxPendingBytes: 20_000 });
const compressed = encodeMessage({ type: "method", from: "ws/a" }, { args: [new NDArray(Float64Array.from({ length: 200_000 }, (_, i) => i % 7), [200_000])] }, { compression: "lz4" });

test("a sender's frames keep their order behind one inflating in the worker, other senders' do not wait", async () => {
  const transfers = new Transfers(OPTIONS, () => {}, () => {});
  const inbox = new Inbox(transfers);
  const handled = [];
  inbox.arrive("ws/a", compressed.length, () => decodeOffLoop(compressed, OPTIONS).then(([, extra]) => handled.push(["a1", extra.args[0].data[13]])));
  inbox.arrive("ws/a", 100, () => void handled.push(["a2"]));
  inbox.arrive("ws/b", 100, () => void handled.push(["b1"]));
  inbox.arrive("ws/a", 100, () => void handled.push(["a3"]));
  assert.deepEqual(handled, [["b1"]], "b is handled at once, a's later frames wait");
  assert.equal(transfers.budgets.bySender.get("ws/a").size, compressed.length + 200);
  while (inbox.queues.size) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.deepEqual(handled, [["b1"], ["a1", 13 % 7], ["a2"], ["a3"]]);
  assert.equal(transfers.budgets.bySender.has("ws/a"), false, "nothing counts once handled");
});

test("frames waiting their turn beyond max_pending_bytes_per_sender are refused, naming it", async () => {
  const transfers = new Transfers(OPTIONS, () => {}, () => {});
  const inbox = new Inbox(transfers);
  let release;
  inbox.arrive("ws/a", 50_000, () => new Promise((resolve) => (release = resolve)));
  assert.throws(() => inbox.arrive("ws/a", 1, () => {}), (error) => error instanceof TransferRefused && /max_pending_bytes_per_sender=10000/.test(error.message));
  inbox.arrive("ws/b", 9_000, () => {}); // another sender is not held up, nor refused
  release();
  while (inbox.queues.size) await new Promise((resolve) => setTimeout(resolve, 5));
  inbox.arrive("ws/a", 9_000, () => {});
  assert.equal(transfers.budgets.bySender.has("ws/a"), false);
});

test("closing drops what waits, and it no longer counts", async () => {
  const transfers = new Transfers(OPTIONS, () => {}, () => {});
  const inbox = new Inbox(transfers);
  const handled = [];
  inbox.arrive("ws/a", 10, () => new Promise(() => {}));
  inbox.arrive("ws/a", 10, () => void handled.push("a2"));
  inbox.close();
  assert.equal(transfers.budgets.bySender.has("ws/a"), false);
  assert.deepEqual(handled, []);
});
