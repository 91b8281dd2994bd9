/**
 * families/records.js and the records encoder: rows keep every key as their own (`__proto__`
 * too), and key columns of nulls only travel as cells (docs/wire-format.md section 8).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { decode, encode } from "../src/index.js";
import { inPython, pythonFrame } from "./support/python_frames.js";

test("records with a __proto__ key from Python hold it as an own key; no row's prototype changes", () => {
  const rows = decode(pythonFrame("v = [{'__proto__': {'polluted': 1}, 'a': i} for i in range(300)]"));
  assert.equal(rows.length, 300);
  rows.forEach((row, i) => {
    assert.equal(Object.getPrototypeOf(row), Object.prototype);
    assert.equal(row.polluted, undefined);
    assert.deepEqual(Object.entries(row), [["__proto__", { polluted: 1 }], ["a", i]]);
  });
});

test("records of several layouts with __proto__ in some rows and cells values keep it own too", () => {
  const rows = decode(pythonFrame("v = [({'__proto__': i if i % 3 else str(i), 'a': i} if i % 2 else {'a': i}) for i in range(300)]"));
  rows.forEach((row, i) => {
    assert.equal(Object.getPrototypeOf(row), Object.prototype);
    assert.deepEqual(Object.entries(row), i % 2 ? [["__proto__", i % 3 ? i : String(i)], ["a", i]] : [["a", i]]);
  });
});

const SECTION_FIELDS = `
import pyarrow as pa
frame = open(FRAME, "rb").read()
section = pa.ipc.open_stream(frame[frame.index(b"\\xff\\xff\\xff\\xff"):]).read_all()
struct = section.schema.field(0).type.value_type
fields = {f.name: [str(f.type), {k.decode(): v.decode() for k, v in (f.metadata or {}).items()}] for f in struct}
`;

test("a key whose values are all null goes as a cells column, read back as None", () => {
  const rows = Array.from({ length: 300 }, (_, i) => (i % 2 ? { id: i, none: null } : { none: null, id: i }));
  const out = inPython(encode(rows), `${SECTION_FIELDS}
print(json.dumps([fields["none"], fields["id"], w == [({"id": i, "none": None} if i % 2 else {"none": None, "id": i}) for i in range(300)]]))`);
  assert.deepEqual(out, [["large_binary", { "hypha_arrow.cells": "msgpack" }], ["int64", {}], true]);
});

test("a null-type key column is still read", () => {
  const edit = `import sys, json, pyarrow as pa
sys.path.insert(0, ${JSON.stringify(new URL("../../conformance/", import.meta.url).pathname)})
from generate import _edit_section, _replaced_column, _stream
import hypha_arrow
frame = hypha_arrow.encode([{"a": i, "n": str(i)} for i in range(300)])
def nulls(batch):
    struct = batch.column(0).flatten()
    values = pa.StructArray.from_arrays([struct.field(0), pa.nulls(300)], names=["a", "n"])
    new = _replaced_column(batch, 0, values, dict(batch.schema.field(0).metadata))
    return _stream(new.schema, [new])
sys.stdout.buffer.write(_edit_section(nulls)(frame))`;
  const frame = new Uint8Array(execFileSync(process.env.HYPHA_ARROW_PYTHON ?? "python3", ["-c", edit], { stdio: ["ignore", "pipe", "inherit"] }));
  assert.deepEqual(decode(frame), Array.from({ length: 300 }, (_, i) => ({ a: i, n: null })));
});
