"""Record lists: lists of dicts whose rows share string keys become one struct array.

Every row keeps exactly its own keys in its own order: when rows differ, each
distinct key order ("layout") is listed once in the metadata and a small column
says which layout each row has. Columns whose values are not all of one simple
type hold each value as an exact cell (``cells``), so nothing is ever coerced; a
column of numpy arrays sharing dtype and shape is one array column (``array_column``).
"""

from __future__ import annotations

from functools import lru_cache
from itertools import chain
from typing import Any, Callable

import numpy as np
import pandas as pd
import pyarrow as pa

from .. import cells
from ..config import Config
from ..errors import DecodeError, EncodeError
from .array_column import decode_arrays, encode_arrays
from .base import Column
from .lists import ARROW_TYPES, element_type, python_list, to_arrow

MAX_LAYOUTS = 64
MAX_KEYS = 1024
CELL_METADATA = {b"hypha_arrow.cells": b"msgpack"}
ROW_DISPLAY_MAX_KEYS = 64
"""Rows of at most this many keys are built by a compiled dict display (``_row_maker``). Each
key count is compiled once per process (0.1 ms for 3 keys, 0.5 ms for 64; 2 ms for 256), so
no sender can make a receiver compile again and again; wider rows gain least from it."""
LAYOUT_CHECK_ROWS = 4096
"""Rows whose keys are compared at once in ``_all_keyed``: a few hundred KB of references."""


class RecordsFamily:
    kinds = ("records",)
    patterns = frozenset({"records"})

    def encode(self, rows: list[Any] | tuple[Any, ...], config: Config) -> Column | None:
        if not rows or type(rows[0]) is not dict or not config.uses("records"):
            return None
        shape = _layouts(rows)
        if shape is None:
            return None
        names, layouts, layout_ids = shape
        if not names or len(rows) * len(names) * 8 < config.binary_threshold:
            return None
        _check_keys(names, rows)
        if len(layouts) == 1:
            columns = [[row[name] for row in rows] for name in names]
        else:
            columns = [[row.get(name) for row in rows] for name in names]
        arrays, fields, shared = [], [], {}
        for index, (name, values) in enumerate(zip(names, columns)):
            try:
                array, metadata, arrays_meta = _column(values, config)
            except EncodeError as error:
                raise EncodeError(error.reason, _cell_path(error.path, name)) from None
            arrays.append(array)
            fields.append(pa.field(name, array.type, metadata=metadata))
            if arrays_meta is not None:
                shared[str(index)] = arrays_meta
        meta: dict[str, Any] = {"columns": len(names)}
        if shared:
            meta["arrays"] = shared
        if layout_ids is not None:
            arrays.append(pa.array(layout_ids, type=pa.uint16()))
            fields.append(pa.field("", pa.uint16(), nullable=False))
            meta["layouts"] = [[names.index(key) for key in layout] for layout in layouts]
        return Column("records", pa.StructArray.from_arrays(arrays, fields=fields), meta)

    def decode(self, column: Column, config: Config) -> Any:
        values = column.values
        count = column.meta.get("columns")
        if not pa.types.is_struct(values.type) or not isinstance(count, int) or not 0 <= count <= values.type.num_fields:
            raise DecodeError(f"invalid record data of type {values.type}")
        names = [values.type.field(i).name for i in range(count)]
        keys = _KeyColumns(values, _arrays_meta(column.meta.get("arrays", {}), count), config.max_depth)
        if config.records_as == "list":
            return _rows(keys, names, column.meta.get("layouts"))
        if config.records_as == "pandas":
            return _as_pandas(keys, names)
        return pa.Table.from_arrays([keys.as_arrow(i) for i in range(count)], names=names)


