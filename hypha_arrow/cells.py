"""Exact cells: one Python value as msgpack bytes that unpack to the same types.

Used where a column holds values of no single Arrow type (pandas object columns,
object arrays, record columns of mixed content). Plain msgpack would turn a tuple
into a list, ``numpy.float64`` into ``float`` and refuse big ints, so those travel
as msgpack extension types (numbers listed in ``docs/wire-format.md``); anything
outside this list is refused with ``EncodeError`` rather than changed.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import msgpack
import numpy as np
import pandas as pd
import pyarrow as pa

from .errors import DecodeError, EncodeError

BIG_INT = 1
DECIMAL = 2
TUPLE = 3
NA = 4
NUMPY_SCALAR = 5
NUMPY_ARRAY = 6

NUMBER_KINDS = "biufcmM"
"""numpy kinds of numbers, times and bools: their bytes are the value, whatever its size."""
RAW_SCALAR_KINDS = NUMBER_KINDS + "SU"
"""numpy kinds whose scalars and arrays are plain bytes, so ``frombuffer`` reads them back."""
_TEXT_SCALARS = {"U": (str, np.str_), "S": (bytes, np.bytes_)}
MAX_BIG_INT_DIGITS = 4300
"""Python's own default limit for int <-> str conversion (sys.int_info.default_max_str_digits)."""


MAX_TUPLE_NESTING = 32
"""Each nested tuple is one more msgpack call inside an extension hook, each with a large C
stack frame: a couple of hundred levels overflow the C stack, far below any Python limit."""


def packer(*, tuples: bool = True) -> msgpack.Packer:
    """A packer for cells; one per encode call, so threads never share one.

    ``tuples=False`` packs tuples as arrays (they arrive as lists), as msgpack does for the
    rest of a message: record rows follow the message's rules, pandas cells their own.
    """
    return msgpack.Packer(default=_Extensions(exact_tuples=tuples), strict_types=True)


def pack(cell_packer: msgpack.Packer, value: Any) -> bytes:
    """``value`` as exact msgpack bytes; EncodeError when it cannot come back as itself."""
    try:
        return cell_packer.pack(value)
    except UnicodeEncodeError as error:
        cell_packer.reset()
        raise EncodeError(f"a string is not valid UTF-8 ({error.reason} at {error.start})") from None
    except (TypeError, ValueError, OverflowError, RecursionError) as error:
        cell_packer.reset()
        raise EncodeError(f"cell cannot be sent exactly: {error}") from None


def pack_column(values: list[Any] | tuple[Any, ...], *, tuples: bool = True) -> list[bytes]:
    """Each of ``values`` as a cell; EncodeError naming the first that cannot be one (``[row]``).

    One ``map`` over the values (10,000 small lists: 1.3 ms; ``pack`` one at a time, 6 ms); only
    when one fails are they packed one at a time again, to say which and why.
    """
    cell_packer = packer(tuples=tuples)
    try:
        return list(map(cell_packer.pack, values))
    except (TypeError, ValueError, OverflowError, RecursionError):
        cell_packer.reset()
        for row, value in enumerate(values):
            try:
                pack(cell_packer, value)
            except EncodeError as error:
                raise EncodeError(error.reason, f"[{row}]") from None
        raise


class _Extensions:
    """msgpack ``default`` hook of one packer: extension types for what msgpack would change."""

    def __init__(self, exact_tuples: bool) -> None:
        self.exact_tuples = exact_tuples
        self.tuple_depth = 0

    def __call__(self, value: Any) -> Any:
        if type(value) is not tuple:
            return _extension(value)
        if not self.exact_tuples:
            return list(value)
        if self.tuple_depth >= MAX_TUPLE_NESTING:
            raise ValueError(f"tuples nested deeper than {MAX_TUPLE_NESTING} levels")
        self.tuple_depth += 1
        try:
            return msgpack.ExtType(TUPLE, msgpack.Packer(default=self, strict_types=True).pack(list(value)))
        finally:
            self.tuple_depth -= 1


def _extension(value: Any) -> msgpack.ExtType:
    kind = type(value)
    if kind is int:
        return msgpack.ExtType(BIG_INT, str(value).encode())
    if kind is Decimal:
        return msgpack.ExtType(DECIMAL, str(value).encode())
    if value is pd.NA:
        return msgpack.ExtType(NA, b"")
    if isinstance(value, np.generic) and value.dtype.kind in RAW_SCALAR_KINDS and kind is value.dtype.type:
        if value.dtype.kind in "US":  # their dtype's size is the text's, and numpy drops trailing NULs anyway
            return msgpack.ExtType(NUMPY_SCALAR, msgpack.packb([value.dtype.kind, value.item()]))
        return msgpack.ExtType(NUMPY_SCALAR, msgpack.packb([value.dtype.str, value.tobytes()]))
    if kind is np.ndarray and value.dtype.kind in RAW_SCALAR_KINDS and value.dtype.itemsize:
        order = "F" if value.flags.f_contiguous and not value.flags.c_contiguous else "C"
        form = [value.dtype.str, list(value.shape), order, value.tobytes(order=order)]
        return msgpack.ExtType(NUMPY_ARRAY, msgpack.packb(form))
    raise TypeError(f"type {kind.__module__}.{kind.__qualname__} is not carried in a cell")


