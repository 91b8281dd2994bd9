"""numpy arrays and scalars.

Large arrays travel as one flat Arrow array of their raw elements (C or Fortran
order kept, so no copy for either); shape, dtype and order ride in the metadata.
Small ones keep hypha-rpc's own ``{"_rtype": "ndarray", ...}`` form so the frame
stays byte-identical to stock. Numpy scalars use that form plus ``_rscalar``.
Dtypes Arrow has no type for but hypha-rpc carries (``longdouble``, ``V8``) keep
hypha-rpc's form at any size; structured dtypes travel as raw records with their
``descr``. Subclasses are refused unless they only change where the data lives
(``np.memmap``): a masked array or ``np.matrix`` arriving as a plain ndarray
would silently mean something else.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import pyarrow as pa

from .. import cells
from ..config import Config
from ..errors import DecodeError, EncodeError
from ..rpc.stock_forms import RAW_KINDS, stock_form
from .base import Column

STORAGE_ONLY_SUBCLASSES = (np.memmap,)
"""Subclasses that only change where the data lives: they arrive as plain ndarrays."""
CELLS_META = "cells"


def _arrow_holds(dtype: np.dtype) -> bool:
    """Whether an Arrow primitive type holds ``dtype``'s elements (not longdouble, not void)."""
    if dtype.kind in "biuMmUS":
        return True
    return (dtype.kind == "f" and dtype.itemsize <= 8) or (dtype.kind == "c" and dtype.itemsize <= 16)


def _is_structured(dtype: np.dtype) -> bool:
    return dtype.fields is not None


@functools.lru_cache(maxsize=256)  # a dtype's is asked on every encode and decode: 1 us, 0.1 cached
def _storage_type(dtype: np.dtype) -> pa.DataType:
    """Arrow type holding ``dtype``'s elements without conversion."""
    kind, size = dtype.kind, dtype.itemsize
    if kind == "b":
        return pa.uint8()
    if kind in "iu":
        return pa.from_numpy_dtype(np.dtype(f"{kind}{size}"))
    if kind == "f":
        return pa.from_numpy_dtype(np.dtype(f"f{size}"))
    if kind == "c":
        return pa.from_numpy_dtype(np.dtype(f"f{size // 2}"))
    if kind in "Mm":
        return pa.int64()
    return pa.binary(size)  # U, S, and structured records


def _elements_per_item(dtype: np.dtype) -> int:
    return 2 if dtype.kind == "c" else 1


class NdarrayFamily:
    types = (np.ndarray, np.generic)
    kinds = ("ndarray",)
    patterns = frozenset({"arrays"})
    extensions: frozenset[str] = frozenset()

    def msgpack_form(self, value: np.ndarray | np.generic, config: Config) -> dict[str, Any] | None:
        dtype = value.dtype
        if not isinstance(value, np.generic) and type(value) is not np.ndarray and not isinstance(value, STORAGE_ONLY_SUBCLASSES):
            raise EncodeError(
                f"{type(value).__module__}.{type(value).__qualname__} would arrive as a plain ndarray; "
                "send np.asarray(value) (and, for a masked array, its mask) instead"
            )
        if dtype.kind == "O" or _is_structured(dtype):
            return None
        if dtype.kind not in RAW_KINDS or dtype.itemsize == 0:
            raise EncodeError(f"numpy dtype {dtype} is not supported")
        if isinstance(value, np.generic) or not _arrow_holds(dtype) or value.nbytes < config.binary_threshold or not config.uses("arrays"):
            return stock_form(value)
        return None

    def encode(self, value: np.ndarray | np.generic, config: Config) -> Column | dict[str, Any]:
        form = self.msgpack_form(value, config)
        if form is not None:
            return form
        if isinstance(value, np.generic):
            raise EncodeError(f"numpy scalar of dtype {value.dtype} is not supported")
        if value.dtype.kind == "O":
            return _object_column(value)
        if value.dtype.hasobject:
            raise EncodeError(f"structured dtype {value.dtype} holds Python objects")
        return _raw_column(value)

    def decode(self, column: Column, config: Config) -> np.ndarray:
        meta = column.meta
        shape = _shape(meta.get("shape"))
        order = meta.get("order")
        if order not in ("C", "F"):
            raise DecodeError(f"invalid array order {order!r}")
        if meta.get("dtype") == "|O":
            return _from_object_column(column.values, shape, order, meta.get(CELLS_META), config.max_depth)
        dtype = _structured_dtype(meta.get("descr")) if "descr" in meta else _raw_dtype(meta.get("dtype"))
        return _from_raw_column(column.values, dtype, shape, order)


def _order(array: np.ndarray) -> str:
    return "F" if array.flags.f_contiguous and not array.flags.c_contiguous else "C"


def _raw_column(array: np.ndarray) -> Column:
    dtype, order = array.dtype, _order(array)
    structured = _is_structured(dtype)
    native = array if dtype.isnative or structured else array.astype(dtype.newbyteorder("="))
    flat = native.ravel(order=order)
    values = pa.Array.from_buffers(_storage_type(dtype), flat.size * _elements_per_item(dtype), [None, pa.py_buffer(flat)])
    meta: dict[str, Any] = {"dtype": dtype.str, "shape": list(array.shape), "order": order}
    if structured:
        meta["descr"] = np.lib.format.dtype_to_descr(dtype)
    return Column("ndarray", values, meta)


