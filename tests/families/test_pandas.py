"""DataFrames and Series round-trip exactly, numeric columns zero-copy."""

from __future__ import annotations

import datetime
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import hypha_arrow
from hypha_arrow.testing import assert_same
from tests.support.codec import lies_inside, round_trip, sample_frame


def assert_round_trips(value: pd.DataFrame | pd.Series) -> pd.DataFrame | pd.Series:
    """Decoded exactly: values, dtypes, labels and names with their types, object cells, attrs, flags."""
    decoded = round_trip(value)
    assert_same(value, decoded)
    return decoded


def test_dataframe_with_every_column_kind_round_trips() -> None:
    assert_round_trips(sample_frame(3000))


def test_dataframe_with_multiindex_round_trips() -> None:
    assert_round_trips(sample_frame(500).set_index(["int", "str"]))


def test_dataframe_with_named_and_object_indexes_round_trips() -> None:
    frame = sample_frame(200)
    assert_round_trips(frame.set_index(pd.Index(np.arange(200) * 3, name="row")))
    assert_round_trips(frame.set_index(pd.Index([f"k{i}" for i in range(200)], dtype=object, name="key")))
    assert_round_trips(frame.set_index(pd.RangeIndex(10, 410, 2, name="r")))


def test_datetime_index_keeps_its_frequency() -> None:
    frame = pd.DataFrame({"v": np.arange(100.0)}, index=pd.date_range("2024-01-01", periods=100, freq="D"))
    assert assert_round_trips(frame).index.freqstr == "D"


@pytest.mark.parametrize(
    "columns",
    [[0, 1, 2], [1.5, 2.5, 3.5], pd.MultiIndex.from_tuples([("a", 1), ("a", 2), ("b", 1)], names=["top", "sub"])],
)
def test_non_string_column_labels_round_trip(columns: object) -> None:
    assert_round_trips(pd.DataFrame(np.arange(12.0).reshape(4, 3), columns=columns))


def test_empty_frames_round_trip() -> None:
    assert_round_trips(pd.DataFrame())
    assert_round_trips(pd.DataFrame(index=pd.RangeIndex(7)))
    assert_round_trips(sample_frame(3).iloc[:0])


def test_ordered_categorical_with_unused_categories_round_trips() -> None:
    categories = pd.Categorical(["b", "a", "b"], categories=["z", "b", "a"], ordered=True)
    assert_round_trips(pd.DataFrame({"c": categories}))


def test_series_round_trip_with_names_and_indexes() -> None:
    frame = sample_frame(300)
    for series in (frame["float"], frame["category"], frame["tz"], pd.Series(np.arange(5)), pd.Series(["x", "y"], index=["a", "b"], name=7)):
        assert_same(series, round_trip(series))


def test_numeric_columns_decode_zero_copy() -> None:
    frame = pd.DataFrame({"a": np.arange(100_000, dtype="i8"), "b": np.random.default_rng(0).random(100_000)})
    data = hypha_arrow.encode(frame)
    decoded = hypha_arrow.decode(data)
    assert lies_inside(decoded["a"].to_numpy(), data)
    assert lies_inside(decoded["b"].to_numpy(), data)
    with pytest.raises(ValueError, match="read-only"):
        decoded.loc[0, "a"] = -1
    writable = decoded.copy()
    writable.loc[0, "a"] = -1
    assert writable.loc[0, "a"] == -1 and decoded.loc[0, "a"] == 0


OBJECT_COLUMNS = {
    "ints": [1, 2, 3],
    "ints_and_none": [2**53 + 1, None, -(2**63)],
    "big_ints": [2**64, -(2**70), 5],
    "lists": [[1, 2], [], ["a", [None]]],
    "dicts_with_their_own_keys": [{"a": 1}, {"b": 2.5}, {1: "int key", None: b"x"}],
    "decimals": [Decimal("1.1"), Decimal("NaN"), Decimal("-0.000")],
    "strings_with_nan_and_na": ["a", float("nan"), pd.NA],
    "tuples_and_numpy_scalars": [(1, "a"), np.float32(1.5), np.datetime64("2024-01-01", "s")],
    "arrays": [np.arange(3), np.ones((2, 2), dtype="f4", order="F"), None],
    "bools_and_ints": [True, 1, 1.0],
    "dates": [datetime.date(2024, 1, 31), None, datetime.date(1, 1, 1)],
}


