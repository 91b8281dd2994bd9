"""Read what an Arrow IPC stream declares before Arrow acts on it.

Two things must be refused from declarations alone. Arrow trusts a compressed
buffer's declared length and allocates it before inflating, so a few kilobytes
claiming gigabytes (a decompression bomb) are caught from the buffer tables.
And Arrow calls a registered extension type's deserialiser while it reads the
schema, so extension names are checked first. Arrow exposes message bodies but
not these flatbuffer fields, so this module reads the few it needs.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

import pyarrow as pa

from .errors import DecodeError

_MESSAGE_HEADER = 2
_SCHEMA_FIELDS = 1
_FIELD_CHILDREN = 5
_FIELD_METADATA = 6
_EXTENSION_NAME = b"ARROW:extension:name"
_BATCH_BUFFERS = 2
_BATCH_COMPRESSION = 3
_DICTIONARY_DATA = 1
_UNCOMPRESSED = -1
_BATCH_MESSAGES = ("record batch", "dictionary")  # pyarrow's Message.type names

CANONICAL_EXTENSIONS = frozenset(
    {"arrow.bool8", "arrow.fixed_shape_tensor", "arrow.json", "arrow.opaque", "arrow.uuid", "arrow.variable_shape_tensor"}
)
"""Arrow's canonical extension types that Arrow C++ registers and rebuilds itself: no Python
runs (their parameters, if any, are JSON parsed in C++, which also checks the storage type).
Which extension names a decoder accepts is the value families' to say (``families.EXTENSIONS``):
``scan`` takes them from its caller, so this module stays below the families."""


@dataclass
class StreamLayout:
    """What a stream declares: its record batch's buffer sizes and its inflated body size, and
    the messages read, so a reader need not read them again."""

    batch_buffer_sizes: list[int] = field(default_factory=list)
    inflated_bytes: int = 0
    schema_metadata: bytes = b""
    """The schema message's flatbuffer."""
    record_batch: pa.ipc.Message | None = None
    has_dictionaries: bool = False


def scan(
    stream: pa.Buffer, max_inflated_bytes: int, allowed_extensions: frozenset[str], *, with_sizes: bool = False
) -> StreamLayout:
    """Check the stream is one schema, dictionaries, exactly one batch; bound what its compressed
    buffers inflate to (an uncompressed body is already in memory, bounded by the frame's size);
    refuse extension types outside ``allowed_extensions``. ``with_sizes`` also lists the
    record batch's buffer sizes (read anyway when the stream is compressed)."""
    layout = StreamLayout()
    kinds = []
    inflating = 0  # bytes the compressed buffers inflate to: what the limit bounds
    for message in _messages(stream):
        kind = message.type  # each read of a Message's attributes builds a new Python object
        kinds.append(kind)
        if kind == "schema":
            layout.schema_metadata = message.metadata.to_pybytes()
            if _EXTENSION_NAME in layout.schema_metadata:
                _check_extensions(message, allowed_extensions)
            continue
        if kind not in _BATCH_MESSAGES:
            continue
        if kind == "record batch":
            layout.record_batch = message
        body = message.body
        body_size = body.size if body is not None else 0
        if not (compressed := _is_compressed(message)) and not with_sizes:
            layout.inflated_bytes += body_size
            continue
        sizes = _batch_buffers(message)
        inflated = _inflated_size(body, sizes, compressed, body_size)
        layout.inflated_bytes += inflated
        if kind == "record batch":
            layout.batch_buffer_sizes = [length for _, length in sizes]
        if compressed:
            inflating += inflated
            if inflating > max_inflated_bytes:
                raise DecodeError(f"Arrow section inflates to more than max_decompressed_bytes={max_inflated_bytes}")
    if not kinds or kinds[0] != "schema" or kinds.count("schema") != 1:
        raise DecodeError("Arrow section must start with its one schema")
    if kinds.count("record batch") != 1 or kinds[-1] != "record batch":
        raise DecodeError(f"Arrow section must end with exactly one record batch, found {kinds[1:]}")
    layout.has_dictionaries = len(kinds) > 2
    return layout


def declares_compression(stream: pa.Buffer) -> bool:
    """Whether any batch of the stream is compressed, whatever the descriptor says (its
    ``compression`` is informational); a stream that cannot be read counts as compressed, so
    the caller treats it as costly and the decoder then says what is wrong."""
    try:
        return any(message.type in _BATCH_MESSAGES and _is_compressed(message) for message in _messages(stream))
    except DecodeError:
        return True


def _messages(stream: pa.Buffer) -> Iterator[pa.ipc.Message]:
    """The stream's messages up to its end-of-stream marker or its end, as ``MessageReader``
    reads them (the same reader underneath, without its set-up: a quarter of a small scan)."""
    source = pa.BufferReader(stream)
    while True:
        try:
            yield pa.ipc.read_message(source)
        except EOFError:
            return
        except (pa.ArrowException, OSError) as error:
            raise DecodeError(f"Arrow section: {error}") from None


