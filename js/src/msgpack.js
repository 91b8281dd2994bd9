/**
 * msgpack as the frames use it: where each object ends (so the Arrow section after the
 * skeleton is found without decoding it), and decoding with the integer rules of the spec.
 */
import { Decoder, Encoder } from "@msgpack/msgpack";
import { DecodeError, EncodeError } from "./errors.js";

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * The offset just past the msgpack object starting at `pos`, found without building it.
 * @param {Uint8Array} bytes
 * @param {number} pos
 * @param {number} maxDepth containers nested deeper are refused (msgpack's own limit is 1024)
 */
export function objectEnd(bytes, pos, maxDepth) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = bytes.length;
  const pending = []; // items still to read in each open container
  let remaining = 1;
  const need = (n) => {
    if (pos + n > size) throw new DecodeError(`msgpack data truncated at byte ${size}`);
  };
  while (true) {
    while (remaining === 0) {
      if (!pending.length) return pos;
      remaining = pending.pop();
    }
    remaining -= 1;
    need(1);
    const head = bytes[pos++];
    let skip = 0;
    let items = -1;
    if (head <= 0x7f || head >= 0xe0 || head === 0xc0 || head === 0xc2 || head === 0xc3) skip = 0;
    else if (head <= 0x8f) items = 2 * (head & 0x0f);
    else if (head <= 0x9f) items = head & 0x0f;
    else if (head <= 0xbf) skip = head & 0x1f;
    else if (head === 0xc1) throw new DecodeError(`invalid msgpack at byte ${pos - 1}: reserved type 0xc1`);
    else if (head === 0xc4 || head === 0xd9) { need(1); skip = bytes[pos]; pos += 1; }
    else if (head === 0xc5 || head === 0xda) { need(2); skip = view.getUint16(pos); pos += 2; }
    else if (head === 0xc6 || head === 0xdb) { need(4); skip = view.getUint32(pos); pos += 4; }
    else if (head === 0xc7) { need(1); skip = bytes[pos] + 1; pos += 1; }
    else if (head === 0xc8) { need(2); skip = view.getUint16(pos) + 1; pos += 2; }
    else if (head === 0xc9) { need(4); skip = view.getUint32(pos) + 1; pos += 4; }
    else if (head === 0xca) skip = 4;
    else if (head === 0xcb) skip = 8;
    else if (head >= 0xcc && head <= 0xcf) skip = 1 << (head - 0xcc);
    else if (head >= 0xd0 && head <= 0xd3) skip = 1 << (head - 0xd0);
    else if (head >= 0xd4 && head <= 0xd8) skip = 1 + (1 << (head - 0xd4));
    else if (head === 0xdc) { need(2); items = view.getUint16(pos); pos += 2; }
    else if (head === 0xdd) { need(4); items = view.getUint32(pos); pos += 4; }
    else if (head === 0xde) { need(2); items = 2 * view.getUint16(pos); pos += 2; }
    else if (head === 0xdf) { need(4); items = 2 * view.getUint32(pos); pos += 4; }
    if (items >= 0) {
      if (items > size - pos) throw new DecodeError(`msgpack container at byte ${pos} claims ${items} items, more than the frame's bytes`);
      if (pending.length >= maxDepth) throw new DecodeError(`msgpack nesting deeper than max_depth=${maxDepth}`);
      pending.push(remaining);
      remaining = items;
    } else {
      need(skip);
      pos += skip;
    }
  }
}

/**
 * Decode exactly one msgpack object. 64-bit integers come back as numbers when they are
 * safe integers and as BigInt beyond 2^53, as the spec's integer rule says. A map whose keys
 * are all strings is a plain object; a map with any other key (int, float, bool, nil, bin,
 * as Python's `strict_map_key=False` writes them) is a `Map` holding every key as itself, in
 * the map's order, which `encode` sends back as the same msgpack map.
 * @param {Uint8Array} bytes exactly the object's bytes
 */
export function decodeObject(bytes) {
  return PLAIN.decode(bytes);
}

/**
 * @msgpack/msgpack builds every map as an object with string keys. So its key converter stands
 * each key an object cannot hold as itself (a non-string, or a string JavaScript would reorder
 * or that looks like a stand-in) for a stand-in string, and the walk after decoding turns the
 * maps holding stand-ins back into objects or `Map`s. The stand-in table is per decode call.
 */
const STAND_IN = "\u0000hypha-arrow key ";
const REORDERED = /^\d+$/; // integer-like keys: an object lists them first, in numeric order

/**
 * @msgpack/msgpack refuses a `__proto__` key before its key converter sees it (assigning it
 * would replace the object's prototype). Python sends it as any other key, so the key decoder
 * hands it over boxed, the converter stands it in, and the map is rebuilt with it as an own key.
 */
