/**
 * Options: Python's `Config` camelCased, with its defaults and checks; unknown names and bad
 * values are refused naming the option; the decoding limits hold; the encoding switches do
 * what Python's do.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { tableFromArrays } from "apache-arrow";
import { Encoder } from "@msgpack/msgpack";
import { DecodeError, EncodeError, NDArray, decode, encode, encodeMessage, inspect } from "../src/index.js";
import { DEFAULTS, resolveOptions } from "../src/options.js";

const PYTHON = process.env.HYPHA_ARROW_PYTHON ?? "python3";
const RENAMED = { compression_algorithm: "compression" };
const RECORDS_AS = { list: "objects", arrow: "table" };

function python(script) {
  return JSON.parse(execFileSync(PYTHON, ["-c", script], { encoding: "utf8" }));
}

const camel = (name) => RENAMED[name] ?? name.replace(/_([a-z])/g, (_, c) => c.toUpperCase());

test("every option is a Config field camelCased, with Python's default", () => {
  const config = python(`import dataclasses, json
from hypha_arrow import Config
c = Config()
print(json.dumps({f.name: sorted(v) if isinstance(v := getattr(c, f.name), frozenset) else v for f in dataclasses.fields(Config)}))`);
  const expected = Object.fromEntries(Object.entries(config).map(([name, value]) => [camel(name), name === "records_as" ? RECORDS_AS[value] : value]));
  const actual = { ...DEFAULTS, optimizationPatterns: [...DEFAULTS.optimizationPatterns].sort() };
  assert.deepEqual(actual, expected);
});

test("compression levels are checked against pyarrow's range for the codec", () => {
  const ranges = python(`import json, pyarrow as pa
print(json.dumps({c: [pa.Codec.minimum_compression_level(c), pa.Codec.maximum_compression_level(c)] for c in ("lz4", "zstd")}))`);
  for (const [codec, [low, high]] of Object.entries(ranges)) {
    resolveOptions({ compression: codec, compressionLevel: low });
    resolveOptions({ compression: codec, compressionLevel: high });
    assert.throws(() => resolveOptions({ compression: codec, compressionLevel: high + 1 }), new RegExp(`compressionLevel must be an integer from ${low} to ${high}`));
    assert.throws(() => resolveOptions({ compression: codec, compressionLevel: low - 1 }), /compressionLevel/);
  }
  assert.throws(() => resolveOptions({ compression: "auto", compressionLevel: 23 }), /from -131072 to 22/, "auto compresses with zstd in Python");
});

test("an unknown option is refused, naming it (a misspelt limit must not fall back to its default)", () => {
  assert.throws(() => resolveOptions({ maxFrameByte: 10 }), /unknown option maxFrameByte/);
  assert.throws(() => decode(encode(1), { records_as: "table" }), /unknown option records_as/);
  assert.throws(() => encode(1, { binary_threshold: 0 }), /unknown option binary_threshold/);
});

test("a value of the wrong type or range is refused, naming the option", () => {
  const bad = {
    enableBinaryOptimization: 1,
    typedArrayOptimization: "yes",
    binaryThreshold: -1,
    compression: "gzip",
    recordsAs: "list",
    optimizationPatterns: "arrays",
    maxFrameBytes: 0,
    maxSectionBytes: 1.5,
    maxDecompressedBytes: "1",
    maxColumns: -3,
    maxDepth: null,
    maxMessageBytes: 2 ** 60,
    maxPendingBytesPerSender: 0,
    maxPendingBytes: NaN,
    maxPartialMessagesPerSender: 0,
    maxPartialMessages: 0.5,
    maxChunks: 0,
    transferDeadline: 0,
    transferIdleTimeout: -1,
    compressionLevel: 1.5,
  };
  assert.deepEqual(Object.keys(bad).sort(), Object.keys(DEFAULTS).sort(), "one bad value per option");
  for (const [name, value] of Object.entries(bad)) {
    assert.throws(() => resolveOptions({ [name]: value }), (error) => error.message.startsWith(name), `${name}: ${String(value)}`);
  }
  assert.throws(() => resolveOptions({ optimizationPatterns: ["arrays", "tables"] }), /optimizationPatterns: unknown \["tables"\]/);
  assert.throws(() => resolveOptions([]), /options must be an object/);
});

test("resolved options are frozen, and passing them again costs no second check", () => {
  const resolved = resolveOptions({ binaryThreshold: 0, optimizationPatterns: new Set(["arrays"]) });
  assert.ok(Object.isFrozen(resolved));
  assert.deepEqual(resolved.optimizationPatterns, ["arrays"]);
  assert.equal(resolveOptions(resolved), resolved);
  assert.equal(resolveOptions(), resolveOptions(undefined));
});

test("zstd is refused when encoding, at the options, before anything is encoded", () => {
  for (const write of [() => encode(1, { compression: "zstd" }), () => encodeMessage({ type: "x" }, null, { compression: "zstd" })]) {
    assert.throws(write, (error) => error instanceof EncodeError && /zstd.*cannot be written from JavaScript/.test(error.message));
  }
  assert.equal(decode(encode(new Float64Array(200)), { compression: "zstd" }).data.length, 200, "a decoder ignores the encoding options");
  encode(1, { compression: "zstd", optimizationPatterns: ["arrays"] }); // compression switched off: nothing to refuse
});

const bigArray = () => new NDArray(new Float64Array(1000).fill(1.5), [1000]);

test("the decoding limits are enforced", () => {
  const frame = encode({ a: bigArray(), b: bigArray() });
  assert.throws(() => decode(frame, { maxFrameBytes: frame.length - 1 }), /max_frame_bytes/);
  assert.throws(() => decode(frame, { maxSectionBytes: 1000 }), /max_section_bytes/);
  assert.throws(() => decode(frame, { maxColumns: 1 }), /max_columns/);
  assert.equal(decode(frame, { maxFrameBytes: frame.length, maxColumns: 2 }).b.data[999], 1.5);
  let deep = [1];
  for (let i = 0; i < 20; i++) deep = [deep];
  assert.throws(() => decode(encode(deep), { maxDepth: 10 }), /max_depth/);
  const compressed = encode(new NDArray(new Int32Array(20_000), [20_000]), { compression: "lz4" });
  assert.ok(inspect(compressed).section.inflated_bytes > 80_000);
  assert.throws(() => decode(compressed, { maxDecompressedBytes: 80_000 }), (error) => error instanceof DecodeError && /max_decompressed_bytes=80000/.test(error.message));
  assert.equal(decode(compressed, { maxDecompressedBytes: 80_016 }).data.length, 20_000);
});

test("enableBinaryOptimization off sends exactly what stock hypha-rpc JS would pack", () => {
  const value = { args: [Array.from({ length: 500 }, (_, i) => i), "x"], with_kwargs: false };
  const frame = encodeMessage({ type: "method" }, value, { enableBinaryOptimization: false });
  const stock = new Encoder();
  assert.deepEqual(Buffer.from(frame), Buffer.concat([stock.encode({ type: "method" }), stock.encode(value)]));
  assert.equal(inspect(encode(bigArray(), { enableBinaryOptimization: false })).hybrid, false, "an NDArray goes in hypha-rpc's form");
  assert.throws(() => encode(tableFromArrays({ x: new Float64Array(3) }), { enableBinaryOptimization: false }), (error) => error instanceof EncodeError && /Table cannot be sent/.test(error.message));
});

test("each optimization pattern switches its families, as Python's do", () => {
  const value = {
    array: bigArray(),
    numbers: Array.from({ length: 300 }, (_, i) => i),
    strings: Array.from({ length: 300 }, (_, i) => `s${i}`),
    records: Array.from({ length: 100 }, (_, i) => ({ id: i, name: `n${i}` })),
  };
  const columns = (options) => (inspect(encode(value, options)).section?.columns ?? []).map((column) => column.path[1]);
  assert.deepEqual(columns({}), ["array", "numbers", "strings", "records"]);
  assert.deepEqual(columns({ optimizationPatterns: ["strings", "records"] }), ["strings", "records"]);
  assert.deepEqual(columns({ optimizationPatterns: ["arrays"] }), ["array", "numbers"]);
  assert.deepEqual(columns({ typedArrayOptimization: false }), ["array", "strings", "records"]);
  assert.deepEqual(columns({ binaryThreshold: 10_000 }), []);
  assert.equal(decode(encode(value, { optimizationPatterns: [] })).array.data[0], 1.5, "an array left in hypha-rpc's form decodes the same");
});
