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
/** What one frame may carry (under stock clients' 1 MiB inbound limit): beyond, through the target's message cache. */
export const FRAME_LIMIT = (1 << 20) - (64 << 10);
/** The text a stock peer's refusal of a hybrid frame contains (docs/wire-format.md 9.2). */
export const STOCK_REFUSAL = PLACEHOLDER_DTYPE;
const TAG_BYTES = 64 << 10; // extras below this size holding method maps get this client's methods tagged
const LIST_BYTES = 2048; // extras from this size on, to a hybrid peer, are looked through for lists to send as columns
const RESEND_WINDOW = 120_000; // ms a hybrid call is kept for a stock resend: a stock peer refuses while decoding

/** Values waiting in the frames hypha-rpc is packing, by token. */
export class Outbox {
  constructor(options) {
    this.options = options;
    this.values = new Map();
    this.next = 0;
    this.self = null; // "workspace/client" once connected: whose methods get the tag
    this.origins = new WeakMap(); // rebuilt frame -> what it was built from
    this.awaiting = new Map(); // session -> a hybrid call awaiting its reply, kept for a stock resend
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
   * The frame to send for `bytes` (header with `_ha`, tokens replaced, this client's methods
   * tagged: services as `get_service` returns them, callbacks), given whether its target reads
   * hybrid frames.
   * @param {Uint8Array} bytes
   * @param {(target: string) => boolean} readsHybrid
   */
  rebuild(bytes, readsHybrid) {
    const headerEnd = objectEnd(bytes, 0, 64);
    const rest = bytes.subarray(headerEnd);
    const registration = rest.length < TAG_BYTES && this.self !== null && hasMethodMap(rest);
    const unchanged = rest.length === 0 || (this.values.size === 0 && !registration && rest.length < LIST_BYTES);
    if (unchanged && opensWithType(bytes)) return withHeaderEntry(bytes, headerEnd);
    const header = decodeObject(bytes.subarray(0, headerEnd));
    if (header === null || typeof header !== "object" || !("type" in header)) return bytes;
    header[HEADER_KEY] = 1;
    if (unchanged) return withHeader(header, rest);
    const hybrid = readsHybrid(String(header.to));
    if (this.values.size === 0 && !registration && !hybrid) return withHeader(header, rest);
    const extra = decodeObject(rest);
    if (registration) this.tag(extra);
    const taken = new Map();
    const tokens = this.take(extra, taken);
    if (!hybrid && !tokens) return withHeader(header, EXTRA_ENCODER.encode(extra));
    // to a hybrid peer, hypha-rpc's lists and record lists go as columns too
    let frame;
    try {
      frame = encodeMessage(header, replace(extra, taken, hybrid, true), this.options);
    } catch (error) {
      const refusal = replyRefused(header, error);
      if (refusal === null) throw error;
      return refusal;
    }
    const stock = tokens ? () => encodeMessage(header, replace(extra, taken, false, true), this.options) : () => withHeader(header, rest);
    const origin = { header, stock, hybrid };
    this.origins.set(frame, origin);
    if (hybrid && typeof header.session === "string") this.keep(header.session, origin);
    return frame;
  }

  /** What a frame `rebuild` made with values came from: its header, whether it went hybrid, its stock twin. */
  origin(frame) {
    return this.origins.get(frame) ?? null;
  }

  /**
   * A reply to one of the hybrid calls kept: the call to send again, stock, when the reply is a
   * stock peer's refusal of the hybrid frame (docs/wire-format.md 9.2); else null.
   */
  settled(header, readExtra) {
    if (this.awaiting.size === 0 || typeof header?.method !== "string") return null;
    const dot = header.method.lastIndexOf(".");
    const kept = this.awaiting.get(header.method.slice(0, dot));
    if (!kept) return null;
    this.awaiting.delete(header.method.slice(0, dot));
    if (header.method.slice(dot + 1) !== "reject") return null;
    const [reason] = readExtra()?.args ?? [];
    return String(reason?._rvalue ?? reason).includes(STOCK_REFUSAL) ? kept : null;
  }

  keep(session, origin) {
    const now = Date.now();
    for (const [key, kept] of this.awaiting) {
      if (now - kept.at < RESEND_WINDOW) break; // in insertion order: the rest are newer
      this.awaiting.delete(key);
    }
    this.awaiting.set(session, { ...origin, at: now });
  }

  /** Move the values of the tokens in `value` from the outbox into `taken`; whether there were any. */
  take(value, taken) {
    if (value === null || typeof value !== "object" || ArrayBuffer.isView(value)) return false;
    if (value._rdtype === PLACEHOLDER_DTYPE && typeof value._rtoken === "string") {
      const held = this.values.get(value._rtoken);
      this.values.delete(value._rtoken);
      if (held === undefined) throw new EncodeError(`value ${value._rtoken} is no longer held`);
      taken.set(value._rtoken, held);
      return true;
    }
    let found = false;
    for (const item of Array.isArray(value) ? value : Object.values(value)) found = this.take(item, taken) || found;
    return found;
  }

  /** `_rarrow` on every method and generator of this client in `value` (docs/wire-format.md 9.1). */
  tag(value, depth = 0) {
    if (depth > 32 || value === null || typeof value !== "object" || ArrayBuffer.isView(value)) return;
    if ((value._rtype === "method" || value._rtype === "generator") && this.owns(value._rtarget)) value[METHOD_TAG] = 1;
    for (const item of Array.isArray(value) ? value : Object.values(value)) this.tag(item, depth + 1);
  }

  owns(target) {
    if (typeof target !== "string" || this.self === null) return false;
    return target === this.self || target === this.self.slice(this.self.indexOf("/") + 1);
  }
}

/**
 * `value` with each token replaced by its value (hybrid) or by hypha-rpc's form of it (stock).
 * An EncodeError names where the value sits (`args[0]["table"]`), the path built only on failure.
 */
function replace(value, taken, hybrid, top = false) {
  if (value === null || typeof value !== "object" || ArrayBuffer.isView(value)) return value;
  if (value._rdtype === PLACEHOLDER_DTYPE && typeof value._rtoken === "string") {
    const held = taken.get(value._rtoken);
    if (hybrid) return held;
    if (held instanceof NDArray) return stockForm(held);
    throw new EncodeError(`a ${held.constructor.name} can only be sent to a peer that reads hybrid frames (stock hypha-rpc cannot carry it)`);
  }
  const array = Array.isArray(value);
  const out = array ? new Array(value.length) : {};
  let step;
  try {
    if (array) for (step = 0; step < value.length; step++) out[step] = replace(value[step], taken, hybrid);
    else for (step of Object.keys(value)) out[step] = replace(value[step], taken, hybrid);
  } catch (error) {
    if (!(error instanceof EncodeError)) throw error;
    const here = array ? `[${step}]` : top ? step : `[${JSON.stringify(step)}]`;
    throw new EncodeError(error.reason, `${here}${error.path ?? ""}`);
  }
  return out;
}

const METHOD_KEY = [0xa6, ...new TextEncoder().encode("_rtype")];
const METHOD_VALUES = ["method", "generator"].map((name) => [0xa0 | name.length, ...new TextEncoder().encode(name)]);

/** Whether packed msgpack `bytes` hold a map with `_rtype` "method" or "generator" (a byte search, no decoding). */
function hasMethodMap(bytes) {
  for (let at = indexOfBytes(bytes, METHOD_KEY); at !== -1; at = indexOfBytes(bytes, METHOD_KEY, at + 1)) {
    if (METHOD_VALUES.some((value) => startsWith(bytes, value, at + METHOD_KEY.length))) return true;
  }
  return false;
}

/** Where `pattern` first occurs in `bytes` from `from` on, or -1: a byte search, no decoding. */
export function indexOfBytes(bytes, pattern, from = 0) {
  for (let at = bytes.indexOf(pattern[0], from); at !== -1; at = bytes.indexOf(pattern[0], at + 1)) {
    if (startsWith(bytes, pattern, at)) return at;
  }
  return -1;
}

function startsWith(bytes, pattern, at) {
  if (at + pattern.length > bytes.length) return false;
  for (let k = 0; k < pattern.length; k++) if (bytes[at + k] !== pattern[k]) return false;
  return true;
}

/**
 * For a reply (a call of the caller's `resolve`) whose value cannot be sent: the call of its
 * `reject` with the reason, so the caller learns why instead of waiting for a timeout; else null.
 */
function replyRefused(header, error) {
  if (!(error instanceof EncodeError) || typeof header.method !== "string" || !header.method.endsWith(".resolve")) return null;
  const rejection = { ...header, method: `${header.method.slice(0, -"resolve".length)}reject` };
  const reason = { _rtype: "error", _rvalue: `hypha-arrow could not send the result: ${error.message}`, _rtrace: "" };
  return withHeader(rejection, EXTRA_ENCODER.encode({ args: [reason], with_kwargs: false }));
}

const HEADER_ENCODER = new Encoder();
const EXTRA_ENCODER = new Encoder({ useBigInt64: true });

const HEADER_ENTRY = Uint8Array.of(...HEADER_ENCODER.encode(HEADER_KEY), ...HEADER_ENCODER.encode(1));
const TYPE_KEY = HEADER_ENCODER.encode("type");

/**
 * Whether the packed header is a map of at most 14 entries whose first key is "type", as
 * hypha-rpc packs every message's: then `_ha` can be appended to it without decoding it.
 */
function opensWithType(bytes) {
  return bytes[0] > 0x80 && bytes[0] < 0x8f && startsWith(bytes, TYPE_KEY, 1);
}

/**
 * The frame with `_ha: 1` appended to its header map, the rest as it was: the small-call path,
 * one copy and no msgpack work (decoding the header and packing it again cost more than the
 * rest of the wrapper's work on a small call).
 */
function withHeaderEntry(bytes, headerEnd) {
  const out = new Uint8Array(bytes.length + HEADER_ENTRY.length);
  out[0] = bytes[0] + 1; // a fixmap's entry count is its low nibble
  out.set(bytes.subarray(1, headerEnd), 1);
  out.set(HEADER_ENTRY, headerEnd);
  out.set(bytes.subarray(headerEnd), headerEnd + HEADER_ENTRY.length);
  return out;
}

/** `header` packed again, then the rest of the frame as it was: one copy, no decoding. */
function withHeader(header, rest) {
  const packed = HEADER_ENCODER.encode(header);
  const out = new Uint8Array(packed.length + rest.length);
  out.set(packed, 0);
  out.set(rest, packed.length);
  return out;
}
