/**
 * What JavaScript sends arrives in Python exactly (compared with `hypha_arrow.testing.assert_same`
 * against values Python builds itself), or is refused with an EncodeError naming its path:
 * fixed-width string arrays, object arrays, big-endian dtypes, records whose values mix types,
 * small bare TypedArrays.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Decimal, EncodeError, NA, NDArray, Tuple, decode, encode, inspect } from "../src/index.js";

const PYTHON = process.env.HYPHA_ARROW_PYTHON ?? "python3";
const work = mkdtempSync(join(tmpdir(), "hypha-arrow-encoding-"));

/** Python decodes `frame` and checks `assert_same(expected, value)` for the expression `expected`; the column kinds. */
function sameInPython(frame, expected) {
  const path = join(work, "frame.bin");
  writeFileSync(path, frame);
  const script = `import json, decimal, numpy as np, pandas as pd, pyarrow as pa, hypha_arrow
from hypha_arrow.testing import assert_same
value = hypha_arrow.decode(open(${JSON.stringify(path)}, "rb").read())
assert_same(${expected}, value)
print(json.dumps("ok"))`;
  assert.equal(JSON.parse(execFileSync(PYTHON, ["-c", script], { encoding: "utf8" })), "ok");
}

const kinds = (frame) => (inspect(frame).section?.columns ?? []).map((column) => [column.path.slice(1).join("."), column.type]);

test("U and S arrays arrive as numpy's, as columns above the threshold and in hypha-rpc's form below, in either byte order and memory order", () => {
  const words = ["héllo", "日本", "🎉", "", "a b", "z"];
  const value = {
    u: new NDArray(Array.from({ length: 300 }, (_, i) => words[i % 6]), [300], "<U5"),
    big_u: new NDArray(words, [2, 3], ">U5", "F"),
    s: new NDArray(Array.from({ length: 400 }, (_, i) => new Uint8Array(i % 2 ? [1 + (i % 255), 0, 7] : [1 + (i % 255)])), [400], "|S3"),
    small_u: new NDArray(["ab", "c"], [2], "<U2"),
  };
  const frame = encode(value);
  assert.deepEqual(kinds(frame), [["u", "fixed_size_binary[20]"], ["s", "fixed_size_binary[3]"]]);
  sameInPython(frame, `{
    "u": np.array([${JSON.stringify(words)}[i % 6] for i in range(300)], dtype="<U5"),
    "big_u": np.asfortranarray(np.array(${JSON.stringify(words)}, dtype=">U5").reshape(2, 3, order="F")),
    "s": np.array([bytes([1 + i % 255, 0, 7] if i % 2 else [1 + i % 255]) for i in range(400)], dtype="|S3"),
    "small_u": np.array(["ab", "c"], dtype="<U2"),
  }`);
  const back = decode(frame);
  assert.deepEqual(back.u.data.slice(0, 6), words);
  assert.deepEqual([...back.s.data[0]], [1], "the wire's NUL padding is stripped, as numpy does");
  assert.deepEqual([...back.s.data[1]], [2, 0, 7]);
});

test("object arrays arrive element for element: strings, bytes, both, and any mix of cells", () => {
  const value = {
    strings: new NDArray(["a", null, "é"], [3], "|O"),
    bytes: new NDArray([new Uint8Array([1]), null], [2], "|O"),
    both: new NDArray(["a", new Uint8Array([2]), null, "b"], [2, 2], "|O", "F"),
    cells: new NDArray([1, 2n ** 70n, new Decimal("1.10"), Tuple.from([1, "a", Tuple.from([null])]), NA, 2.5, null, { k: [1] }, new Map([[1, "int key"]]), new NDArray(new Int16Array([1, 2]), [2]), new NDArray(new Float32Array([2.5]), [])], [11], "|O"), // a 0-d NDArray made in JS is a 0-d array (one decoded from a numpy scalar goes back as a scalar)
  };
  const frame = encode(value);
  assert.deepEqual(kinds(frame).map(([, type]) => type), ["large_string", "large_binary", "dense_union<0: large_string=0, 1: large_binary=1>", "large_binary"]);
  sameInPython(frame, `{
    "strings": np.array(["a", None, "é"], dtype=object),
    "bytes": np.array([b"\\x01", None], dtype=object),
    "both": np.asfortranarray(np.array(["a", b"\\x02", None, "b"], dtype=object).reshape(2, 2, order="F")),
    "cells": np.array([1, 2**70, decimal.Decimal("1.10"), (1, "a", (None,)), pd.NA, 2.5, None, {"k": [1]}, {1: "int key"}, np.array([1, 2], dtype=np.int16), np.array(2.5, dtype=np.float32)] + [None], dtype=object)[:-1],
  }`);
  assert.deepEqual(decode(frame).cells.data.slice(0, 3), [1, 2n ** 70n, new Decimal("1.10")]);
});