def _inflated_size(body: pa.Buffer | None, sizes: list[tuple[int, int]], compressed: bool, body_size: int) -> int:
    total = 0
    for offset, length in sizes:
        if offset < 0 or length < 0 or offset + length > body_size:
            raise DecodeError(f"Arrow buffer at {offset}+{length} lies outside its {body_size}-byte body")
        if compressed and length >= 8:
            (declared,) = struct.unpack_from("<q", body, offset)
            total += length - 8 if declared == _UNCOMPRESSED else declared
            if declared < _UNCOMPRESSED:
                raise DecodeError(f"Arrow buffer declares a negative size {declared}")
        else:
            total += length
    return total


def _batch_table(message: pa.ipc.Message) -> tuple[memoryview, int]:
    """The message's flatbuffer and the position of its RecordBatch table."""
    meta = memoryview(message.metadata)
    batch = _table_field(meta, _u32(meta, 0), _MESSAGE_HEADER)
    if batch is not None and message.type == "dictionary":
        batch = _table_field(meta, batch, _DICTIONARY_DATA)
    if batch is None:
        raise DecodeError(f"Arrow {message.type} message without its batch")
    return meta, batch


def _is_compressed(message: pa.ipc.Message) -> bool:
    try:
        meta, batch = _batch_table(message)
        return _table_field(meta, batch, _BATCH_COMPRESSION) is not None
    except struct.error:
        raise DecodeError("Arrow message metadata is truncated") from None


def _batch_buffers(message: pa.ipc.Message) -> list[tuple[int, int]]:
    """(offset, length) of every buffer in a batch message's body."""
    try:
        meta, batch = _batch_table(message)
        buffers = _table_field(meta, batch, _BATCH_BUFFERS)
        if buffers is None:
            return []
        count = _u32(meta, buffers)
        if 4 + count * 16 > len(meta) - buffers:
            raise DecodeError("Arrow buffer table runs past its message")
        return [struct.unpack_from("<qq", meta, buffers + 4 + 16 * i) for i in range(count)]
    except struct.error:
        raise DecodeError("Arrow message metadata is truncated") from None


def _check_extensions(message: pa.ipc.Message, allowed: frozenset[str]) -> None:
    meta = memoryview(message.metadata)
    try:
        schema = _table_field(meta, _u32(meta, 0), _MESSAGE_HEADER)
        fields = _table_field(meta, schema, _SCHEMA_FIELDS) if schema is not None else None
        pending = list(_vector_tables(meta, fields))
        while pending:
            field = pending.pop()
            if len(pending) > 100_000:
                raise DecodeError("Arrow schema has too many fields")
            for key, value in _key_values(meta, _table_field(meta, field, _FIELD_METADATA)):
                if key == _EXTENSION_NAME and value.decode(errors="replace") not in allowed:
                    raise DecodeError(f"Arrow extension type {value.decode(errors='replace')!r} is not accepted")
            pending.extend(_vector_tables(meta, _table_field(meta, field, _FIELD_CHILDREN)))
    except struct.error:
        raise DecodeError("Arrow schema metadata is truncated") from None


def _vector_tables(meta: memoryview, vector: int | None) -> list[int]:
    """Positions of the tables a flatbuffer vector of tables points to."""
    if vector is None:
        return []
    count = _u32(meta, vector)
    if 4 + 4 * count > len(meta) - vector:
        raise DecodeError("Arrow schema vector runs past its message")
    slots = [vector + 4 + 4 * i for i in range(count)]
    return [slot + _u32(meta, slot) for slot in slots]


def _key_values(meta: memoryview, vector: int | None) -> list[tuple[bytes, bytes]]:
    pairs = []
    for table in _vector_tables(meta, vector):
        key, value = _table_field(meta, table, 0), _table_field(meta, table, 1)
        pairs.append((_string(meta, key), _string(meta, value)))
    return pairs


def _string(meta: memoryview, position: int | None) -> bytes:
    if position is None:
        return b""
    length = _u32(meta, position)
    if length > len(meta) - position - 4:
        raise DecodeError("Arrow schema string runs past its message")
    return bytes(meta[position + 4 : position + 4 + length])


def _u32(meta: memoryview, pos: int) -> int:
    return struct.unpack_from("<I", meta, pos)[0]


def _table_field(meta: memoryview, table: int, index: int) -> int | None:
    """Absolute position of the object an offset field of a flatbuffer table points to."""
    vtable = table - struct.unpack_from("<i", meta, table)[0]
    vtable_size = struct.unpack_from("<H", meta, vtable)[0]
    if 4 + 2 * index + 2 > vtable_size:
        return None
    slot = struct.unpack_from("<H", meta, vtable + 4 + 2 * index)[0]
    if slot == 0:
        return None
    position = table + slot
    return position + _u32(meta, position)
