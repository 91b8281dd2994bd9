/**
 * `inspect(bytes)`: what a frame holds, for people debugging the wire; the same report as
 * Python's `hypha_arrow.inspect` (hypha_arrow/inspection.py), key for key:
 * `{frame_bytes, header, hybrid, section?, skeleton, skeleton_end}`.
 *
 * Nothing is converted to values: the section's columns are described (kind, metadata, Arrow
 * type in pyarrow's spelling, bytes in memory and on the wire). Map keys print as Python's
 * `str(key)` and bin values as `"<n bytes>"`, so the report prints as JSON. Bad input raises
 * `DecodeError`, as decoding does.
 */
import { Type, UnionMode } from "apache-arrow";
import { pyarrowType } from "./arrow_types.js";
import { DecodeError } from "./errors.js";
import { DESCRIPTOR_KEY, FrameReader, isSkeleton, readDescriptor } from "./framing.js";
import { resolveOptions } from "./options.js";
import { META_KEY, readBatch } from "./section.js";

const ALIGNMENT = 8;

/** @param {Uint8Array} bytes */
export function inspect(bytes) {
  const config = resolveOptions();
  const frame = new FrameReader(bytes, config);
  const first = frame.read();
  let header = first;
  let skeleton;
  if (isSkeleton(first)) {
    header = null; // a standalone value's frame
    skeleton = first;
  } else skeleton = frame.read(true);
  const report = { frame_bytes: frame.size, header: printable(header), hybrid: false };
  if (isSkeleton(skeleton)) {
    report.hybrid = true;
    report.section = section(frame.rest(), skeleton instanceof Map ? skeleton.get(DESCRIPTOR_KEY) : skeleton[DESCRIPTOR_KEY], config);
  }
  report.skeleton = printable(skeleton);
  report.skeleton_end = frame.end;
  return report;
}

function section(data, descriptor, config) {
  const [, paths] = readDescriptor(descriptor, config);
  const { batch, layout } = readBatch(data.byteOffset % ALIGNMENT ? data.slice() : data, config);
  const sizes = layout.batchBufferSizes[Symbol.iterator]();
  const columns = batch.schema.fields.map((field, index) => {
    if (field.type.typeId !== Type.LargeList) throw new DecodeError(`Arrow column ${index} must be a large_list, got ${pyarrowType(field.type)}`);
    const data = batch.getChildAt(index).data[0];
    let wire = 0;
    for (let k = bufferCount(field.type); k > 0; k--) wire += sizes.next().value ?? 0;
    const { kind = null, ...meta } = fieldMeta(index, field);
    const item = field.type.children[0];
    return {
      name: field.name,
      path: index < paths.length ? paths[index] : null,
      kind,
      meta,
      type: pyarrowType(item.type, item.metadata),
      bytes: referencedBytes(data, 0, data.length),
      wire_bytes: wire,
    };
  });
  return {
    bytes: data.length,
    aligned: data.byteOffset % ALIGNMENT === 0,
    compression: descriptor.compression ?? null,
    inflated_bytes: layout.inflatedBytes,
    columns,
  };
}

/** A column's `hypha_arrow` field metadata: a JSON object. */
function fieldMeta(index, field) {
  let meta;
  try {
    meta = JSON.parse(field.metadata.get(META_KEY) ?? "{}");
  } catch {
    meta = null;
  }
  if (meta === null || typeof meta !== "object" || Array.isArray(meta)) throw new DecodeError(`Arrow column ${index}: ${META_KEY} metadata is not a JSON object`);
  return meta;
}

/**
 * How many buffers pyarrow's `Array.buffers()` lists for a type, children included
 * (dictionaries not): its count decides which of the batch's buffer sizes a column's
 * `wire_bytes` adds up, so Python's count is kept where it differs from the IPC layout
 * (a union's absent validity buffer, a null column's one).
 */
function bufferCount(type) {
  const children = (type.children ?? []).reduce((n, field) => n + bufferCount(field.type), 0);
  switch (type.typeId) {
    case Type.Utf8:
    case Type.LargeUtf8:
    case Type.Binary:
    case Type.LargeBinary:
      return 3;
    case Type.List:
    case Type.LargeList:
    case Type.Map:
      return 2 + children;
    case Type.FixedSizeList:
    case Type.Struct:
      return 1 + children;
    case Type.Union:
      return (type.mode === UnionMode.Dense ? 3 : 2) + children;
    case Type.Null:
      return 1;
    default:
      return 2; // fixed-width values and a validity bitmap; a dictionary's indices
  }
}

