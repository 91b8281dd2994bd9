/**
 * Which JavaScript values go columnar, and their Arrow data (the encoding side of section 4).
 */
import { Bool, Field, Float16, Float32, Float64, Int8, Int16, Int32, Int64, LargeUtf8, Struct, Table, Uint8, Uint16, Uint32, Uint64, Vector, makeData, vectorFromArray } from "apache-arrow";
import { EncodeError } from "../errors.js";
import { NDArray } from "../ndarray.js";
import { uses } from "../options.js";
import { ORIGINS } from "./arrow.js";

const NUMERIC_TYPES = {
  b1: () => new Uint8(), i1: () => new Int8(), i2: () => new Int16(), i4: () => new Int32(), i8: () => new Int64(),
  u1: () => new Uint8(), u2: () => new Uint16(), u4: () => new Uint32(), u8: () => new Uint64(),
  f2: () => new Float16(), f4: () => new Float32(), f8: () => new Float64(), c8: () => new Float32(), c16: () => new Float64(),
  M8: () => new Int64(), m8: () => new Int64(),
};
const TYPED_DTYPES = new Map([
  [Float64Array, "<f8"], [Float32Array, "<f4"], [Int8Array, "|i1"], [Int16Array, "<i2"], [Int32Array, "<i4"], [BigInt64Array, "<i8"],
  [Uint8Array, "|u1"], [Uint16Array, "<u2"], [Uint32Array, "<u4"], [BigUint64Array, "<u8"],
]);

/**
 * The column for `value`, or null when it stays msgpack.
 * @returns {{kind: string, meta: object, metadata: Map<string, string>, itemMetadata?: Map<string, string>, data: import("apache-arrow").Data} | null}
 */
export function columnOf(value, config) {
  if (value instanceof Table || value instanceof Vector) {
    // always columnar, as Python's pandas and Arrow families: stock hypha-rpc has no form for them
    if (!config.enableBinaryOptimization) throw new EncodeError(`an apache-arrow ${value instanceof Table ? "Table" : "Vector"} cannot be sent with enableBinaryOptimization off: stock hypha-rpc has no form for it`);
    return value instanceof Table ? tableColumn(value) : vectorColumn(value);
  }
  const arrays = uses(config, "arrays");
  if (value instanceof NDArray) return arrays && ArrayBuffer.isView(value.data) && value.data.byteLength >= config.binaryThreshold ? ndarrayColumn(value) : null;
  if (ArrayBuffer.isView(value) && !(value instanceof DataView) && !(value instanceof Uint8Array) && TYPED_DTYPES.has(value.constructor)) {
    return arrays && value.byteLength >= config.binaryThreshold ? ndarrayColumn(new NDArray(value, [value.length])) : null;
  }
  if (Array.isArray(value) && value.length) return listColumn(value, config) ?? (uses(config, "records") ? recordsColumn(value, config) : null);
  return null;
}

/**
 * The Arrow type a list's values all fit exactly, or null: JavaScript numbers cannot say 1 from
 * 1.0, and hypha-rpc JS sends integer-valued numbers as msgpack ints, so a list goes columnar
 * only when all its numbers are safe integers (int64) or none is (double), as Python then reads
 * the same types a stock frame would give it; nulls are allowed beside any one type.
 */
function typeOf(values) {
  let kind = null;
  for (const item of values) {
    if (item === null) continue;
    const found = typeof item === "number" ? (Number.isSafeInteger(item) ? "int" : Number.isInteger(item) ? null : "float") : typeof item === "string" ? "str" : typeof item === "boolean" ? "bool" : null;
    if (found === null || (kind !== null && found !== kind)) return null;
    kind = found;
  }
  return kind;
}

const LIST_TYPES = { int: () => new Int64(), float: () => new Float64(), str: () => new LargeUtf8(), bool: () => new Bool() };

function arrowData(values, kind) {
  const items = kind === "int" ? values.map((v) => (v === null ? null : BigInt(v))) : values;
  return vectorFromArray(items, LIST_TYPES[kind]()).data[0];
}

function estimatedBytes(values, kind) {
  return kind === "str" ? values.reduce((n, v) => n + (v === null ? 1 : v.length), 0) : values.length * (kind === "bool" ? 1 : 8);
}

