/** The section's own limits (`section.js`, `ipc_guard.js`): null-type arrays whose null count is not their length. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Field, LargeList, Null, RecordBatch, RecordBatchStreamWriter, Schema, Struct, makeData } from "apache-arrow";
import { DecodeError } from "../src/index.js";
import { readBatch } from "../src/section.js";

const LIMITS = { maxDecompressedBytes: 2 ** 28 };

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
