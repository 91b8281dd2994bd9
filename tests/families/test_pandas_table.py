"""frame_to_table makes the table ``Table.from_pandas`` makes, numeric data taken as it is."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from hypha_arrow.families.pandas_table import frame_to_table
from tests.support.codec import sample_frame

TYPED = sample_frame(40).drop(columns="object_str")  # an object column sends the frame through from_pandas whole


@pytest.mark.parametrize(
    "frame",
    [
        TYPED,
        TYPED.set_index(["int", "str"]),
        TYPED.set_index("tz"),
        TYPED.set_index("category"),
        TYPED.set_index(pd.RangeIndex(10, 130, 3, name="r")),
        TYPED.iloc[::3],
        sample_frame(40),
        pd.DataFrame(index=pd.RangeIndex(4)),
        pd.DataFrame({"u8": np.arange(3, dtype="u8"), "f2": np.ones(3, dtype="f2"), "b": [True, False, True], "m": pd.to_timedelta([1, None, 3], unit="s")}),
    ],
    ids=["typed", "multiindex", "tz-index", "category-index", "range-index", "sliced", "object-column", "no-columns", "more-dtypes"],
)
def test_schema_metadata_and_values_are_those_of_from_pandas(frame: pd.DataFrame) -> None:
    expected = pa.Table.from_pandas(frame, preserve_index=None)
    table = frame_to_table(frame)
    assert table.schema.equals(expected.schema, check_metadata=True)
    assert table.num_rows == expected.num_rows
    assert all(actual.equals(wanted) for actual, wanted in zip(table.columns, expected.columns))


def test_numeric_columns_are_the_frames_own_buffers_and_keep_their_nan() -> None:
    frame = pd.DataFrame({"f": [1.0, np.nan, 3.0], "i": np.arange(3)})
    table = frame_to_table(frame)
    assert table.column("f").null_count == 0 and np.isnan(table.column("f").to_numpy()[1])
    for name in ("f", "i"):
        assert table.column(name).chunk(0).buffers()[1].address == frame[name].to_numpy().__array_interface__["data"][0]
    pd.testing.assert_frame_equal(table.to_pandas(), frame)
