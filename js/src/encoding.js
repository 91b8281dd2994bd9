/**
 * Encoding: JavaScript values into hybrid frames Python's decoder reads (docs/wire-format.md).
 *
 * The walk takes each value that goes columnar (an `NDArray` or TypedArray at or above the
 * binary threshold, an apache-arrow Table or Vector, a long homogeneous list, a list of
 * records) out of the value, leaves a placeholder in its place, and writes all of them as one
 * Arrow IPC stream behind the skeleton; the rest is msgpack as hypha-rpc JS would send it.
 */
import { Dictionary, Field, FixedSizeList, LargeList, List, Map_, RecordBatch, RecordBatchStreamWriter, Schema, Struct, Table, Type, Union as Union_, Vector, makeData } from "apache-arrow";
import { choose, writeCompressed } from "./compression.js";
import { EncodeError } from "./errors.js";
import { DESCRIPTOR_KEY, FORMAT_VERSION, PLACEHOLDER_DTYPE } from "./framing.js";
import { columnOf } from "./families/encode.js";
import { formatPath } from "./families/index.js";
import { scan } from "./ipc_guard.js";
import { FrameEncoder, checkMapKeys } from "./msgpack.js";
import { NDArray, isBareTypedArray } from "./ndarray.js";
import { encodeOptions } from "./options.js";
import { BYTELESS_FREE, BYTELESS_PER_BYTE, META_KEY, bytelessAllowance } from "./section.js";
import { stockForm } from "./stock_forms.js";
import { bytelessElements } from "./validate.js";

const ALIGNMENT = 8;
const VALUE_KEY = "value";

/**
 * A standalone value as a frame Python's `hypha_arrow.decode` reads.
 * @param {unknown} value
 * @param {object} [options]
 */
export function encode(value, options) {
  const config = encodeOptions(options);
  if (holdsDescriptorKey(value)) throw new EncodeError("reserved: at the top of a frame a decoder reads this key as the hybrid frame descriptor", DESCRIPTOR_KEY);
  const extraction = new Extraction(config, [VALUE_KEY]);
  const skeleton = extraction.walk(value);
  if (!extraction.columns.length) return pack(skeleton, "value");
  return framed(new Uint8Array(0), { [VALUE_KEY]: skeleton }, extraction, config);
}

/**
 * A hypha-rpc frame: the header as msgpack, then the extra data with its bulky values in the
 * Arrow section (plain msgpack, as stock, when nothing is columnar).
 */
export function encodeMessage(header, extra, options) {
  const config = encodeOptions(options);
  const head = pack(header, "header");
  if (extra === null || extra === undefined) return head;
  if (typeof extra !== "object" || Array.isArray(extra)) throw new EncodeError(`extra must be a map, got ${Array.isArray(extra) ? "array" : typeof extra}`);
  if (holdsDescriptorKey(extra)) throw new EncodeError("reserved: at the top of a frame a decoder reads this key as the hybrid frame descriptor", DESCRIPTOR_KEY);
  const extraction = new Extraction(config, null);
  const skeleton = extraction.walk(extra);
  if (!extraction.columns.length) return concat(head, pack(skeleton, "extra"));
  return framed(head, skeleton, extraction, config);
}

function holdsDescriptorKey(value) {
  return value instanceof Map ? value.has(DESCRIPTOR_KEY) : isPlainObject(value) && Object.hasOwn(value, DESCRIPTOR_KEY);
}

class Extraction {
  constructor(config, prefix) {
    this.config = config;
    this.prefix = prefix ?? [];
    this.columns = [];
    this.paths = [];
  }

