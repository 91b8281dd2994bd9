/**
 * Large hybrid messages arriving (docs/wire-format.md 9.3, 9.4): a hypha_arrow sender gives each
 * message a key of its own (`{session}~ha~{id}`) and sends its chunks to this client's
 * `services.built-in.message_cache`. hypha-rpc JS would join them and read only the skeleton,
 * so the WebSocket wrapper takes the calls for such keys itself: it checks them against the
 * receive budgets (owner, sizes, counts, time), answers the sender as hypha-rpc would, and on
 * `process` decodes the joined frame and hands it over as the message.
 */
import { Encoder } from "@msgpack/msgpack";
import { decodeMessage } from "../framing.js";

export const KEY_MARK = "~ha~";
const CACHE_METHOD = "services.built-in.message_cache.";
const MAX_CHUNKS = 400;
const CHUNK_MAX = 15 * 2 ** 20;
const MAX_KEY_LENGTH = 256;
const MiB = 2 ** 20;

export const BUDGET_DEFAULTS = Object.freeze({
  maxMessageBytes: 1536 * MiB,
  maxPendingBytesPerSender: 1536 * MiB,
  maxPendingBytes: 2048 * MiB,
  maxPartialMessagesPerSender: 256,
  maxPartialMessages: 1024,
  transferDeadline: 300,
  transferIdleTimeout: 30,
});

const ENCODER = new Encoder({ useBigInt64: true });

/** The message-cache calls for hybrid keys, and what they hold. */
export class Transfers {
  /**
   * @param {object} options decoding options and budgets
   * @param {(frame: Uint8Array) => void} send writes a frame to the server
   * @param {(message: object) => void} deliver hands a decoded message to hypha-rpc
   */
  constructor(options, send, deliver) {
    this.options = { ...BUDGET_DEFAULTS, ...options };
    this.send = send;
    this.deliver = deliver;
    this.partials = new Map();
    this.timer = null;
  }

  /** Whether the frame is a call this object handles (its extra read only for message-cache calls); handles it if so. */
  take(header, readExtra) {
    const method = header?.method;
    if (header?.type !== "method" || typeof method !== "string" || !method.startsWith(CACHE_METHOD)) return false;
    const extra = readExtra();
    const args = extra?.args;
    const key = Array.isArray(args) ? args[0] : undefined;
    if (typeof key !== "string" || !key.includes(KEY_MARK)) return false;
    const operation = method.slice(CACHE_METHOD.length);
    try {
      const result = this.handle(operation, key, args, header);
      this.reply(header, extra, "resolve", result ?? null);
    } catch (error) {
      this.reply(header, extra, "reject", { _rtype: "error", _rvalue: String(error.message), _rtrace: "" });
    }
    return true;
  }

  handle(operation, key, args, header) {
    const sender = header.from;
    const partial = this.partials.get(key);
    if (partial && partial.sender !== sender) throw new Error(`${key}: refused: the message was created by another client, not by ${sender}`);
    switch (operation) {
      case "create":
        return this.create(key, sender);
      case "set":
      case "append":
        return this.add(key, partial, operation === "set" ? args[1] : partial?.chunks.size, operation === "set" ? args[2] : args[1]);
      case "process":
        return this.process(key, partial, header);
      case "remove":
        this.drop(key);
        return null;
      default:
        throw new Error(`${key}: refused: unknown message-cache call ${operation}`);
    }
  }

  create(key, sender) {
    const o = this.options;
    if (key.length > MAX_KEY_LENGTH) throw new Error(`refused: a message key must be at most ${MAX_KEY_LENGTH} characters`);
    const mine = [...this.partials.values()].filter((p) => p.sender === sender).length;
    if (mine >= o.maxPartialMessagesPerSender) throw new Error(`${key}: refused: over max_partial_messages_per_sender=${o.maxPartialMessagesPerSender}`);
    if (this.partials.size >= o.maxPartialMessages) throw new Error(`${key}: refused: over max_partial_messages=${o.maxPartialMessages}`);
    const now = Date.now();
    this.partials.set(key, { sender, chunks: new Map(), size: 0, created: now, last: now });
    this.arm();
    return null;
  }

