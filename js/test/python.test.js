/**
 * Frames JavaScript writes, read by the Python package (and back): the spec is one contract.
 * Each case runs `python` (HYPHA_ARROW_PYTHON, else python3) with hypha_arrow importable.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EncodeError, NDArray, decode, decodeMessage, encode, encodeMessage } from "../src/index.js";

const PYTHON = process.env.HYPHA_ARROW_PYTHON ?? "python3";
const CORPUS = new URL("../../conformance/", import.meta.url);
const work = mkdtempSync(join(tmpdir(), "hypha-arrow-js-"));

/** Run `script` in Python with `frame` at the path in FRAME; its stdout, parsed as JSON. */
function python(script, frame) {
  const path = join(work, "frame.bin");
  writeFileSync(path, frame);
  const out = execFileSync(PYTHON, ["-c", script], { env: { ...process.env, FRAME: path }, encoding: "utf8" });
  return JSON.parse(out);
}

const READ = `
import json, os, numpy as np, hypha_arrow
value = hypha_arrow.decode(open(os.environ["FRAME"], "rb").read())
def describe(v):
    if isinstance(v, np.ndarray):
        return {"dtype": v.dtype.str, "shape": list(v.shape), "fortran": bool(np.isfortran(v)) and v.ndim > 1, "sum": float(np.asarray(v, dtype=float).sum()) if v.dtype.kind in "biuf" else None}
    if isinstance(v, dict):
        return {k: describe(x) for k, x in v.items()}
    if isinstance(v, list):
        return [describe(x) for x in v]
    return v
print(json.dumps(describe(value)))
`;

test("NDArrays, bare TypedArrays and small Fortran arrays arrive in Python with their dtype, shape and order", () => {
  const big = new NDArray(new Float64Array(Array.from({ length: 600 }, (_, i) => i)), [20, 30]);
  const ints = new NDArray(new BigInt64Array(Array.from({ length: 200 }, (_, i) => BigInt(i))), [200], "<i8");
  const small = new NDArray(new Int32Array([1, 2, 3, 4, 5, 6]), [2, 3], "<i4", "F");
  const frame = encode({ big, ints, small, typed: new Float32Array(500).fill(2), text: "hi", n: 3 });
  assert.deepEqual(python(READ, frame), {
    big: { dtype: "<f8", shape: [20, 30], fortran: false, sum: 179700 },
    ints: { dtype: "<i8", shape: [200], fortran: false, sum: 19900 },
    small: { dtype: "<i4", shape: [2, 3], fortran: true, sum: 21 },
    typed: { dtype: "<f4", shape: [500], fortran: false, sum: 1000 },
    text: "hi",
    n: 3,
  });
});

test("a DataFrame decoded in JavaScript and sent back arrives as an equal DataFrame", () => {
  for (const name of ["dataframe_numeric", "dataframe_multiindex", "dataframe_labels", "dataframe_categorical", "dataframe_blocks"]) {
    const original = new Uint8Array(readFileSync(new URL(`frames/${name}.bin`, CORPUS)));
    const again = encode(decode(original));
    const same = python(
      `import json, os, hypha_arrow
from hypha_arrow.testing import assert_same
first = hypha_arrow.decode(open(${JSON.stringify(join(work, "original.bin"))}, "rb").read())
assert_same(hypha_arrow.decode(open(os.environ["FRAME"], "rb").read()), first)
print(json.dumps(type(first).__name__))`,
      (writeFileSync(join(work, "original.bin"), original), again),
    );
    assert.equal(same, "DataFrame", name);
  }
});

test("a message's header stays plain msgpack and its arrays go to the section", () => {
  const header = { type: "method", from: "ws/a", to: "ws/b", method: "echo" };
  const frame = encodeMessage(header, { args: [new NDArray(new Float64Array(1000), [1000])], with_kwargs: false });
  const out = python(
    `import json, os, hypha_arrow
h, e = hypha_arrow.decode_message(open(os.environ["FRAME"], "rb").read())
print(json.dumps([h, e["args"][0].shape, hypha_arrow.inspect(open(os.environ["FRAME"], "rb").read())["hybrid"]]))`,
    frame,
  );
  assert.deepEqual(out, [header, [1000], true]);
});

