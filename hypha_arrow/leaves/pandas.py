"""pandas DataFrame and Series, through ``Table.from_pandas`` / ``to_pandas`` and pandas' own metadata.

pandas' metadata restores index, column labels and extension dtypes; the few
things it does not (an index ``freq``, object-dtype string columns under
pandas 3's string inference, a Series' missing name) ride in our metadata.
"""

from __future__ import annotations

import warnings
from typing import Any

import pandas as pd
import pyarrow as pa

from ..config import Config
from ..errors import DecodeError, EncodeError
from .arrow import batch_of, table_column
from .base import Column


class PandasLeaf:
    kinds = ("dataframe", "series")

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
        raise EncodeError(_conversion_error(frame, error)) from None
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


def _conversion_error(frame: pd.DataFrame, error: Exception) -> str:
    """Name the column Arrow could not hold exactly."""
    for label in frame.columns:
        try:
            pa.array(frame[label], from_pandas=True)
        except (pa.ArrowException, ValueError, TypeError) as column_error:
            return f"[{label!r}]: cannot be held exactly by Arrow: {column_error}"
    return f"cannot be held exactly by Arrow: {error}"


def frame_from_batch(batch: pa.RecordBatch, freq: Any = None) -> pd.DataFrame:
    """A DataFrame from a batch carrying pandas metadata, numeric columns zero-copy."""
    with warnings.catch_warnings():
        # pandas 3 deprecates the option, but it is how to_pandas honours the
        # recorded numpy_type: object-dtype string columns come back as object.
        warnings.simplefilter("ignore", FutureWarning)
        with pd.option_context("future.infer_string", False):
            frame = pa.Table.from_batches([batch]).to_pandas(split_blocks=True)
    if freq is not None:
        if not isinstance(freq, str):
            raise DecodeError(f"invalid index freq {freq!r}")
        frame.index.freq = freq
    return frame
