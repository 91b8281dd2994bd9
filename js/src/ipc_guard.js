/**
 * Read what an Arrow IPC stream declares before apache-arrow acts on it.
 *
 * apache-arrow JS trusts a stream's flatbuffers: a mutated vector length in a message's
 * metadata makes it loop or allocate without bound (found by the fuzz test: a few flipped
 * bytes exhausted a 4 GB heap), a compressed buffer's declared length is allocated before
 * inflating, and nothing checks buffer ranges. So this module walks the stream's framing and
 * the flatbuffer fields apache-arrow will read (every vector bounded by the bytes that hold
 * it, every table and string inside its message), the buffer ranges, the inflated sizes and
 * the extension names, as the Python side's `ipc_guard` does.
 */
import { DecodeError } from "./errors.js";

const CONTINUATION = 0xffffffff;
const HEADER = { SCHEMA: 1, DICTIONARY_BATCH: 2, RECORD_BATCH: 3 };
const MESSAGE = { HEADER_TYPE: 1, HEADER: 2, BODY_LENGTH: 3, METADATA: 4 };
const SCHEMA = { FIELDS: 1, METADATA: 2, FEATURES: 3 };
const FIELD = { NAME: 0, TYPE_TYPE: 2, TYPE: 3, DICTIONARY: 4, CHILDREN: 5, METADATA: 6 };
const BATCH = { NODES: 1, BUFFERS: 2, COMPRESSION: 3, VARIADIC: 4 };
const DICTIONARY_BATCH_ID = 0;
const DICTIONARY_BATCH_DATA = 1;
const DICTIONARY_ENCODING_ID = 0;
const DICTIONARY_ENCODING_INDEX_TYPE = 1;
const TYPE_NULL = 1;
const TYPE_TIMESTAMP = 10;
const TYPE_UNION = 14;
const EXTENSION_NAME = "ARROW:extension:name";
const MAX_FIELDS = 100_000;
const MAX_NESTING = 64;
const UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * @param {Uint8Array} stream the section
 * @param {{maxDecompressedBytes: number}} limits
 * @param {Set<string> | null} acceptedExtensions null: any (for a stream this package wrote itself)
 * @returns {{inflatedBytes: number, batchBufferSizes: number[]}} for `inspect`: what all batches
 *   hold once inflated, and the record batch's buffer lengths on the wire (Python's `StreamLayout`)
 */
export function scan(stream, limits, acceptedExtensions) {
  const kinds = [];
  const layout = { inflatedBytes: 0, batchBufferSizes: [] };
  let inflating = 0;
  let nodeTypes = null;
  let pos = 0;
  while (pos < stream.length) {
    const message = nextMessage(stream, pos);
    if (message === null) break; // end-of-stream marker
    pos = message.end;
    kinds.push(message.type);
    if (message.type === HEADER.SCHEMA) nodeTypes = checkSchema(message.meta, message.header, acceptedExtensions);
    else if (message.type === HEADER.RECORD_BATCH || message.type === HEADER.DICTIONARY_BATCH) {
      inflating = checkBatch(message, inflating, limits.maxDecompressedBytes, layout, nodeTypes);
    } else throw new DecodeError(`Arrow section holds a message of type ${message.type}`);
  }
  if (kinds[0] !== HEADER.SCHEMA || kinds.filter((k) => k === HEADER.SCHEMA).length !== 1) throw new DecodeError("Arrow section must start with its one schema");
  if (kinds.filter((k) => k === HEADER.RECORD_BATCH).length !== 1 || kinds[kinds.length - 1] !== HEADER.RECORD_BATCH) {
    throw new DecodeError("Arrow section must end with exactly one record batch");
  }
  return layout;
}

/**
 * Where each batch message's buffers lie in `stream` (absolute offset and length), in stream
 * order: for patching a stream this package wrote itself (see compression.js).
 * @param {Uint8Array} stream
 * @returns {{offset: number, length: number}[]}
 */
export function batchBuffers(stream) {
  const found = [];
  let pos = 0;
  while (pos < stream.length) {
    const message = nextMessage(stream, pos);
    if (message === null) break;
    pos = message.end;
    if (message.type !== HEADER.RECORD_BATCH && message.type !== HEADER.DICTIONARY_BATCH) continue;
    const { meta } = message;
    const batch = message.type === HEADER.DICTIONARY_BATCH ? meta.table(message.header, DICTIONARY_BATCH_DATA) : message.header;
    const buffers = meta.vector(batch, BATCH.BUFFERS, 16);
    const bodyStart = message.body.byteOffset - stream.byteOffset;
    for (let i = 0; buffers !== null && i < buffers.count; i++) {
      found.push({ offset: bodyStart + meta.int64At(buffers.start + 16 * i), length: meta.int64At(buffers.start + 16 * i + 8) });
    }
  }
  return found;
}

