/**
 * Codec options: Python's `Config` (hypha_arrow/config.py) camelCased, with its defaults and
 * its checks, so one settings document means the same on both sides. Differences, by the
 * issue's API: `compression` is Python's `compression_algorithm`, and `recordsAs` names what
 * JavaScript has ("objects" for Python's "list", "table" for "arrow").
 */
import { EncodeError } from "./errors.js";

const GiB = 2 ** 30;
const MiB = 2 ** 20;

const PATTERNS = Object.freeze(["arrays", "strings", "records", "compression"]);
const COMPRESSIONS = Object.freeze([null, "lz4", "zstd", "auto"]);
const RECORDS_AS = ["objects", "table"];
/** The codec levels pyarrow accepts (`pa.Codec.minimum/maximum_compression_level`); `auto` compresses with zstd. */
const LEVELS = { lz4: [1, 12], zstd: [-131072, 22], auto: [-131072, 22], null: [-(2 ** 31), 2 ** 31 - 1] };
/** Compressions this package can write: there is no zstd encoder among its dependencies (fzstd only decodes). */
const WRITABLE = new Set([null, "lz4", "auto"]);

export const DEFAULTS = Object.freeze({
  enableBinaryOptimization: true,
  binaryThreshold: 1000,
  optimizationPatterns: PATTERNS,
  compression: null,
  compressionLevel: null,
  typedArrayOptimization: true,
  recordsAs: "objects",
  maxFrameBytes: 4 * GiB,
  maxSectionBytes: 4 * GiB,
  maxDecompressedBytes: 256 * MiB,
  maxColumns: 10_000,
  maxDepth: 512,
  maxMessageBytes: 1536 * MiB,
  maxPendingBytesPerSender: 1536 * MiB,
  maxPendingBytes: 2 * GiB,
  maxPartialMessagesPerSender: 256,
  maxPartialMessages: 1024,
  maxChunks: 8192,
  transferDeadline: 300,
  transferIdleTimeout: 30,
});

const POSITIVE_INTEGERS = [
  "maxFrameBytes", "maxSectionBytes", "maxDecompressedBytes", "maxColumns", "maxDepth",
  "maxMessageBytes", "maxPendingBytesPerSender", "maxPendingBytes", "maxPartialMessagesPerSender", "maxPartialMessages", "maxChunks",
];
const RESOLVED = new WeakSet();

/**
 * `options` over the defaults, each checked as Python's `Config` checks it; an unknown name is
 * an error (a misspelt limit must not silently fall back to the default). A resolved object is
 * frozen and passes through again without a second check (once per call on the hot path).
 * @param {object} [options]
 * @returns {Readonly<typeof DEFAULTS>}
 */
export function resolveOptions(options) {
  if (options === undefined || options === null) return RESOLVED_DEFAULTS;
  if (RESOLVED.has(options)) return options;
  if (typeof options !== "object" || Array.isArray(options)) throw new TypeError(`options must be an object, got ${Array.isArray(options) ? "an array" : typeof options}`);
  const unknown = Object.keys(options).filter((name) => !Object.hasOwn(DEFAULTS, name));
  if (unknown.length) throw new TypeError(`unknown option${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")}; known: ${Object.keys(DEFAULTS).join(", ")}`);
  const resolved = { ...DEFAULTS };
  for (const [name, value] of Object.entries(options)) if (value !== undefined) resolved[name] = value;
  check(resolved);
  resolved.optimizationPatterns = Object.freeze([...new Set(resolved.optimizationPatterns)]);
  Object.freeze(resolved);
  RESOLVED.add(resolved);
  return resolved;
}

function check(o) {
  const patterns = o.optimizationPatterns;
  if (typeof patterns === "string" || !(Array.isArray(patterns) || patterns instanceof Set) || ![...patterns].every((p) => typeof p === "string")) {
    throw new TypeError(`optimizationPatterns must be an array (or Set) of names, got ${show(patterns)}`);
  }
  const unknown = [...patterns].filter((p) => !PATTERNS.includes(p));
  if (unknown.length) throw new RangeError(`optimizationPatterns: unknown ${show(unknown)}, choose from ${show(PATTERNS)}`);
  if (!COMPRESSIONS.includes(o.compression)) throw new RangeError(`compression must be one of ${show(COMPRESSIONS)}, got ${show(o.compression)}`);
  if (!RECORDS_AS.includes(o.recordsAs)) throw new RangeError(`recordsAs must be one of ${show(RECORDS_AS)}, got ${show(o.recordsAs)}`);
  if (o.compressionLevel !== null) {
    const [low, high] = LEVELS[o.compression];
    if (!Number.isInteger(o.compressionLevel) || o.compressionLevel < low || o.compressionLevel > high) {
      throw new RangeError(`compressionLevel must be an integer from ${low} to ${high} (${o.compression ?? "no compression"}), got ${show(o.compressionLevel)}`);
    }
  }
  for (const name of ["enableBinaryOptimization", "typedArrayOptimization"]) {
    if (typeof o[name] !== "boolean") throw new TypeError(`${name} must be a boolean, got ${show(o[name])}`);
  }
  requireInteger(o, "binaryThreshold", 0);
  for (const name of POSITIVE_INTEGERS) requireInteger(o, name, 1);
  for (const name of ["transferDeadline", "transferIdleTimeout"]) {
    if (typeof o[name] !== "number" || !(o[name] > 0) || o[name] === Infinity) throw new RangeError(`${name} must be a number of seconds > 0, got ${show(o[name])}`);
  }
}

function requireInteger(o, name, minimum) {
  const value = o[name];
  if (!Number.isSafeInteger(value) || value < minimum) throw new RangeError(`${name} must be an integer >= ${minimum}, got ${show(value)}`);
}

function show(value) {
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "number" && !Number.isFinite(value)) return String(value); // JSON would say null
  if (value instanceof Set) return JSON.stringify([...value]);
  return value === undefined ? "undefined" : JSON.stringify(value) ?? String(value);
}

/**
 * The options an encoder may use: the checks above, and a compression this package can write.
 * zstd is refused here, before anything is encoded, rather than sent plain or as lz4.
 */
export function encodeOptions(options) {
  const resolved = resolveOptions(options);
  if (!WRITABLE.has(resolved.compression) && uses(resolved, "compression")) {
    throw new EncodeError(`compression "${resolved.compression}" cannot be written from JavaScript: no zstd encoder is available (fzstd only decodes); use "lz4" or "auto"`);
  }
  return resolved;
}

/** Whether a family answering to `pattern` goes columnar (Python's `Config.uses`). */
export function uses(options, pattern) {
  const patterns = options.optimizationPatterns;
  return options.enableBinaryOptimization && (patterns instanceof Set ? patterns.has(pattern) : patterns.includes(pattern));
}

const RESOLVED_DEFAULTS = resolveOptions({});
