"""pyarrow values: Table, RecordBatch, Array and ChunkedArray come back as themselves.

Tables and batches travel as one struct array whose fields are their columns;
their schema metadata travels beside it. Every Arrow type that travels, from
any family, goes through ``carried``: an extension type the receiver could only
rebuild by running Python is refused here, where the sender can still send its
storage, and extension names that are only field metadata (GeoParquet's
``geoarrow.wkb`` on binary) travel under our own keys, so no receiver turns
them into a registered type; decoding puts the original keys back.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from ..config import Config
from ..errors import DecodeError, EncodeError
from ..ipc_guard import CANONICAL_EXTENSIONS
from .base import Column

RESERVED_KEY = b"hypha_arrow"
WIRE_KEYS = {
    b"ARROW:extension:name": b"hypha_arrow:extension:name",
    b"ARROW:extension:metadata": b"hypha_arrow:extension:metadata",
}
"""Metadata keys Arrow readers act on, and the names they travel under."""
_ORIGINAL_KEYS = {wire: key for key, wire in WIRE_KEYS.items()}
Metadata = dict[bytes, bytes]


def carried(values: pa.Array) -> pa.Array:
    """``values`` as they travel (a zero-copy view when field metadata is renamed).

    Raises ``EncodeError`` naming the field when a receiver could not rebuild the type exactly
    without running Python.
    """
    kind = values.type
    wire = _renamed_type(kind, WIRE_KEYS, "")
    return values if wire is kind else values.view(wire)


def restored(values: pa.Array) -> pa.Array:
    """Undo ``carried``: the original metadata keys back on plain fields; no type is constructed."""
    kind = values.type
    original = _renamed_type(kind, _ORIGINAL_KEYS)
    return values if original is kind else values.view(original)


def _renamed_type(kind: pa.DataType, keys: Metadata, path: str | None = None) -> pa.DataType:
    """``kind`` with ``keys`` renamed in the metadata of every nested field; ``kind`` itself if
    none is. A ``path`` means sending: refuse what the receiver could not rebuild."""
    if isinstance(kind, pa.BaseExtensionType):
        if path is not None:
            _check_extension(kind, path)
        return kind
    if pa.types.is_dictionary(kind):
        value_type = kind.value_type
        if path is not None and isinstance(value_type, pa.BaseExtensionType):
            # Arrow IPC puts the name on the dictionary field, and readers apply it to the dictionary
            # (apache/arrow#49704): an error for C++ types, wrong values for pandas.period
            raise EncodeError(
                f"Arrow IPC cannot carry a dictionary of extension type {value_type}; send it decoded (dictionary_decode())",
                path,
            )
        renamed = _renamed_type(value_type, keys, path)
        return kind if renamed is value_type else pa.dictionary(kind.index_type, renamed, kind.ordered)
    fields = [kind.field(i) for i in range(kind.num_fields)]
    renamed_fields = [_renamed_field(field, keys, path) for field in fields]
    if all(new is old for new, old in zip(renamed_fields, fields)):
        return kind
    return _with_fields(kind, renamed_fields)


def _renamed_field(field: pa.Field, keys: Metadata, path: str | None) -> pa.Field:
    field_path = None if path is None else f"{path}[{field.name!r}]"
    if path is not None and field.metadata and not _ORIGINAL_KEYS.keys().isdisjoint(field.metadata):
        raise EncodeError(f"field metadata keys {sorted(_ORIGINAL_KEYS)} are reserved", field_path)
    kind = field.type
    renamed = _renamed_type(kind, keys, field_path)
    metadata = field.metadata
    if metadata and not keys.keys().isdisjoint(metadata):
        return field.with_type(renamed).with_metadata(_renamed(metadata, keys))
    return field if renamed is kind else field.with_type(renamed)


def _with_fields(kind: pa.DataType, fields: list[pa.Field]) -> pa.DataType:
    """A nested type like ``kind`` with these child fields."""
    if pa.types.is_struct(kind):
        return pa.struct(fields)
    if pa.types.is_union(kind):
        return pa.union(fields, kind.mode, kind.type_codes)
    if pa.types.is_map(kind):
        entries = fields[0].type
        return pa.map_(entries.field(0), entries.field(1), kind.keys_sorted)
    if pa.types.is_run_end_encoded(kind):
        return pa.run_end_encoded(kind.run_end_type, fields[1].type)
    if pa.types.is_fixed_size_list(kind):
        return pa.list_(fields[0], kind.list_size)
    if pa.types.is_large_list(kind):
        return pa.large_list(fields[0])
    if pa.types.is_list_view(kind):
        return pa.list_view(fields[0])
    if pa.types.is_large_list_view(kind):
        return pa.large_list_view(fields[0])
    return pa.list_(fields[0])  # the last nested type


def _check_extension(kind: pa.BaseExtensionType, path: str) -> None:
    """Only the names some family declares travel (receivers accept exactly those): Arrow C++'s
    canonical types, rebuilt without Python, and Python-defined ones known to be harmless."""
    from . import EXTENSIONS  # the registry, which imports this module

    name = kind.extension_name
    if isinstance(kind, pa.ExtensionType):  # defined in Python: reading it runs its __arrow_ext_deserialize__
        if name not in EXTENSIONS or name in CANONICAL_EXTENSIONS:  # a canonical name comes back as Arrow's type
            raise EncodeError(
                f"Arrow extension type {name!r} is defined in Python and its receiver would have to run "
                "its deserialiser; send the array's .storage instead",
                path,
            )
    elif name not in EXTENSIONS:
        raise EncodeError(f"Arrow extension type {name!r} is not one receivers accept; send the array's .storage instead", path)
    storage = kind.storage_type
    if isinstance(storage, pa.BaseExtensionType):  # IPC keeps one extension name per field
        raise EncodeError(f"Arrow extension type {name!r} stored as extension type {storage} cannot travel", path)
    if _renamed_type(storage, WIRE_KEYS, path) is not storage:
        raise EncodeError(f"extension metadata inside the storage of Arrow extension type {name!r} cannot be carried", path)


def _renamed(metadata: Metadata, keys: Metadata) -> Metadata:
    return {keys.get(key, key): value for key, value in metadata.items()}


def table_column(kind: str, table: pa.Table | pa.RecordBatch, meta: dict[str, Any] | None = None) -> Column:
    """A table or batch as one struct column, its schema metadata kept beside it."""
    schema_metadata = dict(table.schema.metadata or {})
    reserved = {RESERVED_KEY, *_ORIGINAL_KEYS}.intersection(schema_metadata)
    if reserved:
        raise EncodeError(f"schema metadata keys {sorted(reserved)} are reserved")
    if isinstance(table, pa.Table):
        table = table.combine_chunks()
        batches = table.to_batches()
        batch = batches[0] if batches else pa.RecordBatch.from_arrays(
            [column.combine_chunks() for column in table.columns], schema=table.schema
        )
    else:
        batch = table
    return Column(kind, carried(_struct_of(batch)), dict(meta or {}), _renamed(schema_metadata, WIRE_KEYS))


def _struct_of(batch: pa.RecordBatch) -> pa.StructArray:
    if batch.num_columns == 0:
        return pa.array([{}] * batch.num_rows, type=pa.struct([]))
    return pa.StructArray.from_arrays(batch.columns, fields=list(batch.schema.remove_metadata()))


def batch_of(column: Column) -> pa.RecordBatch:
    """The record batch a struct column holds, with its field and schema metadata restored."""
    values = restored(column.values)
    if not pa.types.is_struct(values.type) or values.null_count:
        raise DecodeError(f"table data must be a struct array without nulls, got {values.type}")
    schema_metadata = _renamed(column.arrow_metadata, _ORIGINAL_KEYS)
    if values.type.num_fields == 0:
        return pa.RecordBatch.from_struct_array(values).replace_schema_metadata(schema_metadata)
    fields = [values.field(i) for i in range(values.type.num_fields)]
    schema = pa.schema(list(values.type), metadata=schema_metadata)
    return pa.RecordBatch.from_arrays(fields, schema=schema)


class ArrowFamily:
    types = (pa.Table, pa.RecordBatch, pa.Array, pa.ChunkedArray)
    kinds = ("table", "record_batch", "array", "chunked_array")
    patterns: frozenset[str] = frozenset()  # always columnar, see msgpack_form
    extensions = CANONICAL_EXTENSIONS  # Arrow C++ rebuilds them without Python

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
            return Column("chunked_array", carried(values), {"chunks": lengths})
        return Column("array", carried(value))

    def decode(self, column: Column, config: Config) -> Any:
        if column.kind == "array":
            return restored(column.values)
        if column.kind == "chunked_array":
            return _chunked(restored(column.values), column.meta.get("chunks"))
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
