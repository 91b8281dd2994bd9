"""pandas DataFrame and Series, as pyarrow's ``Table.from_pandas`` lays them out (``pandas_table``),
back through ``to_pandas`` and pandas' own metadata; wide frames' numeric columns as blocks (``pandas_blocks``).

pyarrow's conversion is fast and its metadata restores index and extension
dtypes, but it guesses in places: object columns of ints become int64, labels
and names become strings, ``string[python]`` becomes ``string[pyarrow]``. Before
converting, each such place is taken out of pyarrow's hands (exact cells for
object columns, a JSON document for labels) and noted in our metadata, so
decoding gives back the very same frame or encoding refuses it.
"""

from __future__ import annotations

import base64
import datetime
import json
import re
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pandas.core.arrays.arrow.extension_types  # noqa: F401  registers pandas.period and pandas.interval with pyarrow, so a process that only decodes reads them

from .. import cells
from ..config import Config
from ..errors import DecodeError, EncodeError
from .arrow import batch_of, table_column
from .base import Column
from .pandas_index import index_from_json, index_to_json, scalar_from_json, scalar_to_json
from . import pandas_blocks
from .pandas_table import frame_to_table

SERIES_FIELD = "0"
_STR = pd.StringDtype("pyarrow", na_value=np.nan)
_FIXED_BYTES = re.compile(r"\|S[1-9][0-9]{0,8}")
"""pandas 3's default ``str`` dtype, which pyarrow's metadata restores for labels."""
_PLAIN_OBJECTS = ({str, type(None)}, {bytes, type(None)}, {datetime.date, type(None)})
"""Object columns pyarrow converts exactly (None kept; dates as date32, back as ``datetime.date``);
anything else travels as cells."""
_FREQ_INDEXES = (pd.DatetimeIndex, pd.TimedeltaIndex)
"""Indexes whose ``freq`` pyarrow drops and that accept it back (a PeriodIndex keeps its own)."""


class PandasFamily:
    types = (pd.DataFrame, pd.Series)
    kinds = ("dataframe", "series")
    patterns: frozenset[str] = frozenset()  # always columnar, see msgpack_form
    extensions = frozenset({"pandas.period", "pandas.interval"})
    """pandas' own Python extension types (its Period and Interval dtypes), whose deserialisers only parse JSON."""

    def msgpack_form(self, value: pd.DataFrame | pd.Series, config: Config) -> None:
        return None  # pandas objects have no msgpack form in hypha-rpc

    def encode(self, value: pd.DataFrame | pd.Series, config: Config) -> Column:
        if isinstance(value, pd.Series):
            meta = {"name": scalar_to_json(value.name)}
            return _frame_column("series", value.to_frame(name=SERIES_FIELD), value, meta)
        return _frame_column("dataframe", value, value, {})

    def decode(self, column: Column, config: Config) -> pd.DataFrame | pd.Series:
        frame = frame_from_batch(batch_of(column), column.meta, config.max_depth)
        if column.kind == "dataframe":
            return frame
        if frame.shape[1] != 1:
            raise DecodeError(f"a Series must have one column, got {frame.shape[1]}")
        series = frame.iloc[:, 0]
        series.name = scalar_from_json(column.meta.get("name"))
        series.attrs = frame.attrs
        return series.set_flags(allows_duplicate_labels=frame.flags.allows_duplicate_labels)


def _frame_column(kind: str, frame: pd.DataFrame, source: pd.DataFrame | pd.Series, meta: dict[str, Any]) -> Column:
    layout = pandas_blocks.split(frame) if kind == "dataframe" else None
    columns = frame if layout is None else frame.iloc[:, layout[1]]
    wire = columns.copy(deep=False).set_flags(allows_duplicate_labels=True)
    wire.attrs = {}
    labels = frame.columns
    index_names = list(frame.index.names)
    if layout is not None or not _plain_labels(labels, index_names):
        meta["labels"] = index_to_json(labels)
        wire.columns = [str(i) for i in range(wire.shape[1])]
    if not all(name is None or type(name) is str for name in index_names) or "labels" in meta:
        meta["index_names"] = [scalar_to_json(name) for name in index_names]
        wire.index = wire.index.set_names([None] * len(index_names))
    _adapt_columns(columns, wire, meta)
    _adapt_index(wire, meta)
    if not source.flags.allows_duplicate_labels:
        meta["allows_duplicate_labels"] = False
    if source.attrs:
        meta["attrs"] = _packed(source.attrs, "attrs")
    if isinstance(frame.index, _FREQ_INDEXES) and frame.index.freq is not None:
        meta["freq"] = frame.index.freqstr
    try:
        table = frame_to_table(wire)
    except (pa.ArrowException, ValueError, TypeError) as error:
        raise _conversion_error(columns, wire, error) from None
    if layout is not None:
        meta["blocks"] = [block.doc() for block in layout[0]]
        for number, block in enumerate(layout[0]):
            table = table.append_column(f"__block_{number}__", block.arrow())
    return table_column(kind, table, meta)