const PROTO = "__proto__";
const PROTO_KEY = Object.freeze(new String(PROTO));
const LIBRARY_KEYS = new Decoder().keyDecoder; // @msgpack/msgpack's own cache of short keys
const PROTO_KEY_DECODER = {
  canBeCached: (byteLength) => LIBRARY_KEYS.canBeCached(byteLength),
  decode(bytes, offset, byteLength) {
    const text = LIBRARY_KEYS.decode(bytes, offset, byteLength);
    return text === PROTO ? PROTO_KEY : text;
  },
};

export class MsgpackDecoder {
  /** @param {import("@msgpack/msgpack").ExtensionCodec} [extensionCodec] */
  constructor(extensionCodec) {
    this.keys = [];
    this.decoder = new Decoder({ useBigInt64: true, extensionCodec, keyDecoder: PROTO_KEY_DECODER, mapKeyConverter: (key) => this.standIn(key) });
  }

  decode(bytes) {
    this.keys = [];
    let value;
    try {
      value = this.decoder.decode(bytes);
    } catch (error) {
      if (error instanceof DecodeError) throw error;
      throw new DecodeError(`invalid msgpack: ${error.message}`);
    }
    return normalised(value, this.keys);
  }

  standIn(key) {
    if (typeof key === "string" && !REORDERED.test(key) && !key.startsWith(STAND_IN)) return key;
    if (key === PROTO_KEY) key = PROTO;
    if (!(typeof key === "string" || typeof key === "number" || typeof key === "bigint" || typeof key === "boolean" || key === null || key instanceof Uint8Array)) {
      throw new DecodeError(`a msgpack map key of type ${describe(key)} is not a str, bin, int, float, bool or nil`);
    }
    this.keys.push(typeof key === "bigint" ? safeInteger(key) : key);
    return STAND_IN + (this.keys.length - 1);
  }
}

const PLAIN = new MsgpackDecoder();

function describe(key) {
  return Array.isArray(key) ? "array" : key?.constructor?.name ?? typeof key;
}

function safeInteger(value) {
  return value >= -SAFE && value <= SAFE ? Number(value) : value;
}

/**
 * BigInts within (-2^53, 2^53) as numbers, and maps holding stand-ins rebuilt, through plain
 * arrays and objects (what an extension type decoded to, such as a `Tuple`, is already done).
 */
function normalised(value, keys) {
  if (typeof value === "bigint") return safeInteger(value);
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    if (value.constructor !== Array) return value;
    for (let i = 0; i < value.length; i++) value[i] = normalised(value[i], keys);
    return value;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype || Object.isFrozen(value)) return value; // frozen: `NA`
  let standIns = false;
  for (const key of Object.keys(value)) {
    value[key] = normalised(value[key], keys);
    if (keys.length && key.startsWith(STAND_IN)) standIns = true;
  }
  if (!standIns) return value;
  const entries = Object.entries(value).map(([key, item]) => [key.startsWith(STAND_IN) ? keys[Number(key.slice(STAND_IN.length))] : key, item]);
  return entries.every(([key]) => typeof key === "string") ? Object.fromEntries(entries) : new Map(entries);
}

/**
 * msgpack as hypha-rpc JS packs it, plus `Map`s: a `Map` is packed as a msgpack map with each
 * key as itself (str, int, float, bool, nil, bin); any other key is refused, since Python
 * could not read it back as the same key.
 */
export class FrameEncoder extends Encoder {
  /** @param {import("@msgpack/msgpack").ExtensionCodec} [extensionCodec] */
  constructor(extensionCodec) {
    super({ useBigInt64: true, ignoreUndefined: false, extensionCodec });
  }

  /** A string refused by `encodeString` gets its place in `value`, looked for only then. */
  encode(value) {
    try {
      return super.encode(value);
    } catch (error) {
      if (!(error instanceof IllFormedString)) throw error;
      const path = pathTo(value, error.text);
      throw new EncodeError(path ? `${error.reason}, at ${path}` : error.reason);
    }
  }

  /** Every string msgpack writes, map keys included, must have a UTF-8 form (see `checkWellFormed`). */
  encodeString(text) {
    if (!text.isWellFormed()) throw new IllFormedString(text);
    super.encodeString(text);
  }

  /**
   * An integer as a msgpack int at any size: with `useBigInt64` @msgpack/msgpack writes safe
   * integers from 2^32 (and below -2^31) as float64, so Python would read 4294967296.0.
   */
  encodeNumber(value) {
    if (Number.isSafeInteger(value) && (value >= 2 ** 32 || value < -(2 ** 31))) this.encodeBigInt64(BigInt(value));
    else super.encodeNumber(value);
  }

