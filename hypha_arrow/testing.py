"""Exact equality of decoded values: ``assert_same(expected, actual)``.

hypha_arrow's contract is that ``decode(encode(x))`` is ``x`` in every detail, not merely
``==`` to it: a codec that turns a tuple into a list, an ``int64`` column into ``float64`` or a
``RangeIndex`` into an ``Index`` has changed the message. ``==``, ``numpy.testing`` and
``pandas.testing`` each forgive some of that, so this one comparison (like ``pandas.testing``
or ``polars.testing``, public) is what the tests and the benchmarks hold every decoded value
to. "The same" means, at every level:

* the same Python type (``1`` vs ``1.0`` vs ``True`` vs ``numpy.int64(1)``, ``list`` vs
  ``tuple`` vs ``ndarray``, ``str`` vs ``numpy.str_``); dicts with the same keys, key types
  and key order;
* floats equal with NaN equal to NaN and ``-0.0`` distinct from ``0.0``; ``Decimal`` by
  ``as_tuple()`` (``Decimal('1.1')`` differs from ``Decimal('1.100')``, ``NaN`` equals
  ``NaN``); timestamps with the same tz and unit;
* numpy arrays of the same class (``matrix``, ``memmap``, ``recarray``, masked arrays and
  their mask, data and fill value), dtype (byte order included), shape, C/F contiguity and
  values; object arrays element by element, element types included;
* pandas DataFrame/Series/Index under ``pandas.testing`` with every check on, plus the
  types of column labels, index values and index names, the cells of object columns,
  categories, ``attrs`` and ``flags.allows_duplicate_labels``;
* pyarrow tables, batches and arrays equal with their (field and schema) metadata;
* polars DataFrame/Series with the same schema (or name and dtype) under ``polars.testing``
  with exact values (a polars value means polars is already imported: this module imports
  neither polars nor hypha-rpc).

The one allowance: where a plain ``dict`` is expected, hypha-rpc's ``ObjectProxy`` (a dict
subclass stock hypha-rpc decodes every dict to) is accepted, so the stock benchmark path
can be verified too. hypha_arrow's own decoders never produce it.
"""

from __future__ import annotations

import datetime
import decimal
import math
import sys
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa


__all__ = ["MismatchError", "assert_same"]


class MismatchError(AssertionError):
    """A path decoded something other than what was encoded."""


_DICT_STANDINS = frozenset({("hypha_rpc.utils", "ObjectProxy")})
"""Dict subclasses accepted where a plain dict is expected (stock hypha-rpc's decoding)."""
_TRIVIALLY_COMPARABLE = frozenset({str, bytes, int, bool, type(None)})
"""Element types for which ``==`` plus the element types decides sameness (no NaN, no -0.0)."""


def assert_same(expected: Any, actual: Any, where: str = "message") -> None:
    """Raise MismatchError unless ``actual`` equals ``expected`` in type, shape and value.

    Types are compared strictly (1 != 1.0, tuple != list) at every level: a codec that
    silently changes a type has changed the message. ``where`` names the value in errors
    (``message[1]['args'][0].columns[2]``).
    """
    if expected is actual:
        return
    for kind, check in _CHECKS:
        if isinstance(expected, kind):
            check(expected, actual, where)
            return
    if _is_polars(expected):
        _same_polars(expected, actual, where)
        return
    _same_scalar(expected, actual, where)


def _fail(where: str, message: str) -> None:
    raise MismatchError(f"{where}: {message}")


def _short(value: Any, limit: int = 200) -> str:
    try:
        text = repr(value)
    except Exception as error:  # a repr that fails is still something to report
        text = f"<{type(value).__name__} whose repr raised {error!r}>"
    return text if len(text) <= limit else text[:limit] + "..."


def _type_name(value: Any) -> str:
    kind = type(value)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def _same_type(expected: Any, actual: Any, where: str) -> None:
    if type(expected) is not type(actual):
        _fail(where, f"expected {_type_name(expected)} {_short(expected)}, got {_type_name(actual)} {_short(actual)}")