@pytest.mark.parametrize("name", OBJECT_COLUMNS)
def test_object_column_cells_keep_their_exact_types(name: str) -> None:
    frame = pd.DataFrame({"n": [1, 2, 3], name: pd.Series(OBJECT_COLUMNS[name], dtype=object)})
    decoded = round_trip(frame)
    assert_same(frame, decoded)
    got = decoded[name].tolist()
    for sent, back in zip(OBJECT_COLUMNS[name], got):
        assert type(back) is type(sent)
        if isinstance(sent, np.ndarray):
            np.testing.assert_array_equal(back, sent, strict=True)
            assert back.flags.f_contiguous == sent.flags.f_contiguous


def test_object_index_levels_of_mixed_content_round_trip() -> None:
    frame = pd.DataFrame({"v": [1.0, 2.0, 3.0]}, index=pd.MultiIndex.from_arrays([pd.Index([1, "a", None], dtype=object), [1, 2, 3]], names=["k", None]))
    assert_round_trips(frame)


def test_a_cell_that_cannot_be_sent_exactly_is_refused_naming_column_and_row() -> None:
    frame = pd.DataFrame({"ok": [1, 2], "when": pd.Series([1, object()], dtype=object)})
    with pytest.raises(hypha_arrow.EncodeError) as error:
        hypha_arrow.encode_message({"type": "method"}, {"args": [{"table": frame}]})
    assert error.value.path == "args[0]['table']['when'][1]"
    with pytest.raises(hypha_arrow.EncodeError, match="UTF-8"):
        hypha_arrow.encode(pd.DataFrame({"s": pd.Series(["\ud800", 1], dtype=object)}))


def test_categories_of_object_dtype_stay_object() -> None:
    categories = pd.Index(["low", "high"], dtype=object)
    frame = pd.DataFrame({"c": pd.Categorical(["low", "high", "low"], categories=categories, ordered=True)})
    assert_round_trips(frame)


def test_object_categories_that_are_not_strings_are_refused() -> None:
    frame = pd.DataFrame({"c": pd.Categorical([1, "a"], categories=pd.Index([1, "a"], dtype=object))})
    with pytest.raises(hypha_arrow.EncodeError, match="categories"):
        hypha_arrow.encode(frame)


@pytest.mark.parametrize(
    "labels",
    [
        pd.Index([True, False]),
        pd.Index([1, "a", 2.5, None], dtype=object),
        pd.Index(["a", "a"]),
        pd.RangeIndex(2, 8, 3, name=0),
        pd.CategoricalIndex(["x", "y"], name=("a", 1)),
        pd.period_range("2024-01", periods=2, freq="M"),
        pd.timedelta_range("1D", periods=2),
        pd.date_range("2024-01-01", periods=2, tz="Europe/Berlin", freq="h"),
        pd.MultiIndex.from_tuples([("a", 1), ("a", "1")]),
        pd.MultiIndex.from_tuples([("a", 1), ("a", 1)]),
        pd.Index([np.int32(1), b"raw"], dtype=object),
    ],
    ids=repr,
)
def test_column_labels_of_every_kind_round_trip(labels: pd.Index) -> None:
    frame = pd.DataFrame(np.arange(len(labels) * 3).reshape(3, len(labels)), columns=labels)
    assert_round_trips(frame)


@pytest.mark.parametrize("name", [0, 1.5, True, ("a", 1), None, "0", pd.Timestamp("2024-01-01")])
def test_index_and_series_names_keep_their_type(name: object) -> None:
    assert_round_trips(pd.DataFrame({"a": [1, 2]}, index=pd.Index([5, 6], name=name)))
    assert_round_trips(pd.Series([1.5, 2.5], name=name))


