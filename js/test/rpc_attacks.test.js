/**
 * Receive-side budgets through a real Hypha server: what any other client of the server, even
 * an anonymous one in another workspace, can make a hypha-arrow JS client hold (the JS side of
 * Python's tests/server/test_rpc_budgets.py).
 *
 * The victim, a hypha-arrow JS client with small budgets (so each attack takes seconds), runs
 * in a Node process of its own (test/support/js_victim.mjs) so its memory is its own; the
 * attackers are stock hypha-rpc Python clients, each in its own anonymous workspace, calling
 * the victim's message cache directly or sending it raw frames (test/support/attacker.py, which
 * also runs the server). A legitimate hypha-arrow JS caller, in this process, pings the victim
 * every 50 ms throughout; every ping must be answered within a second. Each test logs one line
 * of figures.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import WebSocket from "ws";
import { NDArray, connectToServer } from "../src/index.js";

const PYTHON = process.env.HYPHA_ARROW_PYTHON ?? "python3";
const KiB = 2 ** 10;
const MiB = 2 ** 20;
const GiB = 2 ** 30;

const BUDGETS = {
  maxMessageBytes: 40 * MiB,
  maxPendingBytesPerSender: 48 * MiB,
  maxPendingBytes: 80 * MiB,
  maxPartialMessagesPerSender: 16,
  maxPartialMessages: 24,
  maxChunks: 500,
  maxDecompressedBytes: 16 * MiB,
  transferIdleTimeout: 3,
  transferDeadline: 6,
};
const IDLE = BUDGETS.transferIdleTimeout;
const DEADLINE = BUDGETS.transferDeadline;

/** Victim memory at the peak of an attack may exceed the budget that binds by this much plus
 * `FRAME_CHUNKS` chunks of the attack's size: the frames on their way in, refused ones not yet
 * collected. A budget that did not hold would add the whole attack. */
const FRAME_ALLOWANCE = 32 * MiB;
const FRAME_CHUNKS = 10;
/** The victim's ArrayBuffers once an attack is over and garbage collected, over before. */
const SETTLED_BUFFERS = 8 * MiB;
/** Its RSS then: V8 and the allocator keep some of what was freed. */
const SETTLED_RSS = 96 * MiB;
const LOG_LINE_BYTES = 4 * KiB;

const PING_EVERY = 50;
const PING_LIMIT = 1000;

let attacker;
let victim;
let caller;
let service;
let target;

/** Run one command of the attacker process; its result. */
const command = (() => {
  let next = 0;
  const waiting = new Map();
  return {
    attach(lines) {
      lines.on("line", (text) => {
        if (!text.startsWith("{")) return; // hypha-rpc's own log lines
        const reply = JSON.parse(text);
        const settle = waiting.get(reply.id);
        waiting.delete(reply.id);
        if (reply.error) settle.reject(new Error(reply.error));
        else settle.resolve(reply.result);
      });
    },
    run(op, params = {}) {
      const id = ++next;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        attacker.stdin.write(`${JSON.stringify({ id, op, ...params })}\n`);
      });
    },
  };
})();

