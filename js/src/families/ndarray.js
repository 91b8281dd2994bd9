/**
 * `ndarray` columns (docs/wire-format.md 4.1) as `NDArray`s: numeric data stays a view into
 * the section; fixed-width strings become arrays of strings, object arrays arrays of values.
 */
import { Type } from "apache-arrow";
import { DecodeError } from "../errors.js";
import { Cells } from "../cells.js";
import { NDArray, fixedWidthElements } from "../ndarray.js";

const NUMERIC = {
  b: { 1: "Uint8" },
  i: { 1: "Int8", 2: "Int16", 4: "Int32", 8: "Int64" },
  u: { 1: "Uint8", 2: "Uint16", 4: "Uint32", 8: "Uint64" },
  f: { 2: "Float16", 4: "Float32", 8: "Float64" },
  c: { 8: "Float32", 16: "Float64" },
  M: { 8: "Int64" },
  m: { 8: "Int64" },
};

/**
 * The field layout (numpy's `descr`) of each structured array decoded here, its records kept as
 * raw bytes: so the array can be sent back as itself (JavaScript has no structured dtype).
 */
export const DESCRS = new WeakMap();

/** numpy's `dtype.str` taken apart: byte order, kind, item size, and a datetime unit. */
function parseDtype(dtype) {
  const match = typeof dtype === "string" && /^([<>|=])([biufcmMUSVO])(\d*)(\[\w+\])?$/.exec(dtype);
  if (!match) throw new DecodeError(`invalid ndarray dtype ${JSON.stringify(dtype)}`);
  return { order: match[1], kind: match[2], itemsize: match[3] === "" ? 0 : Number(match[3]), unit: match[4] ?? null };
}

/**
 * @param {import("../section.js").Column} column
 * @returns {NDArray}
 */
export function decodeNdarray(column, config) {
  const { dtype, shape, order } = column.meta;
  if (!Array.isArray(shape) || !shape.every((n) => Number.isInteger(n) && n >= 0)) throw new DecodeError(`invalid ndarray shape ${JSON.stringify(shape)}`);
  if (order !== "C" && order !== "F") throw new DecodeError(`invalid ndarray order ${JSON.stringify(order)}`);
  const size = shape.reduce((a, b) => a * b, 1);
  const values = column.values;
  const parsed = parseDtype(dtype);
  const typeId = values.type.typeId;
  if (parsed.kind === "O") return new NDArray(objectElements(values, size, column.meta, config), shape, dtype, order);
  if (parsed.kind in NUMERIC) {
    const expected = NUMERIC[parsed.kind][parsed.itemsize];
    const perElement = parsed.kind === "c" ? 2 : 1;
    if (expected === undefined || String(values.type) !== expected) {
      throw new DecodeError(`ndarray dtype ${dtype} cannot be held by Arrow type ${values.type}`);
    }
    if (values.length !== size * perElement) throw new DecodeError(`ndarray of shape ${JSON.stringify(shape)} needs ${size * perElement} values, found ${values.length}`);
    return new NDArray(values.toArray(), shape, dtype, order);
  }
  if (typeId !== Type.FixedSizeBinary || values.length !== size) {
    throw new DecodeError(`ndarray dtype ${dtype} needs ${size} fixed-size binary values, found ${values.length} of ${values.type}`);
  }
  const width = values.type.byteWidth;
  const expectedWidth = parsed.kind === "U" ? 4 * parsed.itemsize : parsed.itemsize;
  if (width !== expectedWidth) throw new DecodeError(`ndarray dtype ${dtype} needs ${expectedWidth}-byte values, found ${width}`);
  const bytes = fixedBytes(values, size, width);
  if (parsed.kind === "V") {
    const array = new NDArray(bytes, shape, dtype, order);
    if (column.meta.descr !== undefined) DESCRS.set(array, column.meta.descr);
    return array;
  }
  return new NDArray(fixedWidthElements(bytes, parsed.kind, width, "<", size), shape, dtype, order); // the section is little-endian
}

function fixedBytes(values, size, width) {
  const data = values.data[0];
  const bytes = data.values;
  const start = data.offset * width;
  if (bytes.length < start + size * width) throw new DecodeError(`fixed-size binary values are shorter than ${size} x ${width} bytes`);
  return bytes.subarray(start, start + size * width);
}

function objectElements(values, size, meta, config) {
  if (values.length !== size) throw new DecodeError(`object ndarray needs ${size} values, found ${values.length}`);
  if (meta.cells !== undefined) {
    if (meta.cells !== "msgpack" || values.type.typeId !== Type.LargeBinary) throw new DecodeError("object ndarray cells must be msgpack in large_binary");
    const cells = new Cells(config.maxDepth);
    return Array.from({ length: size }, (_, i) => (values.isValid(i) ? cells.unpack(values.get(i)) : null));
  }
  const typeId = values.type.typeId;
  if (![Type.LargeUtf8, Type.LargeBinary, Type.Union].includes(typeId)) {
    throw new DecodeError(`object ndarray values of type ${values.type} are not str, bytes or their union`);
  }
  return Array.from({ length: size }, (_, i) => values.get(i) ?? null);
}
