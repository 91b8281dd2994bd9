"""Tools for tests that take frames apart and put them back together like a server or an attacker."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import msgpack
import pyarrow as pa

from hypha_arrow.framing import DESCRIPTOR_KEY, FORMAT_VERSION
from hypha_arrow.rpc.stock_forms import placeholder


def split(frame: bytes) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    """Header, skeleton and Arrow section of a hybrid message frame."""
    unpacker = msgpack.Unpacker(io.BytesIO(frame), max_buffer_size=len(frame))
    header = unpacker.unpack()
    skeleton = unpacker.unpack()
    return header, skeleton, frame[unpacker.tell() :]


def join(header: dict[str, Any], skeleton: dict[str, Any], section: bytes, *, fix_length: bool = True) -> bytes:
    """A frame from its parts; the descriptor's length follows the section unless told not to."""
    if fix_length:
        skeleton[DESCRIPTOR_KEY]["length"] = len(section)
    return msgpack.packb(header) + msgpack.packb(skeleton) + section


def server_rewrite(frame: bytes, extra_header: dict[str, Any]) -> bytes:
    """What the Hypha server does: unpack the header only, change it, re-pack, append the rest verbatim."""
    unpacker = msgpack.Unpacker(io.BytesIO(frame), max_buffer_size=len(frame))
    header = unpacker.unpack()
    header.update(extra_header)
    return msgpack.packb(header) + frame[unpacker.tell() :]


def with_column_meta(frame: bytes, edit: Callable[[dict[str, Any]], None], column: int = 0) -> bytes:
    """The frame with column ``column``'s ``hypha_arrow`` JSON changed by ``edit``, as a hostile sender could."""
    header, skeleton, section = split(frame)
    batch = pa.ipc.open_stream(pa.py_buffer(section)).read_next_batch()
    fields = list(batch.schema)
    metadata = dict(fields[column].metadata)
    meta = json.loads(metadata[b"hypha_arrow"])
    edit(meta)
    metadata[b"hypha_arrow"] = json.dumps(meta).encode()
    fields[column] = fields[column].with_metadata(metadata)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, pa.schema(fields)) as writer:
        writer.write_batch(pa.RecordBatch.from_arrays(batch.columns, schema=pa.schema(fields)))
    return join(header, skeleton, sink.getvalue().to_pybytes())


def crafted_frame(
    values: pa.Array,
    item_metadata: dict[bytes, bytes] | None = None,
    kind: str = "array",
    section_field_metadata: dict[bytes, bytes] | None = None,
    meta: dict[str, Any] | None = None,
) -> bytes:
    """A standalone frame whose one column holds ``values``, its list item field carrying
    ``item_metadata`` and its ``hypha_arrow`` JSON ``kind`` plus ``meta``: what any sender,
    conforming or not, can put on the wire."""
    column = pa.LargeListArray.from_arrays(pa.array([0, len(values)], pa.int64()), values)
    if item_metadata is not None:
        column = column.view(pa.large_list(pa.field("item", values.type, metadata=item_metadata)))
    metadata = {**(section_field_metadata or {}), b"hypha_arrow": json.dumps({"kind": kind, **(meta or {})}).encode()}
    schema = pa.schema([pa.field("0", column.type, nullable=False, metadata=metadata)])
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema) as writer:
        writer.write_batch(pa.record_batch([column], schema=schema))
    section = sink.getvalue().to_pybytes()
    descriptor = {"version": FORMAT_VERSION, "length": len(section), "compression": None, "columns": [["value"]], "pad": b""}
    return msgpack.packb({"value": placeholder(0), DESCRIPTOR_KEY: descriptor}) + section
