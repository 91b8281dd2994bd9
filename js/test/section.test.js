/**
 * The section's own limits (`section.js`, `ipc_guard.js`): elements without bytes bounded by
 * `max(2^20, 8 x B)` (wire format 6), null-type arrays whose null count is not their length.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { Field, LargeList, Null, RecordBatch, RecordBatchStreamWriter, Schema, Struct, makeData } from "apache-arrow";
import { DecodeError } from "../src/index.js";
import { readBatch } from "../src/section.js";

const PYTHON = process.env.HYPHA_ARROW_PYTHON ?? "python3";
const LIMITS = { maxDecompressedBytes: 2 ** 28 };

/** An IPC stream pyarrow writes: one row, one large_list column per expression (pyarrow as pa, n the list's child). */
function pyarrowSection(...children) {
  const script = `import sys, pyarrow as pa
children = [${children.join(", ")}]
lists = [pa.LargeListArray.from_arrays(pa.array([0, len(c)], pa.int64()), c) for c in children]
batch = pa.record_batch(lists, names=[str(i) for i in range(len(lists))])
sink = pa.BufferOutputStream()
with pa.ipc.new_stream(sink, batch.schema) as writer:
    writer.write_batch(batch)
sys.stdout.buffer.write(sink.getvalue().to_pybytes())`;
  return new Uint8Array(execFileSync(PYTHON, ["-c", script], { maxBuffer: 2 ** 26 }));
}

const over = /elements without bytes, over max\(1048576, 8 x \d+\)/;

test("null-type arrays, field-less structs and null dictionaries count towards max(2^20, 8 x B); up to it a section is read", () => {
  readBatch(pyarrowSection("pa.nulls(2**20)"), LIMITS);
  assert.throws(() => readBatch(pyarrowSection("pa.nulls(2**20 + 1)"), LIMITS), over);
  assert.throws(() => readBatch(pyarrowSection("pa.nulls(2**19)", "pa.array([{}] * (2**19 + 1), pa.struct([]))"), LIMITS), over, "summed over columns");
  assert.throws(() => readBatch(pyarrowSection("pa.DictionaryArray.from_arrays(pa.array([0], pa.int32()), pa.nulls(2**20 + 1))"), LIMITS), over, "in a dictionary");
  assert.throws(() => readBatch(pyarrowSection("pa.StructArray.from_arrays([pa.nulls(2**20 + 1)], names=['x'])"), LIMITS), over, "nested");
});

test("a section of B bytes holds up to 8 x B elements without bytes", () => {
  const section = pyarrowSection("pa.array(bytes(300_000), pa.uint8())", "pa.nulls(2_000_000)");
  assert.ok(section.length * 8 > 2_000_000);
  readBatch(section, LIMITS);
  assert.throws(() => readBatch(pyarrowSection("pa.array(bytes(200_000), pa.uint8())", "pa.nulls(2_000_000)"), LIMITS), over);
});

test("a null-type array whose null count is not its length is refused, as pyarrow refuses it", () => {
  // apache-arrow's writer slices a list's child, and a slice of a null-type Data loses its null count: it writes -1
  const item = new Field("item", new Null(), true);
  const column = new Field("0", new LargeList(item), false);
  const list = makeData({ type: column.type, length: 1, nullCount: 0, valueOffsets: new BigInt64Array([0n, 3n]), child: makeData({ type: new Null(), length: 3 }) });
  const writer = new RecordBatchStreamWriter();
  writer.write(new RecordBatch(new Schema([column]), makeData({ type: new Struct([column]), length: 1, nullCount: 0, children: [list] })));
  writer.finish();
  assert.throws(() => readBatch(writer.toUint8Array(true), LIMITS), (error) => error instanceof DecodeError && /null-type array 1 has a null count unequal to its length/.test(error.message));
});
