/**
 * What pyarrow's `validate(full=True)` checks and apache-arrow JS does not: that every buffer
 * holds what its type and length need, and every offset, index and type id points inside its
 * data. Without it a hostile offset reads another value's bytes (a silently wrong string) or
 * nothing at all (apache-arrow's views clamp instead of failing).
 */
import { Type } from "apache-arrow";
import { DecodeError } from "./errors.js";

const MAX_NESTING = 64;

/**
 * The summed lengths of the null-type and field-less struct arrays in `data` at every level,
 * dictionaries included: values a decoder would build from no bytes of theirs (a few bytes
 * can declare millions). Read from the lengths alone, before any value is built.
 */
export function bytelessElements(data) {
  const { type } = data; // nesting: bounded by the guard's schema check when decoding
  if (type.typeId === Type.Null || (type.typeId === Type.Struct && type.children.length === 0)) return data.length;
  let total = 0;
  for (const child of data.children ?? []) total += bytelessElements(child);
  for (const chunk of data.dictionary?.data ?? []) total += bytelessElements(chunk);
  return total;
}

/** @param {import("apache-arrow").Data} data */
export function validate(data, depth = 0) {
  if (depth > MAX_NESTING) throw new DecodeError("Arrow data nests too deep");
  const { type, offset, length } = data;
  const end = offset + length;
  if (!(Number.isSafeInteger(offset) && offset >= 0 && Number.isSafeInteger(length) && length >= 0)) fail(type, `offset ${offset} or length ${length}`);
  if (data.nullBitmap && data.nullBitmap.length && data.nullBitmap.length * 8 < end) fail(type, "validity bitmap shorter than its length");
  switch (type.typeId) {
    case Type.Null:
      return;
    case Type.Bool:
      return needBytes(type, data.values, Math.ceil(end / 8), "values");
    case Type.Int:
    case Type.Float:
    case Type.Date:
    case Type.Time:
    case Type.Timestamp:
    case Type.Duration:
    case Type.Interval:
      return needBytes(type, data.values, end * bytesPerValue(type), "values");
    case Type.Decimal:
      return needBytes(type, data.values, end * (type.bitWidth / 8), "values");
    case Type.FixedSizeBinary:
      return needBytes(type, data.values, end * type.byteWidth, "values");
    case Type.Utf8:
    case Type.LargeUtf8:
    case Type.Binary:
    case Type.LargeBinary:
      return checkOffsets(type, data.valueOffsets, offset, length, data.values?.length ?? 0);
    case Type.List:
    case Type.LargeList:
    case Type.Map: {
      const child = data.children[0];
      checkOffsets(type, data.valueOffsets, offset, length, child.offset + child.length);
      return validate(child, depth + 1);
    }
    case Type.FixedSizeList: {
      const child = data.children[0];
      if (child.offset + child.length < end * type.listSize) fail(type, "child shorter than its lists");
      return validate(child, depth + 1);
    }
    case Type.Struct:
      for (const child of data.children) {
        if (child.offset + child.length < end) fail(type, "a child shorter than the struct");
        validate(child, depth + 1);
      }
      return;
    case Type.Union:
      return checkUnion(data, depth);
    case Type.Dictionary: {
      const dictionary = data.dictionary;
      if (!dictionary) fail(type, "no dictionary");
      for (const chunk of dictionary.data) validate(chunk, depth + 1);
      needBytes(type, data.values, end * bytesPerValue(type.indices), "indices");
      const size = dictionary.length;
      for (let i = offset; i < end; i++) {
        const index = Number(data.values[i]);
        if ((index < 0 || index >= size) && isValid(data, i)) fail(type, `index ${index} outside its ${size}-value dictionary`);
      }
      return;
    }
    default:
      fail(type, "is not a type hypha_arrow frames hold");
  }
}

function checkOffsets(type, offsets, offset, length, dataLength) {
  if (!offsets || offsets.length < offset + length + 1) fail(type, "offsets shorter than its length");
  let previous = Number(offsets[offset]);
  if (previous < 0) fail(type, `offset ${previous} is negative`);
  for (let i = offset + 1; i <= offset + length; i++) {
    const next = Number(offsets[i]);
    if (next < previous) fail(type, `offsets decrease at ${i}`);
    previous = next;
  }
  if (previous > dataLength) fail(type, `offset ${previous} lies past its ${dataLength} values`);
}

function checkUnion(data, depth) {
  const { type, offset, length } = data;
  const ids = data.typeIds;
  need(type, ids, offset + length, "type ids");
  const slots = new Map(Array.from(type.typeIds, (id, child) => [id, child]));
  for (let i = offset; i < offset + length; i++) {
    const child = slots.get(ids[i]);
    if (child === undefined) fail(type, `type id ${ids[i]} names no child`);
    const childData = data.children[child];
    const at = data.valueOffsets ? data.valueOffsets[i] : i;
    if (at < 0 || at >= childData.offset + childData.length) fail(type, `slot ${i} points past child ${child}`);
  }
  for (const child of data.children) validate(child, depth + 1);
}

/** Bytes of one value of a fixed-width type. */
function bytesPerValue(type) {
  switch (type.typeId) {
    case Type.Float:
      return [2, 4, 8][type.precision];
    case Type.Date:
      return type.unit === 0 ? 4 : 8;
    case Type.Timestamp:
    case Type.Duration:
      return 8;
    case Type.Interval:
      return [4, 8, 16][type.unit];
    default:
      return type.bitWidth / 8;
  }
}

function need(type, values, count, what) {
  if (!values || values.length < count) fail(type, `${what} shorter than its length`);
}

function needBytes(type, values, bytes, what) {
  if (!values || values.byteLength < bytes) fail(type, `${what} shorter than its length`);
}

function isValid(data, i) {
  const bitmap = data.nullBitmap;
  return !bitmap || !bitmap.length || (bitmap[i >> 3] >> (i & 7)) & 1;
}

function fail(type, what) {
  throw new DecodeError(`Arrow ${type}: ${what}`);
}
