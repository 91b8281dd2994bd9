/**
 * Frames: `msgpack(header) + msgpack(skeleton) + Arrow section`, or plain msgpack when nothing
 * is columnar (docs/wire-format.md, sections 1-3). The skeleton's descriptor (key
 * `__hypha_arrow__`) gives the section's exact length and the path of every column, so the
 * section is found from the end of the skeleton wherever the server's header rewrite moved it.
 */
import { DecodeError } from "./errors.js";
import { decodeObject, objectEnd } from "./msgpack.js";
import { DEFAULTS, resolveOptions } from "./options.js";
import { decodeSection } from "./section.js";
import { decodeColumn, formatPath } from "./families/index.js";
import { fromStockForms } from "./stock_forms.js";

export const DESCRIPTOR_KEY = "__hypha_arrow__";
export const FORMAT_VERSION = 1;
const VALUE_KEY = "value";
export const PLACEHOLDER_DTYPE = "hypha_arrow column: this peer cannot read hybrid frames";
const ALIGNMENT = 8;

/**
 * Decode any frame hypha-rpc or hypha_arrow sends: `[header, extra]` (extra null when absent).
 * hypha-rpc's small-array maps are left as they are, for hypha-rpc to decode.
 * @param {Uint8Array} bytes
 * @param {object} [options]
 */
export function decodeMessage(bytes, options) {
  const config = resolveOptions(options);
  const frame = new FrameReader(bytes, config);
  const header = frame.read();
  const extra = frame.read(true);
  if (isSkeleton(extra)) resolveSection(frame, extra, config);
  if (header === null || typeof header !== "object" || Array.isArray(header) || ArrayBuffer.isView(header)) {
    throw new DecodeError(`message header must be a map, got ${describe(header)}`);
  }
  return [header, extra];
}

/**
 * Decode a standalone value made by Python's `hypha_arrow.encode`.
 * @param {Uint8Array} bytes
 * @param {object} [options]
 */
export function decode(bytes, options) {
  const config = resolveOptions(options);
  const frame = new FrameReader(bytes, config);
  let value = frame.read();
  const hybrid = isSkeleton(value);
  if (!hybrid && frame.end !== frame.size) throw new DecodeError(`${frame.size - frame.end} unexpected bytes after the value`);
  value = fromStockForms(value, (steps) => formatPath(hybrid ? steps : [VALUE_KEY, ...steps]));
  if (hybrid) {
    resolveSection(frame, value, config);
    const keys = value instanceof Map ? [...value.keys()].map(String) : Object.keys(value);
    if (keys.length !== 1 || keys[0] !== VALUE_KEY || value instanceof Map) throw new DecodeError(`a standalone frame holds only '${VALUE_KEY}', found ${JSON.stringify(keys.sort())}`);
    value = value[VALUE_KEY];
  }
  return value;
}

/** Whether a decoded map holds the descriptor: a plain object, or a `Map` when the map has non-string keys. */
export function isSkeleton(value) {
  if (value instanceof Map) return value.has(DESCRIPTOR_KEY);
  return value !== null && typeof value === "object" && !Array.isArray(value) && !ArrayBuffer.isView(value) && Object.hasOwn(value, DESCRIPTOR_KEY);
}

/** The descriptor, taken out of the skeleton. */
function takeDescriptor(skeleton) {
  if (skeleton instanceof Map) {
    const descriptor = skeleton.get(DESCRIPTOR_KEY);
    skeleton.delete(DESCRIPTOR_KEY);
    return descriptor;
  }
  const descriptor = skeleton[DESCRIPTOR_KEY];
  delete skeleton[DESCRIPTOR_KEY];
  return descriptor;
}

/** One pass over a frame: its msgpack objects in order. */
export class FrameReader {
  constructor(bytes, config) {
    if (!(bytes instanceof Uint8Array)) throw new DecodeError(`expected a Uint8Array, got ${describe(bytes)}`);
    if (bytes.length > config.maxFrameBytes) throw new DecodeError(`frame of ${bytes.length} bytes is over max_frame_bytes=${config.maxFrameBytes}`);
    this.bytes = bytes;
    this.size = bytes.length;
    this.end = 0;
    this.config = config;
  }

  /** The next object; null if `optional` and the frame ends where the last one did. */
  read(optional = false) {
    if (optional && this.end === this.size) return null;
    const start = this.end;
    const end = objectEnd(this.bytes, start, this.config.maxDepth + 2);
    this.end = end;
    return decodeObject(this.bytes.subarray(start, end));
  }

  rest() {
    return this.bytes.subarray(this.end);
  }
}

function resolveSection(frame, skeleton, config) {
  const [length, paths] = readDescriptor(takeDescriptor(skeleton), config);
  if (frame.end + length !== frame.size) {
    throw new DecodeError(`descriptor says the Arrow section is ${length} bytes, the frame holds ${frame.size - frame.end}`);
  }
  const columns = decodeSection(aligned(frame.rest()), config);
  if (columns.length !== paths.length) throw new DecodeError(`descriptor lists ${paths.length} columns, the Arrow section has ${columns.length}`);
  const values = columns.map((column, index) => decodeColumn(index, column, paths[index], config));
  restore(skeleton, paths, values);
}