def _layouts(rows: list[Any] | tuple[Any, ...]) -> tuple[list[str], list[tuple[str, ...]], list[int] | None] | None:
    """Column names in first-seen order, the distinct key orders, and each row's one (None if all share one).

    Rows of the first row's layout are recognised by comparing their keys, run together, with
    that layout repeated (10,000 rows: 1.2 ms, where a tuple of keys per row takes 2 ms and a
    loop over the rows 3-8 ms). Every row's keys are distinct, so no row can span more than one
    repeat, and n rows holding n times the layout's keys hold it exactly once each.
    """
    if set(map(type, rows)) != {dict}:
        return None
    first = tuple(rows[0])
    row_keys = None if _all_keyed(rows, first) else list(map(tuple, rows))
    layouts = {first: 0} if row_keys is None else dict.fromkeys(row_keys)
    if len(layouts) > MAX_LAYOUTS or not all(set(map(type, layout)) <= {str} for layout in layouts):
        return None
    names = list(dict.fromkeys(key for layout in layouts for key in layout))
    if len(names) > MAX_KEYS:
        return None
    layout_ids = None
    if row_keys is not None:
        index = {layout: i for i, layout in enumerate(layouts)}
        layout_ids = list(map(index.__getitem__, row_keys))
    return names, list(layouts), layout_ids


def _all_keyed(rows: list[Any] | tuple[Any, ...], keys: tuple[str, ...]) -> bool:
    """Whether every row's keys are ``keys``, in order; in slices, so no list of every key is built."""
    repeated = list(keys) * LAYOUT_CHECK_ROWS
    for start in range(0, len(rows), LAYOUT_CHECK_ROWS):
        some = rows[start:start + LAYOUT_CHECK_ROWS]
        if list(chain.from_iterable(some)) != (repeated if len(some) == LAYOUT_CHECK_ROWS else list(keys) * len(some)):
            return False
    return True


def _check_keys(names: list[str], rows: list[Any] | tuple[Any, ...]) -> None:
    """Arrow field names are UTF-8: name the first row holding a key that is not (a lone surrogate)."""
    for name in names:
        try:
            name.encode()
        except UnicodeEncodeError as error:
            row = next(index for index, row in enumerate(rows) if name in row)
            raise EncodeError(f"key is not valid UTF-8 ({error.reason} at {error.start})", f"[{row}]") from None


def _cell_path(row_path: str, name: str) -> str:
    """``[row]`` from a column's error as the record's path, ``[row]['key']``."""
    return f"{row_path}[{name!r}]"


def _column(values: list[Any], config: Config) -> tuple[pa.Array, dict[bytes, bytes] | None, dict[str, Any] | None]:
    """One simple-typed Arrow array; numpy arrays of one dtype and shape as one array column
    (with its ``dtype``/``shape``/``order``); else exact cells, when types mix or nest."""
    kind = element_type(values)
    if kind in ARROW_TYPES:
        array = to_arrow(kind, values, config)
        if array is not None:
            return array, None, None
    if kind is np.ndarray:
        shared = encode_arrays(values)
        if shared is not None:
            return shared[0], None, shared[1]
    return pa.array(cells.pack_column(values, tuples=False), type=pa.large_binary()), CELL_METADATA, None


def _arrays_meta(arrays: Any, count: int) -> dict[int, Any]:
    """JSON key ``arrays``: key column index -> its arrays' description (checked when decoded)."""
    if not isinstance(arrays, dict) or not all(isinstance(k, str) and k.isascii() and k.isdigit() and int(k) < count for k in arrays):
        raise DecodeError("invalid record array columns")
    return {int(k): v for k, v in arrays.items()}


class _KeyColumns:
    """The key columns of one record struct, each plain (one simple Arrow type), cells or arrays."""

    def __init__(self, values: pa.StructArray, arrays: dict[int, Any], max_depth: int) -> None:
        self.values = values
        self.arrays = arrays
        self.max_depth = max_depth

    def is_plain(self, index: int) -> bool:
        return index not in self.arrays and not self._is_cells(index)

    def _is_cells(self, index: int) -> bool:
        field = self.values.type.field(index)
        return (field.metadata or {}).get(b"hypha_arrow.cells") == b"msgpack" and field.type == pa.large_binary()

    def python(self, index: int) -> list[Any]:
        """Column ``index`` as Python values: 4.5's None for a null slot."""
        column = self.values.field(index)
        try:
            if index in self.arrays:
                return decode_arrays(column, self.arrays[index])
            if not self._is_cells(index):
                return python_list(column)
            return cells.Unpacking(self.max_depth).unpack_column(column)
        except DecodeError as error:
            raise DecodeError(f"record column {index}: {error}") from None

    def plain(self, index: int) -> pa.Array:
        """A plain key column as the array it was built from (dictionary encoding is wire-only)."""
        column = self.values.field(index)
        return column.cast(column.type.value_type) if pa.types.is_dictionary(column.type) else column

    def as_arrow(self, index: int) -> pa.Array:
        """A column for ``records_as="arrow"``: cells and arrays unpacked when Arrow can hold them."""
        if self.is_plain(index):
            return self.plain(index)
        items = self.python(index)
        try:
            return pa.array(items)
        except (pa.ArrowException, TypeError, ValueError):
            return self.values.field(index)


