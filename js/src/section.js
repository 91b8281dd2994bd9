/**
 * The Arrow section: one IPC stream holding one one-row batch whose column `i` (named "i")
 * is a `large_list` whose single row is the i-th value's data; field metadata `hypha_arrow`
 * (JSON) names the value's kind and how to rebuild it (docs/wire-format.md, section 4).
 *
 * apache-arrow JS trusts what a stream declares, so the declarations a hostile frame could
 * lie about are checked here first: the message sequence, buffer ranges, the sizes compressed
 * buffers inflate to (before inflating), extension types, and every list's offsets.
 */
import { compressionRegistry, CompressionType, RecordBatchReader, Type } from "apache-arrow";
import * as lz4 from "lz4js";
import { decompress as zstdDecompress } from "fzstd";
import { DecodeError } from "./errors.js";
import { scan } from "./ipc_guard.js";
import { validate } from "./validate.js";

const META_KEY = "hypha_arrow";
const ACCEPTED_EXTENSIONS = new Set([
  // Arrow's canonical extension types, and pandas' two (section 7); apache-arrow JS builds no
  // type from any of them (it reads their storage), so these are accepted as Python accepts them
  "arrow.bool8", "arrow.fixed_shape_tensor", "arrow.json", "arrow.opaque", "arrow.uuid", "arrow.variable_shape_tensor",
  "pandas.interval", "pandas.period",
]);

compressionRegistry.set(CompressionType.LZ4_FRAME, { decode: (data) => inflated(data, (size) => lz4.decompress(checkedLz4Frame(data), size)) });
compressionRegistry.set(CompressionType.ZSTD, { decode: (data) => inflated(data, (size) => zstdDecompress(data, new Uint8Array(size))) });

const LZ4_MAGIC = 0x184d2204;

/**
 * An LZ4 frame whose blocks all lie inside it: lz4js reads a block of whatever size the frame
 * claims, and past the end of its input it reads zeros for as long as the claim says (seconds
 * for one mutated byte).
 */
function checkedLz4Frame(data) {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const fail = (what) => {
    throw new DecodeError(`compressed Arrow buffer is not a valid LZ4 frame: ${what}`);
  };
  if (data.length < 7 || view.getUint32(0, true) !== LZ4_MAGIC) fail("no magic number");
  const flags = data[4];
  if (flags >> 6 !== 1) fail(`version ${flags >> 6}`);
  let pos = 6 + (flags & 0x08 ? 8 : 0) + (flags & 0x01 ? 4 : 0) + 1;
  const blockChecksum = flags & 0x10 ? 4 : 0;
  while (true) {
    if (pos + 4 > data.length) fail("truncated");
    const size = view.getUint32(pos, true) & 0x7fffffff;
    pos += 4;
    if (size === 0) break;
    if (size + blockChecksum > data.length - pos) fail(`a block of ${size} bytes runs past the frame`);
    pos += size + blockChecksum;
  }
  if (pos + (flags & 0x04 ? 4 : 0) > data.length) fail("truncated");
  return data;
}

/**
 * A compressed buffer inflated into exactly its declared size (the guard bounded it), aligned
 * for apache-arrow's typed views. apache-arrow hands the codec the bytes after the buffer's
 * 8-byte length prefix, as a view of the body, so the prefix is read from just before them:
 * without it lz4js sizes its output from the frame's own header, which a hostile frame sets.
 */
function inflated(data, inflate) {
  if (data.byteOffset < 8) throw new DecodeError("compressed Arrow buffer without its length prefix");
  const declared = Number(new DataView(data.buffer, data.byteOffset - 8, 8).getBigInt64(0, true));
  let out;
  try {
    out = inflate(declared);
  } catch (error) {
    throw new DecodeError(`compressed Arrow buffer does not inflate: ${error.message}`);
  }
  if (out.length !== declared) throw new DecodeError(`compressed Arrow buffer inflates to ${out.length} bytes, it declares ${declared}`);
  if (out.byteOffset % 8 === 0) return out;
  const copy = new Uint8Array(out.length);
  copy.set(out);
  return copy;
}

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
  scan(section, limits, ACCEPTED_EXTENSIONS);
  let batch;
  try {
    const reader = RecordBatchReader.from(section);
    batch = reader.next().value;
  } catch (error) {
    throw new DecodeError(`Arrow section: ${error.message}`);
  }
  if (!batch) throw new DecodeError("Arrow section has no record batch");
  if (batch.numRows !== 1) throw new DecodeError(`Arrow section must hold one row, found ${batch.numRows}`);
  validate(batch.data);
  const fields = batch.schema.fields;
  if (fields.length > limits.maxColumns) throw new DecodeError(`Arrow section has ${fields.length} columns, over max_columns=${limits.maxColumns}`);
  return fields.map((field, index) => column(index, field, batch.getChildAt(index)));
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

