"""Wide DataFrames travel as one block per numeric dtype and come back exactly, the blocks zero-copy."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import hypha_arrow
from hypha_arrow.families.pandas_blocks import BLOCK_COLUMNS
from hypha_arrow.testing import assert_same
from tests.support.codec import lies_inside, round_trip
from tests.support.frames import crafted_frame, with_column_meta

WIDTH = BLOCK_COLUMNS + 20
RNG = np.random.default_rng(7)


def frame_meta(frame: pd.DataFrame) -> dict[str, Any]:
    (column,) = hypha_arrow.inspect(hypha_arrow.encode(frame))["section"]["columns"]
    return column["meta"]


def wide(rows: int = 5, width: int = WIDTH, dtype: str = "f8") -> pd.DataFrame:
    return pd.DataFrame(RNG.random((rows, width)).astype(dtype), columns=[f"feature-{i}" for i in range(width)])


def mixed() -> pd.DataFrame:
    """Three numeric dtypes shuffled among other columns, a named object index, attrs and flags."""
    columns = {f"f{i}": RNG.random(4) for i in range(WIDTH)}
    columns.update({i: np.arange(4, dtype="i4") * i for i in range(12)})
    columns.update({"flag": [True, False, True, True], "text": ["a", None, "c", "d"], "when": pd.date_range("2024", periods=4)})
    columns.update({"cells": pd.Series([1, "x", None, (2,)], dtype=object), "nullable": pd.array([1, None, 3, 4], dtype="Int64")})
    frame = pd.DataFrame(columns)
    frame = frame[list(RNG.permutation(frame.columns))]
    frame.index = pd.Index(["w", "x", "y", "z"], dtype=object, name=("key", 1))
    frame.attrs = {"units": ("m", 2)}
    return frame.set_flags(allows_duplicate_labels=False)


def test_a_wide_frame_travels_as_one_block_and_decodes_without_a_copy() -> None:
    frame = wide(rows=50)
    assert frame_meta(frame)["blocks"] == [{"dtype": "<f8", "columns": [[0, WIDTH]]}]
    data = hypha_arrow.encode(frame)
    decoded = hypha_arrow.decode(data)
    assert_same(frame, decoded)
    assert decoded._mgr.nblocks == 1
    assert lies_inside(decoded.to_numpy(), data)
    with pytest.raises(ValueError, match="read-only"):
        decoded.iloc[0, 0] = -1.0
    writable = decoded.copy()
    writable.iloc[0, 0] = -1.0
    assert writable.iloc[0, 0] == -1.0 != decoded.iloc[0, 0]


def test_a_decoded_wide_frame_is_sent_again_as_it_came() -> None:
    decoded = round_trip(wide())
    assert_same(decoded, round_trip(decoded))


def test_frames_narrower_than_the_threshold_keep_one_child_per_column() -> None:
    assert "blocks" not in frame_meta(wide(width=BLOCK_COLUMNS - 1))
    assert "blocks" in frame_meta(wide(width=BLOCK_COLUMNS))
    assert "blocks" not in frame_meta(wide(rows=0))


def test_mixed_dtypes_use_one_block_per_dtype_and_the_other_columns_stay_columns() -> None:
    frame = mixed()
    assert sorted(block["dtype"] for block in frame_meta(frame)["blocks"]) == ["<f8", "<i4", "|b1"]
    decoded = round_trip(frame)
    assert_same(frame, decoded)
    assert decoded.flags.allows_duplicate_labels is False and decoded.attrs == frame.attrs
    assert [str(dtype) for dtype in decoded.dtypes] == [str(dtype) for dtype in frame.dtypes]


@pytest.mark.parametrize("dtype", ["f2", "f4", "i1", "u2", "i8", "u8", "bool"])
def test_blocks_of_every_numeric_dtype_round_trip(dtype: str) -> None:
    frame = pd.DataFrame(RNG.integers(0, 2, (3, WIDTH)).astype(dtype))
    assert_same(frame, round_trip(frame))


@pytest.mark.parametrize(
    "labels",
    [
        pd.RangeIndex(WIDTH),
        pd.Index([1.5 * i for i in range(WIDTH)]),
        pd.Index(["same"] * WIDTH),
        pd.Index([i if i % 2 else f"s{i}" for i in range(WIDTH)], dtype=object),
        pd.MultiIndex.from_tuples([("group", i // 2) for i in range(WIDTH)], names=["top", 0]),
        pd.Index([("a", i) for i in range(WIDTH)], dtype=object, tupleize_cols=False),
        pd.Index([f"c{i}" for i in range(WIDTH)], dtype=object, name="named"),
    ],
    ids=["range", "floats", "duplicates", "mixed", "multiindex", "tuples", "object-named"],
)
def test_labels_of_every_kind_come_back_exactly(labels: pd.Index) -> None:
    frame = pd.DataFrame(np.zeros((2, WIDTH)), columns=labels)
    assert_same(frame, round_trip(frame))


@pytest.mark.parametrize(
    "index",
    [pd.RangeIndex(5, 15, 2), pd.date_range("2024-01-01", periods=5, freq="D"), pd.MultiIndex.from_arrays([list("abcde"), range(5)])],
    ids=["range", "dates", "multiindex"],
)
def test_the_index_comes_back_exactly(index: pd.Index) -> None:
    frame = wide()
    frame.index = index
    assert_same(frame, round_trip(frame))


def test_fragmented_and_fortran_ordered_frames_round_trip() -> None:
    fragmented = pd.DataFrame({"seed": np.zeros(3)})
    for i in range(WIDTH):
        fragmented[f"c{i}"] = np.full(3, float(i))  # one pandas block per column
    assert_same(fragmented, round_trip(fragmented))
    fortran = pd.DataFrame(np.arange(3.0 * WIDTH).reshape(3, WIDTH), copy=False)
    assert_same(fortran, round_trip(fortran))


def test_a_series_of_a_wide_frame_is_not_a_block() -> None:
    series = wide().iloc[0]
    assert "blocks" not in frame_meta(series)
    assert_same(series, round_trip(series))


MESSAGE = hypha_arrow.encode_message({"type": "method"}, {"v": mixed()})


def positions(block: dict[str, Any]) -> list[int]:
    return [p for start, stop in block["columns"] for p in range(start, stop)]


def overlapping(meta: dict[str, Any]) -> None:
    """Block 1 gets as many of block 0's columns as it has: the counts add up, the columns overlap."""
    first, second = meta["blocks"][0], meta["blocks"][1]
    second["columns"] = [[p, p + 1] for p in positions(first)[: len(positions(second))]]


