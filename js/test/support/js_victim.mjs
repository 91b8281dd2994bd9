/**
 * A hypha-arrow JS client registering a public service, in a Node process of its own (so its
 * memory is its own), for test/rpc_attacks.test.js.
 *
 * `node --expose-gc js_victim.mjs URL BUDGETS_JSON` prints one JSON line (its service id,
 * client id and workspace) once registered, then serves until it is terminated. The service
 * reports what the victim holds and costs: its message cache's bookkeeping, its memory
 * (sampled every 10 ms for the peaks), and the lines it logged.
 */
import WebSocket from "ws";
import { NDArray, connectToServer } from "../../src/index.js";

/** A byte sum, as the attacker's numpy computes it, to tell a payload arrived intact. */
function summary(value) {
  const bytes = value instanceof NDArray ? new Uint8Array(value.data.buffer, value.data.byteOffset, value.data.byteLength) : value;
  let sum = 0;
  for (let i = 0; i < bytes.length; i++) sum += bytes[i];
  return { nbytes: bytes.length, sum };
}

/** Connect, register the victim's service, print its ids; serve until terminated. */
async function serve(url, budgets) {
  globalThis.WebSocket = WebSocket;
  const logged = [];
  const logger = { log() {}, info() {}, debug() {}, warn: (...args) => logged.push(args.join(" ")), error: (...args) => logged.push(args.join(" ")) };
  const peak = { rss: 0, arrayBuffers: 0 };
  const sample = () => {
    const { rss, arrayBuffers } = process.memoryUsage();
    peak.rss = Math.max(peak.rss, rss);
    peak.arrayBuffers = Math.max(peak.arrayBuffers, arrayBuffers);
  };
  setInterval(sample, 10);
  const server = await connectToServer({ server_url: url, method_timeout: 30, logger }, { arrow: JSON.parse(budgets) });
  /** The wrapper's message cache: hypha-rpc's connection holds the socket. */
  const transfers = () => server.rpc._connection._websocket.transfers;

  const info = await server.registerService({
    id: "victim",
    config: { visibility: "public" },
    ping: () => "pong",
    size: summary,
    memory: () => {
      sample();
      return { ...process.memoryUsage(), peakRss: peak.rss, peakArrayBuffers: peak.arrayBuffers };
    },
    resetPeak: () => {
      peak.rss = 0;
      peak.arrayBuffers = 0;
      sample();
      return null;
    },
    /** Memory once garbage is collected (twice: ArrayBuffers are freed in a second pass). */
    settled: async () => {
      for (let i = 0; i < 2; i++) {
        globalThis.gc();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return process.memoryUsage();
    },
    pending: () => {
      const { budgets: held, chunks } = transfers();
      let cached = 0;
      for (const message of chunks.values()) for (const chunk of message.values()) cached += chunk.length;
      return { messages: held.partials.size, bytes: held.pendingBytes, keys: [...chunks.keys()], cacheBytes: cached };
    },
    /** The lines logged from line `since` on: how many, their bytes, the first few. */
    log: (since = 0) => {
      const lines = logged.slice(since);
      return { lines: logged.length, bytes: lines.reduce((n, line) => n + line.length, 0), first: lines.slice(0, 3).map((line) => line.slice(0, 300)) };
    },
  });

  console.log(JSON.stringify({ service: info.id, client: `${server.config.workspace}/${server.config.client_id}`, workspace: server.config.workspace }));
  process.on("SIGTERM", () => process.exit(0)); // the server sees the socket close
}

const [url, budgets] = process.argv.slice(2);
// `node --test test/` runs every file under test/, this one too: without a server to serve, it does nothing
if (url) await serve(url, budgets);
