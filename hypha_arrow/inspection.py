"""``inspect``: what a frame holds, for people debugging the wire (the CLI prints it)."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from . import ipc_guard
from .buffers import address_of, ARROW_ALIGNMENT
from .config import DEFAULT_CONFIG
from .errors import DecodeError
from .framing import DESCRIPTOR_KEY, Buffer, FrameReader, is_skeleton, read_descriptor
from .families import EXTENSIONS
from .section import META_KEY


def inspect(data: Buffer) -> dict[str, Any]:
    """Header, skeleton, and for hybrid frames the Arrow schema with per-column sizes.

    Nothing is converted to Python values; bin values in the skeleton are shown by size.
    Bad input raises ``DecodeError``, as decoding does.
    """
    frame = FrameReader(data, DEFAULT_CONFIG)
    first = frame.read()
    if is_skeleton(first):
        header, skeleton = None, first  # a standalone value's frame
    else:
        header, skeleton = first, frame.read(optional=True)
    report: dict[str, Any] = {"frame_bytes": frame.size, "header": _printable(header), "hybrid": False}
    if is_skeleton(skeleton):
        report["hybrid"] = True
        report["section"] = _section(frame.rest(), skeleton[DESCRIPTOR_KEY])
    report["skeleton"] = _printable(skeleton)
    report["skeleton_end"] = frame.end
    return report


def _section(data: memoryview, descriptor: Any) -> dict[str, Any]:
    _, paths = read_descriptor(descriptor, DEFAULT_CONFIG)
    buffer = pa.py_buffer(data)
    layout = ipc_guard.scan(buffer, DEFAULT_CONFIG.max_decompressed_bytes, EXTENSIONS, with_sizes=True)
    try:
        batch = pa.ipc.open_stream(buffer).read_next_batch()
        batch.validate(full=True)  # sizes below read the batch's buffers
        names = batch.schema.names  # pyarrow raises for names that are not UTF-8 whenever it reads one
    except (pa.ArrowException, OSError, StopIteration, ValueError) as error:  # only pyarrow runs on the section here
        raise DecodeError(f"Arrow section: {error}") from None
    sizes = iter(layout.batch_buffer_sizes)
    columns = []
    for index, field in enumerate(batch.schema):
        if not pa.types.is_large_list(field.type):
            raise DecodeError(f"Arrow column {index} must be a large_list, got {field.type}")
        column = batch.column(index)
        wire = sum(next(sizes, 0) for _ in column.buffers())
        meta = _field_meta(index, field)
        columns.append({
            "name": names[index],
            "path": paths[index] if index < len(paths) else None,
            "kind": meta.pop("kind", None),
            "meta": meta,
            "type": str(field.type.value_type),
            "bytes": column.nbytes,
            "wire_bytes": wire,
        })
    return {
        "bytes": len(data),
        "aligned": address_of(data) % ARROW_ALIGNMENT == 0,
        "compression": descriptor.get("compression"),
        "inflated_bytes": layout.inflated_bytes,
        "columns": columns,
    }


def _field_meta(index: int, field: pa.Field) -> dict[str, Any]:
    """A column's ``hypha_arrow`` field metadata: a JSON object."""
    try:
        meta = json.loads((field.metadata or {}).get(META_KEY, b"{}"))
    except (ValueError, RecursionError):  # not UTF-8 or not JSON; nested past json's stack
        meta = None
    if not isinstance(meta, dict):
        raise DecodeError(f"Arrow column {index}: {META_KEY.decode()} metadata is not a JSON object")
    return meta


def _printable(value: Any) -> Any:
    """A copy of the skeleton with keys as str and bytes shown as their size, so it prints as JSON.

    Iterative: msgpack bounds the nesting (1024 levels), Python's stack does not have to.
    """
    root: list[Any] = [None]
    pending: list[tuple[Any, Any, Any]] = [(root, 0, value)]  # (copy's container, key, original item)
    while pending:
        target, key, item = pending.pop()
        if isinstance(item, dict):
            target[key] = copy = dict.fromkeys(map(str, item))
            pending.extend((copy, str(k), v) for k, v in item.items())
        elif isinstance(item, list):
            target[key] = copy = [None] * len(item)
            pending.extend((copy, i, v) for i, v in enumerate(item))
        else:
            target[key] = f"<{len(item)} bytes>" if isinstance(item, (bytes, bytearray)) else item
    return root[0]
