/**
 * The Arrow section: one IPC stream holding one one-row batch whose column `i` (named "i")
 * is a `large_list` whose single row is the i-th value's data; field metadata `hypha_arrow`
 * (JSON) names the value's kind and how to rebuild it (docs/wire-format.md, section 4).
 *
 * apache-arrow JS trusts what a stream declares, so the declarations a hostile frame could
 * lie about are checked here first: the message sequence, buffer ranges, the sizes compressed
 * buffers inflate to (before inflating), extension types, and every list's offsets.
 */
import { compressionRegistry, CompressionType, MessageReader, RecordBatchReader, Type } from "apache-arrow";
import * as lz4 from "lz4js";
import { decompress as zstdDecompress } from "fzstd";
import { DecodeError } from "./errors.js";

const META_KEY = "hypha_arrow";
const EXTENSION_NAME = "ARROW:extension:name";
const ACCEPTED_EXTENSIONS = new Set([
  // Arrow's canonical extension types, and pandas' two (section 7); apache-arrow JS builds no
  // type from any of them (it reads their storage), so these are accepted as Python accepts them
  "arrow.bool8", "arrow.fixed_shape_tensor", "arrow.json", "arrow.opaque", "arrow.uuid", "arrow.variable_shape_tensor",
  "pandas.interval", "pandas.period",
]);
const UNCOMPRESSED = -1n;

compressionRegistry.set(CompressionType.LZ4_FRAME, { decode: (data) => alignedBuffer(lz4.decompress(data)) });
compressionRegistry.set(CompressionType.ZSTD, { decode: (data) => alignedBuffer(zstdDecompress(data)) });

/** apache-arrow views each inflated buffer as its type's array, which needs an aligned start. */
function alignedBuffer(bytes) {
  if (bytes.byteOffset % 8 === 0) return bytes;
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
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
  guard(section, limits);
  let batch;
  try {
    const reader = RecordBatchReader.from(section);
    batch = reader.next().value;
  } catch (error) {
    throw new DecodeError(`Arrow section: ${error.message}`);
  }
  if (!batch) throw new DecodeError("Arrow section has no record batch");
  if (batch.numRows !== 1) throw new DecodeError(`Arrow section must hold one row, found ${batch.numRows}`);
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

/** Check what the stream declares before apache-arrow acts on it. */
function guard(section, limits) {
  let reader;
  const kinds = [];
  let inflating = 0n;
  try {
    reader = new MessageReader(section);
    let message;
    while ((message = reader.readMessage()) !== null) {
      kinds.push(message.headerType);
      const header = message.header();
      if (message.isSchema()) checkExtensions(header.fields);
      if (message.isRecordBatch() || message.isDictionaryBatch()) {
        const batch = message.isDictionaryBatch() ? header.data : header;
        const body = reader.readMessageBody(message.bodyLength);
        if (body.length !== message.bodyLength) throw new DecodeError("Arrow section truncated in a message body");
        for (const { offset, length } of batch.buffers) {
          if (offset < 0 || length < 0 || offset + length > body.length) {
            throw new DecodeError(`Arrow buffer at ${offset}+${length} lies outside its ${body.length}-byte body`);
          }
          if (batch.compression && length >= 8) {
            const declared = new DataView(body.buffer, body.byteOffset + offset, 8).getBigInt64(0, true);
            if (declared < UNCOMPRESSED) throw new DecodeError(`Arrow buffer declares a negative size ${declared}`);
            inflating += declared === UNCOMPRESSED ? BigInt(length - 8) : declared;
            if (inflating > BigInt(limits.maxDecompressedBytes)) {
              throw new DecodeError(`Arrow section inflates to more than max_decompressed_bytes=${limits.maxDecompressedBytes}`);
            }
          }
        }
      }
    }
  } catch (error) {
    if (error instanceof DecodeError) throw error;
    throw new DecodeError(`Arrow section: ${error.message}`);
  }
  const SCHEMA = 1;
  const RECORD_BATCH = 3;
  if (kinds[0] !== SCHEMA || kinds.filter((k) => k === SCHEMA).length !== 1) throw new DecodeError("Arrow section must start with its one schema");
  if (kinds.filter((k) => k === RECORD_BATCH).length !== 1 || kinds[kinds.length - 1] !== RECORD_BATCH) {
    throw new DecodeError("Arrow section must end with exactly one record batch");
  }
}

function checkExtensions(fields) {
  const pending = [...fields];
  while (pending.length) {
    const field = pending.pop();
    const name = field.metadata?.get(EXTENSION_NAME);
    if (name !== undefined && !ACCEPTED_EXTENSIONS.has(name)) throw new DecodeError(`Arrow extension type '${name}' is not accepted`);
    pending.push(...(field.type.children ?? []));
  }
}
