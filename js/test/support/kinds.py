"""The values of the issue's table, by name, built the same way by kinds.js on the JavaScript side,
and an exact comparison of what arrived with what was meant. Imports no hypha_arrow: the stock
client uses it too."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

N = 2000
_i = np.arange(N)


def _arrays() -> dict[str, np.ndarray]:
    i64 = _i.astype(np.int64)
    return {
        "f8": _i / 4,
        "f4": (_i / 4).astype(np.float32),
        "f2": (_i / 8).astype(np.float16),
        "i1": (_i % 256 - 128).astype(np.int8),
        "i2": (_i * 16 - 16000).astype(np.int16),
        "i4": (_i * 100_000 - 100_000_000).astype(np.int32),
        "i8": i64 * 2**45 - 2**55,
        "u1": (_i % 256).astype(np.uint8),
        "u2": (_i * 30).astype(np.uint16),
        "u4": (_i.astype(np.uint64) * 2_000_000).astype(np.uint32),
        "u8": _i.astype(np.uint64) * np.uint64(2**50) + np.uint64(2**63),
        "b1": _i % 3 == 0,
        "M8": (i64 * 86_400_000_000_000 + 1_700_000_000_000_000_000).astype("M8[ns]"),
        "m8": (i64 * 3600 - 1000).astype("m8[s]"),
        "U": np.array([f"s{k}" for k in range(N)]),
        "f8_F": np.asfortranarray((_i / 4).reshape(40, 50)),
        "i4_small": np.arange(6, dtype=np.int32),
    }


ARRAYS = _arrays()
ROWS = 3000
FRAME = pd.DataFrame(
    {
        "id": np.arange(ROWS),
        "x": np.arange(ROWS) / 8,
        "name": [f"n{k}" for k in range(ROWS)],
        "flag": np.arange(ROWS) % 2 == 0,
        "when": pd.date_range("2024-01-01", periods=ROWS, freq="h"),
    }
)
SERIES = pd.Series(np.arange(ROWS) / 2, name="half")
TABLE = pa.table({"a": pa.array(range(ROWS), pa.int32()), "s": pa.array([f"t{k}" for k in range(ROWS)])})
BATCH = pa.record_batch([pa.array(np.arange(ROWS) * 3), pa.array([k % 2 == 1 for k in range(ROWS)])], names=["n", "odd"])
LISTS = {
    "ints": list(range(-1000, 1000)),
    "floats": [k + 0.5 for k in range(N)],
    "bools": [k % 3 == 0 for k in range(N)],
    "strs": [f"w{k}" for k in range(N)],
}
RECORDS = [{"id": k, "x": k / 4 + 0.125, "name": f"r{k}"} for k in range(500)]
VALUES: dict[str, Any] = {**ARRAYS, "frame": FRAME, "series": SERIES, "table": TABLE, "batch": BATCH, **LISTS, "records": RECORDS}


def make(kind: str) -> Any:
    return VALUES[kind]


def check(kind: str, value: Any) -> dict:
    """Whether `value` is exactly `make(kind)`: type, dtype, shape, order and every element."""
    expected = make(kind)
    if _equal(expected, value):
        return {"type": type(value).__name__, "equal": True}
    return {"type": type(value).__name__, "equal": False, "got": _first_difference(expected, value)}


def _first_difference(expected: Any, value: Any) -> str:
    if isinstance(expected, list) and isinstance(value, list):
        for k, (e, v) in enumerate(zip(expected, value)):
            if e != v or type(e) is not type(v):
                return f"[{k}]: {v!r} ({type(v).__name__}), expected {e!r} ({type(e).__name__})"
        return f"length {len(value)}, expected {len(expected)}"
    return f"{value!r:.300}, expected {expected!r:.300}"


def _equal(expected: Any, value: Any) -> bool:
    if isinstance(expected, np.ndarray):
        return (
            isinstance(value, np.ndarray)
            and value.dtype.str == expected.dtype.str
            and value.shape == expected.shape
            and bool(np.isfortran(value)) == bool(np.isfortran(expected))
            and np.array_equal(value, expected)
        )
    if isinstance(expected, pd.DataFrame):
        return isinstance(value, pd.DataFrame) and list(value.dtypes) == list(expected.dtypes) and value.equals(expected)
    if isinstance(expected, pd.Series):
        return isinstance(value, pd.Series) and value.name == expected.name and value.dtype == expected.dtype and value.equals(expected)
    if isinstance(expected, pa.RecordBatch):
        return isinstance(value, pa.RecordBatch | pa.Table) and pa.Table.from_batches([expected]).equals(pa.table(value))
    if isinstance(expected, pa.Table):
        return isinstance(value, pa.Table) and value.equals(expected)
    if isinstance(expected, list):
        return isinstance(value, list) and value == expected and [type(v) for v in value] == [type(v) for v in expected]
    raise AssertionError(f"no comparison for {type(expected).__name__}")


def digest(data: Any) -> str:
    """sha256 of an array's bytes in memory order (C or F), or of bytes."""
    if isinstance(data, np.ndarray):
        data = np.ascontiguousarray(data).tobytes() if not np.isfortran(data) else data.tobytes(order="F")
    return hashlib.sha256(bytes(data)).hexdigest()


def frame_digests(frame: pd.DataFrame | pa.Table) -> dict:
    """sha256 of each column: numbers by their bytes, strings joined by newlines."""
    table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
    out = {}
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            out[name] = hashlib.sha256("\n".join(column.to_pylist()).encode()).hexdigest()
        else:
            out[name] = digest(column.to_numpy())
    return {"rows": table.num_rows, "columns": out}
