"""DataFrames and Series round-trip exactly, numeric columns zero-copy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hypha_arrow
from conftest import lies_inside, round_trip, sample_frame


def assert_frame_round_trips(frame: pd.DataFrame) -> pd.DataFrame:
    decoded = round_trip(frame)
    pd.testing.assert_frame_equal(frame, decoded, check_exact=True)
    return decoded


def test_dataframe_with_every_column_kind_round_trips() -> None:
    assert_frame_round_trips(sample_frame(3000))


def test_dataframe_with_multiindex_round_trips() -> None:
    assert_frame_round_trips(sample_frame(500).set_index(["int", "str"]))


def test_dataframe_with_named_and_object_indexes_round_trips() -> None:
    frame = sample_frame(200)
    assert_frame_round_trips(frame.set_index(pd.Index(np.arange(200) * 3, name="row")))
    assert_frame_round_trips(frame.set_index(pd.Index([f"k{i}" for i in range(200)], dtype=object, name="key")))
    assert_frame_round_trips(frame.set_index(pd.RangeIndex(10, 410, 2, name="r")))


def test_datetime_index_keeps_its_frequency() -> None:
    frame = pd.DataFrame({"v": np.arange(100.0)}, index=pd.date_range("2024-01-01", periods=100, freq="D"))
    assert assert_frame_round_trips(frame).index.freqstr == "D"


@pytest.mark.parametrize(
    "columns",
    [[0, 1, 2], [1.5, 2.5, 3.5], pd.MultiIndex.from_tuples([("a", 1), ("a", 2), ("b", 1)], names=["top", "sub"])],
)
def test_non_string_column_labels_round_trip(columns: object) -> None:
    assert_frame_round_trips(pd.DataFrame(np.arange(12.0).reshape(4, 3), columns=columns))


def test_empty_frames_round_trip() -> None:
    assert_frame_round_trips(pd.DataFrame())
    assert_frame_round_trips(pd.DataFrame(index=pd.RangeIndex(7)))
    assert_frame_round_trips(sample_frame(3).iloc[:0])


def test_ordered_categorical_with_unused_categories_round_trips() -> None:
    categories = pd.Categorical(["b", "a", "b"], categories=["z", "b", "a"], ordered=True)
    assert_frame_round_trips(pd.DataFrame({"c": categories}))


def test_series_round_trip_with_names_and_indexes() -> None:
    frame = sample_frame(300)
    for series in (frame["float"], frame["category"], frame["tz"], pd.Series(np.arange(5)), pd.Series(["x", "y"], index=["a", "b"], name=7)):
        pd.testing.assert_series_equal(series, round_trip(series), check_exact=True)


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


def test_mixed_object_column_is_refused_naming_the_column() -> None:
    frame = pd.DataFrame({"ok": [1, 2], "price": pd.Series([1, "a"], dtype=object)})
    with pytest.raises(hypha_arrow.EncodeError) as error:
        hypha_arrow.encode_message({"type": "method"}, {"args": [{"table": frame}]})
    assert error.value.path == "args[0]['table']['price']"


def test_mixed_type_column_labels_are_refused() -> None:
    with pytest.raises(hypha_arrow.EncodeError, match="mixed types"):
        hypha_arrow.encode(pd.DataFrame({"a": [1], 2: [3]}))


def test_duplicate_column_labels_are_refused() -> None:
    with pytest.raises(hypha_arrow.EncodeError, match="duplicate"):
        hypha_arrow.encode(pd.DataFrame([[1, 2]], columns=["a", "a"]))