test("long homogeneous lists and record lists go columnar and arrive with their types; mixed ones stay msgpack", () => {
  const records = Array.from({ length: 200 }, (_, i) => (i % 3 ? { id: i, name: `n${i}`, score: i + 0.25 } : { name: "x", id: i }));
  const frame = encode({
    ints: Array.from({ length: 300 }, (_, i) => i),
    floats: Array.from({ length: 300 }, (_, i) => i + 0.5),
    strs: Array.from({ length: 300 }, (_, i) => `s${i}`),
    mixed: Array.from({ length: 300 }, (_, i) => (i % 2 ? i : i + 0.5)),
    records,
  });
  const out = python(
    `import json, os, hypha_arrow
frame = open(os.environ["FRAME"], "rb").read()
v = hypha_arrow.decode(frame)
kinds = [c["kind"] for c in hypha_arrow.inspect(frame)["section"]["columns"]]
print(json.dumps({"kinds": kinds, "types": {k: sorted({type(x).__name__ for x in v[k]}) for k in ("ints", "floats", "strs", "mixed")}, "records": v["records"]}))`,
    frame,
  );
  assert.deepEqual(out.kinds, ["list", "list", "list", "records"]);
  assert.deepEqual(out.types, { ints: ["int"], floats: ["float"], strs: ["str"], mixed: ["float", "int"] });
  assert.deepEqual(out.records, records, "each record with its own keys, in its own order");
});

test("a Map's keys arrive in Python as themselves (int, float, bool, None, bytes, str), columns under them included", () => {
  const map = new Map([[1, "int"], [2.5, "float"], [false, "bool"], [null, "none"], [new Uint8Array([0, 255]), "bytes"], ["s", "str"], [2n ** 62n, "big int"], [7, new Float64Array(300).fill(4)]]);
  const out = python(
    `import json, os, hypha_arrow
v = hypha_arrow.decode(open(os.environ["FRAME"], "rb").read())
print(json.dumps([[repr(k), type(k).__name__, x if isinstance(x, str) else [x.dtype.str, float(x.sum())]] for k, x in v["m"].items()]))`,
    encode({ m: map }),
  );
  assert.deepEqual(out, [
    ["1", "int", "int"], ["2.5", "float", "float"], ["False", "bool", "bool"], ["None", "NoneType", "none"], ["b'\\x00\\xff'", "bytes", "bytes"],
    ["'s'", "str", "str"], [String(2n ** 62n), "int", "big int"], ["7", "int", ["<f8", 1200]],
  ]);
});

test("a dict with non-string keys from Python is a Map in JavaScript and goes back to Python equal", () => {
  const original = execFileSync(PYTHON, ["-c", `import sys, numpy as np, hypha_arrow
sys.stdout.buffer.write(hypha_arrow.encode({"m": {1: "a", b"k": [1, 2], 2.5: None, False: {3: "x"}, None: np.arange(500.0)}, "plain": {"1": 1, "b": 2}}))`]);
  const value = decode(new Uint8Array(original));
  assert.ok(value.m instanceof Map);
  assert.deepEqual([...value.m.keys()].slice(0, 4).map((k) => (k instanceof Uint8Array ? [...k] : k)), [1, [107], 2.5, false]);
  assert.ok(value.m.get(false) instanceof Map, "nested int-keyed map");
  assert.equal(value.m.get(null).data[499], 499);
  assert.deepEqual(value.plain, { 1: 1, b: 2 }, "a map of string keys stays a plain object");
  writeFileSync(join(work, "original.bin"), original);
  const same = python(
    `import json, os, hypha_arrow
from hypha_arrow.testing import assert_same
first = hypha_arrow.decode(open(${JSON.stringify(join(work, "original.bin"))}, "rb").read())
again = hypha_arrow.decode(open(os.environ["FRAME"], "rb").read())
assert_same(again, first)
print(json.dumps([type(k).__name__ for k in again["m"]]))`,
    encode(value),
  );
  assert.deepEqual(same, ["int", "bytes", "float", "bool", "NoneType"]);
});

