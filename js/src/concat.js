/**
 * Chunks of one Arrow type joined into one contiguous `Data`: a section column holds a value
 * as one list row, so a Table of several record batches (DuckDB-WASM and streaming readers
 * make them) or a chunked Vector is joined before it is sent. Buffers are copied once; what
 * cannot be joined exactly (unions; dictionaries of other than strings that differ between
 * chunks) is refused. String and binary views keep their chunks' data buffers, each view
 * pointed at its own. apache-arrow's slices keep `offset` for the validity bitmap (and boolean
 * values) and cut the value, offset and type-id buffers, so those start at element 0.
 */
import { Type, makeData, vectorFromArray } from "apache-arrow";
import { EncodeError } from "./errors.js";

/**
 * @param {import("apache-arrow").Data[]} chunks all of the same type
 * @returns {import("apache-arrow").Data}
 */
export function concatData(chunks) {
  if (chunks.length === 1) return chunks[0];
  const type = chunks[0].type;
  const length = chunks.reduce((n, chunk) => n + chunk.length, 0);
  const nullCount = chunks.reduce((n, chunk) => n + chunk.nullCount, 0);
  const nullBitmap = nullCount ? joinedBits(chunks.map((c) => [c.nullCount ? c.nullBitmap : null, c.offset, c.length])) : undefined;
  const base = { type, length, nullCount, nullBitmap };
  switch (type.typeId) {
    case Type.Null:
      return makeData({ type, length });
    case Type.Bool:
      return makeData({ ...base, data: joinedBits(chunks.map((c) => [c.values, c.offset, c.length])) });
    case Type.Utf8:
    case Type.LargeUtf8:
    case Type.Binary:
    case Type.LargeBinary: {
      const [valueOffsets, ranges] = joinedOffsets(chunks);
      return makeData({ ...base, valueOffsets, data: joined(chunks.map((c, k) => c.values.subarray(...ranges[k]))) });
    }
    case Type.Utf8View:
    case Type.BinaryView:
      return makeData({ ...base, views: joinedViews(chunks), variadicBuffers: chunks.flatMap((c) => c.variadicBuffers) });
    case Type.List:
    case Type.LargeList:
    case Type.Map: {
      const [valueOffsets, ranges] = joinedOffsets(chunks);
      return makeData({ ...base, valueOffsets, child: concatData(chunks.map((c, k) => c.children[0].slice(ranges[k][0], ranges[k][1] - ranges[k][0]))) });
    }
    case Type.FixedSizeList: {
      const size = type.listSize;
      return makeData({ ...base, child: concatData(chunks.map((c) => c.children[0].slice(0, c.length * size))) });
    }
    case Type.Struct:
      return makeData({ ...base, children: type.children.map((_, k) => concatData(chunks.map((c) => c.children[k]))) });
    case Type.Dictionary: {
      const dictionary = chunks[0].dictionary;
      if (chunks.every((c) => c.dictionary === dictionary)) return makeData({ ...base, data: joined(chunks.map((c) => c.values.subarray(0, c.length))), dictionary });
      return unifiedDictionaries(chunks, base);
    }
    case Type.Union:
    case Type.DenseUnion:
    case Type.SparseUnion:
      throw new EncodeError(`${type} in several chunks is not joined by this encoder: combine them into one`);
    default: // fixed-width values: `stride` elements of `values` each
      return makeData({ ...base, data: joined(chunks.map((c) => c.values.subarray(0, c.length * c.stride))) });
  }
}

/**
 * String dictionaries that differ between chunks (apache-arrow's `tableFromArrays` gives each
 * batch its own) joined into one of the distinct values in first-seen order, the indices
 * rewritten; the index type must still hold them all. Other value types are refused: rebuilding
 * them from JavaScript values could change them (timestamps read as milliseconds).
 */
