"""Record lists: lists of dicts whose rows share string keys become one struct array.

Every row keeps exactly its own keys in its own order: when rows differ, each
distinct key order ("layout") is listed once in the metadata and a small column
says which layout each row has. Columns whose values are not all of one simple
type hold each value as an exact cell (``cells``), so nothing is ever coerced.
"""

from __future__ import annotations

from itertools import repeat
from typing import Any

import pandas as pd
import pyarrow as pa

from .. import cells
from ..config import Config
from ..errors import DecodeError, EncodeError
from .base import Column
from .lists import ARROW_TYPES, element_type, python_list, to_arrow

MAX_LAYOUTS = 64
MAX_KEYS = 1024
CELL_METADATA = {b"hypha_arrow.cells": b"msgpack"}


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
        arrays, fields = [], []
        for name, values in zip(names, columns):
            try:
                array, metadata = _column(values, config)
            except EncodeError as error:
                raise EncodeError(error.reason, _cell_path(error.path, name)) from None
            arrays.append(array)
            fields.append(pa.field(name, array.type, metadata=metadata))
        meta: dict[str, Any] = {"columns": len(names)}
        if len(layouts) > 1:
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
        if config.records_as == "list":
            return _rows(values, names, column.meta.get("layouts"), config.max_depth)
        if config.records_as == "pandas":
            return _as_pandas(values, names, config.max_depth)
        return pa.Table.from_arrays([_as_arrow(values, i, config.max_depth) for i in range(count)], names=names)


def _layouts(rows: list[Any] | tuple[Any, ...]) -> tuple[list[str], list[tuple[str, ...]], list[int]] | None:
    """Column names in first-seen order, the distinct key orders, and each row's one."""
    layouts: dict[tuple[str, ...], int] = {}
    layout_ids = []
    for row in rows:
        if type(row) is not dict:
            return None
        keys = tuple(row)
        index = layouts.get(keys)
        if index is None:
            if len(layouts) == MAX_LAYOUTS or not all(type(k) is str for k in keys):
                return None
            index = layouts[keys] = len(layouts)
        layout_ids.append(index)
    names = list(dict.fromkeys(key for layout in layouts for key in layout))
    if len(names) > MAX_KEYS:
        return None
    return names, list(layouts), layout_ids


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


def _column(values: list[Any], config: Config) -> tuple[pa.Array, dict[bytes, bytes] | None]:
    """One simple-typed Arrow array, or exact cells when types mix or nest."""
    kind = element_type(values)
    if kind in ARROW_TYPES:
        array = to_arrow(kind, values, config)
        if array is not None:
            return array, None
    packer = cells.packer(tuples=False)
    packed = []
    for row, value in enumerate(values):
        try:
            packed.append(cells.pack(packer, value))
        except EncodeError as error:
            raise EncodeError(error.reason, f"[{row}]") from None
    return pa.array(packed, type=pa.large_binary()), CELL_METADATA


def _is_cells(values: pa.StructArray, index: int) -> bool:
    field = values.type.field(index)
    return (field.metadata or {}).get(b"hypha_arrow.cells") == b"msgpack" and field.type == pa.large_binary()


def _python_column(values: pa.StructArray, index: int, max_depth: int) -> list[Any]:
    items = python_list(values.field(index))
    if not _is_cells(values, index):
        return items
    unpacking = cells.Unpacking(max_depth)
    try:
        return [None if cell is None else unpacking.unpack(cell) for cell in items]  # 4.5: a null slot is None
    except DecodeError as error:
        raise DecodeError(f"record column {index}: {error}") from None


def _field(values: pa.StructArray, index: int) -> pa.Array:
    """A key column as the plain array it was built from (dictionary encoding is wire-only)."""
    column = values.field(index)
    return column.cast(column.type.value_type) if pa.types.is_dictionary(column.type) else column


def _as_arrow(values: pa.StructArray, index: int, max_depth: int) -> pa.Array:
    """A column for ``records_as="arrow"``: msgpack cells unpacked when Arrow can hold them."""
    if not _is_cells(values, index):
        return _field(values, index)
    items = _python_column(values, index, max_depth)
    try:
        return pa.array(items)
    except (pa.ArrowException, TypeError, ValueError):
        return values.field(index)


def _as_pandas(values: pa.StructArray, names: list[str], max_depth: int) -> pd.DataFrame:
    """A DataFrame; msgpack-cell columns become object columns holding the unpacked values."""
    simple = [i for i in range(len(names)) if not _is_cells(values, i)]
    if simple:
        frame = pa.RecordBatch.from_arrays([_field(values, i) for i in simple], names=[names[i] for i in simple]).to_pandas()
    else:
        frame = pd.DataFrame(index=pd.RangeIndex(len(values)))
    for i in range(len(names)):
        if i not in simple:
            frame.insert(i, names[i], pd.Series(_python_column(values, i, max_depth), dtype=object, index=frame.index))
    return frame


def _rows(values: pa.StructArray, names: list[str], layouts: Any, max_depth: int) -> list[dict[str, Any]]:
    columns = [_python_column(values, i, max_depth) for i in range(len(names))]
    if layouts is None:
        return list(map(dict, map(zip, repeat(names), zip(*columns))))
    if (
        values.type.num_fields != len(names) + 1
        or values.type.field(len(names)).type != pa.uint16()
        or not isinstance(layouts, list)
        or not all(isinstance(l, list) and all(isinstance(i, int) and 0 <= i < len(names) for i in l) for l in layouts)
    ):
        raise DecodeError("invalid record layouts")
    ids = values.field(len(names)).to_pylist()
    if any(i is None or i >= len(layouts) for i in ids):
        raise DecodeError("record layout index out of range")
    rows_out = []
    for layout_id, row in zip(ids, zip(*columns)):
        rows_out.append({names[i]: row[i] for i in layouts[layout_id]})
    return rows_out
