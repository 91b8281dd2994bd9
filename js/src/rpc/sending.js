/**
 * Values leaving through hypha-rpc JS: its codecs turn each large value into a token (hypha-rpc
 * then packs a small frame), and the WebSocket wrapper rebuilds the frame before it leaves:
 * hybrid for a peer that reads hybrid frames, hypha-rpc's own forms for any other.
 */
import { Table, Vector } from "apache-arrow";
import { EncodeError } from "../errors.js";
import { encodeMessage } from "../encoding.js";
import { PLACEHOLDER_DTYPE } from "../framing.js";
import { columnOf } from "../families/encode.js";
import { Encoder } from "@msgpack/msgpack";
import { decodeObject, objectEnd } from "../msgpack.js";
import { NDArray } from "../ndarray.js";
import { stockForm } from "../stock_forms.js";

export const METHOD_TAG = "_rarrow";
export const HEADER_KEY = "_ha";
export const FRAME_LIMIT = (1 << 20) - (64 << 10);
/** What one frame may carry (under stock clients' 1 MiB inbound limit): beyond, through the target's message cache. */

/** Values waiting in the frames hypha-rpc is packing, by token. */
export class Outbox {
  constructor(options) {
    this.options = options;
    this.values = new Map();
    this.next = 0;
  }

  /** The codecs to register: each large value becomes a token, small arrays hypha-rpc's form. */
  codecs(decode) {
    const keep = (value) => {
      if (columnOf(value, this.options) === null) {
        if (value instanceof NDArray) return stockForm(value);
        throw new EncodeError(`an empty or unsupported ${value.constructor.name} cannot be sent`);
      }
      const token = `t${this.next++}`;
      this.values.set(token, value);
      return { _rtype: "ndarray", _rdtype: PLACEHOLDER_DTYPE, _rtoken: token };
    };
    return [
      { name: "ndarray", type: NDArray, encoder: keep, decoder: decode },
      { name: "hypha_arrow_table", type: Table, encoder: keep },
      { name: "hypha_arrow_vector", type: Vector, encoder: keep },
    ];
  }

  /**
   * The frame to send for `bytes` (header with `_ha`, tokens replaced), given whether its target
   * reads hybrid frames.
   * @param {Uint8Array} bytes
   * @param {(target: string) => boolean} readsHybrid
   */
  rebuild(bytes, readsHybrid) {
    const headerEnd = objectEnd(bytes, 0, 64);
    const header = decodeObject(bytes.subarray(0, headerEnd));
    if (header === null || typeof header !== "object" || !("type" in header)) return bytes;
    header[HEADER_KEY] = 1;
    if (this.values.size === 0 || headerEnd === bytes.length) return withHeader(header, bytes.subarray(headerEnd));
    const extra = decodeObject(bytes.subarray(headerEnd));
    const hybrid = readsHybrid(String(header.to));
    const replaced = this.replace(extra, hybrid);
    const frame = encodeMessage(header, replaced, this.options);
    if (frame.length > FRAME_LIMIT && !hybrid) throw new EncodeError(`a ${frame.length}-byte frame to a stock peer needs hypha-rpc's own chunking, which this prototype does not do yet`);
    return frame;
  }

  replace(value, hybrid) {
    if (Array.isArray(value)) return value.map((item) => this.replace(item, hybrid));
    if (value === null || typeof value !== "object" || ArrayBuffer.isView(value)) return value;
    if (value._rdtype === PLACEHOLDER_DTYPE && typeof value._rtoken === "string") {
      const taken = this.values.get(value._rtoken);
      this.values.delete(value._rtoken);
      if (taken === undefined) throw new EncodeError(`value ${value._rtoken} is no longer held`);
      if (hybrid) return taken;
      if (taken instanceof NDArray) return stockForm(taken);
      throw new EncodeError(`a ${taken.constructor.name} can only be sent to a peer that reads hybrid frames (stock hypha-rpc cannot carry it)`);
    }
    const out = {};
    for (const [key, item] of Object.entries(value)) out[key] = this.replace(item, hybrid);
    return out;
  }
}

const HEADER_ENCODER = new Encoder();

/** `header` packed again, then the rest of the frame as it was: one copy, no decoding. */
function withHeader(header, rest) {
  const packed = HEADER_ENCODER.encode(header);
  const out = new Uint8Array(packed.length + rest.length);
  out.set(packed, 0);
  out.set(rest, packed.length);
  return out;
}
