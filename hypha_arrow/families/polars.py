"""polars DataFrame and Series, through polars' own Arrow export (``to_arrow`` / ``pl.from_arrow``).

polars keeps its data in Arrow's layout, so numeric columns, and strings as Arrow string
views, cross without a copy in both directions. A Series travels as a one-column frame, so
its name and the field metadata polars writes for Categorical and Enum dtypes (the
categories' name, the Enum's values) travel as they do for a frame's columns.

What would not come back as itself is refused at the sender, naming the column: dtypes
polars cannot export (Int128) or exports as something else (Object, as raw pointers), and
extension dtypes, which the receiving polars rebuilds with whatever Python class is
registered there under their name; decoders refuse those too, and any field metadata
polars might act on other than its dtype keys.

This module imports polars: the registry imports it only once polars is in use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import polars as pl
import pyarrow as pa

from ..config import Config
from ..errors import DecodeError, EncodeError
from .arrow import batch_of, table_column
from .base import Column

DTYPE_METADATA = frozenset({b"_PL_CATEGORICAL2", b"_PL_ENUM_VALUES2", b"_PL_CATEGORICAL", b"_PL_ENUM_VALUES"})
"""The field metadata polars writes to describe Categorical and Enum dtypes (the last two: polars
before 1.32); the only keys that travel, since polars acts on what it reads there."""
VIEW_BYTES = 16
"""Size of one Arrow string view, beside the bytes of the longer strings it points to."""
VIEW_SLACK = 2
"""polars' string views keep the buffers of the frame they were sliced or filtered from, and
Arrow IPC writes those buffers whole: a 10-row ``head`` of 2 million strings exported 88 MB of
views instead of 650 bytes. When the zero-copy export holds more than twice what the rows need,
the frame is exported again with compact strings (one copy of them, only then)."""
_POLARS_ERRORS = (pl.exceptions.PolarsError, pl.exceptions.PanicException)
"""What polars raises on data it cannot read; a panic (hostile metadata) is a BaseException."""
_STRINGS = (pl.String, pl.Binary)
Where = Callable[[str], str]
"""A column's path inside its value: ``['name']`` in a frame, nothing for a Series."""


def _in_frame(name: str) -> str:
    return f"[{name!r}]"


def _in_series(name: str) -> str:
    return ""


class PolarsFamily:
    types = (pl.DataFrame, pl.Series)
    kinds = ("polars.dataframe", "polars.series")
    patterns: frozenset[str] = frozenset()  # always columnar, see msgpack_form
    extensions: frozenset[str] = frozenset()  # refused, see _foreign_field

    def msgpack_form(self, value: pl.DataFrame | pl.Series, config: Config) -> None:
        return None  # hypha-rpc has no msgpack form for polars values

    def encode(self, value: pl.DataFrame | pl.Series, config: Config) -> Column:
        base = pl.Series if isinstance(value, pl.Series) else pl.DataFrame
        if type(value) is not base:
            raise EncodeError(f"{type(value).__module__}.{type(value).__qualname__} would arrive as a plain polars {base.__name__}")
        if isinstance(value, pl.Series):
            return table_column("polars.series", _exported(value.to_frame(), _in_series))
        return table_column("polars.dataframe", _exported(value, _in_frame))

    def decode(self, column: Column, config: Config) -> pl.DataFrame | pl.Series:
        batch = batch_of(column)
        foreign = _foreign_field(batch.schema, _in_series if column.kind == "polars.series" else _in_frame)
        if foreign is not None:
            raise DecodeError(f"polars data cannot hold {foreign[1]}", foreign[0])
        try:
            frame = _frame(batch)
        except _POLARS_ERRORS as error:
            raise DecodeError(f"polars cannot read this data: {type(error).__name__}: {error}") from None
        if column.kind == "polars.dataframe":
            return frame
        if frame.width != 1:
            raise DecodeError(f"a polars Series must be one column, got {frame.width}")
        return frame.to_series()


def _exported(frame: pl.DataFrame, where: Where) -> pa.Table:
    """The Arrow table ``_frame`` rebuilds exactly ``frame`` from; EncodeError naming the column if there is none."""
    try:
        table = frame.to_arrow(compat_level=pl.CompatLevel.newest())
    except (pa.ArrowException, *_POLARS_ERRORS) as error:
        raise _unexportable(frame, where, error) from None
    strings = frame.height * sum(dtype in _STRINGS for dtype in frame.dtypes)
    if table.nbytes > VIEW_SLACK * (frame.estimated_size() + VIEW_BYTES * strings):
        table = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
    foreign = _foreign_field(table.schema, where)
    if foreign is not None:
        raise EncodeError(f"polars would export {foreign[1]}, which receivers refuse (cast an extension dtype to its storage)", foreign[0])
    try:
        arrived = _frame(table.slice(0, 0)).schema
    except _POLARS_ERRORS as error:
        raise EncodeError(f"polars cannot read back its own export: {error}") from None
    for (name, dtype), back in zip(frame.schema.items(), arrived.values()):
        if back != dtype:
            raise EncodeError(f"polars dtype {dtype} would arrive as {back}", where(name))
    return table


def _unexportable(frame: pl.DataFrame, where: Where, error: BaseException) -> EncodeError:
    """Name the column polars cannot export."""
    for series in frame.get_columns():
        try:
            series.to_frame().to_arrow(compat_level=pl.CompatLevel.newest())
        except (pa.ArrowException, *_POLARS_ERRORS) as column_error:
            return EncodeError(f"polars cannot export dtype {series.dtype} to Arrow: {column_error}", where(series.name))
    return EncodeError(f"polars cannot export this frame to Arrow: {error}")


def _foreign_field(schema: pa.Schema, where: Where) -> tuple[str, str] | None:
    """(path, what) of the first field that is an extension type or carries metadata besides
    ``DTYPE_METADATA``: polars would build a registered extension class, or act on the key."""
    for field in schema:
        for path, nested in _fields(field, where(field.name)):
            if isinstance(nested.type, pa.BaseExtensionType):
                return path, f"the Arrow extension type {nested.type.extension_name!r}"
            keys = sorted(set(nested.metadata or {}) - DTYPE_METADATA)
            if keys:
                return path, f"field metadata {keys}"
    return None


def _fields(field: pa.Field, path: str) -> Iterator[tuple[str, pa.Field]]:
    """``field`` and every field nested in it (an extension type's storage is not entered)."""
    yield path, field
    kind = field.type
    if isinstance(kind, pa.BaseExtensionType):
        return
    if pa.types.is_dictionary(kind):
        yield from _fields(pa.field("dictionary", kind.value_type), f"{path}['dictionary']")
        return
    for index in range(kind.num_fields):
        child = kind.field(index)
        yield from _fields(child, f"{path}[{child.name!r}]")


def _frame(data: pa.Table | pa.RecordBatch) -> pl.DataFrame:
    """``pl.from_arrow`` with the column names kept (it renames an empty one to ``column_0``)."""
    names = data.schema.names
    frame = pl.from_arrow(data.rename_columns([str(i) for i in range(len(names))]))
    return frame.rename(dict(zip(frame.columns, names)))
