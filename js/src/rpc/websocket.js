/**
 * The WebSocket hypha-rpc JS connects with (its public `WebSocketClass` option), extended to
 * read and write hybrid frames: the one place frames cross between hypha-rpc and the codec.
 *
 * - Every frame sent gets `_ha` in its routing header, so peers learn this client reads
 *   hybrid frames (docs/wire-format.md 9.1).
 * - A hybrid frame received is decoded here and handed to hypha-rpc as the message object it
 *   would have unpacked (hypha-rpc's `_on_message` takes decoded messages too), with the
 *   columns' values (NDArray, Table, ...) in place; hypha-rpc's decoder passes class instances
 *   through unchanged.
 * - Frames are handled in their sender's turn (`inbox.js`), and a compressed section inflates
 *   off the event loop (`inflater.js`): one sender's frames keep their order, others' do not wait.
 */
import { Encoder } from "@msgpack/msgpack";
import { isSkeleton } from "../framing.js";
import { decodeObject, objectEnd } from "../msgpack.js";
import { ChunkedSender } from "./chunks.js";
import { FRAME_LIMIT, HEADER_KEY, METHOD_TAG, indexOfBytes } from "./sending.js";
import { Transfers } from "./transfers.js";
import { Inbox } from "./inbox.js";
import { declaresCompression, decodeOffLoop, decodeWithoutInflating } from "./inflater.js";

const TAG_SCAN_BYTES = 64 << 10; // incoming frames below this size are scanned for methods tagged _rarrow
const TAG_STRING = new Encoder().encode(METHOD_TAG); // the tag as msgpack packs the key

/**
 * @param {typeof WebSocket} Base the platform's WebSocket class (the `ws` package's in Node)
 * @param {object} options decoding options
 * @param {(error: Error) => void} refused what to do with a frame that cannot be read
 * @param {import("./sending.js").Outbox} outbox the values hypha-rpc's codecs took out of frames
 * @param {Peers} peers who reads hybrid frames
 * @param {{self: string | null}} identity this client's "workspace/client", once connected
 */
export function arrowWebSocket(Base, options, refused, outbox, peers, identity) {
  return class ArrowWebSocket extends Base {
    constructor(url, protocols, settings) {
      // Node's ws package offers permessage-deflate, and the server compresses at about 30 MB/s:
      // Arrow sections are compressed by the codec if at all. Browsers offer it regardless.
      super(url, protocols, isNodeWs(Base) ? { perMessageDeflate: false, ...settings } : settings);
      this.transfers = new Transfers(options, (frame) => super.send(frame), (message) => this.handler?.({ data: message }));
      this.chunks = new ChunkedSender({
        send: (frame) => super.send(frame),
        deliver: (message) => this.handler?.({ data: message }),
        isOpen: () => this.readyState === 1,
        refused,
      });
      this.chunks.self = identity.self;
      this.inbox = new Inbox(this.transfers);
      this.closed = false;
      this.addEventListener("close", () => {
        this.closed = true;
        this.inbox.close();
      });
    }

    set onmessage(handler) {
      this.handler = handler;
      super.onmessage = handler === null ? null : (event) => this.arrived(event, handler);
    }

    get onmessage() {
      return super.onmessage;
    }

    /** A frame, handled in its sender's turn (`inbox.js`): at once unless the sender's earlier frames are still being handled. */
    arrived(event, handler) {
      const data = event.data;
      if (typeof data === "string") return this.deliver(handler, event);
      const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : data;
      let parts = null;
      try {
        parts = peek(bytes);
        const sender = typeof parts?.header?.from === "string" ? parts.header.from : "";
        this.inbox.arrive(sender, bytes.length, () => this.received(event, bytes, parts, handler));
      } catch (error) {
        refused(error); // a header that does not decode, or a frame over its sender's budgets waiting its turn
        if (parts !== null) this.answerRefused(parts, error);
      }
    }

    /** Hand hypha-rpc the event, unless it throws on it. */
    deliver(handler, event) {
      if (this.closed) return;
      try {
        handler(event);
      } catch (error) {
        // hypha-rpc throws on a frame it cannot unpack (garbage after the header, a header
        // that is no map): uncaught in a socket event, that would end a Node process
        refused(error);
      }
    }

    /**
     * Handle a frame: hand it to hypha-rpc (decoded when hybrid), or handle it here. A Promise
     * while its section inflates off the event loop.
     */
    received(event, bytes, parts, handler) {
      const fail = (error) => {
        refused(error);
        if (parts?.hybrid) this.answerRefused(parts, error);
      };
      try {
        if (parts === null) return this.deliver(handler, event);
        peers.heard(parts.header, bytes.length < TAG_SCAN_BYTES && !parts.hybrid && mentionsTag(bytes) ? parts.extra : null);
        if (this.chunks.takeReply(parts.header, parts.extra)) return;
        const refusedHybrid = outbox.settled(parts.header, parts.extra);
        if (refusedHybrid !== null) return this.resendStock(refusedHybrid);
        if (!parts.hybrid) {
          const taken = this.transfers.take(parts.header, parts.extra);
          return taken === false ? this.deliver(handler, event) : taken === true ? undefined : taken;
        }
        const hand = ([header, extra]) => this.deliver(handler, { data: Object.assign(header, extra ?? {}) });
        const decoded = declaresCompression(parts.extra()) ? null : decodeWithoutInflating(bytes, options);
        return decoded === null ? decodeOffLoop(bytes, options).then(hand, fail) : hand(decoded);
      } catch (error) {
        fail(error);
      }
    }

    /** A refused hybrid call awaiting a reply fails at its caller with the reason (docs/wire-format.md 9.4), not by a timeout. */
    answerRefused(parts, error) {
      const { header } = parts;
      let extra;
      try {
        extra = parts.extra();
      } catch {
        return;
      }
      if (header?.type !== "method" || !extra?.promise) return;
      const reason = `hypha-arrow at ${header.to} refused the call of ${String(header.method).slice(0, 200)}: ${error.message}`;
      this.transfers.reply(header, extra, "reject", { _rtype: "error", _rvalue: reason.slice(0, 2000), _rtrace: "" });
    }

    /** A call a stock peer refused because it came hybrid, sent again in hypha-rpc's forms (docs/wire-format.md 9.2). */
    resendStock(kept) {
      try {
        const frame = kept.stock();
        if (frame.length <= FRAME_LIMIT) super.send(frame);
        else this.chunks.dispatch(frame, { ...kept, hybrid: false });
      } catch (error) {
        this.chunks.fail(kept.header, error);
      }
    }

    send(data) {
      if (typeof data === "string") return super.send(data);
      const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : data;
      const frame = outbox.rebuild(bytes, (target) => peers.readsHybrid(target));
      if (frame.length <= FRAME_LIMIT) return super.send(frame);
      this.chunks.self ??= identity.self;
      this.chunks.dispatch(frame, outbox.origin(frame));
    }
  };
}

