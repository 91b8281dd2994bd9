/**
 * The Arrow section: one IPC stream holding one one-row batch whose column `i` (named "i")
 * is a `large_list` whose single row is the i-th value's data; field metadata `hypha_arrow`
 * (JSON) names the value's kind and how to rebuild it (docs/wire-format.md, section 4).
 *
 * apache-arrow JS trusts what a stream declares, so the declarations a hostile frame could
 * lie about are checked here first: the message sequence, buffer ranges, the sizes compressed
 * buffers inflate to (before inflating), extension types, and every list's offsets.
 */
import { RecordBatchReader, Type } from "apache-arrow";
import "./compression.js"; // registers the codecs apache-arrow inflates with
import { DecodeError } from "./errors.js";
import { scan } from "./ipc_guard.js";
import { bytelessElements, validate } from "./validate.js";

export const META_KEY = "hypha_arrow";
/** Elements without bytes (null-type and field-less struct arrays) a section may hold (wire format 6): `max(BYTELESS_FREE, BYTELESS_PER_BYTE x B)`, so what a few bytes make a decoder build stays proportional to them. */
export const BYTELESS_FREE = 1 << 20;
export const BYTELESS_PER_BYTE = 8;
const ACCEPTED_EXTENSIONS = new Set([
  // Arrow's canonical extension types, and pandas' two (section 7); apache-arrow JS builds no
  // type from any of them (it reads their storage), so these are accepted as Python accepts them
  "arrow.bool8", "arrow.fixed_shape_tensor", "arrow.json", "arrow.opaque", "arrow.uuid", "arrow.variable_shape_tensor",
  "pandas.interval", "pandas.period",
]);

/**
 * @typedef {{kind: string, meta: Record<string, unknown>, metadata: Map<string, string>, item: import("apache-arrow").Field,
 *   values: import("apache-arrow").Vector}} Column  `item`: the list's child field (an extension type's name is in its metadata)
 */

/**
 * The columns of a section (a Uint8Array at an 8-byte aligned address, so buffers are views).
 * @param {Uint8Array} section
 * @param {{maxDecompressedBytes: number, maxColumns: number}} limits
 * @returns {Column[]}
 */
export function decodeSection(section, limits) {
  const { batch } = readBatch(section, limits);
  const fields = batch.schema.fields;
  if (fields.length > limits.maxColumns) throw new DecodeError(`Arrow section has ${fields.length} columns, over max_columns=${limits.maxColumns}`);
  return fields.map((field, index) => column(index, field, batch.getChildAt(index)));
}

/**
 * The section's one record batch, guarded, read and fully validated, and the guard's layout
 * (buffer sizes, for `inspect`).
 */
export function readBatch(section, limits) {
  const layout = scan(section, limits, ACCEPTED_EXTENSIONS);
  let batch;
  try {
    const reader = RecordBatchReader.from(section);
    batch = reader.next().value;
  } catch (error) {
    throw new DecodeError(`Arrow section: ${error.message}`);
  }
  if (!batch) throw new DecodeError("Arrow section has no record batch");
  if (batch.numRows !== 1) throw new DecodeError(`Arrow section must hold one row, found ${batch.numRows}`);
  const byteless = bytelessElements(batch.data);
  const measure = Math.max(section.length, layout.inflatedBytes);
  if (byteless > bytelessAllowance(measure)) {
    throw new DecodeError(`Arrow section holds ${byteless} elements without bytes, over max(${BYTELESS_FREE}, ${BYTELESS_PER_BYTE} x ${measure})`);
  }
  validate(batch.data);
  return { batch, layout };
}

/** How many elements without bytes a section of `bytes` bytes (B of section 6) may hold. */
export function bytelessAllowance(bytes) {
  return Math.max(BYTELESS_FREE, BYTELESS_PER_BYTE * bytes);
}

function column(index, field, vector) {
  if (field.name !== String(index) || field.type.typeId !== Type.LargeList) {
    throw new DecodeError(`Arrow column ${index} must be a large_list named "${index}", got ${field.name}: ${field.type}`);
  }
  const metadata = new Map(field.metadata);
  let meta;
  try {
    meta = JSON.parse(metadata.get(META_KEY));
  } catch {
    throw new DecodeError(`Arrow column ${index} has no valid ${META_KEY} metadata`);
  }
  metadata.delete(META_KEY);
  if (meta === null || typeof meta !== "object" || typeof meta.kind !== "string") throw new DecodeError(`Arrow column ${index} has no kind`);
  if (vector.nullCount) throw new DecodeError(`Arrow column ${index} is null`);
  const data = vector.data[0];
  const offsets = data.valueOffsets;
  const child = data.children[0];
  if (!offsets || offsets.length < 2) throw new DecodeError(`Arrow column ${index}: list offsets missing`);
  const start = Number(offsets[0]);
  const end = Number(offsets[1]);
  if (!(0 <= start && start <= end && end <= child.length)) throw new DecodeError(`Arrow column ${index}: list offsets ${start}..${end} outside its ${child.length} values`);
  const { kind, ...rest } = meta;
  return { kind, meta: rest, metadata, item: field.type.children[0], values: vector.getChildAt(0).slice(start, end) };
}

