"""numpy arrays and scalars.

Large arrays travel as one flat Arrow array of their raw elements (C or Fortran
order kept, so no copy for either); shape, dtype and order ride in the metadata.
Small ones keep hypha-rpc's own ``{"_rtype": "ndarray", ...}`` form so the frame
stays byte-identical to stock. Numpy scalars use that form plus ``_rscalar``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa

from ..config import Config
from ..errors import DecodeError, EncodeError
from .base import Column

RAW_KINDS = "biufcMmUS"
"""dtype kinds stored as raw element bytes; object arrays go through Arrow strings."""


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
    return pa.binary(size)


def _elements_per_item(dtype: np.dtype) -> int:
    return 2 if dtype.kind == "c" else 1


def stock_form(value: np.ndarray | np.generic) -> dict[str, Any]:
    """hypha-rpc's msgpack encoding of an array, key for key."""
    form = {
        "_rtype": "ndarray",
        "_rvalue": value.tobytes(),
        "_rshape": list(value.shape),
        "_rdtype": str(value.dtype),
    }
    if isinstance(value, np.generic):
        form["_rscalar"] = True
    return form


def from_stock_form(form: dict[str, Any]) -> np.ndarray | np.generic:
    """Rebuild an array from hypha-rpc's form, refusing dtypes that read raw pointers."""
    try:
        dtype = np.dtype(form["_rdtype"])
        shape = tuple(int(n) for n in form["_rshape"])
        raw = form["_rvalue"]
        if dtype.kind not in RAW_KINDS or not isinstance(raw, bytes):
            raise ValueError(f"dtype {dtype} cannot be read from raw bytes")
        array = np.frombuffer(raw, dtype=dtype).reshape(shape)
    except (KeyError, TypeError, ValueError) as error:
        raise DecodeError(f"invalid ndarray value: {error}") from None
    return array[()] if form.get("_rscalar") and array.ndim == 0 else array


class NdarrayLeaf:
    kinds = ("ndarray",)

    def msgpack_form(self, value: np.ndarray | np.generic, config: Config) -> dict[str, Any] | None:
        kind = value.dtype.kind
        if kind == "O":
            return None
        if kind not in RAW_KINDS or value.dtype.itemsize == 0:
            raise EncodeError(f"numpy dtype {value.dtype} is not supported")
        if isinstance(value, np.generic) or value.nbytes < config.binary_threshold or not config.uses("arrays"):
            return stock_form(value)
        return None

    def encode(self, value: np.ndarray | np.generic, config: Config) -> Column | dict[str, Any]:
        form = self.msgpack_form(value, config)
        if form is not None:
            return form
        if value.dtype.kind == "O":
            return _object_column(np.asarray(value))
        return _raw_column(value)

    def decode(self, column: Column, config: Config) -> np.ndarray:
        meta = column.meta
        shape = _shape(meta.get("shape"))
        order = meta.get("order")
        if order not in ("C", "F"):
            raise DecodeError(f"invalid array order {order!r}")
        if meta.get("dtype") == "|O":
            return _from_object_column(column.values, shape, order)
        dtype = _raw_dtype(meta.get("dtype"))
        return _from_raw_column(column.values, dtype, shape, order)


def _raw_column(array: np.ndarray) -> Column:
    order = "F" if array.flags.f_contiguous and not array.flags.c_contiguous else "C"
    native = array if array.dtype.isnative else array.astype(array.dtype.newbyteorder("="))
    flat = native.ravel(order="F" if order == "F" else "C")
    storage = _storage_type(array.dtype)
    count = flat.size * _elements_per_item(array.dtype)
    values = pa.Array.from_buffers(storage, count, [None, pa.py_buffer(flat)])
    meta = {"dtype": array.dtype.str, "shape": list(array.shape), "order": order}
    return Column("ndarray", values, meta)


def _object_column(array: np.ndarray) -> Column:
    flat = array.ravel()
    kinds = set(map(type, flat))
    kinds.discard(type(None))
    if kinds <= {str}:
        values = pa.array(flat, type=pa.large_string())
    elif kinds <= {bytes}:
        values = pa.array(flat, type=pa.large_binary())
    elif kinds == {str, bytes}:
        values = _str_bytes_union(flat)
    else:
        names = sorted(k.__name__ for k in kinds - {str, bytes})
        raise EncodeError(f"object arrays may hold only str, bytes and None, found {', '.join(names)}")
    return Column("ndarray", values, {"dtype": "|O", "shape": list(array.shape), "order": "C"})


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
    try:
        dtype = np.dtype(text) if isinstance(text, str) else None
    except TypeError:
        dtype = None
    if dtype is None or dtype.kind not in RAW_KINDS or dtype.itemsize == 0 or dtype.fields is not None:
        raise DecodeError(f"invalid array dtype {text!r}")
    return dtype


def _from_raw_column(values: pa.Array, dtype: np.dtype, shape: tuple[int, ...], order: str) -> np.ndarray:
    expected = _storage_type(dtype)
    count = math.prod(shape)
    if values.type != expected or len(values) != count * _elements_per_item(dtype) or values.null_count:
        raise DecodeError(f"array data of type {values.type} and length {len(values)} does not hold {count} {dtype}")
    native = dtype.newbyteorder("=")
    data = values.buffers()[1]
    if count == 0 or data is None:
        flat = np.empty(0, dtype=native)
    else:
        flat = np.frombuffer(data, dtype=native, count=count, offset=values.offset * expected.byte_width)
    array = flat.reshape(shape, order=order)
    return array if dtype.isnative else array.astype(dtype)


def _from_object_column(values: pa.Array, shape: tuple[int, ...], order: str) -> np.ndarray:
    if not (pa.types.is_large_string(values.type) or pa.types.is_large_binary(values.type) or _is_str_bytes_union(values.type)):
        raise DecodeError(f"object array data must be strings or bytes, got {values.type}")
    if len(values) != math.prod(shape):
        raise DecodeError(f"object array of shape {shape} cannot hold {len(values)} values")
    flat = np.empty(len(values), dtype=object)
    flat[:] = values.to_pylist()
    return flat.reshape(shape, order=order)


def _is_str_bytes_union(kind: pa.DataType) -> bool:
    return (
        pa.types.is_union(kind)
        and kind.mode == "dense"
        and [f.type for f in kind] == [pa.large_string(), pa.large_binary()]
        and list(kind.type_codes) == [0, 1]
    )
