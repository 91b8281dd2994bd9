"""Codec round trips and the zero-copy check the unit tests share."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

import hypha_arrow


def round_trip(value: Any, **config: Any) -> Any:
    cfg = hypha_arrow.Config(**config) if config else None
    return hypha_arrow.decode(hypha_arrow.encode(value, config=cfg), config=cfg)


def buffer_range(data: bytes) -> tuple[int, int]:
    start = pa.py_buffer(data).address
    return start, start + len(data)


def lies_inside(array: np.ndarray, data: bytes) -> bool:
    """Whether ``array``'s data is a view into the frame ``data`` (decoded without a copy)."""
    start, end = buffer_range(data)
    return start <= array.__array_interface__["data"][0] < end


def sample_frame(rows: int) -> pd.DataFrame:
    """A DataFrame with one column of each kind pandas users send."""
    index = np.arange(rows)
    return pd.DataFrame(
        {
            "int": index,
            "float": np.linspace(0, 1, rows),
            "str": [f"name-{i}" for i in index],
            "object_str": pd.Series([f"o{i}" if i % 3 else None for i in index], dtype=object),
            "category": pd.Categorical(np.array(["red", "green", "blue"])[index % 3]),
            "tz": pd.date_range("2024-01-01", periods=rows, freq="min", tz="Europe/Berlin"),
            "nullable_int": pd.array([i if i % 5 else None for i in index], dtype="Int64"),
            "nullable_bool": pd.array([bool(i % 2) if i % 7 else None for i in index], dtype="boolean"),
            "nullable_float": pd.array([i / 4 if i % 6 else None for i in index], dtype="Float64"),
        }
    )