def _plain_labels(labels: pd.Index, index_names: list[Any]) -> bool:
    """Unique str labels, which pyarrow's metadata restores by itself."""
    return (
        type(labels) is pd.Index
        and (labels.dtype == object or labels.dtype == _STR)
        and (labels.name is None or type(labels.name) is str)
        and labels.is_unique
        and all(type(label) is str for label in labels)
        and not set(labels).intersection(index_names)
    )


def _adapt_columns(frame: pd.DataFrame, wire: pd.DataFrame, meta: dict[str, Any]) -> None:
    notes = []
    for position, dtype in enumerate(frame.dtypes):
        if isinstance(dtype, np.dtype) and dtype.kind in "biufcmM":
            continue  # pyarrow converts these exactly; skipping them keeps wide frames fast
        adapted = _adapt(frame.iloc[:, position], lambda: f"[{frame.columns[position]!r}]")
        if adapted is not None:
            values, note = adapted
            wire.isetitem(position, values)
            notes.append([position, note])
    if notes:
        meta["adapted_columns"] = notes


def _adapt_index(wire: pd.DataFrame, meta: dict[str, Any]) -> None:
    index = wire.index
    if isinstance(index, pd.MultiIndex):
        for level, (values, codes) in enumerate(zip(index.levels, index.codes)):
            if isinstance(values.dtype, np.dtype) and values.dtype.kind in "biu" and (codes < 0).any():
                raise EncodeError(
                    f"a missing value in the {values.dtype} index level would arrive as float; use a nullable dtype (Int64)",
                    f".index[{level}]",
                )
    levels = [index.get_level_values(i) for i in range(index.nlevels)]
    notes = []
    for level, values in enumerate(levels):
        adapted = _adapt(values, lambda: f".index[{level}]")
        if adapted is not None:
            levels[level] = pd.Index(adapted[0], dtype=object if adapted[1] == "cells" else None, name=values.name)
            notes.append([level, adapted[1]])
    if notes:
        meta["adapted_index"] = notes
        wire.index = pd.MultiIndex.from_arrays(levels) if index.nlevels > 1 else levels[0]


def _adapt(values: pd.Series | pd.Index, where: Any) -> tuple[Any, Any] | None:
    """What pyarrow would not convert exactly, made exact: (wire values, note for decoding), or None."""
    dtype = values.dtype
    if dtype == object:
        items = values.tolist() if isinstance(values, pd.Index) else values.array
        kinds = set(map(type, items))
        if any(kinds <= plain for plain in _PLAIN_OBJECTS):
            return None
        packer = cells.packer()
        packed = np.empty(len(items), dtype=object)
        for row, item in enumerate(items):
            try:
                packed[row] = cells.pack(packer, item)
            except EncodeError as error:
                raise EncodeError(error.reason, f"{where()}[{row}]") from None
        return (packed if isinstance(values, pd.Index) else pd.Series(packed, index=values.index, dtype=object)), "cells"
    if isinstance(dtype, pd.CategoricalDtype) and dtype.categories.dtype == object:
        if not all(type(category) is str for category in dtype.categories):
            raise EncodeError("categories of object dtype must all be str to be sent exactly", where())
        return values, "object_categories"
    if isinstance(dtype, pd.StringDtype) and dtype != _STR:  # pyarrow brings every string back as str or string[pyarrow]
        return values, ["string", dtype.storage, "NA" if dtype.na_value is pd.NA else "nan"]
    if isinstance(dtype, np.dtype) and dtype.kind == "S" and not isinstance(values, pd.Index):
        return values, ["bytes", dtype.str]  # pyarrow brings fixed-width bytes back as object
    if isinstance(dtype, pd.ArrowDtype):
        return values, "arrow"  # pyarrow cannot parse parametrised ArrowDtype names back (pandas-dev/pandas#53011)
    if isinstance(values, pd.Index) and _is_masked(dtype):  # pyarrow rebuilds these index levels as float64
        return pd.Index(pd.arrays.ArrowExtensionArray(pa.array(values.array)), name=values.name), ["masked", dtype.name]
    return None


