/**
 * Tabular and Arrow columns (sections 4.2, 4.3) as apache-arrow values: a DataFrame, Series,
 * pyarrow Table or RecordBatch becomes a `Table` whose schema metadata is the value's (pandas'
 * included, so sending it back can rebuild the DataFrame); an Array a `Vector`, a ChunkedArray
 * a `Vector` of its chunks. The buffers stay views into the section; a wide DataFrame's blocks
 * (frame_blocks.js) stay `fixed_size_list` columns.
 */
import { RecordBatch, Schema, Table, Type, Vector, makeData } from "apache-arrow";
import { DecodeError } from "../errors.js";
import { checkBlocks } from "./frame_blocks.js";

/** What a column said beyond its Arrow data (labels, index names, an Array's extension type, ...), kept for the way back. */
export const ORIGINS = new WeakMap();

export function decodeTable(column) {
  const values = column.values;
  if (values.type.typeId !== Type.Struct) throw new DecodeError(`a ${column.kind} must be a struct of its columns, got ${values.type}`);
  const fields = values.type.children;
  const schema = new Schema(fields, new Map(column.metadata));
  const data = values.data.length === 1 ? values.data[0] : null;
  if (data === null) throw new DecodeError(`a ${column.kind} column must be one chunk`);
  if (column.kind === "dataframe" && column.meta.blocks !== undefined) checkBlocks(column.meta, fields, data, schema.metadata);
  const struct = makeData({ type: values.type, offset: data.offset, length: data.length, nullCount: 0, children: data.children });
  const table = new Table([new RecordBatch(schema, struct)]);
  ORIGINS.set(table, { kind: column.kind, meta: column.meta });
  return table;
}

export function decodeArray(column) {
  const vector = chunked(column);
  ORIGINS.set(vector, { kind: column.kind, meta: column.meta, field: column.item });
  return vector;
}

function chunked(column) {
  const values = column.values;
  if (column.kind === "array") return values;
  const lengths = column.meta.chunks;
  if (!Array.isArray(lengths) || !lengths.every((n) => Number.isSafeInteger(n) && n >= 0)) {
    throw new DecodeError(`chunked_array chunks must be a list of lengths, got ${JSON.stringify(lengths)}`);
  }
  const total = lengths.reduce((a, b) => a + b, 0);
  if (total !== values.length) throw new DecodeError(`chunked_array chunks add up to ${total}, the column holds ${values.length}`);
  let start = 0;
  const chunks = lengths.map((length) => {
    const chunk = values.slice(start, start + length);
    start += length;
    return chunk.data[0];
  });
  return new Vector(chunks.length ? chunks : [values.data[0]]);
}
