"""``inspect``: what a frame holds, for people debugging the wire (the CLI prints it)."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from . import ipc_guard
from .buffers import address_of, ARROW_ALIGNMENT
from .config import DEFAULT_CONFIG
from .errors import DecodeError
from .framing import DESCRIPTOR_KEY, Buffer, _unpack, _view
from .section import ALLOWED_EXTENSIONS, META_KEY


def inspect(data: Buffer) -> dict[str, Any]:
    """Header, skeleton, and for hybrid frames the Arrow schema with per-column sizes.

    Nothing is converted to Python values; bin values in the skeleton are shown by size.
    """
    view = _view(data)
    (first,), end = _unpack(data, 1, DEFAULT_CONFIG)
    if type(first) is dict and DESCRIPTOR_KEY in first:
        header, skeleton = None, first  # a standalone value's frame
    else:
        (header, skeleton), end = _unpack(data, 2, DEFAULT_CONFIG)
    report: dict[str, Any] = {"frame_bytes": len(view), "header": _printable(header), "hybrid": False}
    if type(skeleton) is dict and DESCRIPTOR_KEY in skeleton:
        report["hybrid"] = True
        report["section"] = _section(view[end:], skeleton[DESCRIPTOR_KEY])
    report["skeleton"] = _printable(skeleton)
    report["skeleton_end"] = end
    return report


def _section(data: memoryview, descriptor: Any) -> dict[str, Any]:
    buffer = pa.py_buffer(data)
    layout = ipc_guard.scan(buffer, DEFAULT_CONFIG.max_decompressed_bytes, ALLOWED_EXTENSIONS, with_sizes=True)
    try:
        reader = pa.ipc.open_stream(buffer)
        batch = reader.read_next_batch()
    except (pa.ArrowException, StopIteration) as error:
        raise DecodeError(f"Arrow section: {error}") from None
    sizes = iter(layout.batch_buffer_sizes)
    columns = []
    for index, field in enumerate(batch.schema):
        column = batch.column(index)
        wire = sum(next(sizes, 0) for _ in column.buffers())
        meta = json.loads((field.metadata or {}).get(META_KEY, b"{}"))
        columns.append({
            "name": field.name,
            "path": descriptor.get("columns", [None] * (index + 1))[index] if isinstance(descriptor, dict) else None,
            "kind": meta.pop("kind", None),
            "meta": meta,
            "type": str(column.type.value_type),
            "bytes": column.nbytes,
            "wire_bytes": wire,
        })
    return {
        "bytes": len(data),
        "aligned": address_of(data) % ARROW_ALIGNMENT == 0,
        "compression": descriptor.get("compression") if isinstance(descriptor, dict) else None,
        "inflated_bytes": layout.inflated_bytes,
        "columns": columns,
    }


def _printable(value: Any) -> Any:
    """The skeleton with bytes shown as their size, so it prints as JSON."""
    if isinstance(value, dict):
        return {str(k): _printable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_printable(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    return value