test("a Map key Python could not read back as itself is refused with its path", () => {
  for (const key of [{}, [1], 2n ** 64n, NaN, undefined, 2 ** 60]) {
    assert.throws(() => encode({ outer: new Map([[key, 1]]) }), (error) => error instanceof EncodeError && error.path === "value['outer']", String(key));
  }
  for (const keys of [[1, true], [0, false], [5, 5n], [new Uint8Array([1]), new Uint8Array([1])]]) {
    assert.throws(() => encode({ outer: new Map(keys.map((k) => [k, 1])) }), /equal in Python/, `${String(keys[0])} and ${String(keys[1])} are one key in Python`);
  }
  assert.throws(() => encodeMessage({ type: "x", bad: new Map([[[1], 2]]) }, null), EncodeError);
});

test("every standalone corpus value, decoded in JavaScript and encoded again, is the same value in Python", () => {
  // plain_nested holds msgpack floats 0.0 and 1e300 next to ints: a JavaScript number cannot say
  // 0.0 from 0, so such floats come back as ints, as stock hypha-rpc JS sends them
  const INTEGRAL_FLOATS = new Set(["plain_nested"]);
  const camel = (name) => ({ compression_algorithm: "compression" })[name] ?? name.replace(/_([a-z])/g, (_, c) => c.toUpperCase());
  const cases = JSON.parse(readFileSync(new URL("cases.json", CORPUS), "utf8")).filter((c) => c.error === undefined && c.kind === "standalone");
  const pairs = cases.filter((c) => !INTEGRAL_FLOATS.has(c.name)).map((spec) => {
    const original = new URL(spec.file, CORPUS).pathname;
    const table = spec.config?.records_as === "arrow";
    // the encoder's settings of the case, zstd as lz4 (JavaScript writes no zstd)
    const options = Object.fromEntries(Object.entries(spec.encoded_with ?? {}).map(([name, value]) => [camel(name), value === "zstd" ? "lz4" : value]));
    const again = join(work, `${spec.name}.again.bin`);
    writeFileSync(again, encode(decode(new Uint8Array(readFileSync(original)), table ? { recordsAs: "table" } : {}), options));
    return [spec.name, original, again, table];
  });
  assert.ok(pairs.length >= 60, `${pairs.length} cases`);
  const differ = python(
    `import json, hypha_arrow
from hypha_arrow.testing import assert_same
differ = []
for name, original, again, table in ${JSON.stringify(pairs).replace(/true/g, "True").replace(/false/g, "False")}:
    config = hypha_arrow.Config(records_as="arrow") if table else None
    try:
        assert_same(hypha_arrow.decode(open(original, "rb").read(), config=config), hypha_arrow.decode(open(again, "rb").read(), config=config))
    except Exception as error:
        differ.append([name, str(error)[:300]])
print(json.dumps(differ))`,
    new Uint8Array(0),
  );
  assert.deepEqual(differ, []);
});

test("every corpus message, decoded in JavaScript and encoded again, is the same header and extra in Python", () => {
  const cases = JSON.parse(readFileSync(new URL("cases.json", CORPUS), "utf8")).filter((c) => c.error === undefined && c.kind === "message");
  const pairs = cases.map((spec) => {
    const original = new URL(spec.file, CORPUS).pathname;
    const again = join(work, `${spec.name}.again.bin`);
    const [header, extra] = decodeMessage(new Uint8Array(readFileSync(original)));
    writeFileSync(again, encodeMessage(header, extra));
    return [original, again];
  });
  const differ = python(
    `import json, hypha_arrow
from hypha_arrow.testing import assert_same
differ = []
for original, again in ${JSON.stringify(pairs)}:
    try:
        assert_same(list(hypha_arrow.decode_message(open(original, "rb").read())), list(hypha_arrow.decode_message(open(again, "rb").read())))
    except Exception as error:
        differ.append([original, str(error)[:300]])
print(json.dumps([len(${JSON.stringify(pairs)}), differ]))`,
    new Uint8Array(0),
  );
  assert.deepEqual(differ, [cases.length, []]);
});