  /** A BigInt beyond 64 bits (msgpack's own encoder would write it modulo 2^64). */
  encodeBigInt64(value) {
    if (value < INT64[0] || value > INT64[1]) this.encodeBigIntBeyond64(value);
    else super.encodeBigInt64(value);
  }

  encodeBigIntBeyond64(value) {
    throw new EncodeError(`the integer ${value}n does not fit msgpack's 64 bits (only a cell can carry it: an object NDArray element or a record value)`);
  }

  encodeMap(object, depth) {
    if (!(object instanceof Map)) return super.encodeMap(object, depth);
    const size = object.size;
    if (size < 16) this.writeU8(0x80 + size);
    else if (size < 0x10000) {
      this.writeU8(0xde);
      this.writeU16(size);
    } else {
      this.writeU8(0xdf);
      this.writeU32(size);
    }
    checkMapKeys(object);
    for (const [key, item] of object) {
      this.doEncode(key, depth + 1);
      this.doEncode(item, depth + 1);
    }
  }
}

const INT64 = [-(2n ** 63n), 2n ** 64n - 1n];

/**
 * Throws unless `text` is well-formed UTF-16. A lone surrogate has no UTF-8 form: @msgpack/msgpack
 * and apache-arrow would write U+FFFD in its place (two such keys then become one), and Python's
 * encoder refuses such strings.
 * @param {string} text
 * @param {string | null} [path] where it sits
 * @param {string} [what] what it is there ("a key")
 */
export function checkWellFormed(text, path = null, what = "a string") {
  if (!text.isWellFormed()) throw new EncodeError(loneSurrogate(text, what), path);
}

const LONE = /\p{Cs}/u;

function loneSurrogate(text, what = "a string") {
  const chars = [...text]; // a lone surrogate stays one item of its own
  const at = chars.findIndex((char) => LONE.test(char));
  return `${what} with a lone surrogate (U+${chars[at].charCodeAt(0).toString(16).toUpperCase()} at character ${at}) has no UTF-8 form`;
}

/** `key` for a path, lone surrogates escaped (printed, they would all look like U+FFFD). */
function printable(key) {
  return key.replace(/\p{Cs}/gu, (char) => `\\u${char.charCodeAt(0).toString(16)}`);
}

class IllFormedString extends EncodeError {
  constructor(text) {
    super(loneSurrogate(text));
    this.text = text;
  }
}

/** Where `text` sits in `value` (as a value or a key), as `['a'][0]`; null if not found. */
function pathTo(value, text, depth = 0) {
  if (value === text) return "";
  if (value === null || typeof value !== "object" || depth > 1024) return null;
  const entries = value instanceof Map ? [...value] : Array.isArray(value) ? value.map((item, i) => [i, item]) : Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null ? Object.entries(value) : [];
  for (const [key, item] of entries) {
    const step = typeof key === "number" && Array.isArray(value) ? `[${key}]` : `[${typeof key === "string" ? `'${printable(key)}'` : show(key)}]`;
    if (key === text) return step;
    const rest = pathTo(item, text, depth + 1);
    if (rest !== null) return step + rest;
  }
  return null;
}

/**
 * Throws unless msgpack packs every key of `map` as a map key Python reads back as the same
 * key, each apart from the others: Python takes `True` and `1`, or `1n` and `1`, for one key.
 * (A Map has already made -0 a 0; an integral float key from Python arrives as an int.)
 */
export function checkMapKeys(map) {
  const seen = new Set();
  for (const key of map.keys()) {
    const ok = typeof key === "string" || typeof key === "boolean" || key === null || key instanceof Uint8Array
      || (typeof key === "number" && !Number.isNaN(key) && (!Number.isInteger(key) || Number.isSafeInteger(key)))
      || (typeof key === "bigint" && key >= INT64[0] && key <= INT64[1]);
    if (!ok) throw new EncodeError(`a Map key ${show(key)} (${describe(key)}) cannot be a msgpack map key that comes back as itself`);
    const python = pythonKey(key);
    if (seen.has(python)) throw new EncodeError(`Map keys equal in Python: ${show(key)} and another key of the same value`);
    seen.add(python);
  }
}

/** What identifies a key in a Python dict: 1, 1n and true are one key; bin keys by their bytes. */
function pythonKey(key) {
  if (typeof key === "boolean") return Number(key);
  if (typeof key === "bigint") return Number.isSafeInteger(Number(key)) && BigInt(Number(key)) === key ? Number(key) : `${key}n`;
  if (key instanceof Uint8Array) return `bytes:${Array.from(key).join(",")}`;
  if (typeof key === "string") return `str:${key}`;
  return key;
}

function show(key) {
  return typeof key === "bigint" ? `${key}n` : key instanceof Uint8Array ? `<${key.length} bytes>` : String(key);
}
