"""hypha_arrow.testing.assert_same: what it tells apart, and the equal values it accepts."""

from __future__ import annotations

import sys
import subprocess
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from hypha_arrow.testing import MismatchError, assert_same
from tests.support.exact import frame_of, object_array, object_series


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        pytest.param(1, True, id="int-vs-bool"),
        pytest.param(1, 1.0, id="int-vs-float"),
        pytest.param(np.int64(1), 1, id="numpy-vs-python-int"),
        pytest.param("a", np.str_("a"), id="str-vs-numpy-str"),
        pytest.param([1], (1,), id="list-vs-tuple"),
        pytest.param({"a": 1, "b": 2}, {"b": 2, "a": 1}, id="key-order"),
        pytest.param({1: "x"}, {"1": "x"}, id="key-type"),
        pytest.param(Decimal("1.1"), Decimal("1.100"), id="decimal-exponent"),
        pytest.param(0.0, -0.0, id="signed-zero"),
        pytest.param(None, float("nan"), id="none-vs-nan"),
        pytest.param(pd.NA, None, id="na-vs-none"),
        pytest.param(np.arange(6.0).reshape(2, 3).T, np.ascontiguousarray(np.arange(6.0).reshape(2, 3).T), id="fortran-order"),
        pytest.param(np.arange(3, dtype=">i4"), np.arange(3, dtype="<i4"), id="byte-order"),
        pytest.param(np.asmatrix(np.eye(2)), np.eye(2), id="matrix-vs-ndarray"),
        pytest.param(np.ma.array([1, 2], mask=[0, 1]), np.ma.array([1, 2], mask=[0, 0]), id="mask"),
        pytest.param(object_array([1, "a"]), object_array([1.0, "a"]), id="object-element-type"),
        pytest.param(frame_of(object_series([1, None])), frame_of(object_series([1.0, None])), id="object-cell-type"),
        pytest.param(pd.DataFrame([[1]], columns=[True]), pd.DataFrame([[1]], columns=[1]), id="column-label-type"),
        pytest.param(frame_of([1], index=pd.Index([0], name=0)), frame_of([1], index=pd.Index([0], name="0")), id="index-name-type"),
        pytest.param(frame_of([1, 2]), frame_of([1, 2], index=pd.Index([0, 1])), id="range-vs-int-index"),
        pytest.param(frame_of([1]), frame_of([1]).set_flags(allows_duplicate_labels=False), id="flags"),
        pytest.param(pd.Timestamp(0, tz="UTC"), pd.Timestamp(0, tz="UTC").tz_convert("Europe/Berlin"), id="timestamp-tz"),
        pytest.param(pa.table({"a": [1]}).replace_schema_metadata({"k": "v"}), pa.table({"a": [1]}), id="arrow-metadata"),
    ],
)
def test_assert_same_tells_apart(expected: Any, actual: Any) -> None:
    with pytest.raises(AssertionError):
        assert_same(expected, actual)


def test_assert_same_accepts_equal_values_with_nan() -> None:
    frame = frame_of(object_series([float("nan"), Decimal("NaN"), [1, np.int8(2)], {"k": None}]))
    assert_same(frame, frame.copy(deep=True))
    assert_same(np.array([np.nan, -0.0]), np.array([np.nan, -0.0]))
    assert_same(pa.array([1.5, float("nan"), None]), pa.array([1.5, float("nan"), None]))
    assert_same({"a": [np.datetime64("NaT"), pd.NaT, pd.NA]}, {"a": [np.datetime64("NaT"), pd.NaT, pd.NA]})


def test_a_mismatch_names_the_path_to_the_differing_value() -> None:
    with pytest.raises(MismatchError, match=r"^message\['rows'\]\[1\]\['score'\]: expected int 2, got float 2.0$"):
        assert_same({"rows": [{"score": 1}, {"score": 2}]}, {"rows": [{"score": 1}, {"score": 2.0}]})


def test_polars_frames_and_series_are_compared_by_schema_and_exact_values() -> None:
    pl = pytest.importorskip("polars")
    frame = pl.DataFrame({"a": [1, 2], "b": ["x", None]})
    assert_same(frame, frame.clone())
    assert_same(frame["b"], frame.clone()["b"])
    for other in (frame.with_columns(pl.col("a").cast(pl.Float64)), frame.rename({"b": "c"}), frame.reverse(), frame["a"].rename("z")):
        with pytest.raises(MismatchError):
            assert_same(frame if isinstance(other, pl.DataFrame) else frame["a"], other)


def test_importing_it_imports_neither_polars_nor_hypha_rpc() -> None:
    script = "import sys, hypha_arrow.testing; print(sorted({m.split('.')[0] for m in sys.modules} & {'polars', 'hypha_rpc'}))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_tables_nested_field_metadata_is_its_schemas_even_where_pyarrow_leaves_it_off_the_columns() -> None:
    def table_with(metadata: dict[str, str] | None) -> pa.Table:
        field = pa.field("s", pa.struct([pa.field("x", pa.string(), metadata=metadata)]))
        return pa.table([pa.array([{"x": "p"}, None])], schema=pa.schema([field]))

    table = table_with({"k": "v"})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    read_back = pa.ipc.open_stream(sink.getvalue()).read_all()
    assert table.column(0).type.field(0).metadata is None and read_back.column(0).type.field(0).metadata == {b"k": b"v"}
    assert_same(table, read_back)
    with pytest.raises(MismatchError, match="expected schema"):
        assert_same(table, table_with(None))