export function readDescriptor(descriptor, config) {
  if (descriptor === null || typeof descriptor !== "object" || descriptor.version !== FORMAT_VERSION) {
    throw new DecodeError(`unsupported hybrid frame descriptor ${JSON.stringify(descriptor, pathText)?.slice(0, 200)}`);
  }
  const { length, columns } = descriptor;
  if (!Number.isSafeInteger(length) || length < 0 || length > config.maxSectionBytes) {
    throw new DecodeError(`Arrow section length ${length} is invalid or over max_section_bytes=${config.maxSectionBytes}`);
  }
  if (!Array.isArray(columns) || columns.length > config.maxColumns) {
    throw new DecodeError(`descriptor columns must be a list of at most max_columns=${config.maxColumns} paths`);
  }
  for (const path of columns) {
    if (!Array.isArray(path) || path.length === 0 || path.length > config.maxDepth + 1 || !path.every(isPathKey)) {
      throw new DecodeError(`invalid column path ${JSON.stringify(path, pathText)?.slice(0, 200)}`);
    }
  }
  return [length, columns];
}

/** A path step is a map key (str, bin, int, float, bool, nil) or an array index (section 2). */
function isPathKey(key) {
  return typeof key === "string" || typeof key === "number" || typeof key === "bigint" || typeof key === "boolean" || key === null || key instanceof Uint8Array;
}

/** Put each value where its path leads, replacing its placeholder (section 3). */
function restore(skeleton, paths, values) {
  const seen = new Set();
  paths.forEach((path, index) => {
    let container = skeleton;
    for (const key of path.slice(0, -1)) {
      container = step(container, key, path);
    }
    const last = path[path.length - 1];
    const placeholder = step(container, last, path);
    if (!isPlaceholder(placeholder, index) || seen.has(placeholder)) {
      throw new DecodeError(`column path ${JSON.stringify(path, pathText)} does not lead to placeholder ${index}`);
    }
    seen.add(placeholder);
    if (container instanceof Map) container.set(mapKey(container, last), values[index]);
    else container[last] = values[index];
  });
}

/**
 * What `key` finds in `container`: an int indexes an array, any key looks up a map (a `Map`
 * by the key's value, bin keys by their bytes; an object only by a string key).
 */
function step(container, key, path) {
  let found;
  if (Array.isArray(container)) found = Number.isInteger(key) && key >= 0 ? container[key] : undefined;
  else if (container instanceof Map) found = container.get(mapKey(container, key));
  else if (container !== null && typeof container === "object" && !ArrayBuffer.isView(container) && typeof key === "string" && Object.hasOwn(container, key)) found = container[key];
  if (found === undefined) throw new DecodeError(`column path ${JSON.stringify(path, pathText)} leads to nothing`);
  return found;
}

/** The key of `map` that equals `key` (bin keys are compared by their bytes). */
function mapKey(map, key) {
  if (!(key instanceof Uint8Array)) return key;
  return binKeys(map).get(bytesText(key)) ?? key;
}

const BIN_KEYS = new WeakMap();

/** `map`'s bin keys by their bytes, indexed once per map: a path step looks one up, it does not scan them all. */
function binKeys(map) {
  let index = BIN_KEYS.get(map);
  if (index === undefined) {
    index = new Map();
    for (const candidate of map.keys()) {
      if (!(candidate instanceof Uint8Array)) continue;
      const text = bytesText(candidate);
      if (!index.has(text)) index.set(text, candidate); // the first of equal keys, as a scan finds it
    }
    BIN_KEYS.set(map, index);
  }
  return index;
}

/** Bytes as a string of one character per byte, so equal bytes give equal strings. */
function bytesText(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 4096) text += String.fromCharCode(...bytes.subarray(i, i + 4096));
  return text;
}

function pathText(_key, value) {
  return typeof value === "bigint" ? value.toString() : value instanceof Uint8Array ? `<${value.length} bytes>` : value;
}

function isPlaceholder(value, index) {
  return value !== null && typeof value === "object" && value._rtype === "ndarray" && value._rdtype === PLACEHOLDER_DTYPE && value._rcolumn === index;
}

/**
 * A chunked message's parts as one frame, laid out so that the section behind its first two
 * objects starts at an 8-byte aligned address: decoding then views the section where it lies
 * instead of copying it once more to align it. Falls back to a plain layout when the first part
 * does not hold both objects whole (the decoder still aligns, and still checks everything).
 * @param {Uint8Array[]} parts
 */
export function joinFrame(parts) {
  let size = 0;
  for (const part of parts) size += part.length;
  const shift = parts.length ? (ALIGNMENT - (sectionStart(parts[0]) % ALIGNMENT)) % ALIGNMENT : 0;
  const frame = new Uint8Array(new ArrayBuffer(size + shift), shift, size);
  let position = 0;
  for (const part of parts) {
    frame.set(part, position);
    position += part.length;
  }
  return frame;
}

function sectionStart(first) {
  try {
    return objectEnd(first, objectEnd(first, 0, DEFAULTS.maxDepth + 2), DEFAULTS.maxDepth + 2);
  } catch {
    return 0; // not both objects in the first part, or not msgpack: the decoder will say what is wrong
  }
}

/** The section in memory at an 8-byte aligned address, copied once if it is not. */
function aligned(section) {
  if (section.byteOffset % ALIGNMENT === 0) return section;
  const copy = new Uint8Array(section.length);
  copy.set(section);
  return copy;
}

function describe(value) {
  return value === null ? "nil" : Array.isArray(value) ? "array" : value?.constructor?.name ?? typeof value;
}