/**
 * Bytes of the buffer ranges elements `start` to `start + length` of `data` reference:
 * pyarrow's `Array.nbytes` (offsets count one per element, a dictionary and a dense union's
 * children count whole). As in apache-arrow's slices, `offset` places the bitmaps, and the
 * value and offset buffers start at element 0.
 */
function referencedBytes(data, start, length) {
  const bit = data.offset + start;
  const at = start;
  const bitmap = data.nullCount > 0 && data.nullBitmap?.length ? bitBytes(bit, length) : 0;
  const type = data.type;
  switch (type.typeId) {
    case Type.Null:
      return 0;
    case Type.Bool:
      return bitmap + bitBytes(bit, length);
    case Type.Utf8:
    case Type.LargeUtf8:
    case Type.Binary:
    case Type.LargeBinary: {
      const offsets = data.valueOffsets;
      return bitmap + length * offsets.BYTES_PER_ELEMENT + (length ? Number(offsets[at + length]) - Number(offsets[at]) : 0);
    }
    case Type.List:
    case Type.LargeList:
    case Type.Map: {
      const offsets = data.valueOffsets;
      const first = length ? Number(offsets[at]) : 0;
      const last = length ? Number(offsets[at + length]) : 0;
      return bitmap + length * offsets.BYTES_PER_ELEMENT + referencedBytes(data.children[0], first, last - first);
    }
    case Type.FixedSizeList:
      return bitmap + referencedBytes(data.children[0], start * type.listSize, length * type.listSize);
    case Type.Struct:
      return bitmap + data.children.reduce((n, child) => n + referencedBytes(child, start, length), 0);
    case Type.Union: {
      const dense = type.mode === UnionMode.Dense;
      const children = data.children.reduce((n, child) => n + (dense ? referencedBytes(child, 0, child.length) : referencedBytes(child, start, length)), 0);
      return length + (dense ? 4 * length : 0) + children;
    }
    case Type.Dictionary: {
      const dictionary = data.dictionary.data.reduce((n, chunk) => n + referencedBytes(chunk, 0, chunk.length), 0);
      return bitmap + length * type.indices.ArrayType.BYTES_PER_ELEMENT + dictionary;
    }
    default:
      return bitmap + length * type.ArrayType.BYTES_PER_ELEMENT * data.stride;
  }
}

function bitBytes(offset, length) {
  return length ? Math.ceil((offset + length) / 8) - Math.floor(offset / 8) : 0;
}

/** A copy with keys as Python's `str(key)` and bin values as their size, so it prints as JSON. */
function printable(value) {
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  if (Array.isArray(value)) return value.map(printable);
  if (value instanceof Map) return Object.fromEntries([...value].map(([key, item]) => [pythonStr(key), printable(item)]));
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, printable(item)]));
  return value;
}

/** Python's `str()` of a msgpack map key. */
function pythonStr(key) {
  if (key === null) return "None";
  if (typeof key === "boolean") return key ? "True" : "False";
  if (typeof key === "number") return Number.isInteger(key) ? String(key) : pythonFloat(key);
  if (key instanceof Uint8Array) return pythonBytes(key);
  return String(key);
}

function pythonFloat(value) {
  if (Number.isNaN(value)) return "nan";
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
  const text = String(value);
  const exponent = /e([+-])(\d+)$/.exec(text);
  return exponent ? text.replace(/e[+-]\d+$/, `e${exponent[1]}${exponent[2].padStart(2, "0")}`) : text;
}

/** Python's `repr(bytes)`: b'...' (b"..." when it holds ' and no "), escapes as Python writes them. */
function pythonBytes(bytes) {
  const quote = bytes.includes(0x27) && !bytes.includes(0x22) ? '"' : "'";
  let text = "";
  for (const byte of bytes) {
    if (byte === 0x5c) text += "\\\\";
    else if (byte === quote.charCodeAt(0)) text += `\\${quote}`;
    else if (byte === 0x09) text += "\\t";
    else if (byte === 0x0a) text += "\\n";
    else if (byte === 0x0d) text += "\\r";
    else if (byte < 0x20 || byte >= 0x7f) text += `\\x${byte.toString(16).padStart(2, "0")}`;
    else text += String.fromCharCode(byte);
  }
  return `b${quote}${text}${quote}`;
}
