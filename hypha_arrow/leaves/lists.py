"""Homogeneous Python lists: ints, floats, bools, strings or bytes, with None allowed.

Each element type maps to one Arrow type, so the decoded list has the same
element types; anything mixed, or ints beyond int64, declines and stays msgpack.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from ..config import Config
from ..errors import DecodeError
from .base import Column

_NONE = type(None)
ARROW_TYPES: dict[type, pa.DataType] = {
    bool: pa.bool_(),
    int: pa.int64(),
    float: pa.float64(),
    str: pa.string(),
    bytes: pa.binary(),
}
WIDE_TYPES = {str: pa.large_string(), bytes: pa.large_binary()}
"""Past 2 GiB of text, 32-bit offsets (half the offset bytes on the wire) no longer fit."""
DECODABLE_TYPES = frozenset(ARROW_TYPES.values()) | frozenset(WIDE_TYPES.values())
_ITEM_BYTES = {bool: 1, int: 8, float: 8}


def element_type(values: list[Any] | tuple[Any, ...]) -> type | None:
    """The one element type of ``values`` (None ignored), or None when mixed or all None."""
    kinds = set(map(type, values))
    kinds.discard(_NONE)
    return kinds.pop() if len(kinds) == 1 else None


def data_size(kind: type, values: list[Any] | tuple[Any, ...]) -> int:
    """Bytes the elements' data occupies, to compare with the binary threshold."""
    if kind in _ITEM_BYTES:
        return _ITEM_BYTES[kind] * len(values)
    return sum(len(v) for v in values if v is not None)


def to_arrow(kind: type, values: list[Any] | tuple[Any, ...]) -> pa.Array | None:
    """``values`` as an Arrow array of ``kind``'s type, or None if they do not fit (big ints)."""
    try:
        return pa.array(values, type=ARROW_TYPES[kind])
    except pa.ArrowCapacityError:
        return pa.array(values, type=WIDE_TYPES[kind])
    except (OverflowError, pa.ArrowInvalid):
        return None


class ListLeaf:
    kinds = ("list",)

    def encode(self, value: list[Any] | tuple[Any, ...], config: Config) -> Column | None:
        if not value:
            return None
        kind = element_type(value)
        if kind is None or kind not in ARROW_TYPES:
            return None
        enabled = config.uses("strings") if kind in (str, bytes) else config.uses("arrays") and config.typed_array_optimization
        if not enabled or data_size(kind, value) < config.binary_threshold:
            return None
        values = to_arrow(kind, value)
        return None if values is None else Column("list", values)

    def decode(self, column: Column, config: Config) -> list[Any]:
        if column.values.type not in DECODABLE_TYPES:
            raise DecodeError(f"list data of type {column.values.type} is not supported")
        return column.values.to_pylist()
