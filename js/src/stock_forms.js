/**
 * hypha-rpc's own array form `{_rtype: "ndarray", _rvalue, _rshape, _rdtype}` (section 5), for
 * arrays below the threshold: in a standalone frame they become `NDArray`s.
 */
import { DecodeError, EncodeError } from "./errors.js";
import { ELEMENT_ARRAYS, NDArray, SCALARS, asScalar, checkedDtype, fixedWidthBytes, fixedWidthElements, ownOrderBytes, shapeProblem } from "./ndarray.js";

const NAMED = new Map([
  ["bool", "|b1"], ["int8", "|i1"], ["uint8", "|u1"], ["int16", "<i2"], ["uint16", "<u2"], ["int32", "<i4"], ["uint32", "<u4"],
  ["int64", "<i8"], ["uint64", "<u8"], ["float16", "<f2"], ["float32", "<f4"], ["float64", "<f8"], ["complex64", "<c8"], ["complex128", "<c16"],
  ["float128", "<f16"], ["complex256", "<c32"],
]);

/**
 * Every stock ndarray map in `value` (at any depth of arrays and maps) as an `NDArray`; a form
 * that is not a valid array is refused with a DecodeError naming where it is, as `formatPath`
 * (the caller's, which knows the frame's root) writes the steps `path` to it.
 */
export function fromStockForms(value, formatPath = () => null, path = []) {
  if (Array.isArray(value)) return value.map((item, i) => fromStockForms(item, formatPath, [...path, i]));
  if (value === null || typeof value !== "object" || ArrayBuffer.isView(value)) return value;
  if (value instanceof Map) {
    for (const [key, item] of value) value.set(key, fromStockForms(item, formatPath, [...path, key]));
    return value;
  }
  if (value._rtype === "ndarray" && value._rvalue instanceof Uint8Array && Array.isArray(value._rshape)) {
    try {
      return toNdarray(value);
    } catch (error) {
      throw new DecodeError(error instanceof DecodeError ? error.reason : `${error.name}: ${error.message}`, formatPath(path));
    }
  }
  for (const key of Object.keys(value)) value[key] = fromStockForms(value[key], formatPath, [...path, key]);
  return value;
}

function toNdarray(form) {
  const dtype = dtypeString(form._rdtype);
  const array = ndarrayFromBytes(form._rvalue, dtype, form._rshape, "C"); // the form is always in C order
  if (form._rscalar === true) return asScalar(array);
  if (form._rorder !== "F") return array;
  // entries of `data` per element: 2 for complex, the item size for raw bytes (long double, void)
  const perElement = ArrayBuffer.isView(array.data) ? Number(/\d+/.exec(dtype)[0]) / array.data.BYTES_PER_ELEMENT : 1;
  return new NDArray(relaid(array.data, array.shape, perElement, true), array.shape, dtype, "F");
}

/** numpy's `str(dtype)` (what the form carries: "float64", "datetime64[s]") as `dtype.str`. */
function dtypeString(name) {
  const temporal = typeof name === "string" && /^(datetime|timedelta)64\[(\w+)\]$/.exec(name);
  if (temporal) return `<${temporal[1] === "datetime" ? "M" : "m"}8[${temporal[2]}]`;
  return NAMED.get(name) ?? name;
}

/**
 * An `NDArray` over a copy of numpy's raw bytes (`tobytes`, in the dtype's own byte order,
 * elements in `order`): numbers in native order in their TypedArray; a dtype with no
 * TypedArray (long double, void) keeps its raw bytes in a Uint8Array.
 */