function unifiedDictionaries(chunks, base) {
  const { type } = base;
  if (type.dictionary.typeId !== Type.Utf8 && type.dictionary.typeId !== Type.LargeUtf8) {
    throw new EncodeError(`the chunks' dictionaries of ${type.dictionary} differ: join them into one dictionary first`);
  }
  const positions = new Map();
  const values = [];
  const indices = new type.indices.ArrayType(base.length);
  let at = 0;
  for (const chunk of chunks) {
    const remap = Array.from({ length: chunk.dictionary.length }, (_, i) => {
      const value = chunk.dictionary.get(i);
      if (value === null) throw new EncodeError("a dictionary holding a null cannot be joined");
      if (!positions.has(value)) positions.set(value, values.push(value) - 1);
      return positions.get(value);
    });
    for (let i = 0; i < chunk.length; i++, at++) {
      const valid = !chunk.nullCount || (chunk.nullBitmap[(chunk.offset + i) >> 3] >> ((chunk.offset + i) & 7)) & 1;
      indices[at] = valid ? remap[Number(chunk.values[i])] : 0;
    }
  }
  const largest = 2 ** (type.indices.bitWidth - (type.indices.isSigned ? 1 : 0)) - 1;
  if (values.length - 1 > largest) throw new EncodeError(`the chunks' dictionaries hold ${values.length} distinct values together, more than ${type.indices} indices reach`);
  if (indices instanceof BigInt64Array || indices instanceof BigUint64Array) indices.forEach((v, i) => (indices[i] = BigInt(v)));
  return makeData({ ...base, data: indices, dictionary: vectorFromArray(values, type.dictionary) });
}

/** TypedArrays of one class, end to end. */
function joined(parts) {
  const out = new parts[0].constructor(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** The chunks' offsets rebased end to end, and the value range each chunk refers to. */
function joinedOffsets(chunks) {
  const wide = chunks[0].valueOffsets instanceof BigInt64Array;
  const out = new chunks[0].valueOffsets.constructor(chunks.reduce((n, c) => n + c.length, 0) + 1);
  const ranges = [];
  let at = 0;
  let base = 0;
  for (const chunk of chunks) {
    const offsets = chunk.valueOffsets;
    const first = Number(offsets[0]);
    const last = Number(offsets[chunk.length]);
    for (let i = 0; i < chunk.length; i++) {
      const value = Number(offsets[i]) - first + base;
      out[at++] = wide ? BigInt(value) : value;
    }
    base += last - first;
    ranges.push([first, last]);
  }
  out[at] = wide ? BigInt(base) : base;
  return [out, ranges];
}

/**
 * Views (16 bytes each: a length, then up to 12 bytes inline, or a prefix, a buffer index and an
 * offset) end to end, each out-of-line view's buffer index moved past the earlier chunks' buffers.
 */
function joinedViews(chunks) {
  const out = joined(chunks.map((c) => c.values.subarray(0, c.length * VIEW_BYTES)));
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let at = 0;
  let buffers = 0;
  for (const chunk of chunks) {
    for (let i = 0; i < chunk.length; i++, at += VIEW_BYTES) {
      if (view.getInt32(at, true) > INLINE_BYTES) view.setInt32(at + 8, view.getInt32(at + 8, true) + buffers, true);
    }
    buffers += chunk.variadicBuffers.length;
  }
  return out;
}

const VIEW_BYTES = 16;
const INLINE_BYTES = 12;

/** Bitmaps (`[bits or null for all set, bit offset, length]`) end to end. */
function joinedBits(parts) {
  const total = parts.reduce((n, [, , length]) => n + length, 0);
  const out = new Uint8Array(Math.ceil(total / 8));
  let at = 0;
  for (const [bits, offset, length] of parts) {
    for (let i = 0; i < length; i++, at++) {
      const set = bits === null || (bits[(offset + i) >> 3] >> ((offset + i) & 7)) & 1;
      if (set) out[at >> 3] |= 1 << (at & 7);
    }
  }
  return out;
}