def _is_masked(dtype: Any) -> bool:
    """pandas' nullable Int*, UInt*, Float* and boolean dtypes."""
    return isinstance(dtype, pd.api.extensions.ExtensionDtype) and not isinstance(dtype, pd.ArrowDtype) and dtype.kind in "iufb"


def _arrow_backed(note: Any) -> bool:
    """Notes whose data ``_without_arrow_dtypes`` keeps out of ``to_pandas``."""
    return note == "arrow" or (isinstance(note, list) and len(note) == 2 and note[0] == "masked")


def _packed(value: Any, what: str) -> str:
    try:
        return base64.b64encode(cells.pack(cells.packer(), value)).decode()
    except EncodeError as error:
        raise EncodeError(error.reason, f".{what}") from None


def _conversion_error(frame: pd.DataFrame, wire: pd.DataFrame, error: Exception) -> EncodeError:
    """Name the column Arrow could not hold exactly."""
    for position in range(wire.shape[1]):
        try:
            pa.array(wire.iloc[:, position], from_pandas=True)
        except (pa.ArrowException, ValueError, TypeError) as column_error:
            return EncodeError(f"cannot be held exactly by Arrow: {column_error}", f"[{frame.columns[position]!r}]")
    return EncodeError(f"cannot be held exactly by Arrow: {error}")


def frame_from_batch(batch: pa.RecordBatch, meta: dict[str, Any], max_depth: int) -> pd.DataFrame:
    """A DataFrame from a batch carrying pandas metadata, numeric columns and blocks zero-copy."""
    batch, block_arrays = _split_blocks(batch, meta)
    batch, arrow_backed = _without_arrow_dtypes(batch, meta)
    frame = pa.Table.from_batches([batch]).to_pandas(split_blocks=True)
    pandas_metadata = batch.schema.pandas_metadata or {}
    _restore_object_strings(frame, batch, pandas_metadata)
    if block_arrays:
        blocks, others = pandas_blocks.read(meta["blocks"], block_arrays, frame.shape[1])
    elif "labels" in meta:
        labels = index_from_json(meta["labels"])
        if len(labels) != frame.shape[1]:
            raise DecodeError(f"{len(labels)} labels for {frame.shape[1]} columns")
        frame.columns = labels
    else:
        _restore_label_dtypes(frame, pandas_metadata)
    unpacking = cells.Unpacking(max_depth)
    for position, note in _notes(meta.get("adapted_columns"), frame.shape[1]):
        if note == "arrow":
            values = pd.arrays.ArrowExtensionArray(arrow_backed[("column", position)])
            frame.isetitem(position, pd.Series(values, index=frame.index, name=frame.columns[position]))
        else:
            frame.isetitem(position, _restored(frame.iloc[:, position], note, unpacking))
    for level, note in _notes(meta.get("adapted_index"), frame.index.nlevels):
        if _arrow_backed(note):
            values = pd.Index(pd.arrays.ArrowExtensionArray(arrow_backed[("index", level)]))
            _replace_index_level(frame, level, values if note == "arrow" else values.astype(_masked_dtype(note[1])), dtype=None)
        else:
            restored = _restored(frame.index.get_level_values(level), note, unpacking)
            _replace_index_level(frame, level, restored, dtype=object if note == "cells" else None)
    if block_arrays:
        labels = index_from_json(meta["labels"])
        if len(labels) != len(others) + sum(len(positions) for _, positions in blocks):
            raise DecodeError(f"{len(labels)} labels for the frame's blocks and {len(others)} other columns")
        frame = pandas_blocks.assembled(blocks + pandas_blocks.rest_blocks(frame, others), frame.index, labels)
    if "index_names" in meta:
        names = [scalar_from_json(name) for name in _list(meta["index_names"])]
        if len(names) != frame.index.nlevels:
            raise DecodeError(f"{len(names)} index names for {frame.index.nlevels} levels")
        frame.index = frame.index.set_names(names)
    if "freq" in meta:
        if not isinstance(meta["freq"], str) or not isinstance(frame.index, _FREQ_INDEXES):
            raise DecodeError(f"invalid index freq {meta['freq']!r:.100}")
        frame.index.freq = meta["freq"]
    if "attrs" in meta:
        frame.attrs = _unpacked_attrs(meta["attrs"], unpacking)
    if meta.get("allows_duplicate_labels") is False:
        frame = frame.set_flags(allows_duplicate_labels=False)
    return frame


