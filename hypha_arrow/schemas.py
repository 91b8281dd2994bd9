"""The Arrow section's schema: built once per distinct column description, parsed once per
distinct schema message.

Messages repeat their shapes (the same call with arrays of one dtype and shape), and building
and parsing a schema (field metadata as JSON, pyarrow's schema objects, the checks on them) took
about 35 us of the 0.18 ms a float64 array's round trip cost (measured 2026-12). Both caches are per process, bounded in entries and in
the size of what they keep, and keyed by content alone: each cached result is a pure function
of its key, so a hit returns exactly what the work would have. On decode the key is the schema
message's bytes, so a hit skips only work those bytes fully determine, checks included; an
untrusted sender can at most push other entries out.
"""

from __future__ import annotations

import functools
import json
import struct
from dataclasses import dataclass

import msgpack
import pyarrow as pa

from .errors import DecodeError

META_KEY = b"hypha_arrow"
CACHE_ENTRIES = 256
"""Distinct column descriptions (and schema messages) kept: more than a service sees in steady
state, and at most ``CACHE_ENTRIES * CACHE_KEY_MAX_BYTES`` (4 MiB) of keys, about as much again
in what they map to."""
CACHE_KEY_MAX_BYTES = 16 * 1024
"""Larger descriptions (a frame's 20,000 column labels) are built every time: their building
is small beside their data, and they would crowd out the small ones."""
SCHEMA_CACHE_MAX_FIELDS = 64
"""Schemas of more columns are assembled every time (from cached fields), keeping the cache small."""
_MESSAGE_PREFIX = struct.Struct("<Ii")
_CONTINUATION = 0xFFFFFFFF


@dataclass(frozen=True, eq=False)
class FieldPlan:
    """A column's field, without its name, and what its type says about the section.

    Compared by identity: one cached plan stands for one description, so a schema of cached
    plans is cached in turn under the plans themselves (which that cache then keeps alive).
    """

    type: pa.DataType
    metadata: pa.KeyValueMetadata
    has_dictionary: bool
    """The writer must count the dictionary batches: the section's size needs a dry run."""
    may_be_byteless: bool
    """Its type can hold elements without bytes (wire format section 6): they must be counted."""
    kept: bool = False
    """Held by the cache (a small description)."""


def field_plan(kind: str, meta: dict, values_type: pa.DataType, arrow_metadata: dict[bytes, bytes]) -> FieldPlan:
    """The field of a column of ``kind`` with ``meta`` (JSON-able) over values of ``values_type``."""
    if not _compares_exactly(values_type):
        return _field_plan(kind, meta, values_type, arrow_metadata)
    try:
        # msgpack is injective where JSON is a function (a tuple packs as a list, and both dump
        # as one array), so equal keys give equal JSON; what JSON refuses is never cached
        key = (kind, msgpack.packb(meta), values_type, tuple(arrow_metadata.items()))
    except (TypeError, ValueError, OverflowError):  # not msgpack: let JSON say what is wrong
        return _field_plan(kind, meta, values_type, arrow_metadata)
    if len(key[1]) > CACHE_KEY_MAX_BYTES or sum(len(k) + len(v) for k, v in key[3]) > CACHE_KEY_MAX_BYTES:
        return _field_plan(kind, meta, values_type, arrow_metadata)
    return _cached_field_plan(key)


def _compares_exactly(kind: pa.DataType) -> bool:
    """Whether equal types of this kind are the same type. Types with child fields (structs,
    lists, maps, unions) compare equal whatever their children's field metadata, and dictionary
    and extension types hold other types: as cache keys they could return another's field."""
    return kind.num_fields == 0 and not pa.types.is_dictionary(kind) and not isinstance(kind, pa.BaseExtensionType)


@functools.lru_cache(maxsize=CACHE_ENTRIES)
def _cached_field_plan(key: tuple[str, bytes, pa.DataType, tuple[tuple[bytes, bytes], ...]]) -> FieldPlan:
    kind, packed, values_type, arrow_metadata = key
    return _field_plan(kind, msgpack.unpackb(packed, strict_map_key=False), values_type, dict(arrow_metadata), kept=True)


def _field_plan(kind: str, meta: dict, values_type: pa.DataType, arrow_metadata: dict[bytes, bytes], kept: bool = False) -> FieldPlan:
    metadata = dict(arrow_metadata)
    metadata[META_KEY] = json.dumps({"kind": kind, **meta}).encode()
    list_type = pa.large_list(values_type)
    return FieldPlan(list_type, pa.KeyValueMetadata(metadata), has_dictionary(values_type), may_be_byteless(values_type), kept)


def schema_of(plans: list[FieldPlan]) -> tuple[pa.Schema, int]:
    """The section's schema over fields ``plans`` (named by position) and its serialized size."""
    key = tuple(plans)
    if len(key) <= SCHEMA_CACHE_MAX_FIELDS and all(plan.kept for plan in key):
        return _cached_schema_of(key)
    return _schema_of(key)


def _schema_of(plans: tuple[FieldPlan, ...]) -> tuple[pa.Schema, int]:
    fields = [pa.field(str(index), plan.type, nullable=False, metadata=plan.metadata) for index, plan in enumerate(plans)]
    schema = pa.schema(fields)
    return schema, schema.serialize().size


