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
 */
import { Encoder } from "@msgpack/msgpack";
import { decodeMessage, isSkeleton } from "../framing.js";
import { decodeObject, objectEnd } from "../msgpack.js";
import { Transfers } from "./transfers.js";

export const HEADER_KEY = "_ha";
const FORMAT_VERSION = 1;
const HEADER_ENCODER = new Encoder();

/**
 * @param {typeof WebSocket} Base the platform's WebSocket class (the `ws` package's in Node)
 * @param {object} options decoding options
 * @param {(error: Error) => void} refused what to do with a frame that cannot be read
 */
export function arrowWebSocket(Base, options, refused) {
  return class ArrowWebSocket extends Base {
    constructor(...args) {
      super(...args);
      this.transfers = new Transfers(options, (frame) => super.send(frame), (message) => this.handler?.({ data: message }));
    }

    set onmessage(handler) {
      this.handler = handler;
      super.onmessage = handler === null ? null : (event) => {
        const received = this.received(event);
        if (received !== null) handler(received);
      };
    }

    get onmessage() {
      return super.onmessage;
    }

    /** The event for hypha-rpc, or null when this wrapper handled the frame itself. */
    received(event) {
      const data = event.data;
      if (typeof data === "string") return event;
      const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : data;
      try {
        const parts = peek(bytes);
        if (parts === null) return event;
        if (parts.hybrid) {
          const [header, extra] = decodeMessage(bytes, options);
          return { data: Object.assign(header, extra ?? {}) };
        }
        return this.transfers.take(parts.header, parts.extra) ? null : event;
      } catch (error) {
        refused(error);
        return null;
      }
    }

    send(data) {
      super.send(typeof data === "string" ? data : tagged(data instanceof ArrayBuffer ? new Uint8Array(data) : data));
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

/** The frame with `_ha` added to its routing header. */
function tagged(bytes) {
  const headerEnd = objectEnd(bytes, 0, 64);
  const header = decodeObject(bytes.subarray(0, headerEnd));
  if (header === null || typeof header !== "object" || !("type" in header)) return bytes;
  header[HEADER_KEY] = FORMAT_VERSION;
  const packed = HEADER_ENCODER.encode(header);
  const out = new Uint8Array(packed.length + bytes.length - headerEnd);
  out.set(packed, 0);
  out.set(bytes.subarray(headerEnd), packed.length);
  return out;
}
