/**
 * `records` columns (4.5): lists of dicts as arrays of plain objects, each with its own keys
 * in its own order; or, with `recordsAs: "table"`, the key columns as an apache-arrow Table.
 */
import { RecordBatch, Schema, Table, Type, makeData } from "apache-arrow";
import { DecodeError } from "../errors.js";
import { Cells } from "../cells.js";
import { ORIGINS } from "./arrow.js";
import { decodeArrays } from "./array_column.js";

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const CELLS_KEY = "hypha_arrow.cells";

/** For record lists decoded here, the keys whose column was `double`: they go back as doubles (see `FLOAT_LISTS`). */
export const FLOAT_KEYS = new WeakMap();

export function decodeRecords(column, config) {
  const values = column.values;
  if (values.type.typeId !== Type.Struct) throw new DecodeError(`records must be a struct, got ${values.type}`);
  const children = values.type.children;
  const keyCount = column.meta.columns;
  const layouts = column.meta.layouts;
  const extra = layouts === undefined ? 0 : 1;
  if (!Number.isSafeInteger(keyCount) || keyCount < 0 || keyCount + extra !== children.length) {
    throw new DecodeError(`records declare ${keyCount} key columns, the struct has ${children.length} children`);
  }
  const cellColumns = children.slice(0, keyCount).map((field) => {
    const cells = field.metadata.get(CELLS_KEY);
    if (cells === undefined) return false;
    if (cells !== "msgpack" || field.type.typeId !== Type.LargeBinary) throw new DecodeError(`records column ${field.name} of cells must be msgpack in large_binary`);
    return true;
  });
  if (config.recordsAs === "table") {
    if (layouts !== undefined) throw new DecodeError("records of several layouts cannot be one table");
    const data = values.data[0];
    const table = new Table([new RecordBatch(new Schema(children), makeData({ type: values.type, offset: data.offset, length: data.length, nullCount: 0, children: data.children }))]);
    ORIGINS.set(table, { kind: "table", meta: {} });
    return table;
  }
  const names = children.slice(0, keyCount).map((field) => field.name ?? ""); // apache-arrow reads an empty name its own writer wrote as null
  const columns = names.map((_, k) => values.getChildAt(k));
  const order = layouts === undefined ? [names.map((_, k) => k)] : checkedLayouts(layouts, keyCount);
  const layoutOf = layouts === undefined ? null : values.getChildAt(keyCount);
  if (layoutOf !== null && (String(layoutOf.type) !== "Uint16" || layoutOf.nullCount)) throw new DecodeError("records layout column must be non-null uint16");
  const cells = new Cells(config.maxDepth);
  const arrays = arrayColumns(column.meta.arrays, keyCount);
  const cellsOf = columns.map((vector, k) => (arrays.has(k) ? decodeArrays(vector, arrays.get(k)) : columnValues(vector, cellColumns[k] ? (bytes) => cells.unpack(bytes) : plain)));
  const rows = new Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const layout = order[layoutOf === null ? 0 : layoutOf.get(i)];
    if (layout === undefined) throw new DecodeError(`record ${i} names layout ${layoutOf.get(i)}, only ${order.length} are listed`);
    const row = {};
    for (const k of layout) {
      // assigning `__proto__` would replace the row's prototype: it is a key like any other here
      if (names[k] === "__proto__") Object.defineProperty(row, "__proto__", { value: cellsOf[k][i], writable: true, enumerable: true, configurable: true });
      else row[names[k]] = cellsOf[k][i];
    }
    rows[i] = row;
  }
  const floats = names.filter((_, k) => columns[k].type.typeId === Type.Float && String(columns[k].type) === "Float64");
  if (floats.length) FLOAT_KEYS.set(rows, new Set(floats));
  return rows;
}

/** JSON key `arrays`: key column index (decimal text) -> the array column's `dtype`, `shape`, `order`. */
function arrayColumns(arrays, keyCount) {
  if (arrays === undefined) return new Map();
  if (arrays === null || typeof arrays !== "object" || Array.isArray(arrays)) throw new DecodeError("records arrays must be an object of key column indices");
  return new Map(Object.entries(arrays).map(([key, meta]) => {
    if (!/^\d+$/.test(key) || Number(key) >= keyCount) throw new DecodeError(`records arrays name key column ${JSON.stringify(key)}, there are ${keyCount}`);
    return [Number(key), meta];
  }));
}

function checkedLayouts(layouts, keyCount) {
  if (!Array.isArray(layouts) || !layouts.every((layout) => Array.isArray(layout) && layout.every((k) => Number.isInteger(k) && k >= 0 && k < keyCount) && new Set(layout).size === layout.length)) {
    throw new DecodeError("records layouts must be lists of distinct key column indices");
  }
  return layouts;
}

/** A key column's values, each read once (a Vector's `get` per cell costs a dispatch), null where invalid. */
function columnValues(vector, convert) {
  const out = new Array(vector.length);
  let i = 0;
  for (const value of vector) {
    out[i] = value === null || (vector.nullCount && !vector.isValid(i)) ? null : convert(value);
    i++;
  }
  return out;
}

function plain(value) {
  return typeof value === "bigint" && value >= -SAFE && value <= SAFE ? Number(value) : value;
}