function listColumn(values, config) {
  if (values.some((v) => v === null)) return null; // Python's list columns hold no nulls it did not send as None
  const kind = typeOf(values);
  if (kind === null || estimatedBytes(values, kind) < config.binaryThreshold) return null;
  if (kind === "str" ? !uses(config, "strings") : !(uses(config, "arrays") && config.typedArrayOptimization)) return null;
  return { kind: "list", meta: {}, metadata: new Map(), data: arrowData(values, kind) };
}

/** A list of plain objects whose keys' values are each of one type (or null), as 4.5's struct. */
function recordsColumn(rows, config) {
  if (!rows.every(isRecord)) return null;
  const names = [];
  const index = new Map();
  const layouts = [];
  const layoutIds = new Map();
  const rowLayout = rows.map((row) => {
    const keys = Object.keys(row);
    for (const key of keys) if (!index.has(key)) index.set(key, names.push(key) - 1);
    const signature = keys.join("\u0000");
    if (!layoutIds.has(signature)) layoutIds.set(signature, layouts.push(keys.map((key) => index.get(key))) - 1);
    return layoutIds.get(signature);
  });
  if (layouts.length > 65536) return null;
  const columns = names.map((name) => rows.map((row) => (Object.hasOwn(row, name) ? row[name] : null)));
  const kinds = columns.map(typeOf);
  if (kinds.some((kind, k) => kind === null && columns[k].some((v) => v !== null))) return null;
  if (rows.length * Math.max(1, names.length) * 8 < config.binaryThreshold) return null;
  const children = columns.map((column, k) => arrowData(column, kinds[k] ?? "bool"));
  const fields = names.map((name, k) => new Field(name, children[k].type, true));
  const meta = { columns: names.length };
  if (layouts.length > 1) {
    meta.layouts = layouts;
    children.push(makeData({ type: new Uint16(), length: rows.length, nullCount: 0, data: Uint16Array.from(rowLayout) }));
    fields.push(new Field("", new Uint16(), false));
  }
  return { kind: "records", meta, metadata: new Map(), data: makeData({ type: new Struct(fields), length: rows.length, nullCount: 0, children }) };
}

function isRecord(value) {
  return value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype;
}

function ndarrayColumn(array) {
  const match = /^([<>|=])([a-zA-Z])(\d+)(\[\w+\])?$/.exec(array.dtype);
  if (!match) throw new EncodeError(`NDArray dtype ${JSON.stringify(array.dtype)} is not a numpy dtype.str`);
  const [, order, kind, size] = match;
  const makeType = NUMERIC_TYPES[`${kind}${size}`];
  if (!makeType) throw new EncodeError(`NDArray dtype ${array.dtype} is not sent by this encoder yet`);
  if (order === ">" && Number(size) > 1) throw new EncodeError(`NDArray dtype ${array.dtype}: give native (little-endian) data with a "<" dtype`);
  const perElement = kind === "c" ? 2 : 1;
  if (!ArrayBuffer.isView(array.data) || array.data.length !== array.size * perElement) {
    throw new EncodeError(`NDArray of shape ${JSON.stringify(array.shape)} and dtype ${array.dtype} needs ${array.size * perElement} elements in a TypedArray`);
  }
  const type = makeType();
  const data = makeData({ type, length: array.data.length, nullCount: 0, data: array.data });
  return { kind: "ndarray", meta: { dtype: array.dtype, shape: array.shape, order: array.order }, metadata: new Map(), data };
}

function tableColumn(table) {
  if (table.batches.length !== 1) throw new EncodeError(`an apache-arrow Table of ${table.batches.length} record batches is not sent by this encoder yet: combine them`);
  const origin = ORIGINS.get(table);
  const data = table.batches[0].data;
  const metadata = new Map(table.schema.metadata);
  return { kind: origin?.kind ?? "table", meta: origin?.meta ?? {}, metadata, data: makeData({ type: new Struct(table.schema.fields), length: data.length, nullCount: 0, children: data.children }) };
}

function vectorColumn(vector) {
  if (vector.data.length !== 1) throw new EncodeError(`an apache-arrow Vector of ${vector.data.length} chunks is not sent by this encoder yet`);
  const origin = ORIGINS.get(vector);
  return { kind: "array", meta: {}, metadata: new Map(), itemMetadata: origin?.field?.metadata, data: vector.data[0] };
}