def _split_blocks(batch: pa.RecordBatch, meta: dict[str, Any]) -> tuple[pa.RecordBatch, list[pa.Array]]:
    """The batch without its block children (the last ones), and those."""
    if "blocks" not in meta:
        return batch, []
    blocks = meta["blocks"]
    if not isinstance(blocks, list) or not 0 < len(blocks) <= batch.num_columns or "labels" not in meta:
        raise DecodeError(f"invalid frame blocks {blocks!r:.100} for {batch.num_columns} children")
    rest = batch.num_columns - len(blocks)
    return batch.select(range(rest)), batch.columns[rest:]


def _without_arrow_dtypes(batch: pa.RecordBatch, meta: dict[str, Any]) -> tuple[pa.RecordBatch, dict[tuple[str, int], pa.Array]]:
    """The batch with its ArrowDtype fields blanked for ``to_pandas``, and those fields' data.

    ``to_pandas`` rebuilds an ArrowDtype from its name in the pandas metadata, which fails for
    parametrised types (``list<item: int64>[pyarrow]``); the data is put back afterwards as is.
    """
    wanted = [("column", where) for where, note in _notes(meta.get("adapted_columns"), batch.num_columns) if note == "arrow"]
    index_levels = len((batch.schema.pandas_metadata or {}).get("index_columns", []))
    wanted += [("index", where) for where, note in _notes(meta.get("adapted_index"), index_levels) if _arrow_backed(note)]
    if not wanted:
        return batch, {}
    pandas_metadata = batch.schema.pandas_metadata or {}
    index_fields = pandas_metadata.get("index_columns", [])
    taken: dict[tuple[str, int], pa.Array] = {}
    arrays = list(batch.columns)
    names: set[str] = set()
    for place in wanted:
        kind, where = place
        name = batch.schema.field(where).name if kind == "column" else index_fields[where] if where < len(index_fields) else None
        position = batch.schema.get_field_index(name) if isinstance(name, str) else -1
        if position < 0:
            raise DecodeError(f"no Arrow field for the {kind} {where} noted as ArrowDtype")
        taken[place] = arrays[position]
        arrays[position] = pa.nulls(batch.num_rows)
        names.add(name)
    for entry in pandas_metadata.get("columns", []):
        if entry.get("field_name") in names:
            entry.update(pandas_type="object", numpy_type="object", metadata=None)
    schema_metadata = {**(batch.schema.metadata or {}), b"pandas": json.dumps(pandas_metadata).encode()}
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names).replace_schema_metadata(schema_metadata), taken


def _masked_dtype(name: Any) -> Any:
    try:
        dtype = pd.api.types.pandas_dtype(name) if isinstance(name, str) else None
    except TypeError:
        dtype = None
    if not _is_masked(dtype):
        raise DecodeError(f"invalid nullable dtype {name!r:.100}")
    return dtype


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise DecodeError(f"expected a list in the frame metadata, got {value!r:.100}")
    return value


def _notes(notes: Any, count: int) -> list[tuple[int, Any]]:
    if notes is None:
        return []
    pairs = [tuple(note) if isinstance(note, list) and len(note) == 2 else (None, None) for note in _list(notes)]
    places = [where for where, _ in pairs]
    if not all(type(where) is int and 0 <= where < count for where in places) or len(set(places)) != len(places):
        raise DecodeError(f"invalid frame notes {notes!r:.100}")
    return pairs


