"""pandas DataFrame and Series, through ``Table.from_pandas`` / ``to_pandas`` and pandas' own metadata.

pandas' metadata restores index, column labels and extension dtypes; the few
things it does not (an index ``freq``, object-dtype string columns under
pandas 3's string inference, a Series' missing name) ride in our metadata.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa

from ..config import Config
from ..errors import DecodeError, EncodeError
from .arrow import batch_of, table_column
from .base import Column


class PandasLeaf:
    kinds = ("dataframe", "series")

    def msgpack_form(self, value: pd.DataFrame | pd.Series, config: Config) -> None:
        return None  # pandas objects have no msgpack form in hypha-rpc

    def encode(self, value: pd.DataFrame | pd.Series, config: Config) -> Column:
        if isinstance(value, pd.Series):
            frame = value.to_frame()
            return _frame_column("series", frame, {"unnamed": value.name is None})
        return _frame_column("dataframe", value, {})

    def decode(self, column: Column, config: Config) -> pd.DataFrame | pd.Series:
        frame = frame_from_batch(batch_of(column), column.meta.get("freq"))
        if column.kind == "dataframe":
            return frame
        if frame.shape[1] != 1:
            raise DecodeError(f"a Series must have one column, got {frame.shape[1]}")
        series = frame.iloc[:, 0]
        if column.meta.get("unnamed"):
            series.name = None
        return series


def _frame_column(kind: str, frame: pd.DataFrame, meta: dict[str, Any]) -> Column:
    _check_labels(frame)
    try:
        table = pa.Table.from_pandas(frame, preserve_index=None)
    except (pa.ArrowException, ValueError, TypeError) as error:
        raise _conversion_error(frame, error) from None
    freq = getattr(frame.index, "freqstr", None)
    if freq is not None:
        meta["freq"] = freq
    return table_column(kind, table, meta)


def _check_labels(frame: pd.DataFrame) -> None:
    """Refuse column labels Arrow's pandas metadata would silently turn into strings."""
    labels = frame.columns
    if isinstance(labels, pd.MultiIndex):
        return
    if not labels.is_unique:
        raise EncodeError(f"duplicate column labels {sorted(map(str, labels[labels.duplicated()]))}")
    if labels.inferred_type in ("mixed", "mixed-integer", "mixed-integer-float"):
        raise EncodeError(f"column labels of mixed types cannot round-trip: {list(labels)!r}")


def _conversion_error(frame: pd.DataFrame, error: Exception) -> EncodeError:
    """Name the column Arrow could not hold exactly."""
    for label in frame.columns:
        try:
            pa.array(frame[label], from_pandas=True)
        except (pa.ArrowException, ValueError, TypeError) as column_error:
            return EncodeError(f"cannot be held exactly by Arrow: {column_error}", f"[{label!r}]")
    return EncodeError(f"cannot be held exactly by Arrow: {error}")


def frame_from_batch(batch: pa.RecordBatch, freq: Any = None) -> pd.DataFrame:
    """A DataFrame from a batch carrying pandas metadata, numeric columns zero-copy."""
    frame = pa.Table.from_batches([batch]).to_pandas(split_blocks=True)
    pandas_metadata = batch.schema.pandas_metadata or {}
    _restore_object_strings(frame, batch, pandas_metadata)
    _restore_label_dtypes(frame, pandas_metadata)
    if freq is not None:
        if not isinstance(freq, str):
            raise DecodeError(f"invalid index freq {freq!r}")
        frame.index.freq = freq
    return frame


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


def _replace_index_level(frame: pd.DataFrame, level: int, values: Any) -> None:
    index = frame.index
    arrays = [index.get_level_values(i) for i in range(index.nlevels)]
    arrays[level] = pd.Index(values, dtype=object, name=index.names[level])
    frame.index = pd.MultiIndex.from_arrays(arrays, names=index.names) if index.nlevels > 1 else arrays[0]


def _restore_label_dtypes(frame: pd.DataFrame, pandas_metadata: dict[str, Any] | None) -> None:
    """Column labels recorded as pandas 3 ``str`` come back as ``str``, not object."""
    levels = (pandas_metadata or {}).get("column_indexes") or []
    str_levels = [i for i, level in enumerate(levels) if isinstance(level, dict) and level.get("numpy_type") == "str"]
    if not str_levels or len(levels) != frame.columns.nlevels:
        return
    labels = frame.columns
    if isinstance(labels, pd.MultiIndex):
        for i in str_levels:
            labels = labels.set_levels(labels.levels[i].astype("str"), level=i)
    elif labels.inferred_type in ("string", "empty"):
        labels = labels.astype("str")
    frame.columns = labels
