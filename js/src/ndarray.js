/**
 * `NDArray`: a numpy array in JavaScript, a TypedArray with numpy's shape, dtype and order.
 */
import { DecodeError } from "./errors.js";

const TYPED_DTYPES = new Map([
  [Float64Array, "<f8"], [Float32Array, "<f4"],
  [Int8Array, "|i1"], [Int16Array, "<i2"], [Int32Array, "<i4"], [BigInt64Array, "<i8"],
  [Uint8Array, "|u1"], [Uint16Array, "<u2"], [Uint32Array, "<u4"], [BigUint64Array, "<u8"],
]);

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
    if (!Array.isArray(shape) || !shape.every((n) => Number.isInteger(n) && n >= 0)) {
      throw new TypeError(`NDArray: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    }
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

