/**
 * Which JavaScript values go columnar, and their Arrow data (the encoding side of section 4).
 */
import { Bool, DenseUnion, Field, FixedSizeBinary, Float16, Float32, Float64, Int8, Int16, Int32, Int64, LargeBinary, LargeUtf8, Struct, Table, Uint8, Uint16, Uint32, Uint64, Vector, makeData, vectorFromArray } from "apache-arrow";
import { CellPacker } from "../cells.js";
import { concatData } from "../concat.js";
import { EncodeError } from "../errors.js";
import { checkWellFormed } from "../msgpack.js";
import { NDArray, checkedDtype, fixedWidthBytes, isBareTypedArray } from "../ndarray.js";
import { uses } from "../options.js";
import { ORIGINS } from "./arrow.js";
import { FLOAT_LISTS } from "./lists.js";
import { DESCRS } from "./ndarray.js";
import { FLOAT_KEYS } from "./records.js";

const NUMERIC_TYPES = {
  b1: () => new Uint8(), i1: () => new Int8(), i2: () => new Int16(), i4: () => new Int32(), i8: () => new Int64(),
  u1: () => new Uint8(), u2: () => new Uint16(), u4: () => new Uint32(), u8: () => new Uint64(),
  f2: () => new Float16(), f4: () => new Float32(), f8: () => new Float64(), c8: () => new Float32(), c16: () => new Float64(),
  M8: () => new Int64(), m8: () => new Int64(),
};

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
  if (value instanceof NDArray) return ndarrayColumnOf(value, config);
  if (isBareTypedArray(value)) {
    return arrays && value.byteLength >= config.binaryThreshold ? ndarrayColumn(new NDArray(value, [value.length])) : null;
  }
  if (Array.isArray(value) && value.length) return listColumn(value, config) ?? (uses(config, "records") ? recordsColumn(value, config) : null);
  return null;
}

/**
 * The Arrow type a list's values all fit exactly, or null: JavaScript numbers cannot say 1 from
 * 1.0, and hypha-rpc JS sends integer-valued numbers as msgpack ints, so a list goes columnar
 * only when all its numbers are safe integers (int64) or none is (double), as Python then reads
 * the same types a stock frame would give it; nulls are allowed beside any one type. `floats`:
 * the values came from a double column (a decoded list or record key), so numbers are doubles.
 */
