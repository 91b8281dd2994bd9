"""polars frames of every dtype, for the codec tests and the echo through a server."""

from __future__ import annotations

import datetime
from decimal import Decimal

import polars as pl

POLARS_2 = hasattr(pl, "Map")
"""Float16, Map and named Categories arrived with polars 2 (the test extra allows polars 1 too)."""


def every_dtype(rows: int) -> pl.DataFrame:
    """One column of each dtype polars users send; nulls, NaN, -0.0 and an empty name among them."""
    index = range(rows)
    start = datetime.datetime(2024, 3, 31, 0, 30)
    columns = {
        "int": pl.Series([i if i % 7 else None for i in index], dtype=pl.Int64),
        "uint8": pl.Series([i % 256 for i in index], dtype=pl.UInt8),
        "float": pl.Series([i / 3 if i % 5 else None for i in index], dtype=pl.Float64),
        "nan": pl.Series([float("nan"), -0.0, float("inf")] * (rows // 3) + [1.0] * (rows % 3)),
        "bool": pl.Series([bool(i % 2) if i % 3 else None for i in index]),
        "str": pl.Series([f"name-{i}" if i % 4 else None for i in index]),
        "long_str": pl.Series([f"a string long enough not to be inlined in its view {i}" for i in index]),
        "binary": pl.Series([bytes([i % 256]) * (i % 20) if i % 6 else None for i in index]),
        "categorical": pl.Series([("red", "green", "blue")[i % 3] for i in index], dtype=pl.Categorical),
        "enum": pl.Series([("low", "high")[i % 2] for i in index], dtype=pl.Enum(["low", "mid", "high"])),
        "datetime_tz": pl.datetime_range(start, start + datetime.timedelta(minutes=rows - 1), "1m", time_zone="UTC", eager=True)
        .dt.convert_time_zone("Europe/Berlin"),  # across the switch to summer time
        "datetime_ns": pl.Series([start] * rows, dtype=pl.Datetime("ns")),
        "date": pl.Series([datetime.date(2024, 1, 1) + datetime.timedelta(days=i) for i in index]),
        "time": pl.Series([datetime.time(i % 24, 30) for i in index]),
        "duration": pl.Series([datetime.timedelta(milliseconds=i) for i in index], dtype=pl.Duration("ms")),
        "decimal": pl.Series([Decimal(i) / 100 for i in index], dtype=pl.Decimal(12, 2)),
        "list": pl.Series([[i] * (i % 3) if i % 5 else None for i in index], dtype=pl.List(pl.Int32)),
        "list_of_enum": pl.Series([["x", "y"][: i % 3] for i in index], dtype=pl.List(pl.Enum(["x", "y"]))),
        "array": pl.Series([[i / 2, -i / 2] for i in index], dtype=pl.Array(pl.Float64, 2)),
        "struct": pl.Series([{"a": i, "b": f"s{i}"} if i % 4 else None for i in index]),
        "null": pl.Series([None] * rows, dtype=pl.Null),
        "": pl.Series(index, dtype=pl.Int64),
    }
    if POLARS_2:
        columns |= {
            "float16": pl.Series([i % 100 for i in index], dtype=pl.Float16),
            "named_categories": pl.Series([("b", "a")[i % 2] for i in index], dtype=pl.Categorical(pl.Categories("test_polars", "tests", pl.UInt8))),
            "map": pl.Series([{"k": i} if i % 2 else {} for i in index], dtype=pl.Map(pl.String, pl.Int64)),
        }
    return pl.DataFrame(columns)
