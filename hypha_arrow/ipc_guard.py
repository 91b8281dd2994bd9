"""Read an Arrow IPC stream's declared sizes before Arrow allocates anything for it.

Arrow trusts a compressed buffer's declared length and allocates it before
inflating; a few kilobytes claiming gigabytes (a decompression bomb) must be
refused from those declarations. Arrow exposes message bodies but not their
buffer tables, so this module reads the few flatbuffer fields it needs
(``Message.header``, ``RecordBatch.buffers``, ``RecordBatch.compression``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import pyarrow as pa

from .errors import DecodeError

_MESSAGE_HEADER = 2
_BATCH_BUFFERS = 2
_BATCH_COMPRESSION = 3
_DICTIONARY_DATA = 1
_UNCOMPRESSED = -1


@dataclass
class StreamLayout:
    """What a stream declares: its record batch's buffer sizes and its inflated body size."""

    batch_buffer_sizes: list[int] = field(default_factory=list)
    compressed: bool = False
    body_bytes: int = 0
    inflated_bytes: int = 0


def scan(stream: pa.Buffer, max_inflated_bytes: int) -> StreamLayout:
    """Check the stream is one schema, dictionaries, exactly one batch; bound its inflated size."""
    reader = pa.ipc.MessageReader.open_stream(stream)
    layout = StreamLayout()
    kinds = []
    while True:
        try:
            message = reader.read_next_message()
        except StopIteration:
            break
        except (pa.ArrowException, OSError) as error:
            raise DecodeError(f"Arrow section: {error}") from None
        kinds.append(message.type)
        if message.type in ("record batch", "dictionary batch"):
            sizes, compressed = _batch_buffers(message, message.type == "dictionary batch")
            body = message.body.size if message.body is not None else 0
            layout.body_bytes += body
            layout.inflated_bytes += _inflated_size(message.body, sizes, compressed, body)
            if layout.inflated_bytes > max_inflated_bytes:
                raise DecodeError(
                    f"Arrow section inflates to more than max_decompressed_bytes={max_inflated_bytes}"
                )
            if message.type == "record batch":
                layout.batch_buffer_sizes = [length for _, length in sizes]
                layout.compressed = compressed
    if not kinds or kinds[0] != "schema" or kinds.count("schema") != 1:
        raise DecodeError("Arrow section must start with its one schema")
    if kinds.count("record batch") != 1 or kinds[-1] != "record batch":
        raise DecodeError(f"Arrow section must end with exactly one record batch, found {kinds[1:]}")
    return layout


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


def _batch_buffers(message: pa.ipc.Message, dictionary: bool) -> tuple[list[tuple[int, int]], bool]:
    """(offset, length) of every buffer in a batch message, and whether the body is compressed."""
    meta = memoryview(message.metadata)
    try:
        root = _u32(meta, 0)
        batch = _table_field(meta, root, _MESSAGE_HEADER)
        if batch is None:
            raise DecodeError("Arrow batch message without a header")
        if dictionary:
            batch = _table_field(meta, batch, _DICTIONARY_DATA)
            if batch is None:
                raise DecodeError("Arrow dictionary batch without data")
        buffers = _table_field(meta, batch, _BATCH_BUFFERS)
        sizes = []
        if buffers is not None:
            count = _u32(meta, buffers)
            if 4 + count * 16 > len(meta) - buffers:
                raise DecodeError("Arrow buffer table runs past its message")
            sizes = [struct.unpack_from("<qq", meta, buffers + 4 + 16 * i) for i in range(count)]
        return sizes, _table_field(meta, batch, _BATCH_COMPRESSION) is not None
    except struct.error:
        raise DecodeError("Arrow message metadata is truncated") from None


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