/** The message at `pos`: its type, its flatbuffer, where its header table is, its body. */
function nextMessage(stream, pos) {
  const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  if (pos + 8 > stream.length) throw new DecodeError("Arrow section truncated in a message prefix");
  let length = view.getUint32(pos, true);
  let start = pos + 4;
  if (length === CONTINUATION) {
    length = view.getInt32(pos + 4, true);
    start = pos + 8;
  }
  if (length === 0) return null;
  if (length < 0 || start + length > stream.length) throw new DecodeError(`Arrow message of ${length} bytes runs past the section`);
  const meta = new Flatbuffer(stream.subarray(start, start + length));
  const root = meta.root();
  const type = meta.uint8(root, MESSAGE.HEADER_TYPE, 0);
  const header = meta.table(root, MESSAGE.HEADER);
  const bodyLength = meta.int64(root, MESSAGE.BODY_LENGTH);
  meta.keyValues(meta.vector(root, MESSAGE.METADATA, 4));
  if (header === null) throw new DecodeError("Arrow message without its header");
  const bodyStart = start + length;
  if (bodyLength < 0 || bodyStart + bodyLength > stream.length) throw new DecodeError(`Arrow message body of ${bodyLength} bytes runs past the section`);
  return { type, meta, header, body: stream.subarray(bodyStart, bodyStart + bodyLength), end: bodyStart + bodyLength };
}

function checkSchema(meta, schema, accepted) {
  meta.keyValues(meta.vector(schema, SCHEMA.METADATA, 4));
  meta.vector(schema, SCHEMA.FEATURES, 8);
  const pending = meta.tables(meta.vector(schema, SCHEMA.FIELDS, 4)).map((field) => [field, 0]);
  let seen = 0;
  while (pending.length) {
    const [field, depth] = pending.pop();
    if (++seen > MAX_FIELDS) throw new DecodeError("Arrow schema has too many fields");
    if (depth > MAX_NESTING) throw new DecodeError("Arrow schema nests too deep");
    meta.string(field, FIELD.NAME);
    const type = meta.table(field, FIELD.TYPE);
    const typeType = meta.uint8(field, FIELD.TYPE_TYPE, 0);
    if (type !== null && typeType === TYPE_TIMESTAMP) meta.string(type, 1);
    if (type !== null && typeType === TYPE_UNION) meta.vector(type, 1, 4);
    const dictionary = meta.table(field, FIELD.DICTIONARY);
    if (dictionary !== null) meta.table(dictionary, DICTIONARY_ENCODING_INDEX_TYPE);
    for (const [key, value] of meta.keyValues(meta.vector(field, FIELD.METADATA, 4))) {
      if (key === EXTENSION_NAME && accepted !== null && !accepted.has(value)) throw new DecodeError(`Arrow extension type '${value}' is not accepted`);
    }
    for (const child of meta.tables(meta.vector(field, FIELD.CHILDREN, 4))) pending.push([child, depth + 1]);
  }
  const types = { batch: [], dictionaries: new Map() };
  for (const field of meta.tables(meta.vector(schema, SCHEMA.FIELDS, 4))) collectNodeTypes(meta, field, types.batch, types.dictionaries);
  return types;
}

/**
 * The type of each field node a batch holds for `field`, in the batch's order (the field, then
 * its children's): a dictionary field's node is its indices' (not a type of its own here), its
 * values' nodes are the dictionary batch's, kept under its id. Bounded by the checks above.
 */
function collectNodeTypes(meta, field, out, dictionaries) {
  const typeType = meta.uint8(field, FIELD.TYPE_TYPE, 0);
  const children = meta.tables(meta.vector(field, FIELD.CHILDREN, 4));
  const dictionary = meta.table(field, FIELD.DICTIONARY);
  if (dictionary === null) {
    out.push(typeType);
    for (const child of children) collectNodeTypes(meta, child, out, dictionaries);
    return;
  }
  out.push(null);
  const values = [typeType];
  for (const child of children) collectNodeTypes(meta, child, values, dictionaries);
  dictionaries.set(meta.int64(dictionary, DICTIONARY_ENCODING_ID), values);
}

/**
 * Check a batch's node and buffer tables and buffer ranges; the section's inflated bytes so far
 * (what the limit bounds: compressed buffers only). `layout` gets every buffer's inflated size.
 */
