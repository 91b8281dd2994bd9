/**
 * Array columns (docs/wire-format.md 4.4): numpy arrays of one dtype, shape and order, one per
 * `fixed_size_binary` value (its elements little-endian), each decoded to an `NDArray` of its
 * own, as a cell's array is; a null is null. Python sends them for lists of small arrays and
 * for record keys holding one array per row.
 */
import { Type } from "apache-arrow";
import { DecodeError } from "../errors.js";
import { MAX_DIMENSIONS } from "../ndarray.js";
import { ndarrayFromBytes } from "../stock_forms.js";

/** The kinds an array column holds; long doubles (`f16`, `c32`) are not among them. */
const DTYPE = /^([<>|=])([biufcmMUS])([1-9]\d*)(\[\w+\])?$/;
const LONG = new Set(["f16", "c32"]);

/**
 * @param {import("apache-arrow").Vector} vector the column's `fixed_size_binary` values
 * @param {unknown} meta its `dtype`, `shape` and `order`
 * @returns {(import("../ndarray.js").NDArray | null)[]}
 */
export function decodeArrays(vector, meta) {
  if (meta === null || typeof meta !== "object" || Array.isArray(meta)) throw new DecodeError("invalid array column metadata");
  const { dtype, shape, order } = meta;
  const match = typeof dtype === "string" ? DTYPE.exec(dtype) : null;
  if (match === null || LONG.has(`${match[2]}${match[3]}`)) throw new DecodeError(`invalid array column dtype ${JSON.stringify(dtype)}`);
  if (!Array.isArray(shape) || shape.length === 0 || shape.length >= MAX_DIMENSIONS || !shape.every((n) => Number.isSafeInteger(n) && n > 0) || (order !== "C" && order !== "F")) {
    throw new DecodeError(`invalid array column shape ${JSON.stringify(shape)?.slice(0, 200)} or order ${JSON.stringify(order)}`);
  }
  const width = (match[2] === "U" ? 4 : 1) * Number(match[3]) * shape.reduce((a, b) => a * b, 1);
  if (vector.type.typeId !== Type.FixedSizeBinary || vector.type.byteWidth !== width) {
    throw new DecodeError(`array column of type ${vector.type} does not hold ${dtype} arrays of shape ${JSON.stringify(shape)}`);
  }
  const wire = match[1] === ">" ? `<${dtype.slice(1)}` : dtype; // the section is little-endian
  const arrays = new Array(vector.length);
  let i = 0;
  for (const data of vector.data) {
    const start = data.offset * width;
    for (let k = 0; k < data.length; k++, i++) {
      if (!data.getValid(k)) {
        arrays[i] = null;
        continue;
      }
      const array = ndarrayFromBytes(data.values.subarray(start + k * width, start + (k + 1) * width), wire, shape, order);
      array.dtype = dtype;
      arrays[i] = array;
    }
  }
  return arrays;
}