def _object_column(array: np.ndarray) -> Column:
    """str, bytes and None as Arrow strings; any other mix as exact cells."""
    order = _order(array)
    flat = array.ravel(order=order)
    meta: dict[str, Any] = {"dtype": "|O", "shape": list(array.shape), "order": order}
    kinds = set(map(type, flat))
    kinds.discard(type(None))
    try:
        if kinds <= {str}:
            return Column("ndarray", pa.array(flat, type=pa.large_string()), meta)
        if kinds <= {bytes}:
            return Column("ndarray", pa.array(flat, type=pa.large_binary()), meta)
        if kinds == {str, bytes}:
            return Column("ndarray", _str_bytes_union(flat), meta)
    except (UnicodeEncodeError, pa.ArrowInvalid):
        pass  # lone surrogates: the cells below name the element
    packer = cells.packer()
    packed = []
    for position, item in enumerate(flat):
        try:
            packed.append(cells.pack(packer, item))
        except EncodeError as error:
            where = "".join(f"[{int(i)}]" for i in np.unravel_index(position, array.shape, order=order))
            raise EncodeError(error.reason, where) from None
    meta[CELLS_META] = "msgpack"
    return Column("ndarray", pa.array(packed, type=pa.large_binary()), meta)


def _str_bytes_union(flat: np.ndarray) -> pa.Array:
    is_bytes = np.fromiter((type(v) is bytes for v in flat), dtype=bool, count=flat.size)
    offsets = np.empty(flat.size, dtype=np.int32)
    offsets[~is_bytes] = np.arange(np.count_nonzero(~is_bytes), dtype=np.int32)
    offsets[is_bytes] = np.arange(np.count_nonzero(is_bytes), dtype=np.int32)
    strings = pa.array(flat[~is_bytes], type=pa.large_string())
    blobs = pa.array(flat[is_bytes], type=pa.large_binary())
    return pa.UnionArray.from_dense(pa.array(is_bytes.astype(np.int8)), pa.array(offsets), [strings, blobs])


def _shape(shape: Any) -> tuple[int, ...]:
    if not isinstance(shape, list) or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
        raise DecodeError(f"invalid array shape {shape!r}")
    return tuple(shape)


def _raw_dtype(text: Any) -> np.dtype:
    dtype = cells.dtype_from_text(text)
    if dtype is None or not _arrow_holds(dtype) or dtype.itemsize == 0 or dtype.fields is not None:
        raise DecodeError(f"invalid array dtype {text!r}")
    return dtype


def _from_raw_column(values: pa.Array, dtype: np.dtype, shape: tuple[int, ...], order: str) -> np.ndarray:
    expected = _storage_type(dtype)
    count = math.prod(shape)
    if values.type != expected or len(values) != count * _elements_per_item(dtype) or values.null_count:
        raise DecodeError(f"array data of type {values.type} and length {len(values)} does not hold {count} {dtype}")
    native = dtype if dtype.isnative or _is_structured(dtype) else dtype.newbyteorder("=")  # records travel byte for byte
    data = values.buffers()[1]
    if count == 0 or data is None:
        flat = np.empty(0, dtype=native)
    else:
        flat = np.frombuffer(data, dtype=native, count=count, offset=values.offset * expected.byte_width)
    array = flat.reshape(shape, order=order)
    return array if dtype.isnative else array.astype(dtype)


def _structured_dtype(descr: Any) -> np.dtype:
    try:
        dtype = np.lib.format.descr_to_dtype(descr)
    except (TypeError, ValueError, KeyError, IndexError, RecursionError) as error:
        raise DecodeError(f"invalid structured dtype {descr!r:.200}: {error}") from None
    if not _is_structured(dtype) or dtype.hasobject or dtype.itemsize == 0:
        raise DecodeError(f"invalid structured dtype {descr!r:.200}")
    return dtype


def _from_object_column(values: pa.Array, shape: tuple[int, ...], order: str, cells_format: Any, max_depth: int) -> np.ndarray:
    if cells_format is not None:
        if cells_format != "msgpack" or not pa.types.is_large_binary(values.type) or values.null_count:
            raise DecodeError(f"object array cells must be large_binary msgpack, got {values.type}")
    elif not (pa.types.is_large_string(values.type) or pa.types.is_large_binary(values.type) or _is_str_bytes_union(values.type)):
        raise DecodeError(f"object array data must be strings or bytes, got {values.type}")
    if len(values) != math.prod(shape):
        raise DecodeError(f"object array of shape {shape} cannot hold {len(values)} values")
    flat = np.empty(len(values), dtype=object)
    items = values.to_pylist()
    if cells_format is not None:
        unpacking = cells.Unpacking(max_depth)
        items = [unpacking.unpack(item) for item in items]
    flat[:] = items
    return flat.reshape(shape, order=order)


def _is_str_bytes_union(kind: pa.DataType) -> bool:
    return (
        pa.types.is_union(kind)
        and kind.mode == "dense"
        and [f.type for f in kind] == [pa.large_string(), pa.large_binary()]
        and list(kind.type_codes) == [0, 1]
    )