# ---------------------------------------------------------------- Python scalars


def _same_scalar(expected: Any, actual: Any, where: str) -> None:
    """Anything without a dedicated check: same type, and ``==`` says True."""
    _same_type(expected, actual, where)
    try:
        equal = expected == actual
        equal = bool(equal) if isinstance(equal, (bool, np.bool_)) else None
    except Exception as error:  # pd.NA-like values, or an == that raises
        _fail(where, f"cannot compare {_short(expected)} with {_short(actual)}: {type(error).__name__}: {error}")
    if equal is None:
        _fail(where, f"{_type_name(expected)} == gives no truth value for {_short(expected)}")
    if not equal:
        _fail(where, f"expected {_short(expected)}, got {_short(actual)}")


def _same_float(expected: float, actual: Any, where: str) -> None:
    _same_type(expected, actual, where)
    if math.isnan(expected) and math.isnan(actual):
        return
    if expected != actual or math.copysign(1.0, expected) != math.copysign(1.0, actual):
        _fail(where, f"expected {expected!r}, got {actual!r}")


def _same_complex(expected: complex, actual: Any, where: str) -> None:
    _same_type(expected, actual, where)
    _same_float(expected.real, actual.real, f"{where}.real")
    _same_float(expected.imag, actual.imag, f"{where}.imag")


def _same_decimal(expected: decimal.Decimal, actual: Any, where: str) -> None:
    _same_type(expected, actual, where)
    if expected.as_tuple() != actual.as_tuple():
        _fail(where, f"expected Decimal({str(expected)!r}), got Decimal({str(actual)!r})")


def _same_datetime(expected: datetime.datetime, actual: Any, where: str) -> None:
    """Same instant, same tz (not merely the same instant elsewhere), same unit and fold."""
    _same_scalar(expected, actual, where)
    if str(expected.tzinfo) != str(actual.tzinfo) or expected.fold != actual.fold:
        _fail(where, f"expected tz {expected.tzinfo!r}, got {actual.tzinfo!r}")
    if isinstance(expected, pd.Timestamp) and (expected.unit != actual.unit or expected.nanosecond != actual.nanosecond):
        _fail(where, f"expected {expected!r} (unit {expected.unit}), got {actual!r} (unit {actual.unit})")


def _same_timedelta(expected: datetime.timedelta, actual: Any, where: str) -> None:
    _same_scalar(expected, actual, where)
    if isinstance(expected, pd.Timedelta) and (expected.unit, int(expected.asm8.view("i8"))) != (actual.unit, int(actual.asm8.view("i8"))):
        _fail(where, f"expected {expected!r} (unit {expected.unit}), got {actual!r} (unit {actual.unit})")


def _same_interval(expected: pd.Interval, actual: Any, where: str) -> None:
    _same_type(expected, actual, where)
    if expected.closed != actual.closed:
        _fail(where, f"expected closed={expected.closed!r}, got {actual.closed!r}")
    assert_same(expected.left, actual.left, f"{where}.left")
    assert_same(expected.right, actual.right, f"{where}.right")


def _same_period(expected: pd.Period, actual: Any, where: str) -> None:
    _same_type(expected, actual, where)
    if expected.freqstr != actual.freqstr or expected.ordinal != actual.ordinal:
        _fail(where, f"expected {expected!r}, got {actual!r}")


def _same_memoryview(expected: memoryview, actual: Any, where: str) -> None:
    _same_type(expected, actual, where)
    if (expected.format, expected.shape, expected.itemsize) != (actual.format, actual.shape, actual.itemsize):
        _fail(where, f"expected memoryview {expected.format} {expected.shape}, got {actual.format} {actual.shape}")
    if expected.tobytes() != actual.tobytes():
        _fail(where, "memoryview bytes differ")


# ---------------------------------------------------------------- containers