/**
 * The frame's header, whether it is hybrid, and its extra on demand; null when the frame is not
 * two msgpack objects (hypha-rpc then reads it as it would).
 */
function peek(bytes) {
  let headerEnd;
  let extraEnd;
  try {
    headerEnd = objectEnd(bytes, 0, 64);
    if (headerEnd === bytes.length) return null;
    extraEnd = objectEnd(bytes, headerEnd, 600);
  } catch {
    return null;
  }
  const header = decodeObject(bytes.subarray(0, headerEnd));
  let extra;
  const readExtra = () => (extra ??= decodeObject(bytes.subarray(headerEnd, extraEnd)));
  const hybrid = extraEnd < bytes.length && isSkeleton(readExtra());
  return { header, hybrid, extra: readExtra };
}

/**
 * Peers remembered per connection, the least recently heard forgotten first (Python's
 * `MAX_PEERS`): anyone can connect as many new client ids as they like. A forgotten peer is
 * judged by its tags again, and a stock one sent a hybrid frame by mistake refuses it and gets
 * the call again, stock.
 */
export const MAX_PEERS = 10_000;

/** What this connection last heard about each peer (docs/wire-format.md 9.1): a header's `_ha` wins over method tags. */
export class Peers {
  constructor() {
    this.heardFrom = new Map();
    this.tagged = new Map();
  }

  heard(header, readExtra) {
    const sender = header?.from;
    if (typeof sender === "string") remember(this.heardFrom, sender, Boolean(header[HEADER_KEY]));
    if (readExtra) collectTags(readExtra(), (target) => remember(this.tagged, target, true));
  }

  readsHybrid(target) {
    return this.heardFrom.get(target) ?? this.tagged.has(target);
  }

  /** A client the server announced as disconnected: its id may be taken by another client next. */
  left(client) {
    this.heardFrom.delete(client);
    this.tagged.delete(client);
  }
}

/** `key` as the most recently heard of `known` (a Map keeps insertion order), the oldest dropped past `MAX_PEERS`. */
function remember(known, key, value) {
  known.delete(key);
  known.set(key, value);
  if (known.size > MAX_PEERS) known.delete(known.keys().next().value);
}

/**
 * Whether the frame holds the tag's msgpack string anywhere: most small frames (replies, calls
 * without callbacks) then need no second decoding only to find no tag.
 */
function mentionsTag(bytes) {
  return indexOfBytes(bytes, TAG_STRING) !== -1;
}

function collectTags(value, found, depth = 0) {
  if (depth > 32 || value === null || typeof value !== "object" || ArrayBuffer.isView(value)) return;
  if (value._rtype === "method" && value[METHOD_TAG] && typeof value._rtarget === "string") found(value._rtarget);
  for (const item of Array.isArray(value) ? value : Object.values(value)) collectTags(item, found, depth + 1);
}

/** Whether `Base` is the ws package's WebSocket (it takes an options argument). */
function isNodeWs(Base) {
  return typeof Base.prototype?.addListener === "function";
}
