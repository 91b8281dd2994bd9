"""The Arrow section: all columns of a message in one IPC stream holding one one-row batch.

Column ``i`` (named ``"i"``) is a ``large_list`` whose single row is the i-th
value's data, so values of any length and type share one schema. Field metadata
``hypha_arrow`` (JSON) names the value's kind and how to rebuild it.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from . import compression, ipc_guard, schemas
from .config import Config
from .errors import DecodeError, EncodeError
from .families import EXTENSIONS, Column
from .schemas import META_KEY

_END_OF_STREAM = 8
_ONE_ROW = struct.Struct("<qq")
"""A one-row list's offsets: where its row's values start and end."""
_PLAIN = pa.ipc.IpcWriteOptions()
BYTELESS_FREE = 1 << 20
BYTELESS_PER_BYTE = 8
"""Elements without bytes (wire format section 6) a section may hold: ``max(BYTELESS_FREE,
BYTELESS_PER_BYTE * B)``, so what a few bytes can make a decoder build stays proportional."""


@dataclass
class EncodedSection:
    """A section ready to be written: its exact size, its codec, and how to write it."""

    size: int
    codec: str | None
    write_to: Callable[[pa.NativeFile], None]
    """Writes the section's ``size`` bytes to a sink: a frame's buffer, or a recorder of pieces."""

    def write_into(self, target: pa.Buffer) -> None:
        writer = pa.FixedSizeBufferWriter(target)
        self.write_to(writer)
        if writer.tell() != self.size:  # never ship uninitialised frame bytes
            raise RuntimeError(f"Arrow section is {writer.tell()} bytes, {self.size} were computed")


def encode(columns: list[Column], config: Config, paths: list[str]) -> EncodedSection:
    """The section of ``columns``; ``paths`` name them in errors."""
    plans = [schemas.field_plan(c.kind, c.meta, c.values.type, c.arrow_metadata) for c in columns]
    schema, schema_size = schemas.schema_of(plans)
    batch = _batch(columns, plans, schema)
    codec = compression.choose(config, batch.columns)
    if codec is None:
        size = _plain_size(batch, schema_size, plans)
        _check_byteless_to_send(columns, plans, paths, size)
        return EncodedSection(size, None, lambda sink: _write(batch, _PLAIN, sink))
    sink = pa.BufferOutputStream()
    _write(batch, pa.ipc.IpcWriteOptions(compression=_codec(codec, config.compression_level)), sink)
    data = sink.getvalue()
    inflated = ipc_guard.scan(data, sys.maxsize, EXTENSIONS).inflated_bytes
    _check_byteless_to_send(columns, plans, paths, max(data.size, inflated))
    return EncodedSection(data.size, codec, lambda sink: sink.write(data))


_LIST_TYPES = (pa.types.is_list, pa.types.is_large_list, pa.types.is_fixed_size_list, pa.types.is_list_view, pa.types.is_large_list_view)


def byteless_allowance(section_bytes: int) -> int:
    return max(BYTELESS_FREE, BYTELESS_PER_BYTE * section_bytes)


def byteless_elements(array: pa.Array) -> int:
    """The summed lengths of the null-type arrays and field-less struct arrays in ``array``, at
    every level: values a decoder builds without a byte of theirs on the wire."""
    kind = array.type
    if isinstance(kind, pa.BaseExtensionType):
        return byteless_elements(array.storage)
    if pa.types.is_null(kind) or (pa.types.is_struct(kind) and kind.num_fields == 0):
        return len(array)
    if pa.types.is_dictionary(kind):
        return byteless_elements(array.dictionary)
    if pa.types.is_map(kind):
        return byteless_elements(array.keys) + byteless_elements(array.items)
    if any(test(kind) for test in _LIST_TYPES):
        return byteless_elements(array.values)
    if pa.types.is_struct(kind) or pa.types.is_union(kind):
        return sum(byteless_elements(array.field(i)) for i in range(kind.num_fields))
    return 0


def _check_byteless_to_send(columns: list[Column], plans: list[schemas.FieldPlan], paths: list[str], section_bytes: int) -> None:
    allowance, total = byteless_allowance(section_bytes), 0
    for column, plan, path in zip(columns, plans, paths):
        if not plan.may_be_byteless:
            continue
        total += byteless_elements(column.values)
        if total > allowance:
            raise EncodeError(
                f"{total} null values (null-type or field-less columns) with {section_bytes} bytes of data: over the "
                f"max({BYTELESS_FREE}, {BYTELESS_PER_BYTE} x bytes) a decoder accepts (it would build them from no bytes)",
                path,
            )


def _plain_size(batch: pa.RecordBatch, schema_size: int, plans: list[schemas.FieldPlan]) -> int:
    """Exact size of the uncompressed stream, so it can be written straight into the frame."""
    if not any(plan.has_dictionary for plan in plans):
        return schema_size + pa.ipc.get_record_batch_size(batch) + _END_OF_STREAM
    sizer = pa.MockOutputStream()  # dictionary batches: let the writer count them
    _write(batch, _PLAIN, sizer)
    return sizer.size()


def _batch(columns: list[Column], plans: list[schemas.FieldPlan], schema: pa.Schema) -> pa.RecordBatch:
    arrays = []
    for column, plan in zip(columns, plans):
        values = column.values
        offsets = pa.py_buffer(_ONE_ROW.pack(0, len(values)))
        arrays.append(pa.Array.from_buffers(plan.type, 1, [None, offsets], children=[values]))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _codec(name: str | None, level: int | None) -> pa.Codec | None:
    if name is None:
        return None
    return pa.Codec(name, compression_level=level) if level is not None else pa.Codec(name)


def _write(batch: pa.RecordBatch, options: pa.ipc.IpcWriteOptions, sink: pa.NativeFile) -> None:
    writer = pa.ipc.RecordBatchStreamWriter(sink, batch.schema, options=options)
    writer.write_batch(batch)
    writer.close()


def decode(section: pa.Buffer, config: Config) -> list[Column]:
    """The columns of a section, validated in full before any is turned into Python values."""
    layout = ipc_guard.scan(section, config.max_decompressed_bytes, EXTENSIONS)
    parsed = schemas.parse(layout.schema_metadata)
    if len(parsed.columns) > config.max_columns:
        raise DecodeError(f"Arrow section has {len(parsed.columns)} columns, over max_columns={config.max_columns}")
    try:
        if layout.has_dictionaries:  # pyarrow reads dictionary batches only as part of a stream
            batch = pa.ipc.open_stream(section).read_next_batch()
            batch.validate(full=True)
        else:
            batch = pa.ipc.read_record_batch(layout.record_batch, parsed.schema)
            validate_fully(batch, parsed.text_as_binary, lambda binary: pa.ipc.read_record_batch(layout.record_batch, binary))
    except (pa.ArrowException, OSError, StopIteration) as error:
        raise DecodeError(f"Arrow section: {error}") from None
    if batch.num_rows != 1:
        raise DecodeError(f"Arrow section must hold one row, found {batch.num_rows}")
    if parsed.may_be_byteless:
        byteless, measure = sum(map(byteless_elements, batch.columns)), max(section.size, layout.inflated_bytes)
        if byteless > byteless_allowance(measure):
            raise DecodeError(f"Arrow section holds {byteless} elements without bytes, over max({BYTELESS_FREE}, {BYTELESS_PER_BYTE} x {measure})")
    return [_column(index, parsed, data) for index, data in enumerate(batch.columns)]


def validate_fully(batch: pa.RecordBatch, text_as_binary: pa.Schema | None, read_as: Callable[[pa.Schema], pa.RecordBatch]) -> None:
    """``batch.validate(full=True)``, with the UTF-8 check of all-ASCII string data skipped.

    pyarrow checks every string byte by byte: 4.4 ms of a 1e6-row DataFrame's 7.4 ms decode.
    The same buffers are read again (``read_as``, zero-copy) under ``text_as_binary``, the
    schema with its strings as binary, the same layout, and that batch is validated in full
    (offsets and lengths checked all the same); then each string array's data is checked for a
    byte of 128 or more (numpy, 0.09 ms for that column), and only data holding one is checked
    as UTF-8 by pyarrow.
    """
    if text_as_binary is None:
        batch.validate(full=True)
        return
    read_as(text_as_binary).validate(full=True)
    for column in batch.columns:
        for text in _texts(column):
            data = text.buffers()[2]
            if data is not None and data.size and int(np.frombuffer(data, np.uint8).max()) >= 0x80:
                text.validate(full=True)


def _texts(array: pa.Array) -> Iterator[pa.Array]:
    """The string arrays in ``array`` at the places ``schemas.text_as_binary`` reads as binary."""
    kind = array.type
    if kind in schemas.TEXT_AS_BINARY:
        yield array
    elif pa.types.is_struct(kind):
        for i in range(kind.num_fields):
            yield from _texts(array.field(i))
    elif pa.types.is_map(kind):
        yield from _texts(array.keys)
        yield from _texts(array.items)
    elif pa.types.is_large_list(kind) or pa.types.is_list(kind) or pa.types.is_fixed_size_list(kind):
        yield from _texts(array.values)
    elif pa.types.is_dictionary(kind):
        yield from _texts(array.dictionary)


def _column(index: int, parsed: schemas.ParsedSchema, data: pa.LargeListArray) -> Column:
    if data.null_count:
        raise DecodeError(f"Arrow column {index} is null or has no kind")
    kind, meta, metadata = parsed.column(index)
    return Column(kind, _only_row(data), meta, metadata)


def _only_row(data: pa.LargeListArray) -> pa.Array:
    """The values of a validated one-row list (cheaper than ``flatten``, which runs a kernel)."""
    start, end = _ONE_ROW.unpack_from(data.buffers()[1], data.offset * 8)
    values = data.values
    return values if start == 0 and end == len(values) else values.slice(start, end - start)