def _same_dict(expected: dict, actual: Any, where: str) -> None:
    standin = type(expected) is dict and (type(actual).__module__, type(actual).__qualname__) in _DICT_STANDINS
    if not standin:
        _same_type(expected, actual, where)
    keys, actual_keys = list(expected), list(actual)
    if len(keys) != len(actual_keys):
        _fail(where, f"expected keys {_short(keys)}, got {_short(actual_keys)}")
    _same_sequence(keys, actual_keys, f"{where}.keys()")
    for key, actual_key in zip(keys, actual_keys):
        assert_same(expected[key], actual[actual_key], f"{where}[{key!r}]")


def _same_sequence(expected: list | tuple, actual: Any, where: str) -> None:
    _same_type(expected, actual, where)
    if len(expected) != len(actual):
        _fail(where, f"expected length {len(expected)}, got {len(actual)}")
    kinds = set(map(type, expected))
    if kinds <= _TRIVIALLY_COMPARABLE:  # fast paths for long plain lists
        if list(map(type, expected)) == list(map(type, actual)) and expected == actual:
            return
    elif kinds == {float} and set(map(type, actual)) == {float}:
        _same_floats(np.array(expected, dtype=float), np.array(actual, dtype=float), where)
        return
    for index, (want, got) in enumerate(zip(expected, actual)):
        assert_same(want, got, f"{where}[{index}]")


def _same_set(expected: set | frozenset, actual: Any, where: str) -> None:
    _same_type(expected, actual, where)
    if expected != actual or sorted(map(_type_name, expected)) != sorted(map(_type_name, actual)):
        _fail(where, f"expected {_short(expected)}, got {_short(actual)}")


# ---------------------------------------------------------------- numpy


def _same_array(expected: np.ndarray, actual: Any, where: str) -> None:
    """Class (subclasses included), dtype, shape, C/F contiguity, then the values."""
    _same_type(expected, actual, where)
    _same_array_layout(expected, actual, where)
    _same_array_values(expected, actual, where)


def _same_array_layout(expected: np.ndarray, actual: np.ndarray, where: str) -> None:
    if expected.dtype != actual.dtype or expected.dtype.str != actual.dtype.str:
        _fail(where, f"expected dtype {expected.dtype!r}, got {actual.dtype!r}")
    if expected.shape != actual.shape:
        _fail(where, f"expected shape {expected.shape}, got {actual.shape}")
    for flag in ("C_CONTIGUOUS", "F_CONTIGUOUS"):
        if expected.flags[flag] and not actual.flags[flag]:
            _fail(where, f"expected a {flag} array, got flags C={actual.flags.c_contiguous} F={actual.flags.f_contiguous}")


def _same_array_values(expected: np.ndarray, actual: np.ndarray, where: str) -> None:
    """Values of two arrays of one dtype and shape, whatever their memory layout."""
    dtype = expected.dtype
    if dtype.fields is not None:
        for name in dtype.names:
            _same_array_values(expected[name], actual[name], f"{where}[{name!r}]")
    elif dtype.kind == "O":
        for index in np.ndindex(expected.shape):
            assert_same(expected[index], actual[index], f"{where}[{', '.join(map(str, index))}]")
    elif dtype.kind == "f":
        _same_floats(expected, actual, where)
    elif dtype.kind == "c":
        _same_floats(expected.real, actual.real, f"{where}.real")
        _same_floats(expected.imag, actual.imag, f"{where}.imag")
    elif expected.tobytes() != actual.tobytes():  # ints, bools, datetimes (NaT too), U, S, V
        differ = _first_difference(expected, actual)
        _fail(where, f"array values differ{differ}")


def _same_floats(expected: np.ndarray, actual: np.ndarray, where: str) -> None:
    if not np.array_equal(expected, actual, equal_nan=True) or not np.array_equal(np.signbit(expected), np.signbit(actual)):
        _fail(where, f"float values differ{_first_difference(expected, actual)}")


def _first_difference(expected: np.ndarray, actual: np.ndarray) -> str:
    try:
        for index in np.ndindex(expected.shape):
            left, right = expected[index], actual[index]
            if np.asarray(left).tobytes() != np.asarray(right).tobytes():
                return f" first at {index}: expected {_short(left)}, got {_short(right)}"
    except Exception:  # only a nicer message; the comparison itself already failed
        pass
    return ""