  walk(value, path = [], depth = 0) {
    if (depth > this.config.maxDepth) throw new EncodeError(`nested deeper than max_depth=${this.config.maxDepth} (or a reference cycle)`, formatPath([...this.prefix, ...path]));
    try {
      const leaf = this.leaf(value, path);
      if (leaf !== undefined) return leaf;
    } catch (error) {
      if (error instanceof EncodeError) throw new EncodeError(error.reason, formatPath([...this.prefix, ...path]) + (error.path ?? ""));
      throw error;
    }
    if (Array.isArray(value)) return value.map((item, i) => this.walk(item, [...path, i], depth + 1));
    if (value instanceof Map) {
      const out = new Map();
      for (const [key, item] of value) out.set(key, this.walk(item, [...path, key], depth + 1));
      return out;
    }
    if (isPlainObject(value)) {
      // defined, not assigned: an own "__proto__" key (JSON.parse makes them) would set the copy's prototype instead
      const out = {};
      for (const [key, item] of Object.entries(value)) Object.defineProperty(out, key, { value: this.walk(item, [...path, key], depth + 1), enumerable: true, writable: true, configurable: true });
      return out;
    }
    return value;
  }

  /**
   * What `value` becomes when it is not walked into: a placeholder for a column, hypha-rpc's
   * form for an array below the threshold; undefined for containers and msgpack values.
   * Errors here get the value's path from `walk`.
   */
  leaf(value, path) {
    const column = columnOf(value, this.config);
    if (column !== null) {
      const index = this.columns.length;
      this.columns.push(column);
      this.paths.push([...this.prefix, ...path]);
      return { _rtype: "ndarray", _rvalue: new Uint8Array(0), _rdtype: PLACEHOLDER_DTYPE, _rcolumn: index };
    }
    if (value instanceof NDArray) return stockForm(value);
    if (isBareTypedArray(value)) return stockForm(new NDArray(value, [value.length])); // below the threshold: a numpy array still
    if (value instanceof Map) checkMapKeys(value);
    if (value instanceof Table || value instanceof Vector) throw new EncodeError("internal: an Arrow value was not taken as a column");
    return undefined;
  }
}

function framed(prefix, skeleton, extraction, config) {
  const [section, codec] = encodeSection(extraction.columns, config);
  checkBytelessElements(extraction, section, codec);
  const descriptor = { version: FORMAT_VERSION, length: section.length, compression: codec, columns: extraction.paths, pad: new Uint8Array(0) };
  if (skeleton instanceof Map) skeleton.set(DESCRIPTOR_KEY, descriptor);
  else skeleton[DESCRIPTOR_KEY] = descriptor;
  let packed = pack(skeleton, "value");
  const pad = (ALIGNMENT - ((prefix.length + packed.length) % ALIGNMENT)) % ALIGNMENT;
  if (pad) {
    descriptor.pad = new Uint8Array(pad);
    packed = pack(skeleton, "value");
  }
  const frame = new Uint8Array(prefix.length + packed.length + section.length);
  frame.set(prefix, 0);
  frame.set(packed, prefix.length);
  frame.set(section, prefix.length + packed.length);
  return frame;
}

/**
 * The columns as one IPC stream holding one one-row batch; column `i` a large_list named "i".
 * Its body compressed when `compression` says so (for "auto", when a sample shows it pays).
 * @returns {[Uint8Array, string | null]} the section and its codec
 */
function encodeSection(columns, config) {
  const fields = [];
  const lists = columns.map((column, index) => {
    column = { ...column, data: writable(column.data) };
    const listType = new LargeList(new Field("item", column.data.type, true, column.itemMetadata));
    const metadata = new Map(column.metadata);
    metadata.set(META_KEY, JSON.stringify({ kind: column.kind, ...column.meta }));
    fields.push(new Field(String(index), listType, false, metadata));
    return makeData({ type: listType, length: 1, nullCount: 0, valueOffsets: new BigInt64Array([0n, BigInt(column.data.length)]), child: column.data });
  });
  const schema = new Schema(fields);
  const batch = new RecordBatch(schema, makeData({ type: new Struct(fields), length: 1, nullCount: 0, children: lists }));
  const codec = choose(config, columns.flatMap((column) => buffersOf(column.data)));
  const write = (compressionType) => {
    const writer = new RecordBatchStreamWriter(compressionType === undefined ? undefined : { compressionType });
    writer.write(batch);
    writer.finish();
    return writer.toUint8Array(true);
  };
  return [codec === null ? write() : writeCompressed(codec, write), codec];
}