test("big-endian dtypes keep their byte order in Python, with the values the TypedArray holds", () => {
  const value = {
    i4: new NDArray(Int32Array.from({ length: 300 }, (_, i) => i - 150), [300], ">i4"),
    f8: new NDArray(Float64Array.from({ length: 200 }, (_, i) => i / 4), [10, 20], ">f8", "F"),
    c16: new NDArray(new Float64Array([1, -1, 2.5, 0]), [2], ">c16"),
    ns: new NDArray(BigInt64Array.from([0n, -(2n ** 63n), 10n ** 18n]), [3], ">M8[ns]"),
  };
  const frame = encode(value);
  assert.deepEqual(kinds(frame), [["i4", "int32"], ["f8", "double"]]);
  sameInPython(frame, `{
    "i4": (np.arange(300) - 150).astype(">i4"),
    "f8": np.asfortranarray((np.arange(200) / 4).reshape(10, 20, order="F").astype(">f8")),
    "c16": np.array([1 - 1j, 2.5 + 0j], dtype=">c16"),
    "ns": np.array([0, np.iinfo(np.int64).min, 10**18], dtype=">M8[ns]"),
  }`);
  const back = decode(frame);
  assert.equal(back.i4.dtype, ">i4");
  assert.equal(back.i4.data[0], -150);
});

test("records whose values mix types go as cells, and arrive as the same dicts", () => {
  const pick = (i) => [i, `s${i}`, 1.5, null, { k: i }, [1, "x"], 2n ** 70n][i % 7];
  const rows = Array.from({ length: 120 }, (_, i) => (i % 10 === 9 ? { id: i } : { id: i, v: pick(i), name: `n${i}` }));
  const frame = encode({ rows });
  assert.deepEqual(kinds(frame), [["rows", "struct<id: int64, v: large_binary, name: large_string, : uint16 not null>"]]);
  sameInPython(frame, `{"rows": [{"id": i} if i % 10 == 9 else {"id": i, "v": [i, f"s{i}", 1.5, None, {"k": i}, [1, "x"], 2**70][i % 7], "name": f"n{i}"} for i in range(120)]}`);
  assert.deepEqual(decode(frame).rows.slice(0, 3), rows.slice(0, 3));
  const tuples = encode({ rows: Array.from({ length: 200 }, (_, i) => ({ t: i % 2 ? Tuple.from([i]) : i })) });
  sameInPython(tuples, `{"rows": [{"t": [i] if i % 2 else i} for i in range(200)]}`); // a tuple in a record is a list, as msgpack sends it
});

test("a small bare TypedArray arrives as a numpy array, as a large one does", () => {
  const frame = encode({ small: new Float32Array([1, 2]), large: new Int16Array(1000) });
  sameInPython(frame, `{"small": np.array([1, 2], dtype=np.float32), "large": np.zeros(1000, dtype=np.int16)}`);
});