class Unpacking:
    """Unpacks cells of one column; tuples nest at most ``MAX_TUPLE_NESTING`` deep (and ``max_depth``)."""

    def __init__(self, max_depth: int) -> None:
        self.max_depth = max_depth
        self._depth = 0

    def unpack(self, cell: bytes) -> Any:
        try:
            return msgpack.unpackb(cell, ext_hook=self._extension, strict_map_key=False, raw=False)
        except DecodeError:
            raise
        except (ValueError, TypeError, OverflowError, msgpack.UnpackException, InvalidOperation) as error:
            raise DecodeError(f"invalid cell: {type(error).__name__}: {error}") from None

    def unpack_column(self, column: pa.Array) -> list[Any]:
        """The cells of a ``large_binary`` column, a null slot as None.

        Read as one stream, each cell checked to end where its slot does (10,000 small lists:
        1.4x faster than ``unpack`` on each); a column with null slots cell by cell.
        """
        if column.null_count:
            return [None if cell is None else self.unpack(cell) for cell in column.to_pylist()]
        offsets = np.frombuffer(column.buffers()[1], dtype=np.int64, count=len(column) + 1, offset=column.offset * 8)
        start, end = int(offsets[0]), int(offsets[-1])
        stream = msgpack.Unpacker(ext_hook=self._extension, strict_map_key=False, raw=False, max_buffer_size=max(end - start, 1))
        if end > start:
            stream.feed(memoryview(column.buffers()[2])[start:end])
        cells, unpack, tell = [], stream.unpack, stream.tell
        try:
            for cell_end in (offsets[1:] - start).tolist():
                cells.append(unpack())
                if tell() != cell_end:
                    raise DecodeError(f"invalid cell: cell {len(cells) - 1} is not one whole msgpack value")
        except DecodeError:
            raise
        except msgpack.OutOfData:
            raise DecodeError(f"invalid cell: cell {len(cells)} is not one whole msgpack value") from None
        except (ValueError, TypeError, OverflowError, msgpack.UnpackException, InvalidOperation) as error:
            raise DecodeError(f"invalid cell: {type(error).__name__}: {error}") from None
        return cells

    def _extension(self, code: int, data: bytes) -> Any:
        if code == BIG_INT:
            if len(data) > MAX_BIG_INT_DIGITS + 1 or not data.lstrip(b"-").isdigit():
                raise DecodeError("invalid big int cell")
            return int(data)
        if code == DECIMAL:
            return Decimal(data.decode("ascii"))
        if code == TUPLE:
            return self._nested(data)
        if code == NA:
            return pd.NA
        if code == NUMPY_SCALAR:
            dtype_text, raw = msgpack.unpackb(data)
            if dtype_text in _TEXT_SCALARS and type(raw) is _TEXT_SCALARS[dtype_text][0]:
                return _TEXT_SCALARS[dtype_text][1](raw)
            dtype = raw_dtype(dtype_text)
            if not isinstance(raw, bytes) or len(raw) != dtype.itemsize:
                raise DecodeError("invalid numpy scalar cell")
            return np.frombuffer(raw, dtype=dtype)[0]
        if code == NUMPY_ARRAY:
            return _array(msgpack.unpackb(data))
        raise DecodeError(f"unknown cell extension type {code}")

    def _nested(self, data: bytes) -> tuple[Any, ...]:
        if self._depth >= min(self.max_depth, MAX_TUPLE_NESTING):
            raise DecodeError(f"tuples in a cell nested deeper than {min(self.max_depth, MAX_TUPLE_NESTING)} levels")
        self._depth += 1
        try:
            items = msgpack.unpackb(data, ext_hook=self._extension, strict_map_key=False, raw=False)
        finally:
            self._depth -= 1
        if type(items) is not list:
            raise DecodeError("invalid tuple cell")
        return tuple(items)


def dtype_from_text(text: Any) -> np.dtype | None:
    """The numpy dtype a wire string names, or None (never an object built from other input)."""
    try:
        return np.dtype(text) if isinstance(text, str) else None
    except (TypeError, ValueError):
        return None


def raw_dtype(text: Any) -> np.dtype:
    """The dtype a wire string names, if its values are plain bytes (``RAW_SCALAR_KINDS``); else DecodeError."""
    dtype = dtype_from_text(text)
    if dtype is None or dtype.kind not in RAW_SCALAR_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise DecodeError(f"invalid cell dtype {text!r}")
    return dtype


def _array(form: Any) -> np.ndarray:
    if not isinstance(form, list) or len(form) != 4:
        raise DecodeError("invalid numpy array cell")
    dtype_text, shape, order, raw = form
    dtype = raw_dtype(dtype_text)
    if (
        not isinstance(shape, list)
        or not all(type(n) is int and n >= 0 for n in shape)
        or order not in ("C", "F")
        or not isinstance(raw, bytes)
        or len(raw) != dtype.itemsize * int(np.prod(shape, dtype=object))
    ):
        raise DecodeError("invalid numpy array cell")
    return np.frombuffer(raw, dtype=dtype).reshape(shape, order=order)