/** The first JSON line a child prints. */
function firstLine(child, what) {
  const lines = createInterface({ input: child.stdout });
  return [
    lines,
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${what} did not start within 90 s`)), 90_000);
      lines.once("line", (text) => {
        clearTimeout(timer);
        resolve(JSON.parse(text));
      });
    }),
  ];
}

before(async () => {
  globalThis.WebSocket = WebSocket;
  attacker = spawn(PYTHON, [new URL("./support/attacker.py", import.meta.url).pathname], { stdio: ["pipe", "pipe", "inherit"] });
  const [attackerLines, started] = firstLine(attacker, "the attacker's server");
  const { url } = await started;
  victim = spawn(process.execPath, ["--expose-gc", new URL("./support/js_victim.mjs", import.meta.url).pathname, url, JSON.stringify(BUDGETS)], { stdio: ["ignore", "pipe", "inherit"] });
  target = await firstLine(victim, "the JS victim")[1];
  command.attach(attackerLines);
  await command.run("connect", { target: target.client, count: 2 });
  caller = await connectToServer({ server_url: url, method_timeout: 20, logger: null });
  service = await caller.getService(target.service);
});

after(async () => {
  await caller?.disconnect();
  victim?.kill();
  attacker?.stdin.end(); // its command loop ends, and it stops the server
  await new Promise((resolve) => (attacker.exitCode === null ? attacker.once("exit", resolve) : resolve()));
});

/** The legitimate caller's pings, every `PING_EVERY` ms, each round trip recorded. */
class Pinger {
  constructor() {
    this.latencies = [];
    this.errors = [];
    this.running = this.run();
  }

  async run() {
    this.stopping = false;
    while (!this.stopping) {
      const started = performance.now();
      try {
        assert.equal(await Promise.race([service.ping(), sleep(5000).then(() => "timed out")]), "pong");
      } catch (error) {
        this.errors.push(error.message);
      }
      this.latencies.push(performance.now() - started);
      await sleep(PING_EVERY);
    }
  }

  /** Stop once at least three pings are in, so even a short attack is watched. */
  async stop() {
    while (this.latencies.length < 3 && !this.errors.length) await sleep(PING_EVERY);
    this.stopping = true;
    await this.running;
  }

  summary() {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]?.toFixed(0);
    return `ping p50/p99/max ${at(0.5)}/${at(0.99)}/${sorted.at(-1)?.toFixed(0)} ms (${sorted.length} pings)`;
  }

  check(limit) {
    assert.ok(this.latencies.length >= 3, `too few pings to tell: ${this.summary()}`);
    assert.deepEqual(this.errors.slice(0, 3), [], "pings failed");
    assert.ok(Math.max(...this.latencies) <= limit, `the victim stalled: ${this.summary()}`);
  }
}

/** Until the victim holds nothing; the seconds that took. */
async function untilEmpty(timeout, what) {
  const started = performance.now();
  for (;;) {
    const state = await service.pending();
    if (state.messages === 0 && state.bytes === 0 && state.keys.length === 0) return (performance.now() - started) / 1000;
    if (performance.now() - started > timeout * 1000) assert.fail(`${what}: the victim still holds ${JSON.stringify(state)} after ${timeout} s`);
    await sleep(50);
  }
}

/**
 * One attack on the victim, watched: nothing pending before, its memory settled and its peaks
 * reset, a legitimate caller pinging it until `attack` returns (given the scene); then its
 * pings checked, and what the attack cost it returned with `attack`'s own figures.
 */
async function watched(attack, pingLimit = PING_LIMIT) {
  await untilEmpty(2 * IDLE + 2, "messages left by an earlier test");
  const before = await service.settled();
  await service.resetPeak();
  const pings = new Pinger();
  let figures;
  try {
    figures = await attack({
      peak: async () => {
        const now = await service.memory();
        return { rss: now.peakRss - before.rss, arrayBuffers: now.peakArrayBuffers - before.arrayBuffers };
      },
      settled: async (what) => {
        const now = await service.settled();
        const growth = { rss: now.rss - before.rss, arrayBuffers: now.arrayBuffers - before.arrayBuffers };
        assert.ok(growth.arrayBuffers < SETTLED_BUFFERS, `victim ArrayBuffers ${mib(growth.arrayBuffers)} settled after ${what}`);
        assert.ok(growth.rss < SETTLED_RSS, `victim RSS ${mib(growth.rss)} settled after ${what}`);
        return growth;
      },
    });
  } finally {
    await pings.stop();
  }
  pings.check(pingLimit);
  return `${figures}; ${pings.summary()}`;
}

const mib = (n) => `${n >= 0 ? "+" : ""}${(n / MiB).toFixed(0)} MiB`;

function assertRefused(report, limit) {
  assert.ok(report.refusals > 0, `never refused: ${mib(report.peak)} held at once`);
  assert.match(report.first_refusal, new RegExp(`refused: .*${limit}=`), "the first refusal names the budget");
  for (const text of report.other_refusals) assert.match(text, /refused/);
  assert.equal(report.accepted_after_refusal, 0, "chunks were accepted after their message was refused");
}

/** The most the victim acknowledged holding is within `limit`, and short of it by less than the chunks on their way and one more. */
function assertHeldUpTo(held, limit, chunk, inFlight) {
  assert.ok(held <= limit && held > limit - inFlight * chunk - MiB, `${mib(held)} held at most, budget ${mib(limit)}`);
}

for (const [chunk, inFlight] of [[4 * MiB, 4], [256 * KiB, 30]]) {
  test(`one endless message of ${chunk / KiB} KiB chunks is refused at max_message_bytes, freed at once, and its later chunks refused alike`, async () => {
    const limit = BUDGETS.maxMessageBytes;
    const figures = await watched(async (scene) => {
      const report = await command.run("fill", { attacker: 0, chunk, per_message: (4 * limit) / chunk, in_flight: inFlight, give_up: 2 * limit });
      assertRefused(report, "max_message_bytes");
      assertHeldUpTo(report.peak, limit, chunk, inFlight);
      assert.deepEqual(await service.pending(), { messages: 0, bytes: 0, keys: [], cacheBytes: 0 }, "the refused message is still held");
      const later = await command.run("persist", { attacker: 0, key: report.refused_keys[0], chunk, start: (4 * limit) / chunk, count: 8, in_flight: inFlight });
      assert.equal(later.refusals, 8);
      assert.match(later.first_refusal, /max_message_bytes=/);
      assert.equal((await service.pending()).cacheBytes, 0, "the later chunks were stored");
      const peak = await scene.peak();
      const bound = limit + FRAME_ALLOWANCE + FRAME_CHUNKS * chunk;
      assert.ok(peak.arrayBuffers < bound, `victim ArrayBuffers peak ${mib(peak.arrayBuffers)}, bound ${mib(bound)}`);
      const settled = await scene.settled("the message was refused");
      return `held at most ${mib(report.peak)}, victim peak RSS ${mib(peak.rss)} / ArrayBuffers ${mib(peak.arrayBuffers)}, settled ${mib(settled.rss)} / ${mib(settled.arrayBuffers)}`;
    });
    console.log(`[js budgets] one endless message, ${chunk / KiB} KiB chunks: ${figures}`);
  });
}

test("many partial messages are refused past the per-sender and total counts, and dropped once quiet", async () => {
  const { maxPartialMessagesPerSender: perSender, maxPartialMessages: total } = BUDGETS;
  const figures = await watched(async (scene) => {
    const first = await command.run("open_many", { attacker: 0, count: 50, chunk: KiB });
    const second = await command.run("open_many", { attacker: 1, count: 50, chunk: KiB });
    assertRefused(first, "max_partial_messages_per_sender");
    assertRefused(second, "max_partial_messages");
    assert.deepEqual([first.messages, second.messages], [perSender, total - perSender]);
    assert.equal((await service.pending()).messages, total);
    const released = await untilEmpty(IDLE + 2, "the quiet messages");
    assert.ok(released <= IDLE + 1, `dropped ${released} s after the last chunk, idle timeout ${IDLE} s`);
    const peak = await scene.peak();
    return `held ${total} messages, dropped ${released.toFixed(2)} s after the check began (idle ${IDLE} s), victim peak RSS ${mib(peak.rss)}`;
  });
  console.log(`[js budgets] 100 messages opened at once by 2 senders: ${figures}`);
});

test("two senders are bounded by max_pending_bytes_per_sender each and max_pending_bytes together, and all is dropped once quiet", async () => {
  const { maxPendingBytesPerSender: perSender, maxPendingBytes: total } = BUDGETS;
  const chunk = 4 * MiB;
  const figures = await watched(async (scene) => {
    const first = await command.run("fill", { attacker: 0, chunk, per_message: 2, in_flight: 4, give_up: 2 * perSender });
    const second = await command.run("fill", { attacker: 1, chunk, per_message: 2, in_flight: 4, give_up: 2 * perSender });
    assertRefused(first, "max_pending_bytes_per_sender");
    assertRefused(second, "max_pending_bytes");
    assertHeldUpTo(first.peak, perSender, chunk, 4);
    assertHeldUpTo(first.held + second.peak, total, chunk, 4);
    const state = await service.pending();
    assert.deepEqual([state.bytes, state.cacheBytes], [first.held + second.held, first.held + second.held], "the victim holds what it acknowledged");
    const peak = await scene.peak();
    const bound = total + FRAME_ALLOWANCE + FRAME_CHUNKS * chunk;
    assert.ok(peak.arrayBuffers < bound, `victim ArrayBuffers peak ${mib(peak.arrayBuffers)}, bound ${mib(bound)}`);
    const released = await untilEmpty(IDLE + 2, "the quiet messages");
    const settled = await scene.settled("the messages were dropped");
    return `held at most ${mib(first.held + second.peak)}, victim peak RSS ${mib(peak.rss)} / ArrayBuffers ${mib(peak.arrayBuffers)}, released ${released.toFixed(2)} s later, settled ${mib(settled.rss)} / ${mib(settled.arrayBuffers)}`;
  });
  console.log(`[js budgets] 2 senders against the byte budgets: ${figures}`);
});

test("a chunk flood is refused at the chunk limit: max_chunks for a stock key, 400 for a hybrid sender's", async () => {
  const figures = await watched(async () => {
    const stock = await command.run("flood", { attacker: 0, key_mark: false, chunks: BUDGETS.maxChunks + 20, chunk: 16, in_flight: 30 });
    assert.match(stock.first_refusal, new RegExp(`chunk index ${BUDGETS.maxChunks} is not an int from 0 to ${BUDGETS.maxChunks - 1} \\(max_chunks\\)`));
    const hybrid = await command.run("flood", { attacker: 0, key_mark: true, chunks: 420, chunk: 16, in_flight: 30 });
    assert.match(hybrid.first_refusal, /chunk index 400 is not an int from 0 to 399/);
    assert.equal((await service.pending()).messages, 0);
    return `${stock.refusals} and ${hybrid.refusals} chunks refused`;
  });
  console.log(`[js budgets] chunk floods: ${figures}`);
});

test("a trickled message is dropped at the deadline and a silent one at the idle timeout, on time", async () => {
  const [silent, trickled] = ["attack-silent", "attack-trickled"];
  const figures = await watched(async () => {
    assert.equal(await command.run("call", { attacker: 0, operation: "create", args: [silent] }), "ok");
    assert.equal(await command.run("call", { attacker: 0, operation: "set", args: [silent, 0, { bytes: KiB }] }), "ok");
    const quietSince = performance.now();
    assert.equal(await command.run("call", { attacker: 0, operation: "create", args: [trickled] }), "ok");
    const created = performance.now();
    const trickling = command.run("trickle", { attacker: 0, key: trickled, every: 0.5, until: DEADLINE + 3 });
    const gone = {};
    while (Object.keys(gone).length < 2 && performance.now() - created < (DEADLINE + 3) * 1000) {
      const { keys } = await service.pending();
      for (const [key, since] of [[silent, quietSince], [trickled, created]]) {
        if (!keys.includes(key) && !(key in gone)) gone[key] = (performance.now() - since) / 1000;
      }
      await sleep(50);
    }
    const { appended, failure } = await trickling;
    assert.ok(gone[silent] >= IDLE - 0.25 && gone[silent] <= IDLE + 1, `the silent message went ${gone[silent]} s after its last chunk`);
    assert.ok(gone[trickled] >= DEADLINE - 0.25 && gone[trickled] <= DEADLINE + 1, `the trickled message went ${gone[trickled]} s after create`);
    assert.match(failure, new RegExp(`refused: not complete within transfer_deadline=${DEADLINE} s of its creation`));
    assert.ok(appended >= 2 * DEADLINE - 2, `${appended} bytes appended`);
    return `trickled (a byte every 0.5 s) dropped ${gone[trickled].toFixed(2)} s after create (deadline ${DEADLINE} s), silent ${gone[silent].toFixed(2)} s after its last chunk (idle ${IDLE} s); the next byte: ${failure}`;
  });
  console.log(`[js budgets] expiry: ${figures}`);
});

test("only the creator of a message may write, process or remove it", async () => {
  const key = "attack-owned";
  const figures = await watched(async () => {
    assert.equal(await command.run("call", { attacker: 0, operation: "create", args: [key] }), "ok");
    for (const index of [0, 1]) assert.equal(await command.run("call", { attacker: 0, operation: "set", args: [key, index, { bytes: 256 * KiB }] }), "ok");
    const before = await service.pending();
    assert.deepEqual(await command.run("intrude", { attacker: 1, key }), []);
    assert.deepEqual(await service.pending(), before, "another client's calls changed the message");
    assert.equal(await command.run("call", { attacker: 0, operation: "append", args: [key, { bytes: 5 }] }), "ok");
    assert.equal((await service.pending()).bytes, 512 * KiB + 5, "the owner can no longer write its message");
    assert.equal(await command.run("call", { attacker: 0, operation: "remove", args: [key] }), "ok");
    return "6 intrusions refused, nothing changed";
  });
  console.log(`[js budgets] ownership: ${figures}`);
});

test("decompression bombs are refused from their declared sizes, as raw frames and as a cached message, in a log line each", async () => {
  const bombs = 3;
  const figures = await watched(async (scene) => {
    const logged = (await service.log()).lines;
    const raw = await command.run("raw", { attacker: 0, kind: "bomb", count: bombs, declared: GiB });
    const processed = await command.run("cached_bomb", { attacker: 0, declared: GiB });
    assert.match(processed, /refused: .*max_decompressed_bytes/);
    await untilEmpty(1, "the bomb's cached message");
    const peak = await scene.peak();
    assert.ok(peak.arrayBuffers < 16 * MiB && peak.rss < 64 * MiB, `victim peak RSS ${mib(peak.rss)} / ArrayBuffers ${mib(peak.arrayBuffers)} after ${bombs + 1} bombs of ${raw.bytes / bombs} bytes`);
    const log = await service.log(logged);
    assert.ok(log.lines - logged >= bombs, `${log.lines - logged} lines logged for ${bombs} raw bombs`);
    assert.ok(log.first.every((line) => line.length < LOG_LINE_BYTES));
    assert.ok(log.first.some((line) => /max_decompressed_bytes/.test(line)), `the reason is not logged: ${log.first}`);
    return `${bombs} raw frames and 1 cached message of ${raw.bytes / bombs} bytes declaring 1 GiB: victim peak RSS ${mib(peak.rss)} / ArrayBuffers ${mib(peak.arrayBuffers)}; process: ${processed.slice(0, 120)}`;
  });
  console.log(`[js budgets] decompression bombs: ${figures}`);
});

/** What frames inflating to just under `BUDGETS.maxDecompressedBytes` may hold up the victim's
 * event loop: they inflate in its worker (`inflater.js`; fzstd, pure JavaScript, inflates zstd
 * at 20-45 MB/s here, 0.4-0.8 s a frame on the event loop before), and the event loop only
 * decodes the inflated buffers again. Measured with the worker: pings' max 22 ms while three
 * such frames inflated (before: 0.4-0.8 s a frame); the bound leaves room for a loaded 2-core machine. */
const INFLATION_STALL = 300;

test("frames inflating to just under max_decompressed_bytes are inflated off the victim's event loop: pings stay prompt", async () => {
  const declared = BUDGETS.maxDecompressedBytes - MiB;
  const frames = 3;
  const figures = await watched(async (scene) => {
    const logged = (await service.log()).lines;
    const raw = await command.run("raw", { attacker: 0, kind: "bomb", count: frames, declared });
    const log = await service.log(logged);
    // inflated and handed to hypha-rpc, which logs that the method does not exist
    assert.equal(log.lines - logged, frames, `log: ${log.first}`);
    assert.ok(log.first.every((line) => /no_such_method/.test(line) && !/max_decompressed_bytes/.test(line)), `log: ${log.first}`);
    const peak = await scene.peak();
    return `${frames} zstd frames of ${raw.bytes / frames} bytes inflating to ${mib(declared)} each, the attacker's ping after them answered in ${(raw.ping_after * 1000).toFixed(0)} ms, victim peak RSS ${mib(peak.rss)} / ArrayBuffers ${mib(peak.arrayBuffers)}`;
  }, INFLATION_STALL);
  console.log(`[js budgets] inflation off the event loop: ${figures}`);
});

