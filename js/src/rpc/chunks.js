/**
 * Large frames leaving JS (docs/wire-format.md 9.3): through the target's message cache. The
 * WebSocket wrapper makes these calls itself: their replies come to a session of its own
 * (`~ha~` in its name), which it answers before hypha-rpc sees them.
 *
 * - To a peer that reads hybrid frames: a key of the message's own, chunks of 960 KiB to 15 MiB
 *   (at most 400), every 16th and the last acknowledged, at most 48 unacknowledged. A `create` answered
 *   without `_ha` means a stock client holds the target's id now: the frame goes again, stock.
 * - To a stock peer: hypha-rpc's own key, heartbeat flag and 256 KiB chunks (its peers' inbound
 *   limit is 1 MiB), every chunk acknowledged, as hypha-rpc does: a stock JS receiver may
 *   store a chunk awaiting a reply after a later one, so `process` waits for all.
 * - Both paced under the server's rate limit. A failed send fails its call at once, with the
 *   reason, and the partial message is removed from the target's cache.
 */
import { Encoder } from "@msgpack/msgpack";
import { decodeObject, objectEnd } from "../msgpack.js";
import { FRAME_LIMIT, HEADER_KEY } from "./sending.js";
import { CHUNK_MAX, HYBRID_MAX_CHUNKS, KEY_MARK } from "./budgets.js";

const CHUNK_MIN = FRAME_LIMIT;
const STOCK_CHUNK = 256 << 10; // hypha-rpc's long_message_chunk_size
const ACK_EVERY = 16;
const WINDOW = 48;
const WINDOW_BYTES = 16 * 1024 * 1024; // unacknowledged bytes at most: each may be queued ahead of someone's small call

/** Python's `transfer.pipeline`: chunks unacknowledged at most, and how often one is acknowledged. */
export function pipeline(size) {
  const window = Math.max(2, Math.min(WINDOW, Math.floor(WINDOW_BYTES / size)));
  return { window, ackEvery: Math.max(1, Math.min(ACK_EVERY, Math.floor(window / 2))) };
}
const RATE = [150, 400]; // messages per second, burst: under the server's 200 per second
const REPLY_TIMEOUT = 30_000;
const CLEANUP_TIMEOUT = 5_000;
const CACHE = "services.built-in.message_cache.";
const ENCODER = new Encoder({ useBigInt64: true });