def self_overlapping(meta: dict[str, Any]) -> None:
    width = len(positions(meta["blocks"][0]))
    meta["blocks"][0]["columns"] = [[0, width // 2], [0, width - width // 2]]


@pytest.mark.parametrize(
    "edit",
    [
        lambda meta: meta.update(blocks="all"),
        lambda meta: meta.update(blocks=[]),
        lambda meta: meta["blocks"][0].update(dtype="<c16"),
        lambda meta: meta["blocks"][0].update(dtype="=f8"),
        lambda meta: meta["blocks"][0].update(columns=[[0, 10**12]]),
        lambda meta: meta["blocks"][0].update(columns=[[0, 1], [0, 1]]),
        self_overlapping,
        overlapping,
        lambda meta: meta["blocks"][0].update(columns=[[1, 0]]),
        lambda meta: meta["blocks"][0].update(columns=[[0.5, 2]]),
        lambda meta: meta["blocks"].reverse(),
        lambda meta: meta.pop("labels"),
        lambda meta: meta.update(labels={"range": [0, 10**18, 1], "name": None}),
    ],
    ids=["not-a-list", "empty", "complex", "native-order", "huge-run", "too-few", "self-overlapping", "overlapping",
         "backwards", "float", "reordered", "no-labels", "huge-labels"],
)
def test_hostile_block_documents_are_refused(edit: Any) -> None:
    with pytest.raises(hypha_arrow.DecodeError):
        hypha_arrow.decode_message(with_column_meta(MESSAGE, edit))


def crafted_blocks(child: pa.Array, dtype: str, rows: int) -> bytes:
    """A DataFrame frame whose only data is ``child``, claimed to be a block of ``dtype``."""
    pandas_metadata = pa.Table.from_pandas(pd.DataFrame(index=pd.RangeIndex(rows))).schema.metadata
    values = pa.StructArray.from_arrays([child], names=["__block_0__"])
    width = child.type.list_size if pa.types.is_fixed_size_list(child.type) else 1
    meta = {"labels": {"range": [0, width, 1], "name": None}, "index_names": [None], "blocks": [{"dtype": dtype, "columns": [[0, width]]}]}
    return crafted_frame(values, kind="dataframe", section_field_metadata=pandas_metadata, meta=meta)


def test_crafted_block_data_is_checked() -> None:
    bools = pa.FixedSizeListArray.from_arrays(pa.array([0, 1, 2, 1], pa.uint8()), 2)
    with pytest.raises(hypha_arrow.DecodeError, match="0 and 1"):
        hypha_arrow.decode(crafted_blocks(bools, "|b1", 2))
    nulls = pa.FixedSizeListArray.from_arrays(pa.array([0.0, None, 2.0, 3.0]), 2)
    with pytest.raises(hypha_arrow.DecodeError, match="null"):
        hypha_arrow.decode(crafted_blocks(nulls, "<f8", 2))
    with pytest.raises(hypha_arrow.DecodeError, match="cannot be"):
        hypha_arrow.decode(crafted_blocks(pa.FixedSizeListArray.from_arrays(pa.array([1, 2], pa.int32()), 2), "<i8", 1))
    with pytest.raises(hypha_arrow.DecodeError, match="fixed_size_list"):
        hypha_arrow.decode(crafted_blocks(pa.array([1.0, 2.0]), "<f8", 2))
    no_rows = pa.FixedSizeListArray.from_arrays(pa.array([], pa.float64()), 2**30)
    with pytest.raises(hypha_arrow.DecodeError, match="with rows"):
        hypha_arrow.decode(crafted_blocks(no_rows, "<f8", 0))
    good = pa.FixedSizeListArray.from_arrays(pa.array([0, 1, 1, 0], pa.uint8()), 2)
    assert_same(pd.DataFrame([[False, True], [True, False]]), hypha_arrow.decode(crafted_blocks(good, "|b1", 2)))

