/**
 * Compressed sections inflated off the event loop. fzstd and lz4js are pure JavaScript: a 9 KB
 * zstd frame that inflates to 255 MiB (under the default `maxDecompressedBytes`) held a JS
 * client's event loop for 6-11 s, and any client of the server may send one. So the RPC layer
 * decodes a frame whose section is compressed twice: in a worker, which inflates (every check
 * first, as on the event loop) and sends back what each buffer inflated to, then here, given
 * those buffers (`inflation_hook.js`): the same `decodeMessage`, guard, validation and
 * zero-copy views as a frame decoded in one go, without the inflating.
 *
 * Node only: a browser decodes inline, as the standalone `decode` does everywhere.
 */
import { DecodeError, EncodeError, HyphaArrowError, TransferRefused } from "../errors.js";
import { DESCRIPTOR_KEY, decodeMessage } from "../framing.js";
import { NeedsInflation, replaying } from "./inflation_hook.js";

/** Workers for every connection of the process, as Python's `DECODE_WORKERS`: each may inflate up to `maxDecompressedBytes` at once. */
const WORKERS = 2;
const ERRORS = { DecodeError, EncodeError, HyphaArrowError, TransferRefused };
const IN_NODE = typeof process !== "undefined" && typeof process.versions?.node === "string";

/**
 * Whether a hybrid frame's skeleton says its section is compressed: then it goes to the worker
 * at once. A section compressed without saying so is found while decoding (`decodeWithoutInflating`).
 */
export function declaresCompression(skeleton) {
  const descriptor = skeleton instanceof Map ? skeleton.get(DESCRIPTOR_KEY) : skeleton?.[DESCRIPTOR_KEY];
  return descriptor?.compression != null;
}

/**
 * The frame decoded here if that inflates nothing, else null: the caller decodes it with
 * `decodeOffLoop`. A browser inflates here.
 * @param {Uint8Array} bytes
 * @param {object} options resolved options
 * @returns {[object, unknown] | null}
 */
export function decodeWithoutInflating(bytes, options) {
  if (!IN_NODE) return decodeMessage(bytes, options);
  try {
    return replaying([], () => decodeMessage(bytes, options));
  } catch (error) {
    if (error instanceof NeedsInflation) return null;
    throw error;
  }
}

/**
 * `decodeMessage(bytes, options)` with the inflating done by a worker. The worker gets a copy
 * of the (compressed) frame, or with `handOver` the frame's buffer itself, which the caller
 * then no longer uses: a received event's data may be held by others too (a WebSocket class
 * the application passed, that records frames), a frame joined from chunks is the caller's own.
 * @param {Uint8Array} bytes
 * @param {object} options resolved options
 * @param {{handOver?: boolean}} [how]
 * @returns {Promise<[object, unknown]>}
 */
export async function decodeOffLoop(bytes, options, { handOver = false } = {}) {
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  const { frame, inflated, error } = await pool.run(handOver && whole ? bytes : bytes.slice(), options);
  if (error) throw new (ERRORS[error.name] ?? Error)(error.reason, error.path);
  return replaying(inflated, () => decodeMessage(frame, options));
}

/** At most `WORKERS` workers, started when a job finds none free, `unref`'d while idle so they never keep Node alive. */
class Pool {
  constructor() {
    this.idle = [];
    this.started = 0;
    this.waiting = [];
    this.jobs = new Map(); // id -> resolve
    this.nextId = 0;
  }

  /** Decode `frame` (a Uint8Array spanning its buffer, which is transferred) in a worker. */
  run(frame, options) {
    return new Promise((resolve, reject) => {
      this.waiting.push({ id: this.nextId++, frame, options, resolve, reject });
      this.dispatch();
    });
  }

  async dispatch() {
    if (!this.waiting.length) return;
    if (!this.idle.length && this.started < WORKERS) {
      this.started++;
      try {
        this.idle.push(await startWorker((worker, reply) => this.done(worker, reply), (worker, error) => this.failed(worker, error)));
      } catch (error) {
        this.started--;
        for (const job of this.waiting.splice(0)) job.reject(error);
        return;
      }
    }
    while (this.idle.length && this.waiting.length) {
      const worker = this.idle.pop();
      const job = this.waiting.shift();
      worker.job = job;
      worker.ref(); // a frame being inflated is awaited: only an idle worker must not keep Node alive
      worker.postMessage({ id: job.id, frame: job.frame, options: job.options }, [job.frame.buffer]);
    }
  }

  done(worker, reply) {
    const job = worker.job;
    worker.job = null;
    worker.unref();
    this.idle.push(worker);
    job.resolve(reply);
    this.dispatch();
  }

  /** A worker that crashed (out of memory, say): its job fails, the next job starts another. */
  failed(worker, error) {
    const job = worker.job;
    worker.job = null;
    this.idle = this.idle.filter((w) => w !== worker);
    this.started--;
    worker.terminate();
    job?.reject(new DecodeError(`the inflating worker failed: ${error?.message ?? error}`));
    this.dispatch();
  }
}

async function startWorker(onReply, onError) {
  const { Worker } = await import("node:worker_threads");
  const worker = new Worker(new URL("./inflate_worker.js", import.meta.url));
  worker.job = null;
  worker.on("message", (reply) => onReply(worker, reply));
  worker.on("error", (error) => onError(worker, error));
  worker.on("exit", (code) => {
    if (worker.job) onError(worker, new Error(`exited with code ${code}`));
  });
  worker.unref(); // idle; after the listeners, since adding a "message" listener refs the worker again
  return worker;
}

const pool = new Pool();
