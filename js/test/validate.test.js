/** What a hostile frame could lie about in its Arrow data, refused before any value is read. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Dictionary, Field, Int8, Int32, LargeList, LargeUtf8, Null, Struct, Utf8, Vector, makeData } from "apache-arrow";
import { DecodeError } from "../src/index.js";
import { bytelessElements, validate } from "../src/validate.js";

const bytes = (text) => new TextEncoder().encode(text);

test("string offsets past their data are refused (apache-arrow would read a shorter string)", () => {
  const good = makeData({ type: new LargeUtf8(), length: 2, valueOffsets: new BigInt64Array([0n, 2n, 4n]), data: bytes("abcd") });
  validate(good);
  const past = makeData({ type: new LargeUtf8(), length: 2, valueOffsets: new BigInt64Array([0n, 2n, 100n]), data: bytes("abcd") });
  assert.throws(() => validate(past), DecodeError, /lies past its 4 values/);
  const backwards = makeData({ type: new Utf8(), length: 2, valueOffsets: new Int32Array([0, 3, 1]), data: bytes("abcd") });
  assert.throws(() => validate(backwards), DecodeError, /offsets decrease/);
});

test("fixed-width values shorter than their length are refused", () => {
  const short = makeData({ type: new Int32(), length: 4, data: new Int32Array(2) });
  assert.throws(() => validate(short), DecodeError, /values shorter than its length/);
});

test("dictionary indices outside the dictionary are refused", () => {
  const dictionary = new Vector([makeData({ type: new Utf8(), length: 2, valueOffsets: new Int32Array([0, 1, 2]), data: bytes("ab") })]);
  const type = new Dictionary(new Utf8(), new Int8());
  validate(makeData({ type, length: 2, data: new Int8Array([0, 1]), dictionary }));
  assert.throws(() => validate(makeData({ type, length: 2, data: new Int8Array([0, 5]), dictionary })), DecodeError, /index 5 outside its 2-value dictionary/);
});

test("elements without bytes are counted at every level: null-type arrays, field-less structs, dictionaries' values", () => {
  const nulls = (length) => makeData({ type: new Null(), length });
  const empty = makeData({ type: new Struct([]), length: 7 });
  const list = makeData({ type: new LargeList(new Field("item", new Null(), true)), length: 1, valueOffsets: new BigInt64Array([0n, 5n]), child: nulls(5) });
  const dictionary = makeData({ type: new Dictionary(new Null(), new Int8()), length: 2, data: new Int8Array([0, 0]), dictionary: new Vector([nulls(11)]) });
  const ints = makeData({ type: new Int32(), length: 3, data: new Int32Array(3) });
  const fields = [list, empty, dictionary, ints].map((child, k) => new Field(String(k), child.type, true));
  assert.equal(bytelessElements(makeData({ type: new Struct(fields), length: 1, children: [list, empty, dictionary, ints] })), 5 + 7 + 11);
});