test("values that would not arrive as themselves are refused, naming where they are", () => {
  const refusals = [
    [{ a: [new NDArray(["toolong"], [1], "<U3")] }, "value['a'][0]", /more than the 3 characters/],
    [{ a: new NDArray([new Uint8Array([1, 0])], [1], "|S4") }, "value['a']", /NUL byte/],
    [{ a: new NDArray(["x\0"], [1], "<U4") }, "value['a']", /NUL character/],
    [{ a: new NDArray(new Int32Array(4), [4], "<f8") }, "value['a']", /needs a Float64Array/],
    [{ a: new NDArray(new Float64Array(3), [4]) }, "value['a']", /needs a Float64Array of 4 elements/],
    [{ a: new NDArray([1, new Date(0)], [2], "|O") }, "value['a'][1]", /Date is not a cell/],
    [{ a: new NDArray(new Uint8Array(8), [1], "|X8") }, "value['a']", /not a dtype numpy sends/],
    [{ a: 2n ** 70n }, null, /does not fit msgpack's 64 bits/],
  ];
  for (const [value, path, reason] of refusals) {
    assert.throws(() => encode(value), (error) => error instanceof EncodeError && reason.test(error.message) && (path === null || error.path === path), `${path}: ${reason}`);
  }
});

test("a Table of several record batches (sliced ones and their own dictionaries included) arrives as one equal pyarrow Table", async () => {
  const { tableFromArrays, vectorFromArray, LargeUtf8, Bool, List, Field, Int32 } = await import("apache-arrow");
  const part = (start, n) => tableFromArrays({
    x: Int32Array.from({ length: n }, (_, i) => start + i),
    word: Array.from({ length: n }, (_, i) => ((start + i) % 4 === 3 ? null : `w${(start + i) % 5}`)), // a dictionary per batch
    text: vectorFromArray(Array.from({ length: n }, (_, i) => ((start + i) % 3 ? `t${start + i}` : null)), new LargeUtf8()),
    flag: vectorFromArray(Array.from({ length: n }, (_, i) => ((start + i) % 7 === 0 ? null : (start + i) % 2 === 0)), new Bool()),
    list: vectorFromArray(Array.from({ length: n }, (_, i) => Array.from({ length: (start + i) % 3 }, (_, k) => k)), new List(new Field("item", new Int32(), true))),
  });
  const table = part(0, 10).concat(part(10, 13).slice(3, 11), part(30, 5));
  assert.equal(table.batches.length, 3);
  const rows = [...Array.from({ length: 10 }, (_, i) => i), ...Array.from({ length: 8 }, (_, i) => 13 + i), ...Array.from({ length: 5 }, (_, i) => 30 + i)];
  const frame = encode({ table });
  sameInPython(frame, `{"table": pa.table({
    "x": pa.array(${JSON.stringify(rows)}, pa.int32()),
    "word": pa.array([None if r % 4 == 3 else f"w{r % 5}" for r in ${JSON.stringify(rows)}]).dictionary_encode(),
    "text": pa.array([f"t{r}" if r % 3 else None for r in ${JSON.stringify(rows)}], pa.large_string()),
    "flag": pa.array([None if r % 7 == 0 else r % 2 == 0 for r in ${JSON.stringify(rows)}]),
    "list": pa.array([list(range(r % 3)) for r in ${JSON.stringify(rows)}], pa.list_(pa.int32())),
  }, schema=pa.schema([pa.field("x", pa.int32(), nullable=False), ("word", pa.dictionary(pa.int32(), pa.string())), ("text", pa.large_string()), ("flag", pa.bool_()), ("list", pa.list_(pa.int32()))]))}`);
});

test("a Vector of several chunks arrives as a ChunkedArray, and a ChunkedArray from Python goes back as itself", async () => {
  const { vectorFromArray } = await import("apache-arrow");
  const vector = vectorFromArray([1.5, 2.5]).concat(vectorFromArray([3.5]));
  sameInPython(encode({ v: vector }), `{"v": pa.chunked_array([[1.5, 2.5], [3.5]])}`);
  const path = new URL("../../conformance/frames/arrow_chunked_array.bin", import.meta.url).pathname;
  const again = encode(decode(new Uint8Array(readFileSync(path))));
  sameInPython(again, `hypha_arrow.decode(open(${JSON.stringify(path)}, "rb").read())`);
});

test("integers of any safe size arrive as Python ints (msgpack's encoder wrote those from 2^32 as floats)", () => {
  const value = { values: [2 ** 32, -(2 ** 31) - 1, 2 ** 40, -(2 ** 40), Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 31 - 1, 0.5], header: 2 ** 33 };
  sameInPython(encode(value), `{"values": [2**32, -(2**31) - 1, 2**40, -(2**40), 2**53 - 1, -(2**53 - 1), 2**31 - 1, 0.5], "header": 2**33}`);
});

test("long doubles, void and structured arrays decoded from Python go back as themselves", () => {
  const path = (name) => new URL(`../../conformance/frames/${name}.bin`, import.meta.url).pathname;
  for (const name of ["ndarray_structured", "ndarray_stock_only_dtypes", "numpy_scalars"]) {
    sameInPython(encode(decode(new Uint8Array(readFileSync(path(name))))), `hypha_arrow.decode(open(${JSON.stringify(path(name))}, "rb").read())`);
  }
  assert.throws(() => encode({ a: new NDArray(new Uint8Array(7), [1], "|V8") }), /needs its raw bytes, a Uint8Array of 8/);
});

/** A Table of one nullable null-type column "n" (Python cannot build the non-nullable one apache-arrow's `makeTable` makes). */
async function nullTable(length) {
  const { Field, Null, RecordBatch, Schema, Struct, Table, makeData } = await import("apache-arrow");
  const field = new Field("n", new Null(), true);
  return new Table([new RecordBatch(new Schema([field]), makeData({ type: new Struct([field]), length, nullCount: 0, children: [makeData({ type: new Null(), length })] }))]);
}

/** The frame Python's encoder writes for the expression `value`. */
function fromPython(value) {
  return new Uint8Array(execFileSync(PYTHON, ["-c", `import sys, numpy as np, pandas as pd, pyarrow as pa, hypha_arrow\nsys.stdout.buffer.write(hypha_arrow.encode(${value}))`]));
}

test("tables with null-type columns, with no rows or with no columns, decoded from Python or made in JS, arrive equal", async () => {
  for (const value of [
    `pd.DataFrame({"a": [None, None], "b": [1, 2]})`, // pyarrow makes "a" a null-type column
    `pa.table({"n": pa.nulls(3), "x": [1, 2, 3]})`,
    `pd.DataFrame({"a": np.zeros(0), "b": np.zeros(0, dtype="i8")})`,
    `pd.DataFrame(index=range(3))`,
    `pa.table({"a": pa.array([], pa.int64())})`,
    `pa.table({})`,
  ]) {
    sameInPython(encode({ v: decode(fromPython(value)) }), `{"v": ${value}}`);
  }
  const { Table, tableFromArrays } = await import("apache-arrow");
  sameInPython(encode({ empty: tableFromArrays({ a: new Float64Array(0) }), none: new Table(), nulls: await nullTable(4) }), `{
    "empty": pa.table({"a": pa.array([], pa.float64())}),
    "none": pa.table({}),
    "nulls": pa.table({"n": pa.nulls(4)}),
  }`);
});

test("an own __proto__ key (JSON.parse makes them) arrives as a key, beside columns too", () => {
  const value = JSON.parse(`{"__proto__": {"x": 1}, "a": 1, "rows": [${Array.from({ length: 300 }, (_, i) => `{"__proto__": ${i}}`).join(",")}]}`);
  value.column = new Float64Array(300);
  sameInPython(encode(value), `{"__proto__": {"x": 1}, "a": 1, "rows": [{"__proto__": i} for i in range(300)], "column": np.zeros(300)}`);
});

test("more elements without bytes than a decoder accepts are refused at the sender, naming the column that passes the allowance", async () => {
  const { Struct, makeData, makeTable } = await import("apache-arrow");
  const frame = encode({ t: await nullTable(2 ** 20) }); // max(2^20, 8 x a section of a few hundred bytes)
  sameInPython(frame, `{"t": pa.table({"n": pa.nulls(2**20)})}`);
  const over = await nullTable(2 ** 20 + 1);
  assert.throws(() => encode({ t: over }), (error) => error instanceof EncodeError && error.path === "value['t']" && /1048577 null values/.test(error.reason));
  const rows = makeTable({ s: makeData({ type: new Struct([]), length: 2 ** 19 }) });
  const half = await nullTable(2 ** 19);
  assert.throws(() => encode({ a: half, b: [rows, rows] }), (error) => error instanceof EncodeError && error.path === "value['b'][1]", "the sum over columns, field-less structs counted");
});