export function ndarrayFromBytes(raw, dtype, shape, order) {
  const match = typeof dtype === "string" && /^([<>|=])([a-zA-Z])(\d+)(\[\w+\])?$/.exec(dtype);
  if (!match || !(raw instanceof Uint8Array)) throw new DecodeError(`invalid ndarray dtype ${JSON.stringify(dtype)}`);
  const [, byteOrder, kind, itemsize] = match;
  const View = ELEMENT_ARRAYS.get(`${kind}${itemsize}`) ?? Uint8Array;
  const width = kind === "U" ? 4 * Number(itemsize) : Number(itemsize);
  const problem = shapeProblem(shape, Math.max(width, 1));
  if (problem !== null) throw new DecodeError(`invalid ndarray: ${problem}`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (raw.length !== count * width) throw new DecodeError(`ndarray of ${raw.length} bytes does not hold ${JSON.stringify(shape)} elements of ${dtype}`);
  if (kind === "U" || kind === "S") return new NDArray(fixedWidthElements(raw, kind, width, byteOrder, count), shape, dtype, order);
  if (raw.length !== count * Number(itemsize)) throw new DecodeError(`ndarray of ${raw.length} bytes does not hold ${JSON.stringify(shape)} elements of ${dtype}`);
  const copy = new Uint8Array(raw); // aligned, and swapped below to native (little-endian) order
  const element = View.BYTES_PER_ELEMENT;
  if (byteOrder === ">" && element > 1) {
    for (let i = 0; i < copy.length; i += element) copy.subarray(i, i + element).reverse();
  }
  return new NDArray(new View(copy.buffer), shape, dtype, order);
}

/**
 * Elements re-laid between C and Fortran order (`toFortran`: from C to F; else from F to C).
 * Dimensions of size 1 do not move an element, so they are dropped first, and with at most one
 * dimension left both orders are the same. Then one pass over the elements in C order, each
 * one's Fortran position kept up to date by adding the strides (amortised O(1) per element).
 */
function relaid(data, shape, perElement, toFortran) {
  const dims = shape.filter((n) => n !== 1);
  if (dims.length <= 1 || dims.includes(0)) return data;
  const fortranStrides = [];
  let stride = 1;
  for (const n of dims) {
    fortranStrides.push(stride);
    stride *= n;
  }
  const out = new data.constructor(data.length);
  const index = new Array(dims.length).fill(0);
  let f = 0;
  for (let c = 0; c < stride; c++) {
    for (let k = 0; k < perElement; k++) {
      if (toFortran) out[f * perElement + k] = data[c * perElement + k];
      else out[c * perElement + k] = data[f * perElement + k];
    }
    for (let axis = dims.length - 1; axis >= 0; axis--) {
      f += fortranStrides[axis];
      if (++index[axis] < dims[axis]) break;
      f -= dims[axis] * fortranStrides[axis];
      index[axis] = 0;
    }
  }
  return out;
}

const NAMES = new Map([...NAMED].map(([name, dtype]) => [dtype, name]));

/**
 * An `NDArray` below the threshold in hypha-rpc's own form, as Python's encoder writes it:
 * elements in C order (a Fortran array says so in `_rorder`), `_rdtype` numpy's `str(dtype)`.
 */
export function stockForm(array) {
  const dtype = array.dtype;
  const temporal = /^<([Mm])8(\[\w+\])$/.exec(dtype);
  const name = temporal ? `${temporal[1] === "M" ? "datetime64" : "timedelta64"}${temporal[2]}` : NAMES.get(dtype) ?? dtype;
  const { byteOrder, kind, itemsize, raw } = checkedDtype(array);
  if (kind === "O") throw new EncodeError("an object NDArray has no hypha-rpc form");
  const perElement = raw ? itemsize : kind === "c" ? 2 : 1;
  const data = array.order === "F" ? relaid(array.data, array.shape, perElement, false) : array.data;
  // in the array's own byte order; raw bytes are numpy's already
  const bytes = raw ? Uint8Array.from(data) : kind === "U" || kind === "S" ? fixedWidthBytes(data, kind, kind === "U" ? 4 * itemsize : itemsize, byteOrder) : ownOrderBytes(data, dtype);
  const form = { _rtype: "ndarray", _rvalue: bytes, _rshape: array.shape, _rdtype: name };
  if (SCALARS.has(array)) form._rscalar = true;
  if (array.order === "F" && array.shape.length > 1) form._rorder = "F";
  return form;
}