export function chunkSize(total) {
  return Math.min(CHUNK_MAX, Math.max(CHUNK_MIN, Math.ceil(total / HYBRID_MAX_CHUNKS)));
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
  /**
   * @param {object} io
   * @param {(frame: Uint8Array) => void} io.send writes a frame to the socket
   * @param {(message: object) => void} io.deliver hands a message to hypha-rpc (a failed call's rejection)
   * @param {() => boolean} io.isOpen whether the socket is still open
   * @param {(error: Error) => void} io.refused reports a failure no call waits for
   */
  constructor({ send, deliver, isOpen, refused }) {
    this.send = send;
    this.deliver = deliver;
    this.isOpen = isOpen;
    this.refused = refused;
    this.self = null; // "workspace/client" once connected: the replies' target
    this.session = `${KEY_MARK}replies-${unique()}`;
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
      if (outcome === "resolve") waiting.resolve({ value, hybrid: Boolean(header[HEADER_KEY]) });
      else waiting.reject(new Error(`${waiting.what}: ${value?._rvalue ?? String(value)}`));
    }
    return true;
  }

  /**
   * Send `frame` (over FRAME_LIMIT) through its target's message cache, in the background;
   * if that fails, the call it carries fails with the reason.
   * @param {Uint8Array} frame
   * @param {{header: object, hybrid: boolean, stock: () => Uint8Array} | null} origin what `Outbox.rebuild` made it from
   */
  dispatch(frame, origin) {
    const header = origin?.header ?? decodeObject(frame.subarray(0, objectEnd(frame, 0, 64)));
    this.deliverLarge(frame, origin, header).catch((error) => this.fail(header, error));
  }

  async deliverLarge(frame, origin, header) {
    const target = String(header.to);
    if (origin?.hybrid) {
      if (await this.transfer(frame, target, header.parent, true)) return;
      frame = origin.stock();
      if (frame.length <= FRAME_LIMIT) {
        await this.pacer.acquire();
        this.send(frame);
        return;
      }
    }
    await this.transfer(frame, target, header.parent, false);
  }

  /** The call `header` made fails with `error`, as if its target had rejected it. */
  fail(header, error) {
    if (typeof header.session !== "string") {
      this.refused(error);
      return;
    }
    const reason = new Error(`hypha-arrow could not send the ${header.method} call to ${header.to}: ${error.message}`, { cause: error });
    this.deliver({ type: "method", from: header.to, to: header.from, method: `${header.session}.reject`, args: [reason], with_kwargs: false });
  }

  /**
   * Deliver `frame` to `target` as one message; false when a target believed hybrid answered
   * `create` as a stock client (nothing else was sent then).
   * @param {string | undefined} parent the target's session this message belongs to (hypha-rpc's remote parent)
   */
  async transfer(frame, target, parent, hybrid) {
    const size = hybrid ? chunkSize(frame.length) : STOCK_CHUNK;
    // a hybrid key declares the frame's layout (wire format 9.3): a receiver may write the chunks into one buffer
    const key = hybrid ? `${parent ?? ""}${KEY_MARK}${unique()}.${frame.length}.${size}` : parent ?? unique();
    const heartbeat = !hybrid && Boolean(parent);
    const created = await this.call(target, "create", [key, heartbeat], true);
    if (hybrid && !created.hybrid) {
      await this.forget(target, key);
      return false;
    }
    const { window, ackEvery } = pipeline(size);
    const every = hybrid ? ackEvery : 1;
    const acks = [];
    try {
      let acknowledged = 0;
      for (let index = 0, start = 0; start < frame.length; index++, start += size) {
        while (acks.length && index - acknowledged >= window) {
          await acks[0].reply;
          acknowledged = acks.shift().index + 1;
        }
        const chunk = frame.subarray(start, Math.min(frame.length, start + size));
        await this.pacer.acquire();
        // the last chunk is acknowledged too: a refusal of any chunk is then heard, after `process`, at no extra round trip
        const withReply = index % every === every - 1 || start + size >= frame.length;
        const reply = this.post(target, "set", [key, index, chunk, heartbeat], withReply);
        if (reply) {
          reply.catch(() => {}); // read below, in order; a failure meanwhile is no unhandled rejection
          acks.push({ index, reply });
        }
      }
      if (!hybrid) for (const ack of acks.splice(0)) await ack.reply;
      await this.call(target, "process", [key, heartbeat], false);
      for (const ack of acks) await ack.reply; // after `process`: the last acknowledgements cost no round trip
    } catch (error) {
      await this.forget(target, key);
      throw error;
    }
    return true;
  }

  /** Best effort: drop the partial message from the target's cache after a failure. */
  async forget(target, key) {
    if (!this.isOpen()) return;
    await Promise.race([this.call(target, "remove", [key], true), new Promise((resolve) => setTimeout(resolve, CLEANUP_TIMEOUT))]).catch(() => {});
  }

  /** Send one message-cache call, paced; with `reply`, its answer `{value, hybrid}`. */
  async call(target, name, args, reply) {
    await this.pacer.acquire();
    return this.post(target, name, args, reply);
  }

  /** Send one message-cache call now; with `reply`, the promise of its answer. */
  post(target, name, args, reply) {
    if (!this.isOpen()) throw new Error(`the connection to the server was lost during a chunked send to ${target}`);
    const header = { type: "method", from: this.self, to: target, method: `${CACHE}${name}`, _ha: 1 };
    const extra = { args, with_kwargs: false };
    let settled = null;
    if (reply) {
      const id = `c${this.next++}`;
      const [, client] = String(this.self).split("/");
      const callback = (outcome) => ({ _rtype: "method", _rtarget: client, _rmethod: `${this.session}.${id}.${outcome}` });
      extra.promise = { resolve: callback("resolve"), reject: callback("reject") };
      const what = `message_cache.${name} at ${target}`;
      settled = new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new Error(`no reply to ${what} within ${REPLY_TIMEOUT / 1000} s`));
        }, REPLY_TIMEOUT);
        timer.unref?.();
        this.pending.set(id, { resolve, reject, timer, what });
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

function unique() {
  return `${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
}
