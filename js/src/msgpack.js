/**
 * msgpack as the frames use it: where each object ends (so the Arrow section after the
 * skeleton is found without decoding it), and decoding with the integer rules of the spec.
 */
import { Decoder } from "@msgpack/msgpack";
import { DecodeError } from "./errors.js";

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
 * safe integers and as BigInt beyond 2^53, as the spec's integer rule says; map keys may be
 * strings or numbers, as Python's `strict_map_key=False` writes them.
 * @param {Uint8Array} bytes exactly the object's bytes
 */
export function decodeObject(bytes) {
  let value;
  try {
    value = new Decoder({ useBigInt64: true, mapKeyConverter: mapKey }).decode(bytes);
  } catch (error) {
    throw new DecodeError(`invalid msgpack: ${error.message}`);
  }
  return safeIntegers(value);
}

function mapKey(key) {
  if (typeof key === "string" || typeof key === "number") return key;
  if (typeof key === "bigint") return key >= -SAFE && key <= SAFE ? Number(key) : key.toString();
  throw new DecodeError(`a msgpack map key of type ${typeof key} cannot be a JavaScript object key`);
}

/** BigInts within (-2^53, 2^53) as numbers, in place, through arrays and plain objects. */
function safeIntegers(value) {
  if (typeof value === "bigint") return value >= -SAFE && value <= SAFE ? Number(value) : value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = safeIntegers(value[i]);
  } else if (value !== null && typeof value === "object" && !ArrayBuffer.isView(value)) {
    for (const key of Object.keys(value)) value[key] = safeIntegers(value[key]);
  }
  return value;
}
