/**
 * concat.js: chunks joined into one column. String and binary views (DuckDB-WASM and pyarrow
 * make them) point into their own chunk's data buffers; joined, each still must.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { tableFromIPC } from "apache-arrow";
import { encode } from "../src/index.js";
import { pyarrowType } from "../src/arrow_types.js";
import { inPython } from "./support/python_frames.js";

const BATCHES = `[
    pa.record_batch({"s": pa.array(["a", "a string longer than twelve bytes", None], type=pa.string_view()),
                     "b": pa.array([b"x", b"y" * 20, b""], type=pa.binary_view())}),
    pa.record_batch({"s": pa.array(["the second batch's long string", "z", "another string past the inline size"], type=pa.string_view()),
                     "b": pa.array([b"q" * 30, None, b"r" * 13], type=pa.binary_view())}).slice(1),
]`;

/** An IPC stream pyarrow writes: two record batches of views, the second sliced. */
function viewStream() {
  const script = `import sys, pyarrow as pa
batches = ${BATCHES}
sink = pa.BufferOutputStream()
with pa.ipc.new_stream(sink, batches[0].schema) as writer:
    for batch in batches:
        writer.write_batch(batch)
sys.stdout.buffer.write(sink.getvalue().to_pybytes())`;
  return execFileSync(process.env.HYPHA_ARROW_PYTHON ?? "python3", ["-c", script], { stdio: ["ignore", "pipe", "inherit"] });
}

test("a Table of several batches of string and binary views arrives as one equal pyarrow Table", () => {
  const table = tableFromIPC(viewStream());
  assert.equal(table.batches.length, 2);
  assert.deepEqual(table.schema.fields.map((f) => pyarrowType(f.type)), ["string_view", "binary_view"]);
  const out = inPython(encode(table), `import pyarrow as pa
expected = pa.Table.from_batches(${BATCHES})
print(json.dumps([str(w.schema), w.equals(expected)]))`);
  assert.deepEqual(out, ["s: string_view\nb: binary_view", true]);
});