def _same_masked(expected: np.ma.MaskedArray, actual: Any, where: str) -> None:
    _same_type(expected, actual, where)
    _same_array_layout(expected, actual, where)
    _same_array_values(np.ma.getmaskarray(expected), np.ma.getmaskarray(actual), f"{where}.mask")
    _same_array_values(np.ma.getdata(expected), np.ma.getdata(actual), f"{where}.data")
    assert_same(expected.fill_value, actual.fill_value, f"{where}.fill_value")
    if expected.hardmask != actual.hardmask:
        _fail(where, f"expected hardmask={expected.hardmask}, got {actual.hardmask}")


def _same_numpy_scalar(expected: np.generic, actual: Any, where: str) -> None:
    _same_type(expected, actual, where)
    if expected.dtype != actual.dtype or expected.dtype.str != actual.dtype.str:
        _fail(where, f"expected dtype {expected.dtype!r}, got {actual.dtype!r}")
    _same_array_values(np.asarray(expected), np.asarray(actual), where)


# ---------------------------------------------------------------- pandas

_COMMON_CHECKS = dict(
    check_dtype=True, check_index_type=True, check_names=True, check_exact=True,
    check_categorical=True, check_freq=True, check_flags=True,
)
_FRAME_CHECKS = dict(_COMMON_CHECKS, check_column_type=True, check_frame_type=True)
_SERIES_CHECKS = dict(_COMMON_CHECKS, check_series_type=True, check_category_order=True)


def _same_frame(expected: pd.DataFrame, actual: Any, where: str) -> None:
    _same_type(expected, actual, where)
    if expected.shape != actual.shape:
        _fail(where, f"expected shape {expected.shape}, got {actual.shape}")
    _same_index(expected.columns, actual.columns, f"{where}.columns")
    _same_index(expected.index, actual.index, f"{where}.index")
    for position in range(expected.shape[1]):
        label = expected.columns[position]
        _same_column(expected.iloc[:, position], actual.iloc[:, position], f"{where}[{label!r}]")
    _same_pandas_extras(expected, actual, where)
    _pandas_testing(pd.testing.assert_frame_equal, expected, actual, where, **_FRAME_CHECKS)


def _same_series(expected: pd.Series, actual: Any, where: str) -> None:
    _same_type(expected, actual, where)
    assert_same(expected.name, actual.name, f"{where}.name")
    _same_index(expected.index, actual.index, f"{where}.index")
    _same_column(expected, actual, where)
    _same_pandas_extras(expected, actual, where)
    _pandas_testing(pd.testing.assert_series_equal, expected, actual, where, **_SERIES_CHECKS)


def _same_pandas_extras(expected: pd.DataFrame | pd.Series, actual: pd.DataFrame | pd.Series, where: str) -> None:
    assert_same(expected.attrs, actual.attrs, f"{where}.attrs")
    if expected.flags.allows_duplicate_labels != actual.flags.allows_duplicate_labels:
        _fail(where, f"expected flags.allows_duplicate_labels={expected.flags.allows_duplicate_labels}, got {actual.flags.allows_duplicate_labels}")


def _pandas_testing(check: Any, expected: Any, actual: Any, where: str, **options: Any) -> None:
    """pandas' own comparison; a TypeError/ValueError from it (cells such as arrays or dicts
    that it cannot compare) is ignored, since our own cell-by-cell check already passed."""
    try:
        check(expected, actual, **options)
    except AssertionError as error:
        _fail(where, str(error))
    except (TypeError, ValueError):
        pass


def _same_dtype(expected: Any, actual: Any, where: str) -> None:
    if type(expected) is not type(actual) or expected != actual or str(expected) != str(actual):
        _fail(where, f"expected dtype {_describe_dtype(expected)}, got {_describe_dtype(actual)}")


