/**
 * `inspect` gives Python's `hypha_arrow.inspect` report, key for key, for every valid corpus
 * frame and for frames JavaScript writes; it refuses what decoding refuses.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tableFromArrays } from "apache-arrow";
import { DecodeError, NDArray, encode, encodeMessage, inspect } from "../src/index.js";

const PYTHON = process.env.HYPHA_ARROW_PYTHON ?? "python3";
const CORPUS = new URL("../../conformance/", import.meta.url);
const SCRIPT = new URL("support/inspect_frames.py", import.meta.url).pathname;
const cases = JSON.parse(readFileSync(new URL("cases.json", CORPUS), "utf8"));

/** Python's reports of the frame files, in the tagged JSON of support/inspect_frames.py. */
function pythonReports(paths) {
  return JSON.parse(execFileSync(PYTHON, [SCRIPT, ...paths], { encoding: "utf8", maxBuffer: 1 << 26 }));
}

/** A JavaScript report in the same tagged form (a fresh copy of the frame is 8-byte aligned, as Python's bytes are). */
function tagged(value) {
  if (typeof value === "bigint") return Number.isSafeInteger(Number(value)) && BigInt(Number(value)) === value ? Number(value) : { $int: String(value) };
  if (typeof value === "number" && !Number.isFinite(value)) return { $float: Number.isNaN(value) ? "nan" : value > 0 ? "inf" : "-inf" };
  if (Array.isArray(value)) return value.map(tagged);
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, tagged(v)]));
  return value;
}

function same(paths) {
  const reports = pythonReports(paths);
  for (const path of paths) {
    const expected = reports[path];
    assert.ok(!("error" in expected), `${path}: Python refused it: ${expected.error}`);
    const actual = tagged(inspect(new Uint8Array(readFileSync(path))));
    assert.deepStrictEqual(actual, expected, path);
  }
}

test("every valid corpus frame gets Python's report", () => {
  same(cases.filter((c) => c.error === undefined).map((c) => new URL(c.file, CORPUS).pathname));
});

test("every malformed corpus frame that Python's inspect refuses, inspect refuses with DecodeError", () => {
  const paths = cases.filter((c) => c.error !== undefined).map((c) => new URL(c.file, CORPUS).pathname);
  const reports = pythonReports(paths);
  let refused = 0;
  for (const path of paths) {
    if (!("error" in reports[path])) continue; // inspect reads what it can: a lying descriptor length, for one
    refused++;
    assert.throws(() => inspect(new Uint8Array(readFileSync(path))), DecodeError, path);
  }
  assert.ok(refused >= 5, `only ${refused} malformed frames are refused by Python's inspect`);
});

test("frames JavaScript writes get the report Python gives them", () => {
  const work = mkdtempSync(join(tmpdir(), "hypha-arrow-inspect-"));
  const frames = {
    ndarray: encode(new NDArray(new Float64Array(300).map((_, i) => i), [10, 30])),
    message: encodeMessage({ type: "method", to: "ws/b", from: "ws/a" }, { args: [new Int32Array(400), "x"], with_kwargs: false }),
    lists_and_records: encode({ n: Array.from({ length: 200 }, (_, i) => i), s: Array.from({ length: 200 }, (_, i) => `s${i}`), r: Array.from({ length: 100 }, (_, i) => ({ a: i, b: i % 2 ? "x" : null })) }),
    table: encode(tableFromArrays({ x: Float64Array.from({ length: 200 }, (_, i) => i / 3), y: Int32Array.from({ length: 200 }, (_, i) => i) })),
    map_keys: encode(new Map([[1, new Float64Array(200)], [new Uint8Array([0, 39, 10]), "bin key"], [2.5, true], [null, [1, 2]], [false, "f"]])),
    plain: encodeMessage({ type: "method" }, { args: [1, 2.5, "three", new Uint8Array(5)] }),
    lz4: encode(new NDArray(new Int32Array(10_000).fill(7), [10_000]), { compression: "lz4" }),
  };
  const paths = Object.entries(frames).map(([name, frame]) => {
    const path = join(work, `${name}.bin`);
    writeFileSync(path, frame);
    return path;
  });
  same(paths);
});

test("a report shows the section's columns, bin values by size, and non-string keys as Python prints them", () => {
  const frame = encodeMessage({ type: "method" }, { args: [new Map([[7, new Float64Array(200)], [new Uint8Array([104, 105]), new Uint8Array(3)]])] });
  const report = inspect(frame);
  assert.equal(report.hybrid, true);
  assert.deepEqual(Object.keys(report.skeleton.args[0]), ["7", "b'hi'"]);
  assert.equal(report.skeleton.args[0]["b'hi'"], "<3 bytes>");
  const [column] = report.section.columns;
  assert.deepEqual([column.path, column.kind, column.type, column.bytes, column.wire_bytes], [["args", 0, 7], "ndarray", "double", 8 + 1600, 16 + 1600]);
});

test("input that is not a frame is refused with DecodeError", () => {
  for (const bad of ["text", null, new Uint8Array([0x92, 0xc1]), new Uint8Array([0xdc, 0xff, 0xff])]) {
    assert.throws(() => inspect(bad), DecodeError);
  }
});