test("a legitimate compressed call inflating past max_decompressed_bytes fails at its caller at once, naming the limit", async () => {
  const { outcome, took } = await command.run("compressed_call", { service: target.service, nbytes: 2 * BUDGETS.maxDecompressedBytes });
  assert.match(outcome, /max_decompressed_bytes/);
  assert.ok(took < 5, `the caller heard of the refusal only after ${took} s`);
  console.log(`[js budgets] a zstd call inflating to ${mib(2 * BUDGETS.maxDecompressedBytes)} failed in ${took.toFixed(2)} s: ${outcome.slice(0, 160)}`);
});

test("malformed frames are dropped with a short log line each, and the victim keeps answering", async () => {
  const figures = await watched(async (scene) => {
    const logged = (await service.log()).lines;
    const raw = await command.run("raw", { attacker: 0, kind: "malformed", count: 3 });
    const log = await service.log(logged);
    assert.ok(log.lines - logged >= raw.frames - 6, `${log.lines - logged} lines logged for ${raw.frames} frames`);
    assert.ok(log.bytes < (log.lines - logged) * LOG_LINE_BYTES, `${log.bytes} bytes logged in ${log.lines - logged} lines`);
    const peak = await scene.peak();
    return `${raw.frames} frames (${raw.bytes} bytes), ${log.lines - logged} log lines, the next ping on their connection ${(raw.ping_after * 1000).toFixed(0)} ms, victim peak RSS ${mib(peak.rss)}`;
  });
  console.log(`[js budgets] malformed frames: ${figures}`);
});

test("legitimate large messages still arrive: a stock sender's 8 MiB through hypha-rpc's own key, a hypha-arrow one's 24 MiB array", async () => {
  const stock = await command.run("stock_call", { service: target.service, nbytes: 8 * MiB });
  assert.deepEqual(stock.answer, stock.expected);
  const data = new Uint8Array(24 * MiB);
  for (let i = 0; i < data.length; i += 4093) data[i] = i % 251;
  let sum = 0;
  for (let i = 0; i < data.length; i++) sum += data[i];
  const started = performance.now();
  assert.deepEqual(await service.size(new NDArray(data, [data.length])), { nbytes: data.length, sum });
  const took = (performance.now() - started) / 1000;
  assert.equal((await service.pending()).messages, 0);
  console.log(`[js budgets] legitimate: a stock 8 MiB call in ${stock.took.toFixed(2)} s, a hypha-arrow 24 MiB NDArray in ${took.toFixed(2)} s`);
});