def _describe_dtype(dtype: Any) -> str:
    """A dtype's repr, with the storage and NA value that string dtypes leave out of it."""
    text = f"{_type_name(dtype)} {dtype!r}"
    if isinstance(dtype, pd.StringDtype):
        text += f" (storage={dtype.storage!r}, na_value={dtype.na_value!r})"
    return text


def _same_column(expected: pd.Series, actual: pd.Series, where: str) -> None:
    """One column's dtype, categories and, for object dtype, every cell with its type."""
    _same_dtype(expected.dtype, actual.dtype, f"{where}.dtype")
    if len(expected) != len(actual):
        _fail(where, f"expected {len(expected)} rows, got {len(actual)}")
    if isinstance(expected.dtype, pd.CategoricalDtype):
        _same_index(expected.cat.categories, actual.cat.categories, f"{where}.cat.categories")
        _same_array(expected.cat.codes.to_numpy(), actual.cat.codes.to_numpy(), f"{where}.cat.codes")
    elif expected.dtype == object:
        cells = expected.to_numpy(dtype=object, copy=False)
        actual_cells = actual.to_numpy(dtype=object, copy=False)
        for row, (want, got) in enumerate(zip(cells, actual_cells)):
            assert_same(want, got, f"{where}.iloc[{row}]")


def _same_index(expected: pd.Index, actual: Any, where: str) -> None:
    """Class, dtype, names (with their types), freq, and values with their types."""
    _same_type(expected, actual, where)
    assert_same(list(expected.names), list(actual.names), f"{where}.names")
    if len(expected) != len(actual):
        _fail(where, f"expected length {len(expected)}, got {len(actual)}")
    if isinstance(expected, pd.MultiIndex):
        for level in range(expected.nlevels):
            _same_index(expected.get_level_values(level), actual.get_level_values(level), f"{where}.levels[{level}]")
    else:
        _same_dtype(expected.dtype, actual.dtype, f"{where}.dtype")
        if isinstance(expected, pd.RangeIndex) and (expected.start, expected.step) != (actual.start, actual.step):
            _fail(where, f"expected {expected!r}, got {actual!r}")
        if getattr(expected, "freq", None) != getattr(actual, "freq", None):
            _fail(where, f"expected freq {expected.freq!r}, got {actual.freq!r}")
        if isinstance(expected, pd.CategoricalIndex):
            _same_index(expected.categories, actual.categories, f"{where}.categories")
            _same_array(np.asarray(expected.codes), np.asarray(actual.codes), f"{where}.codes")
        elif isinstance(expected, pd.IntervalIndex):
            if expected.closed != actual.closed:
                _fail(where, f"expected closed={expected.closed!r}, got {actual.closed!r}")
            _same_index(expected.left, actual.left, f"{where}.left")
            _same_index(expected.right, actual.right, f"{where}.right")
        elif expected.dtype == object:
            for position, (want, got) in enumerate(zip(expected, actual)):
                assert_same(want, got, f"{where}[{position}]")
    try:
        pd.testing.assert_index_equal(expected, actual, exact=True, check_names=True, check_exact=True, check_categorical=True, check_order=True)
    except AssertionError as error:
        _fail(where, str(error))
    except (TypeError, ValueError):
        pass  # labels pandas cannot compare (arrays, dicts); compared one by one above


def _same_extension_array(expected: Any, actual: Any, where: str) -> None:
    _same_type(expected, actual, where)
    _same_column(pd.Series(expected, copy=False), pd.Series(actual, copy=False), where)
    try:
        pd.testing.assert_extension_array_equal(expected, actual, check_dtype=True, check_exact=True)
    except AssertionError as error:
        _fail(where, str(error))


# ---------------------------------------------------------------- pyarrow


def _same_arrow_type(expected: pa.DataType, actual: pa.DataType, where: str, *, metadata: bool = True) -> None:
    if not expected.equals(actual, check_metadata=metadata):
        _fail(where, f"expected Arrow type {expected}, got {actual}")


