/**
 * `NDArray`: a numpy array in JavaScript, a TypedArray with numpy's shape, dtype and order.
 */
import { DecodeError, EncodeError } from "./errors.js";

const TYPED_DTYPES = new Map([
  [Float64Array, "<f8"], [Float32Array, "<f4"],
  [Int8Array, "|i1"], [Int16Array, "<i2"], [Int32Array, "<i4"], [BigInt64Array, "<i8"],
  [Uint8Array, "|u1"], [Uint16Array, "<u2"], [Uint32Array, "<u4"], [BigUint64Array, "<u8"],
]);

/** The TypedArray holding each numeric dtype's elements (by kind and item size), native order. */
export const ELEMENT_ARRAYS = new Map([
  ["b1", Uint8Array], ["i1", Int8Array], ["u1", Uint8Array], ["i2", Int16Array], ["u2", Uint16Array], ["i4", Int32Array], ["u4", Uint32Array],
  ["i8", BigInt64Array], ["u8", BigUint64Array], ["f2", Uint16Array], ["f4", Float32Array], ["f8", Float64Array], ["c8", Float32Array], ["c16", Float64Array],
  ["M8", BigInt64Array], ["m8", BigInt64Array],
]);

/**
 * The 0-d `NDArray`s that arrived as numpy scalars (hypha-rpc's `_rscalar` form, cell
 * extension 5): sent back as scalars. Any other 0-d NDArray goes as a 0-d array.
 */
export const SCALARS = new WeakSet();

/** `array`, marked as a numpy scalar. */
export function asScalar(array) {
  SCALARS.add(array);
  return array;
}

/** A TypedArray that travels as a 1-d numpy array (a Uint8Array is bytes, as msgpack's bin). */
export function isBareTypedArray(value) {
  return ArrayBuffer.isView(value) && !(value instanceof Uint8Array) && TYPED_DTYPES.has(value.constructor);
}

/** numpy's limit on dimensions (NPY_MAXDIMS, numpy 2): Python refuses more. */
export const MAX_DIMENSIONS = 64;
const MAX_BYTES = 2n ** 63n - 1n;

/**
 * What numpy would refuse in `shape`, or null: more than 64 dimensions, a dimension that is not
 * a safe non-negative integer, or (as numpy's "array is too big") nonzero dimensions whose
 * product times `itemsize` exceeds int64, zero-size arrays included.
 */
export function shapeProblem(shape, itemsize = 1) {
  if (!Array.isArray(shape) || !shape.every((n) => Number.isSafeInteger(n) && n >= 0)) {
    return `shape must be an array of non-negative integers, got ${JSON.stringify(shape, (_k, v) => (typeof v === "bigint" ? String(v) : v))?.slice(0, 200)}`;
  }
  if (shape.length > MAX_DIMENSIONS) return `shape has ${shape.length} dimensions, numpy allows at most ${MAX_DIMENSIONS}`;
  let bytes = BigInt(itemsize);
  for (const n of shape) if (n > 0 && (bytes *= BigInt(n)) > MAX_BYTES) return `shape ${JSON.stringify(shape)} of ${itemsize}-byte elements is larger than numpy's maximum array size`;
  return null;
}

export class NDArray {
  /**
   * @param {ArrayBufferView | string[] | unknown[]} data the elements, in `order`
   * @param {number[]} shape
   * @param {string} [dtype] numpy's `dtype.str`; defaults from the TypedArray (`<f8` for Float64Array)
   * @param {"C" | "F"} [order]
   */
  constructor(data, shape, dtype, order = "C") {
    const inferred = dtype ?? TYPED_DTYPES.get(data?.constructor);
    if (inferred === undefined) {
      throw new TypeError(`NDArray: no default dtype for ${data?.constructor?.name}; give one`);
    }
    const problem = shapeProblem(shape);
    if (problem !== null) throw new TypeError(`NDArray: ${problem}`);
    if (order !== "C" && order !== "F") throw new TypeError(`NDArray: order must be "C" or "F", got ${order}`);
    this.data = data;
    this.shape = shape;
    this.dtype = inferred;
    this.order = order;
  }

  /** Number of elements: the product of the shape. */
  get size() {
    return this.shape.reduce((a, b) => a * b, 1);
  }
}

/** `U` elements (UCS-4) as strings, `S` elements as bytes, trailing NULs stripped as numpy does. */
export function fixedWidthElements(raw, kind, width, byteOrder, count) {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  return Array.from({ length: count }, (_, i) => {
    const start = i * width;
    let end = width;
    if (kind === "S") {
      while (end > 0 && raw[start + end - 1] === 0) end--;
      return raw.slice(start, start + end);
    }
    const little = byteOrder !== ">";
    while (end > 0 && view.getUint32(start + end - 4, little) === 0) end -= 4;
    const points = [];
    for (let k = 0; k < end; k += 4) {
      const point = view.getUint32(start + k, little);
      if (point > 0x10ffff) throw new DecodeError(`invalid UCS-4 code point ${point}`);
      points.push(point);
    }
    let text = "";
    for (let k = 0; k < points.length; k += 4096) text += String.fromCodePoint(...points.slice(k, k + 4096)); // spread has an argument limit
    return text;
  });
}


/**
 * The inverse of `fixedWidthElements`: strings (`U`, as UCS-4 code units) or bytes (`S`) laid
 * out NUL-padded to `width` bytes each. An element numpy would read back otherwise is refused:
 * one too long, or one ending in NUL (numpy strips trailing NULs, so "a\0" would arrive as "a").
 */