function checkBatch(message, inflating, limit, layout, nodeTypes) {
  const { meta } = message;
  const dictionaryBatch = message.type === HEADER.DICTIONARY_BATCH;
  const batch = dictionaryBatch ? meta.table(message.header, DICTIONARY_BATCH_DATA) : message.header;
  if (batch === null) throw new DecodeError("Arrow dictionary batch without its data");
  const nodes = meta.vector(batch, BATCH.NODES, 16);
  const types = dictionaryBatch ? nodeTypes?.dictionaries.get(meta.int64(message.header, DICTIONARY_BATCH_ID)) : nodeTypes?.batch;
  for (let i = 0; nodes !== null && types !== undefined && i < Math.min(nodes.count, types.length); i++) {
    // apache-arrow reads a null-type array's length and ignores its null count; pyarrow refuses one that differs
    if (types[i] === TYPE_NULL && meta.int64At(nodes.start + 16 * i + 8) !== meta.int64At(nodes.start + 16 * i)) throw new DecodeError(`Arrow null-type array ${i} has a null count unequal to its length`);
  }
  meta.vector(batch, BATCH.VARIADIC, 8);
  const buffers = meta.vector(batch, BATCH.BUFFERS, 16);
  const compressed = meta.table(batch, BATCH.COMPRESSION) !== null;
  const body = message.body;
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let inflated = inflating;
  const lengths = [];
  for (let i = 0; buffers !== null && i < buffers.count; i++) {
    const offset = meta.int64At(buffers.start + 16 * i);
    const length = meta.int64At(buffers.start + 16 * i + 8);
    if (offset < 0 || length < 0 || offset + length > body.length) throw new DecodeError(`Arrow buffer at ${offset}+${length} lies outside its ${body.length}-byte body`);
    lengths.push(length);
    if (compressed && length >= 8) {
      const declared = Number(view.getBigInt64(offset, true));
      if (declared < -1) throw new DecodeError(`Arrow buffer declares a negative size ${declared}`);
      const size = declared === -1 ? length - 8 : declared;
      inflated += size;
      layout.inflatedBytes += size;
      if (inflated > limit) throw new DecodeError(`Arrow section inflates to more than max_decompressed_bytes=${limit}`);
    } else layout.inflatedBytes += length;
  }
  if (message.type === HEADER.RECORD_BATCH) layout.batchBufferSizes = lengths;
  return inflated;
}

/** The few flatbuffer reads the guard needs, each bounds-checked against the buffer. */
class Flatbuffer {
  constructor(bytes) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  u32(pos) {
    this.need(pos, 4);
    return this.view.getUint32(pos, true);
  }

  need(pos, size) {
    if (!(pos >= 0 && pos + size <= this.bytes.length)) throw new DecodeError("Arrow message metadata is truncated or points outside itself");
  }

  root() {
    return this.checkedTable(this.u32(0));
  }

  checkedTable(table) {
    this.need(table, 4);
    const vtable = table - this.view.getInt32(table, true);
    this.need(vtable, 4);
    const vtableSize = this.view.getUint16(vtable, true);
    const tableSize = this.view.getUint16(vtable + 2, true);
    if (vtableSize < 4 || vtableSize % 2) throw new DecodeError("Arrow message metadata has an invalid vtable");
    this.need(vtable, vtableSize);
    this.need(table, tableSize);
    return { table, vtable, vtableSize, tableSize };
  }

  /** Where field `index` of a table sits, or null when absent. */
  slot(t, index, size) {
    const entry = 4 + 2 * index;
    if (entry + 2 > t.vtableSize) return null;
    const offset = this.view.getUint16(t.vtable + entry, true);
    if (offset === 0) return null;
    if (offset + size > t.tableSize) throw new DecodeError("Arrow message metadata has a field outside its table");
    return t.table + offset;
  }

  uint8(t, index, fallback) {
    const at = this.slot(t, index, 1);
    return at === null ? fallback : this.view.getUint8(at);
  }

  int64(t, index) {
    const at = this.slot(t, index, 8);
    return at === null ? 0 : this.int64At(at);
  }

  int64At(pos) {
    this.need(pos, 8);
    const value = this.view.getBigInt64(pos, true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < -BigInt(Number.MAX_SAFE_INTEGER)) throw new DecodeError(`Arrow metadata value ${value} is out of range`);
    return Number(value);
  }

  /** The table field `index` points to, or null. */
  table(t, index) {
    const at = this.slot(t, index, 4);
    return at === null ? null : this.checkedTable(at + this.u32(at));
  }

  /** A vector field: its element start and count, the count bounded by the bytes after it. */
  vector(t, index, elementSize) {
    const at = this.slot(t, index, 4);
    if (at === null) return null;
    const vector = at + this.u32(at);
    const count = this.u32(vector);
    if (count > (this.bytes.length - vector - 4) / elementSize) throw new DecodeError(`Arrow metadata vector of ${count} elements runs past its message`);
    return { start: vector + 4, count };
  }

  tables(vector) {
    if (vector === null) return [];
    return Array.from({ length: vector.count }, (_, i) => {
      const slot = vector.start + 4 * i;
      return this.checkedTable(slot + this.u32(slot));
    });
  }

  string(t, index) {
    const at = this.slot(t, index, 4);
    if (at === null) return null;
    return this.stringAt(at + this.u32(at));
  }

  stringAt(pos) {
    const length = this.u32(pos);
    this.need(pos + 4, length);
    try {
      return UTF8.decode(this.bytes.subarray(pos + 4, pos + 4 + length));
    } catch {
      throw new DecodeError("Arrow metadata string is not UTF-8");
    }
  }

  keyValues(vector) {
    return this.tables(vector).map((kv) => [this.string(kv, 0) ?? "", this.string(kv, 1) ?? ""]);
  }
}