/**
 * `data` as apache-arrow's writer must be given it:
 * - a new id for each dictionary type: the writer keys dictionaries by id, and two values with
 *   the same schema (two Tables decoded from one frame, a Table and its empty copy) carry the
 *   same ids with different dictionaries, which it refuses;
 * - each null-type array with an all-zero validity bitmap, which the writer does not write: its
 *   slices (it slices every list's child) lose the null count of a Data without one, and it then
 *   writes -1, which pyarrow refuses ("Null array null_count unequal to its length").
 */
function writable(data) {
  const type = data.type;
  if (type.typeId === Type.Null) return data.clone(type, data.offset, data.length, -1, [undefined, undefined, new Uint8Array(Math.ceil((data.offset + data.length) / 8))]);
  const children = (data.children ?? []).map(writable);
  let retyped = type;
  if (type.typeId === Type.Dictionary) retyped = new Dictionary(type.dictionary, type.indices, null, type.isOrdered);
  else if (children.some((child, k) => child !== data.children[k])) retyped = withChildTypes(type, children.map((child) => child.type));
  return retyped === type ? data : data.clone(retyped, data.offset, data.length, data.nullCount, data, children);
}

/**
 * Refuse a section the decoder would (section 8): more elements without bytes (null-type and
 * field-less struct arrays) than `max(2^20, 8 x B)`, B the larger of its size and what its
 * buffers inflate to; the error names the column that passes the allowance.
 */
function checkBytelessElements(extraction, section, codec) {
  const measure = codec === null ? section.length : Math.max(section.length, scan(section, { maxDecompressedBytes: Infinity }, null).inflatedBytes);
  const allowance = bytelessAllowance(measure);
  let total = 0;
  extraction.columns.forEach((column, index) => {
    total += bytelessElements(column.data);
    if (total > allowance) {
      throw new EncodeError(`${total} null values (null-type or field-less columns) with ${measure} bytes of data: over the max(${BYTELESS_FREE}, ${BYTELESS_PER_BYTE} x bytes) a decoder accepts (it would build them from no bytes)`, formatPath(extraction.paths[index]));
    }
  });
}

/** A nested type with its children's types replaced (names, nullability and metadata kept). */
function withChildTypes(type, types) {
  const fields = type.children.map((field, k) => new Field(field.name, types[k], field.nullable, field.metadata));
  switch (type.typeId) {
    case Type.Struct:
      return new Struct(fields);
    case Type.List:
      return new List(fields[0]);
    case Type.LargeList:
      return new LargeList(fields[0]);
    case Type.FixedSizeList:
      return new FixedSizeList(type.listSize, fields[0]);
    case Type.Map:
      return new Map_(fields[0], type.keysSorted);
    case Type.Union:
      return new Union_(type.mode, type.typeIds, fields);
    default:
      throw new EncodeError(`internal: ${type} has children with dictionaries`);
  }
}

/** A Data's buffers and its children's (and dictionary's), as bytes: what compression would shrink. */
function buffersOf(data) {
  const own = [data.nullBitmap, data.typeIds, data.valueOffsets, data.values].filter((b) => ArrayBuffer.isView(b) && b.byteLength);
  const bytes = own.map((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
  for (const child of data.children ?? []) bytes.push(...buffersOf(child));
  for (const chunk of data.dictionary?.data ?? []) bytes.push(...buffersOf(chunk));
  return bytes;
}

const ENCODER = new FrameEncoder();

function pack(value, what) {
  try {
    return ENCODER.encode(value);
  } catch (error) {
    if (error instanceof EncodeError) throw new EncodeError(`${what}: ${error.reason}`);
    throw new EncodeError(`${what} is not msgpack-serialisable: ${error.message}`);
  }
}

function concat(a, b) {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function isPlainObject(value) {
  if (value === null || typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