def _as_pandas(keys: _KeyColumns, names: list[str]) -> pd.DataFrame:
    """A DataFrame; cells and arrays columns become object columns holding the unpacked values."""
    simple = [i for i in range(len(names)) if keys.is_plain(i)]
    if simple:
        frame = pa.RecordBatch.from_arrays([keys.plain(i) for i in simple], names=[names[i] for i in simple]).to_pandas()
    else:
        frame = pd.DataFrame(index=pd.RangeIndex(len(keys.values)))
    for i in range(len(names)):
        if i not in simple:
            frame.insert(i, names[i], pd.Series(keys.python(i), dtype=object, index=frame.index))
    return frame


def _rows(keys: _KeyColumns, names: list[str], layouts: Any) -> list[dict[str, Any]]:
    values = keys.values
    columns = [keys.python(i) for i in range(len(names))]
    if layouts is None:
        return _dicts(names, columns, len(values))
    if (
        values.type.num_fields != len(names) + 1
        or values.type.field(len(names)).type != pa.uint16()
        or not isinstance(layouts, list)
        or not all(isinstance(l, list) and all(isinstance(i, int) and 0 <= i < len(names) for i in l) for l in layouts)
    ):
        raise DecodeError("invalid record layouts")
    ids = values.field(len(names))
    if ids.null_count or len(ids) and int(ids.to_numpy().max()) >= len(layouts):
        raise DecodeError("record layout index out of range")
    return _rows_by_layout(names, columns, layouts, ids.to_numpy())


def _rows_by_layout(names: list[str], columns: list[list[Any]], layouts: list[list[int]], ids: np.ndarray) -> list[dict[str, Any]]:
    """Rows of several layouts: each layout's rows built together, as ``_dicts`` does for one
    (10,000 rows of two layouts: 2 ms, one row at a time 15 ms). Grouped by one stable sort,
    so the work follows the rows, however many layouts the metadata lists."""
    order = np.argsort(ids, kind="stable")
    present, starts = np.unique(ids[order], return_index=True)
    rows = np.empty(len(ids), dtype=object)
    for layout_id, start, end in zip(present.tolist(), starts.tolist(), [*starts[1:].tolist(), len(ids)]):
        where = order[start:end]
        picks = where.tolist()
        layout = layouts[layout_id]
        rows[where] = _dicts([names[i] for i in layout], [list(map(columns[i].__getitem__, picks)) for i in layout], len(picks))
    return rows.tolist()


def _dicts(names: list[str], columns: list[list[Any]], count: int) -> list[dict[str, Any]]:
    """``count`` rows, each with every key of ``names`` in order, its values from ``columns``."""
    if not names:
        return [{} for _ in range(count)]
    return list(map(_maker(names), *columns))


def _maker(names: list[str]) -> Callable[..., dict[str, Any]]:
    """A function of one value per name giving the row of those keys, in that order."""
    if len(names) > ROW_DISPLAY_MAX_KEYS:
        return lambda *row: dict(zip(names, row))
    return _row_maker(len(names))(*names)


@lru_cache(maxsize=ROW_DISPLAY_MAX_KEYS + 1)
def _row_maker(count: int) -> Callable[..., Callable[..., dict[str, Any]]]:
    """``_row_maker(n)(*keys)(*values)``: one row, built by a dict display compiled for ``n`` keys.

    Three times faster than ``dict(zip(keys, values))`` (10,000 rows of 3 keys: 1.1 ms against
    3.3 ms). The compiled text holds only parameter names made here, never a key or a value."""
    keys = [f"k{i}" for i in range(count)]
    values = [f"v{i}" for i in range(count)]
    display = ", ".join(f"{k}: {v}" for k, v in zip(keys, values))
    return eval(f"lambda {', '.join(keys)}: lambda {', '.join(values)}: {{{display}}}")  # noqa: S307
