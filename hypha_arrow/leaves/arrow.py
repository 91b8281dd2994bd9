"""pyarrow values: Table, RecordBatch, Array and ChunkedArray come back as themselves.

Tables and batches travel as one struct array whose fields are their columns;
their schema metadata travels beside it untouched.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from ..config import Config
from ..errors import DecodeError, EncodeError
from .base import Column

RESERVED_KEY = b"hypha_arrow"


def table_column(kind: str, table: pa.Table | pa.RecordBatch, meta: dict[str, Any] | None = None) -> Column:
    """A table or batch as one struct column, its schema metadata kept beside it."""
    schema_metadata = dict(table.schema.metadata or {})
    if RESERVED_KEY in schema_metadata:
        raise EncodeError(f"schema metadata key {RESERVED_KEY!r} is reserved")
    if isinstance(table, pa.Table):
        table = table.combine_chunks()
        batches = table.to_batches()
        batch = batches[0] if batches else pa.RecordBatch.from_arrays(
            [column.combine_chunks() for column in table.columns], schema=table.schema
        )
    else:
        batch = table
    return Column(kind, _struct_of(batch), dict(meta or {}), schema_metadata)


def _struct_of(batch: pa.RecordBatch) -> pa.StructArray:
    if batch.num_columns == 0:
        return pa.array([{}] * batch.num_rows, type=pa.struct([]))
    return pa.StructArray.from_arrays(batch.columns, fields=list(batch.schema.remove_metadata()))


def batch_of(column: Column) -> pa.RecordBatch:
    """The record batch a struct column holds, with its schema metadata restored."""
    values = column.values
    if not pa.types.is_struct(values.type) or values.null_count:
        raise DecodeError(f"table data must be a struct array without nulls, got {values.type}")
    if values.type.num_fields == 0:
        return pa.RecordBatch.from_struct_array(values).replace_schema_metadata(column.arrow_metadata)
    fields = [values.field(i) for i in range(values.type.num_fields)]
    schema = pa.schema(list(values.type), metadata=column.arrow_metadata)
    return pa.RecordBatch.from_arrays(fields, schema=schema)


class ArrowLeaf:
    kinds = ("table", "record_batch", "array", "chunked_array")

    def msgpack_form(self, value: Any, config: Config) -> None:
        return None  # always columnar: Arrow data has no msgpack form

    def encode(self, value: Any, config: Config) -> Column:
        if isinstance(value, pa.Table):
            return table_column("table", value)
        if isinstance(value, pa.RecordBatch):
            return table_column("record_batch", value)
        if isinstance(value, pa.ChunkedArray):
            lengths = [len(chunk) for chunk in value.chunks]
            values = value.chunk(0) if value.num_chunks == 1 else value.combine_chunks()
            return Column("chunked_array", values, {"chunks": lengths})
        return Column("array", value)

    def decode(self, column: Column, config: Config) -> Any:
        if column.kind == "array":
            return column.values
        if column.kind == "chunked_array":
            return _chunked(column.values, column.meta.get("chunks"))
        batch = batch_of(column)
        return batch if column.kind == "record_batch" else pa.Table.from_batches([batch])


def _chunked(values: pa.Array, lengths: Any) -> pa.ChunkedArray:
    if not isinstance(lengths, list) or not all(isinstance(n, int) and n >= 0 for n in lengths) or sum(lengths) != len(values):
        raise DecodeError(f"invalid chunk lengths {lengths!r} for {len(values)} values")
    chunks, start = [], 0
    for length in lengths:
        chunks.append(values.slice(start, length))
        start += length
    return pa.chunked_array(chunks, type=values.type)