function typeOf(values, floats = false) {
  if (floats && values.every((v) => v === null || typeof v === "number")) return values.some((v) => v !== null) ? "float" : null;
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

/** A homogeneous list as 4.4's column; a null is a null slot, which Python reads as None, as it reads nil. */
function listColumn(values, config) {
  const kind = typeOf(values, FLOAT_LISTS.has(values));
  if (kind === null || estimatedBytes(values, kind) < config.binaryThreshold) return null;
  if (kind === "str" ? !uses(config, "strings") : !(uses(config, "arrays") && config.typedArrayOptimization)) return null;
  if (kind === "str") checkStrings(values, (i) => `[${i}]`);
  return { kind: "list", meta: {}, metadata: new Map(), data: arrowData(values, kind) };
}

/**
 * A list of plain objects as 4.5's struct: a key whose values are all of one type (or null)
 * as that Arrow type, any other key as cells (a Tuple packed as a plain array, as msgpack
 * would send it), also a key whose values are all null (section 8: a column of nulls only
 * would be one of no bytes). Null, when a value cannot be a cell: the rows then stay msgpack.
 */
function recordsColumn(rows, config) {
  if (!rows.every(isRecord)) return null;
  const names = [];
  const index = new Map();
  const layouts = [];
  const layoutIds = new Map();
  const rowLayout = rows.map((row, i) => {
    const keys = Object.keys(row);
    for (const key of keys) {
      if (index.has(key)) continue;
      checkWellFormed(key, `[${i}]`, "a key");
      index.set(key, names.push(key) - 1);
    }
    const signature = keys.join("\u0000");
    if (!layoutIds.has(signature)) layoutIds.set(signature, layouts.push(keys.map((key) => index.get(key))) - 1);
    return layoutIds.get(signature);
  });
  if (layouts.length > 65536) return null;
  if (!names.length || rows.length * names.length * 8 < config.binaryThreshold) return null;
  const columns = names.map((name) => rows.map((row) => (Object.hasOwn(row, name) ? row[name] : null)));
  const floats = FLOAT_KEYS.get(rows);
  const kinds = columns.map((column, k) => typeOf(column, floats?.has(names[k])));
  kinds.forEach((kind, k) => kind === "str" && checkStrings(columns[k], (i) => `[${i}]['${names[k]}']`));
  const asCells = kinds.map((kind) => kind === null);
  let children;
  try {
    const packer = new CellPacker({ tuples: false });
    children = columns.map((column, k) => (asCells[k] ? cellData(rows, names[k], packer) : arrowData(column, kinds[k])));
  } catch (error) {
    if (error instanceof EncodeError) return null;
    throw error;
  }
  const fields = names.map((name, k) => new Field(name, children[k].type, true, asCells[k] ? new Map([[CELLS_KEY, "msgpack"]]) : undefined));
  const meta = { columns: names.length };
  if (layouts.length > 1) {
    meta.layouts = layouts;
    children.push(makeData({ type: new Uint16(), length: rows.length, nullCount: 0, data: Uint16Array.from(rowLayout) }));
    fields.push(new Field("", new Uint16(), false));
  }
  return { kind: "records", meta, metadata: new Map(), data: makeData({ type: new Struct(fields), length: rows.length, nullCount: 0, children }) };
}

const CELLS_KEY = "hypha_arrow.cells";

/**
 * Key `name`'s cells, one per row: where a row lacks the key, a nil cell, which the layout makes
 * a decoder ignore. (The spec allows a null slot there; Python's decoder unpacks every slot of a
 * cells column and refuses a null one, so none is written.)
 */
function cellData(rows, name, packer) {
  return vectorFromArray(rows.map((row) => packer.pack(Object.hasOwn(row, name) ? row[name] : null)), new LargeBinary()).data[0];
}

function isRecord(value) {
  return value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype;
}

/**
 * An NDArray's column (4.1), or null for hypha-rpc's form (below the threshold, or with the
 * "arrays" switch off). Object arrays have no such form, so they are always a column, as in
 * Python. Data is native (little-endian); a `>` dtype only tells Python the byte order to give.
 */
function ndarrayColumnOf(array, config) {
  const { kind, itemsize, raw } = checkedDtype(array);
  const descr = DESCRS.get(array);
  if (kind === "O" || descr !== undefined) {
    if (!config.enableBinaryOptimization) throw new EncodeError(`an ${kind === "O" ? "object" : "structured"} NDArray cannot be sent with enableBinaryOptimization off: hypha-rpc has no form for it`);
    if (kind === "O") return objectColumn(array);
    if (kind !== "V") throw new EncodeError(`a structured NDArray's dtype must be |V<itemsize>, got ${array.dtype}`);
    return column(array, makeData({ type: new FixedSizeBinary(itemsize), length: array.size, nullCount: 0, data: array.data }), { descr });
  }
  if (raw) return null; // long double and unstructured void: hypha-rpc's form at any size, as Python sends them
  const width = kind === "U" ? 4 * itemsize : itemsize;
  if (!uses(config, "arrays") || array.size * width < config.binaryThreshold) return null;
  if (kind === "U" || kind === "S") return column(array, makeData({ type: new FixedSizeBinary(width), length: array.size, nullCount: 0, data: fixedWidthBytes(array.data, kind, width, "<") }));
  return ndarrayColumn(array);
}

function ndarrayColumn(array) {
  const { kind, itemsize } = checkedDtype(array);
  const makeType = NUMERIC_TYPES[`${kind}${itemsize}`];
  return column(array, makeData({ type: makeType(), length: array.data.length, nullCount: 0, data: array.data }));
}

function column(array, data, meta = {}) {
  return { kind: "ndarray", meta: { dtype: array.dtype, shape: array.shape, order: array.order, ...meta }, metadata: new Map(), data };
}

/** An object array: str, bytes and null as Arrow strings, binaries or their union; anything else as cells. */
function objectColumn(array) {
  const elements = array.data;
  const strings = elements.every((v) => v === null || typeof v === "string");
  const blobs = elements.every((v) => v === null || v instanceof Uint8Array);
  checkStrings(elements, (position) => where(position, array.shape, array.order));
  if (strings) return column(array, vectorFromArray(elements, new LargeUtf8()).data[0]);
  if (blobs) return column(array, vectorFromArray(elements, new LargeBinary()).data[0]);
  if (elements.every((v) => v === null || typeof v === "string" || v instanceof Uint8Array)) return column(array, stringBytesUnion(elements));
  const packer = new CellPacker();
  const cells = elements.map((element, position) => {
    try {
      return packer.pack(element);
    } catch (error) {
      throw new EncodeError(error.reason, where(position, array.shape, array.order));
    }
  });
  return column(array, vectorFromArray(cells, new LargeBinary()).data[0], { cells: "msgpack" });
}

/** The dense union<0: large_string, 1: large_binary> of 4.1; a null is a null slot of the string child. */
function stringBytesUnion(elements) {
  const typeIds = Int8Array.from(elements, (v) => (v instanceof Uint8Array ? 1 : 0));
  const counts = [0, 0];
  const offsets = Int32Array.from(typeIds, (id) => counts[id]++);
  const children = [new LargeUtf8(), new LargeBinary()].map((type, id) => vectorFromArray(elements.filter((_, i) => typeIds[i] === id), type).data[0]);
  const type = new DenseUnion([0, 1], [new Field("0", children[0].type, true), new Field("1", children[1].type, true)]);
  return makeData({ type, length: elements.length, nullCount: 0, typeIds, valueOffsets: offsets, children });
}

/** Throws at the first string in `values` with no UTF-8 form; `pathOf(i)` says where value `i` sits. */
function checkStrings(values, pathOf) {
  for (let i = 0; i < values.length; i++) {
    if (typeof values[i] === "string") checkWellFormed(values[i], pathOf(i));
  }
}

/** Where element `position` (in `order`) of an array of `shape` sits: `[i][j]`. */
function where(position, shape, order) {
  const index = new Array(shape.length);
  const axes = order === "F" ? shape.map((_, k) => k) : shape.map((_, k) => shape.length - 1 - k);
  for (const axis of axes) {
    index[axis] = position % shape[axis];
    position = Math.floor(position / shape[axis]);
  }
  return index.map((i) => `[${i}]`).join("");
}

/** A Table as 4.2's struct (its batches joined); a Table decoded from a DataFrame goes back as that DataFrame. */
function tableColumn(table) {
  const origin = ORIGINS.get(table);
  checkSchemaStrings(table.schema.fields, table.schema.metadata);
  const type = new Struct(table.schema.fields);
  const batches = table.batches.map((batch) => batch.data);
  const data = batches.length ? joinedChunks(batches, "record batches") : vectorFromArray([], type).data[0];
  const metadata = new Map(table.schema.metadata);
  return { kind: origin?.kind ?? "table", meta: origin?.meta ?? {}, metadata, data: makeData({ type, length: data.length, nullCount: 0, children: data.children }) };
}

/** A Vector as an Arrow array (4.3); one of several chunks, or one that came as a ChunkedArray, as a ChunkedArray. */
function vectorColumn(vector) {
  const origin = ORIGINS.get(vector);
  checkSchemaStrings(vector.type.children ?? [], origin?.field?.metadata);
  const chunked = vector.data.length !== 1 || origin?.kind === "chunked_array";
  const meta = chunked ? { chunks: vector.data.map((chunk) => chunk.length) } : {};
  const data = vector.data.length ? joinedChunks(vector.data, "chunks") : vectorFromArray([], vector.type).data[0];
  return { kind: chunked ? "chunked_array" : "array", meta, metadata: new Map(), itemMetadata: origin?.field?.metadata, data };
}

/** Field names and metadata at any depth, which apache-arrow's writer would write with U+FFFD for a lone surrogate. */
function checkSchemaStrings(fields, metadata = new Map()) {
  for (const [key, text] of metadata) {
    checkWellFormed(key, null, "a metadata key");
    checkWellFormed(text, null, `metadata ${JSON.stringify(key)}`);
  }
  for (const field of fields) {
    checkWellFormed(field.name ?? "", null, "a field name");
    checkSchemaStrings(field.type.children ?? [], field.metadata);
  }
}

function joinedChunks(chunks, what) {
  try {
    return concatData(chunks);
  } catch (error) {
    if (error instanceof EncodeError) throw new EncodeError(`${chunks.length} ${what}: ${error.reason}`);
    throw error;
  }
}
