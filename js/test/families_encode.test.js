/**
 * families/encode.js: strings written into Arrow columns must have a UTF-8 form; apache-arrow
 * would write U+FFFD for a lone surrogate, and Python's encoder refuses such strings.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Field, Int32, RecordBatch, Schema, Struct, Table, tableFromArrays, vectorFromArray } from "apache-arrow";
import { EncodeError, NDArray, encode } from "../src/index.js";
import { inPython } from "./support/python_frames.js";

const strings = (n) => Array.from({ length: n }, (_, i) => `s${i}`);

function refused(value, path, message) {
  assert.throws(() => encode(value), (error) => {
    assert.ok(error instanceof EncodeError, String(error));
    assert.equal(error.path, path);
    assert.match(error.reason, message);
    return true;
  });
}

test("a long string list with a lone surrogate is refused at its element", () => {
  const list = strings(300);
  list[7] = "x\udc00";
  refused({ names: list }, "value['names'][7]", /^a string with a lone surrogate \(U\+DC00 at character 1\)/);
});

test("an object NDArray with a lone surrogate is refused at its element, in C and Fortran order", () => {
  const elements = ["a", "b", "c", "\ud800", "e", "f"];
  refused(new NDArray(elements, [2, 3], "|O"), "value[1][0]", /U\+D800/);
  refused(new NDArray(elements, [2, 3], "|O", "F"), "value[1][1]", /U\+D800/);
  refused(new NDArray(["ok", new Uint8Array([1]), "\udbff"], [3], "|O"), "value[2]", /U\+DBFF/);
});

test("records with a lone surrogate in a key or a string value are refused (two such keys had become one)", () => {
  refused(Array.from({ length: 300 }, (_, i) => (i < 4 ? { a: i } : { a: i, "\ud800": i, "\ud801": i })), "value[4]", /^a key with a lone surrogate \(U\+D800/);
  refused(Array.from({ length: 300 }, (_, i) => ({ id: i, name: i === 9 ? "\udfff" : `n${i}` })), "value[9]['name']", /U\+DFFF/);
});

test("strings beyond the BMP in columns arrive in Python exactly", () => {
  const list = strings(300).map((s) => `${s}\u{1f600}`);
  const rows = Array.from({ length: 300 }, (_, i) => ({ "k\u{10000}": `v${i}\u{10ffff}` }));
  const objects = new NDArray(["\u{1f600}", "b"], [2], "|O");
  const out = inPython(encode({ list, rows, objects }), `
same = w["list"] == [f"s{i}\\U0001F600" for i in range(300)]
same = same and w["rows"] == [{"k\\U00010000": f"v{i}\\U0010FFFF"} for i in range(300)]
print(json.dumps([same, w["objects"].tolist()]))`);
  assert.deepEqual(out, [true, ["\u{1f600}", "b"]]);
});

test("an apache-arrow Table whose field names or metadata hold a lone surrogate is refused", () => {
  const names = tableFromArrays({ "a\ud800": Float64Array.from([1, 2]) });
  refused({ t: names }, "value['t']", /^a field name with a lone surrogate \(U\+D800 at character 1\)/);
  const nested = tableFromArrays({ s: vectorFromArray([{ "\udc00": 1 }], new Struct([new Field("\udc00", new Int32())])) });
  refused(nested, "value", /^a field name with a lone surrogate \(U\+DC00/);
  const plain = tableFromArrays({ a: Float64Array.from([1, 2]) });
  const metadata = new Table([new RecordBatch(new Schema(plain.schema.fields, new Map([["note", "x\udfff"]])), plain.batches[0].data)]);
  refused(metadata, "value", /^metadata "note" with a lone surrogate/);
});
