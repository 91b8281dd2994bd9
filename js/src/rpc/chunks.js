/**
 * Large frames leaving JS (docs/wire-format.md 9.3): through the target's message cache, in
 * chunks of 960 KiB to 15 MiB (at most 400), every 16th acknowledged and at most 48 unacknowledged,
 * paced under the server's rate limit. The WebSocket wrapper makes these calls itself: their
 * replies come to a session of its own (`~ha~` in its name), which it answers before hypha-rpc
 * sees them.
 */
import { Encoder } from "@msgpack/msgpack";
import { KEY_MARK } from "./transfers.js";

const CHUNK_MIN = (1 << 20) - (64 << 10);
const CHUNK_MAX = 15 << 20;
const MAX_CHUNKS = 400;
const ACK_EVERY = 16;
const WINDOW = 48;
const RATE = [150, 400]; // messages per second, burst: under the server's 200 per second
const REPLY_TIMEOUT = 30_000;
const CACHE = "services.built-in.message_cache.";
const ENCODER = new Encoder({ useBigInt64: true });

export function chunkSize(total) {
  return Math.min(CHUNK_MAX, Math.max(CHUNK_MIN, Math.ceil(total / MAX_CHUNKS)));
}

/** A token bucket: `acquire` waits until one more message fits under the rate limit. */
class Pacer {
  constructor([rate, burst]) {
    this.rate = rate;
    this.burst = burst;
    this.tokens = burst;
    this.stamp = performance.now();
  }

  async acquire() {
    for (;;) {
      const now = performance.now();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.stamp) / 1000) * this.rate);
      this.stamp = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, ((1 - this.tokens) / this.rate) * 1000));
    }
  }
}

export class ChunkedSender {
  /** @param {(frame: Uint8Array) => void} send writes a frame to the socket */
  constructor(send) {
    this.send = send;
    this.self = null; // "workspace/client" once connected: the replies' target
    this.session = `${KEY_MARK}replies-${Math.random().toString(36).slice(2)}`;
    this.pending = new Map();
    this.next = 0;
    this.pacer = new Pacer(RATE);
  }

  /** Whether an incoming frame is a reply to one of these calls; settles it if so. */
  takeReply(header, readExtra) {
    const method = header?.method;
    if (typeof method !== "string" || !method.startsWith(`${this.session}.`)) return false;
    const [, id, outcome] = method.split(".");
    const waiting = this.pending.get(id);
    if (waiting) {
      this.pending.delete(id);
      clearTimeout(waiting.timer);
      const [value] = readExtra()?.args ?? [];
      if (outcome === "resolve") waiting.resolve(value);
      else waiting.reject(new Error(value?._rvalue ?? String(value)));
    }
    return true;
  }

  /** Deliver `frame` to `target` (a peer that reads hybrid frames) through its message cache. */
  async transfer(frame, target, session) {
    const key = `${session ?? ""}${KEY_MARK}${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
    await this.call(target, "create", [key, false], true);
    const size = chunkSize(frame.length);
    const acks = [];
    let unacknowledged = 0;
    for (let index = 0, start = 0; start < frame.length; index++, start += size) {
      while (acks.length && unacknowledged >= WINDOW) {
        await acks.shift();
        unacknowledged = Math.max(0, unacknowledged - ACK_EVERY);
      }
      const chunk = frame.subarray(start, Math.min(frame.length, start + size));
      const acknowledged = index % ACK_EVERY === ACK_EVERY - 1;
      const sent = this.call(target, "set", [key, index, chunk, false], acknowledged);
      if (acknowledged) acks.push(sent);
      unacknowledged++;
    }
    await this.call(target, "process", [key, false], false);
    await Promise.all(acks);
  }

  async call(target, name, args, reply) {
    await this.pacer.acquire();
    const header = { type: "method", from: this.self, to: target, method: `${CACHE}${name}`, _ha: 1 };
    const extra = { args, with_kwargs: false };
    let settled = null;
    if (reply) {
      const id = `c${this.next++}`;
      const [, client] = String(this.self).split("/");
      const callback = (outcome) => ({ _rtype: "method", _rtarget: client, _rmethod: `${this.session}.${id}.${outcome}` });
      extra.promise = { resolve: callback("resolve"), reject: callback("reject") };
      settled = new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new Error(`no reply to message_cache.${name} from ${target} within ${REPLY_TIMEOUT / 1000} s`));
        }, REPLY_TIMEOUT);
        this.pending.set(id, { resolve, reject, timer });
      });
    }
    const head = ENCODER.encode(header);
    const body = ENCODER.encode(extra);
    const frame = new Uint8Array(head.length + body.length);
    frame.set(head, 0);
    frame.set(body, head.length);
    this.send(frame);
    return settled;
  }
}