export function fixedWidthBytes(elements, kind, width, byteOrder) {
  const out = new Uint8Array(elements.length * width);
  const view = new DataView(out.buffer);
  const little = byteOrder !== ">";
  elements.forEach((element, i) => {
    const where = `element ${i}`;
    if (kind === "S") {
      if (!(element instanceof Uint8Array)) throw new EncodeError(`${where} of an S array must be a Uint8Array, got ${typeof element}`);
      if (element.length > width) throw new EncodeError(`${where} has ${element.length} bytes, the dtype holds ${width}`);
      if (element.length && element[element.length - 1] === 0) throw new EncodeError(`${where} ends in a NUL byte, which numpy would strip`);
      out.set(element, i * width);
      return;
    }
    if (typeof element !== "string") throw new EncodeError(`${where} of a U array must be a string, got ${typeof element}`);
    let k = 0;
    for (const char of element) {
      if (4 * (k + 1) > width) throw new EncodeError(`${where} has more than the ${width / 4} characters the dtype holds`);
      view.setUint32(i * width + 4 * k++, char.codePointAt(0), little);
    }
    if (element.endsWith("\0")) throw new EncodeError(`${where} ends in a NUL character, which numpy would strip`);
  });
  return out;
}

/** A numeric NDArray's elements (native TypedArray `data`) as bytes in `dtype`'s byte order, as numpy's `tobytes`. */
export function ownOrderBytes(data, dtype) {
  const bytes = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  const width = data.BYTES_PER_ELEMENT;
  if (dtype[0] === ">" && width > 1) for (let i = 0; i < bytes.length; i += width) bytes.subarray(i, i + width).reverse();
  return bytes;
}

/** Whether `buffer` was transferred away: Node 20 has no `ArrayBuffer.prototype.detached`, but a view on it cannot be made. */
function isDetached(buffer) {
  try {
    new Uint8Array(buffer, 0, 0);
    return false;
  } catch {
    return true;
  }
}

const DTYPE = /^([<>|=])([a-zA-Z])(\d+)(\[(\w+)\])?$/;
/** numpy's datetime64 / timedelta64 units (with an optional multiple: `[10ms]`); no other kind takes one. */
const TIME_UNIT = /^\d*(Y|M|W|D|h|m|s|ms|us|ns|ps|fs|as)$/;
const RAW = /^(f16|c32|V[1-9]\d*)$/;

/**
 * `array.dtype` taken apart (byte order, kind, item size), with its data checked to be what
 * an encoder can send exactly: numeric kinds a TypedArray of the dtype's class holding
 * `size` elements (twice that for complex), `U`/`S`/`O` an Array of `size` elements, long
 * doubles and void records (`raw`) their bytes in a Uint8Array, as the decoder gives them.
 */
export function checkedDtype(array) {
  const match = DTYPE.exec(array.dtype) ?? (array.dtype === "|O" ? [null, "|", "O", "0"] : null);
  if (!match) throw new EncodeError(`NDArray dtype ${JSON.stringify(array.dtype)} is not a numpy dtype.str`);
  const [, byteOrder, kind, digits, , unit] = match;
  const itemsize = Number(digits);
  if (unit !== undefined && kind !== "M" && kind !== "m") throw new EncodeError(`NDArray dtype ${array.dtype}: numpy gives a unit only to datetime64 and timedelta64`);
  if (unit !== undefined && !TIME_UNIT.test(unit)) throw new EncodeError(`NDArray dtype ${array.dtype}: numpy has no time unit ${JSON.stringify(unit)}`);
  // checked again here, not only by the constructor: `shape` may have been changed since
  const problem = shapeProblem(array.shape, kind === "U" ? 4 * itemsize : kind === "O" ? 8 : Math.max(itemsize, 1));
  if (problem !== null) throw new EncodeError(`NDArray ${problem}`);
  if (array.order !== "C" && array.order !== "F") throw new EncodeError(`NDArray order must be "C" or "F", got ${JSON.stringify(array.order)}`);
  const size = array.size;
  if (kind === "U" || kind === "S" || kind === "O") {
    if (!Array.isArray(array.data) || array.data.length !== size) throw new EncodeError(`an NDArray of ${array.dtype} and shape ${JSON.stringify(array.shape)} needs an Array of ${size} elements`);
    return { byteOrder, kind, itemsize };
  }
  const View = ELEMENT_ARRAYS.get(`${kind}${itemsize}`);
  if (View === undefined) {
    // long double, its complex, void and structured records: no TypedArray, raw bytes as numpy holds them
    if (!RAW.test(`${kind}${itemsize}`)) throw new EncodeError(`NDArray dtype ${array.dtype} is not a dtype numpy sends (no such kind and size)`);
    if (!(array.data instanceof Uint8Array) || array.data.length !== size * itemsize) {
      throw new EncodeError(`an NDArray of ${array.dtype} and shape ${JSON.stringify(array.shape)} needs its raw bytes, a Uint8Array of ${size * itemsize}`);
    }
    return { byteOrder, kind, itemsize, raw: true };
  }
  const count = size * (kind === "c" ? 2 : 1);
  if (!(array.data instanceof View) || array.data.length !== count) {
    throw new EncodeError(`an NDArray of ${array.dtype} and shape ${JSON.stringify(array.shape)} needs a ${View.name} of ${count} elements, got ${array.data?.constructor?.name} of ${array.data?.length}`);
  }
  if (isDetached(array.data.buffer)) throw new EncodeError("the NDArray's buffer is detached (transferred): its elements are gone");
  if (kind === "b" && array.data.some((byte) => byte > 1)) throw new EncodeError(`an NDArray of ${array.dtype} holds bytes other than 0 and 1, which numpy does not read back as they are`);
  return { byteOrder, kind, itemsize };
}
