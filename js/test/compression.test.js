/**
 * Compressed sections written by JavaScript: LZ4 frames Python reads back exactly, the
 * `"auto"` rule (compress only when a sample shows it pays), zstd refused (no encoder).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tableFromArrays } from "apache-arrow";
import { NDArray, decode, encode, encodeMessage, inspect } from "../src/index.js";

const PYTHON = process.env.HYPHA_ARROW_PYTHON ?? "python3";
const CORPUS = new URL("../../conformance/", import.meta.url);
const work = mkdtempSync(join(tmpdir(), "hypha-arrow-compression-"));

/** Run `script` with the frames written to files, their paths in the env as FRAME_<name>; its stdout as JSON. */
function python(script, frames) {
  const env = { ...process.env };
  for (const [name, frame] of Object.entries(frames)) {
    env[`FRAME_${name}`] = join(work, `${name}.bin`);
    writeFileSync(env[`FRAME_${name}`], frame);
  }
  return JSON.parse(execFileSync(PYTHON, ["-c", script], { env, encoding: "utf8" }));
}

const compressible = () => ({
  ints: new NDArray(Int32Array.from({ length: 20_000 }, (_, i) => i % 7), [100, 200]),
  halves: new NDArray(Float64Array.from({ length: 5_000 }, (_, i) => i * 0.5), [5_000]),
  words: Array.from({ length: 3_000 }, (_, i) => `word${i % 5}`),
  rows: Array.from({ length: 500 }, (_, i) => ({ id: i, tag: i % 3 ? "odd" : "even" })),
  table: tableFromArrays({ x: Int32Array.from({ length: 4_000 }, (_, i) => i % 10), y: Float64Array.from({ length: 4_000 }, () => 2) }),
});

test("an LZ4-compressed section from JavaScript decodes in Python to exactly the values, and to what the plain section gives", () => {
  const lz4 = encode(compressible(), { compression: "lz4" });
  const plain = encode(compressible());
  const report = inspect(lz4);
  assert.equal(report.section.compression, "lz4");
  assert.ok(lz4.length * 3 < plain.length, `compressed ${lz4.length} bytes, plain ${plain.length}`);
  const out = python(
    `import json, os, numpy as np, hypha_arrow
from hypha_arrow.testing import assert_same
read = lambda name: open(os.environ["FRAME_" + name], "rb").read()
v = hypha_arrow.decode(read("lz4"))
assert_same(v, hypha_arrow.decode(read("plain")))
assert hypha_arrow.inspect(read("lz4"))["section"]["compression"] == "lz4"
np.testing.assert_array_equal(v["ints"], (np.arange(20_000) % 7).astype(np.int32).reshape(100, 200))
np.testing.assert_array_equal(v["halves"], np.arange(5_000) * 0.5)
assert v["words"] == [f"word{i % 5}" for i in range(3_000)]
assert v["rows"] == [{"id": i, "tag": "odd" if i % 3 else "even"} for i in range(500)]
t = v["table"]
print(json.dumps([v["ints"].dtype.str, type(t).__name__, t.column("x").to_pylist() == [i % 10 for i in range(4_000)], t.column("y").to_pylist() == [2.0] * 4_000]))`,
    { lz4, plain },
  );
  assert.deepEqual(out, ["<i4", "Table", true, true]);
});

test("JavaScript reads its own LZ4 sections back", () => {
  const value = decode(encode(compressible(), { compression: "lz4" }));
  assert.deepEqual(Array.from(value.ints.data.subarray(0, 8)), [0, 1, 2, 3, 4, 5, 6, 0]);
  assert.equal(value.halves.data[4_999], 2_499.5);
  assert.equal(value.words[2_999], "word4");
  assert.deepEqual(value.rows[499], { id: 499, tag: "odd" });
  assert.equal(value.table.getChild("x").get(3_999), 9);
});

test("a DataFrame compressed by Python, decoded in JavaScript and sent back with LZ4, is the same DataFrame in Python", () => {
  const original = new Uint8Array(readFileSync(new URL("frames/dataframe_categorical.bin", CORPUS)));
  const again = encode(decode(original), { compression: "lz4" });
  assert.equal(inspect(again).section.compression, "lz4");
  const out = python(
    `import json, os, hypha_arrow
from hypha_arrow.testing import assert_same
read = lambda name: open(os.environ["FRAME_" + name], "rb").read()
assert_same(hypha_arrow.decode(read("again")), hypha_arrow.decode(read("original")))
print(json.dumps(type(hypha_arrow.decode(read("again"))).__name__))`,
    { original, again },
  );
  assert.equal(out, "DataFrame");
});

test('"auto" compresses a large section only when a sample shrinks to 70% or less, as Python decides', () => {
  const repetitive = new NDArray(new Float64Array(20_000).fill(3.25), [20_000]);
  let seed = 7;
  const noise = new NDArray(Float64Array.from({ length: 20_000 }, () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)), [20_000]);
  const small = new NDArray(new Float64Array(4_000).fill(3.25), [4_000]); // 32 KB: under the 64 KiB a compression must save
  const frames = Object.fromEntries(Object.entries({ repetitive, noise, small }).map(([name, value]) => [name, encode(value, { compression: "auto" })]));
  const codecs = Object.fromEntries(Object.entries(frames).map(([name, frame]) => [name, inspect(frame).section.compression]));
  assert.deepEqual(codecs, { repetitive: "lz4", noise: null, small: null });
  const python_codecs = python(
    `import json, os, numpy as np, hypha_arrow
out = {}
for name in ("repetitive", "noise", "small"):
    value = hypha_arrow.decode(open(os.environ["FRAME_" + name], "rb").read())
    again = hypha_arrow.encode(value, config=hypha_arrow.Config(compression_algorithm="auto"))
    out[name] = [hypha_arrow.inspect(again)["section"]["compression"], float(value.sum())]
print(json.dumps(out))`,
    frames,
  );
  assert.deepEqual(python_codecs.repetitive, ["zstd", 3.25 * 20_000], "Python's auto compresses the same values (with zstd)");
  assert.equal(python_codecs.noise[0], null);
  assert.equal(python_codecs.small[0], null);
  assert.equal(python_codecs.noise[1], noise.data.reduce((a, b) => a + b, 0));
});

test("a message's extra is compressed like a standalone value", () => {
  const frame = encodeMessage({ type: "method", to: "ws/b" }, { args: [new Int32Array(50_000)] }, { compression: "lz4" });
  const report = inspect(frame);
  assert.equal(report.section.compression, "lz4");
  assert.ok(report.section.columns[0].wire_bytes < 2_000);
});