def _restored(values: pd.Series | pd.Index, note: Any, unpacking: cells.Unpacking) -> Any:
    """Undo one ``_adapt`` note."""
    if note == "cells":
        items = values.tolist()
        if not all(type(item) is bytes for item in items):
            raise DecodeError("cell column holds values that are not bytes")
        restored = np.empty(len(items), dtype=object)
        for row, item in enumerate(items):
            restored[row] = unpacking.unpack(item)
        return restored if isinstance(values, pd.Index) else pd.Series(restored, index=values.index, dtype=object, name=values.name)
    if note == "object_categories" and isinstance(values.dtype, pd.CategoricalDtype):
        categorical = values.array
        categories = pd.Index(categorical.categories.tolist(), dtype=object)
        restored = pd.Categorical.from_codes(categorical.codes, categories=categories, ordered=categorical.ordered)
        return pd.CategoricalIndex(restored, name=values.name) if isinstance(values, pd.Index) else pd.Series(restored, index=values.index, name=values.name)
    if isinstance(note, list) and len(note) == 2 and note[0] == "bytes" and isinstance(note[1], str) and _FIXED_BYTES.fullmatch(note[1]):
        return values.astype(note[1])
    if isinstance(note, list) and len(note) == 3 and note[0] == "string" and note[1] in ("python", "pyarrow") and note[2] in ("NA", "nan"):
        return values.astype(pd.StringDtype(note[1], na_value=pd.NA if note[2] == "NA" else np.nan))
    raise DecodeError(f"invalid frame note {note!r:.100} for {values.dtype}")


def _unpacked_attrs(text: Any, unpacking: cells.Unpacking) -> dict[Any, Any]:
    try:
        attrs = unpacking.unpack(base64.b64decode(text, validate=True))
    except (TypeError, ValueError) as error:
        raise DecodeError(f"invalid frame attrs: {error}") from None
    if type(attrs) is not dict:
        raise DecodeError("frame attrs must be a map")
    return attrs


def _restore_object_strings(frame: pd.DataFrame, batch: pa.RecordBatch, pandas_metadata: dict[str, Any]) -> None:
    """Object-dtype string columns and index levels come back as object, None kept.

    pandas 3's ``to_pandas`` turns every Arrow string column into ``str`` dtype,
    whatever the metadata recorded; the metadata's ``numpy_type`` says which were object.
    """
    index_fields = [f for f in pandas_metadata.get("index_columns", []) if isinstance(f, str)]
    position = 0
    for entry in pandas_metadata.get("columns", []):
        name = entry.get("field_name")
        is_index = name in index_fields
        if entry.get("numpy_type") == "object" and _is_string_field(batch.schema, name):
            values = batch.column(name).to_numpy(zero_copy_only=False)
            if is_index:
                _replace_index_level(frame, index_fields.index(name), values)
            else:
                frame.isetitem(position, pd.Series(values, dtype=object, index=frame.index))
        position += not is_index


def _is_string_field(schema: pa.Schema, name: Any) -> bool:
    index = schema.get_field_index(name) if isinstance(name, str) else -1
    return index >= 0 and (pa.types.is_string(schema.field(index).type) or pa.types.is_large_string(schema.field(index).type))


def _replace_index_level(frame: pd.DataFrame, level: int, values: Any, dtype: Any = object) -> None:
    index = frame.index
    arrays = [index.get_level_values(i) for i in range(index.nlevels)]
    arrays[level] = pd.Index(values, dtype=dtype, name=index.names[level], tupleize_cols=False)
    frame.index = pd.MultiIndex.from_arrays(arrays, names=index.names) if index.nlevels > 1 else arrays[0]


def _restore_label_dtypes(frame: pd.DataFrame, pandas_metadata: dict[str, Any] | None) -> None:
    """Plain string labels come back with the dtype they had: pandas 3 ``str``, or object."""
    levels = (pandas_metadata or {}).get("column_indexes") or []
    if len(levels) != 1 or not isinstance(levels[0], dict) or isinstance(frame.columns, pd.MultiIndex):
        return
    dtype = {"str": "str", "object": object}.get(levels[0].get("numpy_type"))
    if dtype is not None and frame.columns.inferred_type in ("string", "empty"):
        frame.columns = frame.columns.astype(dtype)
