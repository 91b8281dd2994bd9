"""Many small numpy arrays of one dtype and shape as one Arrow column (wire format 4.4, 4.5).

A list of embeddings, or a record key holding one per row, would otherwise cost one Arrow
column (or one msgpack cell) per array, about 0.1 ms each (5000 arrays of 1 KB: 632 ms against
stock's 131 ms). Arrays sharing dtype, shape and order travel instead as one
``fixed_size_binary`` column, each value one array's elements as ``tobytes`` gives them in that
order, little-endian; a null is None. Decoding gives each array back as its own read-only view
into one block, in order; anything the column cannot keep exactly (another subclass, mixed
dtypes, shapes or orders, 0-d or empty arrays) is left to the caller's other forms.
"""

from __future__ import annotations

import math
from operator import attrgetter
from typing import Any

import numpy as np
import pyarrow as pa

from .. import cells
from ..errors import DecodeError

MAX_ITEM_BYTES = (1 << 31) - 1
"""Arrow's fixed_size_binary width is an int32."""
KINDS = "biufcmMUS"
"""Bools, numbers, times, strings and bytes; long double and its complex are left out (their
bytes are no number's in JavaScript, whose decoders keep them in the dtype's own byte order)."""
_NONE = type(None)
_DTYPE = attrgetter("dtype")
_SHAPE = attrgetter("shape")


def encode_arrays(values: list[Any] | tuple[Any, ...], max_item_bytes: int = MAX_ITEM_BYTES) -> tuple[pa.Array, dict[str, Any]] | None:
    """``values`` (numpy arrays and None) as one column and its ``dtype``/``shape``/``order``, or None.

    None unless they are plain ``np.ndarray`` (at least one) sharing one dtype of ``KINDS``, one
    shape of at least one dimension and one element, and one order, each within ``max_item_bytes``.
    """
    kinds = set(map(type, values))
    has_none = _NONE in kinds
    kinds.discard(_NONE)
    if kinds != {np.ndarray}:
        return None
    present = [v for v in values if v is not None] if has_none else values
    first = present[0]
    dtype, shape = first.dtype, first.shape
    if (
        not _shareable(dtype)
        or not shape
        or not 0 < first.nbytes <= min(max_item_bytes, MAX_ITEM_BYTES)
        or len(set(map(_DTYPE, present))) != 1
        or len(set(map(_SHAPE, present))) != 1
    ):
        return None
    order = _order(present) if len(shape) > 1 else "C"
    if order is None:
        return None
    if has_none:
        blank = np.zeros(shape, dtype)
        items = [blank if v is None else v for v in values]
    else:
        items = values
    # each array's elements in its order, little-endian, one after the other (np.stack: 7x slower)
    block = np.concatenate([v.T for v in items] if order == "F" else items, dtype=dtype.newbyteorder("<"), casting="equiv")
    validity = pa.array([v is not None for v in values]).buffers()[1] if has_none else None
    array = pa.Array.from_buffers(pa.binary(first.nbytes), len(values), [validity, pa.py_buffer(block)])
    return array, {"dtype": dtype.str, "shape": list(shape), "order": order}


def _order(arrays: list[Any] | tuple[Any, ...]) -> str | None:
    """"F" when every array is Fortran-ordered (and not also C), "C" when none is, else None."""
    fortran = {a.flags.f_contiguous and not a.flags.c_contiguous for a in arrays}
    return None if len(fortran) > 1 else "F" if fortran.pop() else "C"


def decode_arrays(values: pa.Array, meta: Any) -> list[np.ndarray | None]:
    """The arrays ``encode_arrays`` made ``values`` of, as views of one read-only block."""
    if not isinstance(meta, dict):
        raise DecodeError(f"invalid array column metadata {meta!r:.200}")
    dtype, shape, order = _dtype(meta.get("dtype")), meta.get("shape"), meta.get("order")
    if (
        not isinstance(shape, list)
        or not shape
        or not all(type(n) is int and n > 0 for n in shape)
        or order not in ("C", "F")
    ):
        raise DecodeError(f"invalid array column shape {shape!r:.200} or order {order!r:.20}")
    width = dtype.itemsize * math.prod(shape)
    if width > MAX_ITEM_BYTES or values.type != pa.binary(width):
        raise DecodeError(f"array column of type {values.type} does not hold {dtype} arrays of shape {tuple(shape)}")
    count = len(values)
    wire = dtype.newbyteorder("<")
    if count:
        flat = np.frombuffer(values.buffers()[1], dtype=wire, count=count * (width // dtype.itemsize), offset=values.offset * width)
    else:
        flat = np.empty(0, dtype=wire)
    if wire != dtype:
        flat = flat.astype(dtype)
        flat.flags.writeable = False
    try:
        if order == "C":
            arrays: list[Any] = list(flat.reshape((count, *shape)))
        else:
            arrays = [a.T for a in flat.reshape((count, *shape[::-1]))]
    except ValueError as error:  # more dimensions than numpy has
        raise DecodeError(f"invalid array column shape {tuple(shape)}: {error}") from None
    if values.null_count:
        valid = values.is_valid().to_numpy(zero_copy_only=False).tolist()
        arrays = [a if ok else None for a, ok in zip(arrays, valid)]
    return arrays


def _shareable(dtype: np.dtype) -> bool:
    kind, size = dtype.kind, dtype.itemsize
    return kind in KINDS and size > 0 and dtype.fields is None and not (kind == "f" and size > 8 or kind == "c" and size > 16)


def _dtype(text: Any) -> np.dtype:
    dtype = cells.dtype_from_text(text)
    if dtype is None or not _shareable(dtype) or dtype.subdtype is not None:
        raise DecodeError(f"invalid array column dtype {text!r}")
    return dtype
