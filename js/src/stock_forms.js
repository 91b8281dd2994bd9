/**
 * hypha-rpc's own array form `{_rtype: "ndarray", _rvalue, _rshape, _rdtype}` (section 5), for
 * arrays below the threshold: in a standalone frame they become `NDArray`s.
 */
import { DecodeError } from "./errors.js";
import { NDArray } from "./ndarray.js";

const NAMED = new Map([
  ["bool", "|b1"], ["int8", "|i1"], ["uint8", "|u1"], ["int16", "<i2"], ["uint16", "<u2"], ["int32", "<i4"], ["uint32", "<u4"],
  ["int64", "<i8"], ["uint64", "<u8"], ["float16", "<f2"], ["float32", "<f4"], ["float64", "<f8"], ["complex64", "<c8"], ["complex128", "<c16"],
]);
const VIEWS = new Map([
  ["b1", Uint8Array], ["i1", Int8Array], ["u1", Uint8Array], ["i2", Int16Array], ["u2", Uint16Array], ["i4", Int32Array], ["u4", Uint32Array],
  ["i8", BigInt64Array], ["u8", BigUint64Array], ["f2", Uint16Array], ["f4", Float32Array], ["f8", Float64Array], ["c8", Float32Array], ["c16", Float64Array],
]);

/** Every stock ndarray map in `value` (at any depth of arrays and maps) as an `NDArray`. */
export function fromStockForms(value) {
  if (Array.isArray(value)) return value.map(fromStockForms);
  if (value === null || typeof value !== "object" || ArrayBuffer.isView(value)) return value;
  if (value._rtype === "ndarray" && value._rvalue instanceof Uint8Array && Array.isArray(value._rshape)) return toNdarray(value);
  for (const key of Object.keys(value)) value[key] = fromStockForms(value[key]);
  return value;
}

function toNdarray(form) {
  const dtype = NAMED.get(form._rdtype) ?? form._rdtype;
  const match = typeof dtype === "string" && /^([<>|=])([a-z]\d+)$/.exec(dtype);
  const View = match && VIEWS.get(match[2]);
  if (!View) throw new DecodeError(`hypha-rpc ndarray of dtype ${JSON.stringify(form._rdtype)} is not read by this decoder yet`);
  const raw = form._rvalue;
  const big = match[1] === ">";
  const width = View.BYTES_PER_ELEMENT;
  if (raw.length % width) throw new DecodeError(`hypha-rpc ndarray of ${raw.length} bytes is not a whole number of ${dtype} elements`);
  const copy = new Uint8Array(raw); // aligned, and in native (little-endian) order
  if (big && width > 1) {
    for (let i = 0; i < copy.length; i += width) copy.subarray(i, i + width).reverse();
  }
  const shape = form._rshape;
  const order = form._rorder === "F" ? "F" : "C";
  let data = new View(copy.buffer);
  if (order === "F") data = toFortran(data, shape, match[2][0] === "c" ? 2 : 1);
  return new NDArray(data, shape, dtype, order);
}

/** C-ordered elements re-laid in Fortran order (the form always carries C order). */
function toFortran(data, shape, perElement) {
  const out = new data.constructor(data.length);
  const size = shape.reduce((a, b) => a * b, 1);
  const index = new Array(shape.length).fill(0);
  for (let c = 0; c < size; c++) {
    let f = 0;
    for (let axis = shape.length - 1; axis >= 0; axis--) f = f * shape[axis] + index[axis];
    for (let k = 0; k < perElement; k++) out[f * perElement + k] = data[c * perElement + k];
    for (let axis = shape.length - 1; axis >= 0; axis--) {
      if (++index[axis] < shape[axis]) break;
      index[axis] = 0;
    }
  }
  return out;
}