@pytest.mark.parametrize(
    "index",
    [
        pd.period_range("2024-01", periods=3, freq="M"),
        pd.timedelta_range("1h", periods=3, freq="h"),
        pd.date_range("2024-01-01", periods=3, freq="D", tz="UTC"),
        pd.interval_range(0, 3),
        pd.CategoricalIndex(["a", "b", "a"]),
        pd.CategoricalIndex(["a", "b", "a"], categories=pd.Index(["a", "b"], dtype=object)),
        pd.Index([np.str_(""), np.str_("x"), "y"], dtype=object),
        pd.Index([2**63 - 1, None, -5], dtype="Int64"),
        pd.Index([True, None, False], dtype="boolean"),
        pd.Index([1.5, None, 2.0], dtype="Float32"),
    ],
    ids=lambda index: f"{type(index).__name__}-{index.dtype}",
)
def test_row_indexes_of_every_kind_round_trip(index: pd.Index) -> None:
    assert_round_trips(pd.DataFrame({"v": [1, 2, 3]}, index=index))


@pytest.mark.parametrize("dtype", ["string[python]", "string[pyarrow]", "str", pd.StringDtype("python", na_value=np.nan)], ids=str)
def test_string_dtypes_keep_their_storage(dtype: object) -> None:
    assert_round_trips(pd.DataFrame({"s": pd.array(["a", None, "c"], dtype=dtype)}))


def test_flags_and_attrs_round_trip() -> None:
    frame = pd.DataFrame({"a": [1, 2]}).set_flags(allows_duplicate_labels=False)
    frame.attrs = {"units": ("m", "s"), 1: [np.float32(2)]}
    decoded = round_trip(frame)
    assert decoded.flags.allows_duplicate_labels is False
    assert decoded.attrs == frame.attrs and type(decoded.attrs["units"]) is tuple
    assert type(decoded.attrs[1][0]) is np.float32

@pytest.mark.parametrize(
    "values",
    [pa.array([1, 2, 3]), pa.array([Decimal("1.5"), None, Decimal("2.25")], pa.decimal128(6, 2)), pa.array([[1], [], [2, 3]])],
    ids=lambda values: str(values.type),
)
def test_arrow_backed_columns_and_index_levels_keep_their_dtype(values: pa.Array) -> None:
    dtype_values = pd.arrays.ArrowExtensionArray(values)
    assert_round_trips(pd.DataFrame({"c": dtype_values, "n": [1, 2, 3]}))
    if not pa.types.is_list(values.type):  # pandas cannot build an Index of lists
        assert_round_trips(pd.DataFrame({"n": [1, 2, 3]}, index=pd.Index(dtype_values, name="k")))


STRING_DTYPES = [object, "str", "string[python]", "string[pyarrow]", pd.StringDtype("python", na_value=np.nan)]


@pytest.mark.parametrize("dtype", STRING_DTYPES, ids=str)
def test_string_labels_and_index_levels_keep_their_dtype(dtype: object) -> None:
    labels = pd.Index(["a", "b"], dtype=dtype)
    assert_round_trips(pd.DataFrame([[1, 2]], columns=labels))
    assert_round_trips(pd.DataFrame({"v": [1, 2]}, index=labels))
    assert_round_trips(pd.DataFrame({"v": [1, 2]}, index=pd.MultiIndex.from_arrays([labels, [1, 2]])))


def test_fixed_width_bytes_columns_keep_their_dtype() -> None:
    series = pd.Series(np.array([b"ab", b"", b"c"], dtype="S2"), name="b")
    assert series.dtype == "S2"
    assert_round_trips(series)


def test_missing_value_in_an_integer_index_level_is_refused() -> None:
    frame = pd.DataFrame({"x": [1, 2]}, index=pd.MultiIndex.from_arrays([[1, np.nan], ["a", None]]))
    with pytest.raises(hypha_arrow.EncodeError, match=r"index\[0\].*nullable"):
        hypha_arrow.encode(frame)


def test_a_process_that_only_decodes_reads_interval_and_period_columns(tmp_path: Path) -> None:
    """pandas registers its Arrow extension types lazily: a receiver that never encoded one
    must still read them as themselves, not as structs of dicts."""
    frame = pd.DataFrame({"p": pd.period_range("2020-01", periods=3, freq="M")}, index=pd.interval_range(0, 3))
    path = tmp_path / "frame.bin"
    path.write_bytes(hypha_arrow.encode(frame))
    script = f"import hypha_arrow; v = hypha_arrow.decode(open({str(path)!r}, 'rb').read()); print(v.index.dtype, v['p'].dtype, sep=chr(10))"
    shown = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.splitlines()
    assert shown == [str(frame.index.dtype), str(frame["p"].dtype)]