  add(key, partial, index, data) {
    const o = this.options;
    if (!partial) throw new Error(`Message with key ${key} does not exists.`);
    if (!Number.isInteger(index) || index < 0 || index >= MAX_CHUNKS) this.refuse(key, `chunk index ${index} is not an int from 0 to ${MAX_CHUNKS - 1}`);
    if (!(data instanceof Uint8Array) || data.length > CHUNK_MAX) this.refuse(key, `a chunk must be bytes of at most ${CHUNK_MAX}`);
    const added = data.length - (partial.chunks.get(index)?.length ?? 0);
    const senderHeld = [...this.partials.values()].filter((p) => p.sender === partial.sender).reduce((n, p) => n + p.size, 0);
    const held = [...this.partials.values()].reduce((n, p) => n + p.size, 0);
    for (const [now, limit, name] of [
      [partial.size, o.maxMessageBytes, "max_message_bytes"],
      [senderHeld, o.maxPendingBytesPerSender, "max_pending_bytes_per_sender"],
      [held, o.maxPendingBytes, "max_pending_bytes"],
    ]) {
      if (now + added > limit) this.refuse(key, `${now + added} bytes would be over ${name}=${limit}`);
    }
    partial.chunks.set(index, data);
    partial.size += added;
    partial.last = Date.now();
    return null;
  }

  process(key, partial, header) {
    if (!partial) throw new Error(`Message with key ${key} does not exists.`);
    this.partials.delete(key);
    const count = partial.chunks.size;
    const frame = new Uint8Array(partial.size);
    let position = 0;
    for (let index = 0; index < count; index++) {
      const chunk = partial.chunks.get(index);
      if (!chunk) throw new Error(`${key}: refused: chunk ${index} is missing`);
      frame.set(chunk, position);
      position += chunk.length;
    }
    const [main, extra] = decodeMessage(frame, this.options);
    // the sender as the server stated it, as hypha-rpc's own message cache does
    Object.assign(main, extra ?? {}, { from: header.from, to: header.to, ws: header.ws, user: header.user });
    this.deliver(main);
    return null;
  }

  refuse(key, reason) {
    this.drop(key);
    throw new Error(`${key}: refused: ${reason}; the message was dropped`);
  }

  drop(key) {
    this.partials.delete(key);
  }

  /** Drop what is past its deadline or idle timeout, checking again while anything is held. */
  arm() {
    if (this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      const now = Date.now();
      const o = this.options;
      for (const [key, partial] of this.partials) {
        if (now - partial.created > o.transferDeadline * 1000 || now - partial.last > o.transferIdleTimeout * 1000) this.drop(key);
      }
      if (this.partials.size) this.arm();
    }, 250);
    this.timer.unref?.();
  }

  /** Answer a call the way hypha-rpc answers one: its promise's resolve or reject method. */
  reply(header, extra, outcome, value) {
    const promise = extra?.promise;
    if (!promise) return;
    let target;
    let method;
    if (promise === "*") {
      const [workspace, client] = String(header.from).split("/");
      target = `${workspace}/${client}`;
      method = `${header.session}.${outcome}`;
    } else {
      const callback = promise[outcome];
      if (!callback?._rtarget || !callback?._rmethod) return;
      const [workspace] = String(header.from).split("/");
      target = callback._rtarget.includes("/") ? callback._rtarget : `${workspace}/${callback._rtarget}`;
      method = callback._rmethod;
    }
    const head = ENCODER.encode({ type: "method", from: header.to, to: target, method, _ha: 1 });
    const body = ENCODER.encode({ args: [value], with_kwargs: false });
    const frame = new Uint8Array(head.length + body.length);
    frame.set(head, 0);
    frame.set(body, head.length);
    this.send(frame);
  }
}