_cached_schema_of = functools.lru_cache(maxsize=CACHE_ENTRIES)(_schema_of)


def has_dictionary(kind: pa.DataType) -> bool:
    if pa.types.is_dictionary(kind):
        return True
    if isinstance(kind, pa.BaseExtensionType):
        return has_dictionary(kind.storage_type)
    return any(has_dictionary(kind.field(i).type) for i in range(kind.num_fields))


def may_be_byteless(kind: pa.DataType) -> bool:
    """Whether an array of this type can hold null-type or field-less struct elements."""
    if pa.types.is_null(kind) or (pa.types.is_struct(kind) and kind.num_fields == 0):
        return True
    if isinstance(kind, pa.BaseExtensionType):
        return may_be_byteless(kind.storage_type)
    if pa.types.is_dictionary(kind):
        return may_be_byteless(kind.value_type)
    return any(may_be_byteless(kind.field(i).type) for i in range(kind.num_fields))


@dataclass(frozen=True)
class ColumnSchema:
    """What a decoder reads from one field's metadata."""

    kind: str
    meta_json: str
    """Parsed again for each message, so every decoded value gets its own metadata objects."""
    arrow_metadata: dict[bytes, bytes]


@dataclass(frozen=True)
class ParsedSchema:
    """A schema message, read and checked: everything the section's decoder needs from it."""

    schema: pa.Schema
    columns: tuple[ColumnSchema, ...]
    may_be_byteless: bool
    text_as_binary: pa.Schema | None
    """The schema with its strings as binary, to validate them without the UTF-8 check; None without strings."""

    def column(self, index: int) -> tuple[str, dict, dict[bytes, bytes]]:
        """Column ``index``'s kind, meta (fresh objects) and other field metadata (a fresh dict)."""
        column = self.columns[index]
        meta = json.loads(column.meta_json)
        del meta["kind"]
        return column.kind, meta, dict(column.arrow_metadata)


def parse(schema_metadata: bytes) -> ParsedSchema:
    """The schema a schema message's metadata (its flatbuffer) holds, in the section's form, or
    DecodeError. The caller's guard has read the message first (its extension types)."""
    if len(schema_metadata) > CACHE_KEY_MAX_BYTES:
        return _parse(schema_metadata)
    return _cached_parse(schema_metadata)


def _parse(schema_metadata: bytes) -> ParsedSchema:
    message = pa.py_buffer(_MESSAGE_PREFIX.pack(_CONTINUATION, len(schema_metadata)) + schema_metadata)
    try:
        schema = pa.ipc.read_schema(message)
        names = schema.names  # ValueError for names that are not UTF-8
    except (pa.ArrowException, OSError, ValueError) as error:
        raise DecodeError(f"Arrow section: {error}") from None
    for index, field in enumerate(schema):
        if names[index] != str(index) or not pa.types.is_large_list(field.type):
            raise DecodeError(f"Arrow column {index} must be a large_list named {index!r}, got {field}")
    columns = tuple(_column_schema(index, field) for index, field in enumerate(schema))
    binary = [field.with_type(text_as_binary(field.type)) for field in schema]
    changed = any(a.type != b.type for a, b in zip(binary, schema))
    return ParsedSchema(schema, columns, any(may_be_byteless(field.type) for field in schema), pa.schema(binary) if changed else None)


_cached_parse = functools.lru_cache(maxsize=CACHE_ENTRIES)(_parse)

TEXT_AS_BINARY = {pa.string(): pa.binary(), pa.large_string(): pa.large_binary()}


def text_as_binary(kind: pa.DataType) -> pa.DataType:
    """``kind`` with its string types read as binary (the same layout, no UTF-8 check), in
    structs, lists, maps and dictionaries (``section._texts`` reaches the same places)."""
    if kind in TEXT_AS_BINARY:
        return TEXT_AS_BINARY[kind]
    if pa.types.is_struct(kind):
        return pa.struct([kind.field(i).with_type(text_as_binary(kind.field(i).type)) for i in range(kind.num_fields)])
    if pa.types.is_map(kind):
        return pa.map_(kind.key_field.with_type(text_as_binary(kind.key_type)), kind.item_field.with_type(text_as_binary(kind.item_type)), kind.keys_sorted)
    if pa.types.is_large_list(kind):
        return pa.large_list(kind.value_field.with_type(text_as_binary(kind.value_type)))
    if pa.types.is_list(kind):
        return pa.list_(kind.value_field.with_type(text_as_binary(kind.value_type)))
    if pa.types.is_fixed_size_list(kind):
        return pa.list_(kind.value_field.with_type(text_as_binary(kind.value_type)), kind.list_size)
    if pa.types.is_dictionary(kind):
        return pa.dictionary(kind.index_type, text_as_binary(kind.value_type), kind.ordered)
    return kind


def _column_schema(index: int, field: pa.Field) -> ColumnSchema:
    metadata = dict(field.metadata or {})
    try:
        text = metadata.pop(META_KEY).decode()
        kind = json.loads(text)["kind"]
    except (KeyError, ValueError, TypeError, AttributeError, RecursionError):
        raise DecodeError(f"Arrow column {index} has no valid {META_KEY.decode()} metadata") from None
    if not isinstance(kind, str):
        raise DecodeError(f"Arrow column {index} is null or has no kind")
    return ColumnSchema(kind, text, metadata)
