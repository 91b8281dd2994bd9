"""Homogeneous Python lists: ints, floats, bools, strings or bytes, with None allowed;
and lists of small numpy arrays sharing one dtype and shape (``array_column``).

Each element type maps to one Arrow type, so the decoded list has the same
element types; anything mixed, or ints beyond int64, declines and stays msgpack.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from ..config import Config
from ..errors import DecodeError, EncodeError
from .array_column import decode_arrays, encode_arrays
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
TEXT_TYPES = frozenset(WIDE_TYPES.values()) | {pa.string(), pa.binary()}
DECODABLE_TYPES = frozenset(ARROW_TYPES.values()) | TEXT_TYPES

DICTIONARY_MIN_LENGTH = 1024
DICTIONARY_PROBE = 1024
"""When compression is on, repeated strings (labels, categories) are dictionary-encoded
if a probe of this many evenly spaced values finds at most half of them distinct."""
_ITEM_BYTES = {bool: 1, int: 8, float: 8}
_NEVER_LISTED = frozenset({dict, list, tuple})
"""Lists holding one of these are no list this family sends (records, nested lists)."""
NUMPY_LISTED = frozenset({pa.int64(), pa.float64(), pa.bool_()})
"""Types whose null-free arrays become Python lists fastest through numpy's ``tolist``
(10,000 int64: 0.1 ms against 0.2 ms for ``to_pylist``)."""
SHARED_ARRAY_MAX_BYTES = 64 * 1024
"""Arrays of a list share one column up to this size each: one copy more (the stacking), but
one column instead of one per array, about 0.06 ms each (40 arrays of 8 KB: 0.4 ms shared,
2.7 ms apart; of 64 KB: 8.0 against 9.4 ms). From 256 KB the copy costs as much (7.8 ms both),
beyond it more: a larger array is worth its own column, which keeps its memory uncopied."""


def element_type(values: list[Any] | tuple[Any, ...]) -> type | None:
    """The one element type of ``values`` (None ignored), or None when mixed or all None."""
    kinds = set(map(type, values))
    kinds.discard(_NONE)
    return kinds.pop() if len(kinds) == 1 else None


def data_size(kind: type, values: list[Any] | tuple[Any, ...]) -> int:
    """Bytes the elements' data occupies, to compare with the binary threshold."""
    if kind in _ITEM_BYTES:
        return _ITEM_BYTES[kind] * len(values)
    try:
        return sum(map(len, values))
    except TypeError:  # None among the values
        return sum(len(v) for v in values if v is not None)


def to_arrow(kind: type, values: list[Any] | tuple[Any, ...], config: Config) -> pa.Array | None:
    """``values`` as an Arrow array of ``kind``'s type, or None if they do not fit (big ints)."""
    try:
        array = pa.array(values, type=ARROW_TYPES[kind])
    except pa.ArrowCapacityError:
        array = pa.array(values, type=WIDE_TYPES[kind])
    except UnicodeEncodeError:
        raise _invalid_text(values) from None
    except (OverflowError, pa.ArrowInvalid):
        return None
    compressing = config.compression_algorithm is not None and config.uses("compression")
    return _dictionary_encoded(array, values) if compressing and kind in WIDE_TYPES else array


def _invalid_text(values: list[Any] | tuple[Any, ...]) -> EncodeError:
    """Name the first string msgpack and Arrow cannot write (a lone surrogate such as ``'\\ud800'``)."""
    for index, value in enumerate(values):
        try:
            if value is not None:
                value.encode()
        except UnicodeEncodeError as error:
            return EncodeError(f"string is not valid UTF-8 ({error.reason} at {error.start})", f"[{index}]")
    return EncodeError("a string is not valid UTF-8")


def _dictionary_encoded(array: pa.Array, values: list[Any] | tuple[Any, ...]) -> pa.Array:
    """``array`` as indices into its distinct values, when values repeat enough to shrink it."""
    if len(values) < DICTIONARY_MIN_LENGTH:
        return array
    step = len(values) // DICTIONARY_PROBE
    if len(set(values[::step])) > DICTIONARY_PROBE // 2:
        return array
    encoded = array.dictionary_encode()
    dictionary = encoded.dictionary
    index_type = pa.int8() if len(dictionary) <= 127 else pa.int16() if len(dictionary) <= 32767 else pa.int32()
    encoded = pa.DictionaryArray.from_arrays(encoded.indices.cast(index_type), dictionary)
    return encoded if encoded.nbytes <= array.nbytes // 2 else array


def is_decodable(kind: pa.DataType) -> bool:
    """A type ``to_arrow`` can produce."""
    if pa.types.is_dictionary(kind):
        return kind.value_type in TEXT_TYPES
    return kind in DECODABLE_TYPES


class ScalarListFamily:
    kinds = ("list",)
    patterns = frozenset({"strings", "arrays"})  # str/bytes lists; number and bool lists

    def encode(self, value: list[Any] | tuple[Any, ...], config: Config) -> Column | None:
        if not value or type(value[0]) in _NEVER_LISTED:  # one look, not a pass over every row
            return None
        kind = element_type(value)
        if kind is np.ndarray:
            return _array_list(value, config)
        if kind is None or kind not in ARROW_TYPES:
            return None
        enabled = config.uses("strings") if kind in (str, bytes) else config.uses("arrays") and config.typed_array_optimization
        if not enabled or data_size(kind, value) < config.binary_threshold:
            return None
        values = to_arrow(kind, value, config)
        return None if values is None else Column("list", values)

    def decode(self, column: Column, config: Config) -> list[Any]:
        if "dtype" in column.meta:
            return decode_arrays(column.values, column.meta)
        if not is_decodable(column.values.type):
            raise DecodeError(f"list data of type {column.values.type} is not supported")
        return python_list(column.values)


def _array_list(values: list[Any] | tuple[Any, ...], config: Config) -> Column | None:
    """Arrays sharing dtype, shape and order as one column, when they add up to the threshold;
    not one array alone (hypha-rpc's ``args`` of a call with one argument): its own column is as quick."""
    if len(values) < 2 or not config.uses("arrays") or sum(v.nbytes for v in values if v is not None) < config.binary_threshold:
        return None
    shared = encode_arrays(values, SHARED_ARRAY_MAX_BYTES)
    return None if shared is None else Column("list", *shared)


def python_list(values: pa.Array) -> list[Any]:
    """``values.to_pylist()``, fast for dictionary arrays (whose ``to_pylist`` boxes every index)
    and for numbers and bools (numpy's ``tolist``, Nones put in after)."""
    if values.type in NUMPY_LISTED:
        if not values.null_count:
            return values.to_numpy(zero_copy_only=False).tolist()
        items = values.fill_null(False if values.type == pa.bool_() else 0).to_numpy(zero_copy_only=False).tolist()
        for index in np.flatnonzero(values.is_null().to_numpy(zero_copy_only=False)).tolist():
            items[index] = None
        return items
    if not pa.types.is_dictionary(values.type):
        return values.to_pylist()
    distinct = np.empty(len(values.dictionary) + 1, dtype=object)
    distinct[:-1] = values.dictionary.to_pylist()  # the extra last slot stands for null
    indices = values.indices.fill_null(-1).to_numpy(zero_copy_only=False)
    return distinct[indices].tolist()