def _same_arrow_array(expected: pa.Array, actual: Any, where: str, *, metadata: bool = True) -> None:
    _same_type(expected, actual, where)
    _same_arrow_type(expected.type, actual.type, where, metadata=metadata)
    if len(expected) != len(actual) or expected.null_count != actual.null_count:
        _fail(where, f"expected {len(expected)} values ({expected.null_count} null), got {len(actual)} ({actual.null_count} null)")
    if not expected.equals(actual):  # Arrow's equality says NaN != NaN: compare the values
        assert_same(expected.to_pylist(), actual.to_pylist(), f"{where}.to_pylist()")


def _same_chunked_array(expected: pa.ChunkedArray, actual: Any, where: str) -> None:
    _same_type(expected, actual, where)
    _same_arrow_type(expected.type, actual.type, where)
    lengths = [len(chunk) for chunk in expected.chunks]
    actual_lengths = [len(chunk) for chunk in actual.chunks]
    if lengths != actual_lengths:
        _fail(where, f"expected chunks of {lengths}, got {actual_lengths}")
    for index, (want, got) in enumerate(zip(expected.chunks, actual.chunks)):
        _same_arrow_array(want, got, f"{where}.chunk({index})")


def _same_arrow_table(expected: pa.Table | pa.RecordBatch, actual: Any, where: str) -> None:
    _same_type(expected, actual, where)
    if not expected.schema.equals(actual.schema, check_metadata=True):
        _fail(where, f"expected schema\n{expected.schema}\ngot\n{actual.schema}")
    if expected.num_rows != actual.num_rows:
        _fail(where, f"expected {expected.num_rows} rows, got {actual.num_rows}")
    for index, name in enumerate(expected.schema.names):
        want, got = expected.column(index), actual.column(index)
        if isinstance(want, pa.ChunkedArray):  # a table's chunking is not part of its value
            want, got = want.combine_chunks(), got.combine_chunks()
        # the schema, compared above, holds the field metadata: pyarrow leaves a column's own
        # type without the nested part of it when a table is built from arrays and a schema
        _same_arrow_array(want, got, f"{where}[{name!r}]", metadata=False)


# ---------------------------------------------------------------- polars


def _is_polars(value: Any) -> bool:
    polars = sys.modules.get("polars")  # never imported here: a polars value brought it in
    return polars is not None and isinstance(value, (polars.DataFrame, polars.Series))


def _same_polars(expected: Any, actual: Any, where: str) -> None:
    import polars.testing

    _same_type(expected, actual, where)
    if isinstance(expected, sys.modules["polars"].DataFrame):
        if expected.schema != actual.schema:
            _fail(where, f"expected schema {expected.schema}, got {actual.schema}")
        check = polars.testing.assert_frame_equal
    else:
        if (expected.name, expected.dtype) != (actual.name, actual.dtype):
            _fail(where, f"expected Series {expected.name!r} of {expected.dtype}, got {actual.name!r} of {actual.dtype}")
        check = polars.testing.assert_series_equal
    try:
        check(expected, actual, check_exact=True)
    except AssertionError as error:
        _fail(where, str(error))


_CHECKS: tuple[tuple[type | tuple[type, ...], Any], ...] = (
    (np.ma.MaskedArray, _same_masked),
    (np.ndarray, _same_array),
    (np.generic, _same_numpy_scalar),
    (pd.DataFrame, _same_frame),
    (pd.Series, _same_series),
    (pd.Index, _same_index),
    (pd.api.extensions.ExtensionArray, _same_extension_array),
    ((pa.Table, pa.RecordBatch), _same_arrow_table),
    (pa.ChunkedArray, _same_chunked_array),
    (pa.Array, _same_arrow_array),
    (dict, _same_dict),
    ((list, tuple), _same_sequence),
    ((set, frozenset), _same_set),
    (float, _same_float),
    (complex, _same_complex),
    (decimal.Decimal, _same_decimal),
    (pd.Interval, _same_interval),
    (pd.Period, _same_period),
    (datetime.datetime, _same_datetime),
    (datetime.timedelta, _same_timedelta),
    (memoryview, _same_memoryview),
)
"""The first entry whose type ``expected`` is an instance of decides how it is compared."""
