"""Small numpy arrays of one dtype and shape share one column, and each comes back as itself."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

import hypha_arrow
from hypha_arrow.families.array_column import decode_arrays, encode_arrays
from hypha_arrow.families.lists import SHARED_ARRAY_MAX_BYTES
from hypha_arrow.testing import assert_same
from tests.support.codec import round_trip

DTYPES = ["<f8", ">f4", "<f2", "|b1", "|i1", ">i2", "<u8", "<c8", ">c16", "<M8[ns]", ">m8[s]", "<U3", ">U2", "|S4"]


def _columns(value: object) -> list[dict]:
    report = hypha_arrow.inspect(hypha_arrow.encode(value))
    return report["section"]["columns"] if report["hybrid"] else []


def _arrays(dtype: str, count: int, shape: tuple[int, ...] = (3, 4)) -> list[np.ndarray]:
    size = int(np.prod(shape))
    return [(np.arange(size * i, size * (i + 1)) % 7).astype(dtype).reshape(shape) for i in range(count)]


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_list_of_arrays_of_one_dtype_is_one_column_and_each_array_comes_back_exactly(dtype: str) -> None:
    arrays = _arrays(dtype, 200)
    [column] = _columns(arrays)
    assert column["kind"] == "list" and column["type"].startswith("fixed_size_binary")
    assert column["meta"] == {"dtype": np.dtype(dtype).str, "shape": [3, 4], "order": "C"}
    assert_same(arrays, round_trip(arrays))


def test_fortran_ordered_arrays_stay_fortran_ordered() -> None:
    arrays = [np.asfortranarray(a) for a in _arrays(">f8", 100)]
    [column] = _columns(arrays)
    assert column["meta"]["order"] == "F"
    decoded = round_trip(arrays)
    assert_same(arrays, decoded)
    assert all(a.flags.f_contiguous and not a.flags.c_contiguous for a in decoded)


def test_strided_views_arrive_as_c_ordered_arrays_of_their_elements() -> None:
    base = np.arange(200 * 16.0).reshape(200, 16)
    views = [row[::2] for row in base]
    decoded = round_trip(views)
    assert_same([v.copy() for v in views], decoded)


def test_none_among_the_arrays_comes_back_as_none() -> None:
    arrays: list = _arrays("<i4", 100)
    arrays[0] = arrays[50] = arrays[-1] = None
    assert len(_columns(arrays)) == 1
    assert_same(arrays, round_trip(arrays))


def test_decoded_arrays_are_read_only_and_do_not_overlap() -> None:
    for dtype in ("<f8", ">f8"):  # a byte-swapped block is a copy, made read-only as well
        decoded = round_trip(_arrays(dtype, 100))
        assert not any(a.flags.writeable for a in decoded)
        assert not np.shares_memory(decoded[0], decoded[1])


@pytest.mark.parametrize(
    "arrays",
    [
        [np.zeros(128), np.zeros(128, dtype="f4")] * 50,  # dtypes differ
        [np.zeros(128), np.zeros(64)] * 50,  # shapes differ
        [np.zeros((8, 16)), np.asfortranarray(np.zeros((8, 16)))] * 50,  # orders differ
        [np.zeros(3, dtype=[("x", "<f8")])] * 100,  # structured records keep their descr in their own column
        [np.zeros(3, dtype=np.longdouble)] * 100,  # hypha-rpc's form
        [np.array(["a", 1], dtype=object)] * 100,
        [np.zeros(SHARED_ARRAY_MAX_BYTES // 8 + 1)] * 3,  # large enough for a column of its own
    ],
)
def test_arrays_that_cannot_share_a_column_travel_as_before(arrays: list) -> None:
    assert not any(c["type"].startswith("fixed_size_binary[") and c["kind"] == "list" for c in _columns(arrays))
    assert_same(arrays, round_trip(arrays))


def test_zero_dimensional_and_empty_arrays_are_not_shared() -> None:
    assert encode_arrays([np.array(1.0)] * 500) is None
    assert encode_arrays([np.zeros((0, 4))] * 500) is None


def test_subclasses_are_refused_as_before() -> None:
    arrays = [np.ma.masked_array(np.zeros(128))] * 20
    with pytest.raises(hypha_arrow.EncodeError, match="masked|plain ndarray"):
        hypha_arrow.encode(arrays)


def test_arrays_below_the_threshold_altogether_stay_msgpack() -> None:
    arrays = [np.zeros(4)] * 20  # 640 bytes
    assert _columns(arrays) == []
    assert_same(arrays, hypha_arrow.decode(hypha_arrow.encode(arrays)))


def test_the_arrays_switch_turns_sharing_off() -> None:
    arrays = _arrays("<f8", 100)
    config = hypha_arrow.Config(optimization_patterns={"records", "strings"})
    report = hypha_arrow.inspect(hypha_arrow.encode(arrays, config=config))
    assert not report["hybrid"]


def _column(meta: dict, values: pa.Array) -> list:
    return decode_arrays(values, json.loads(json.dumps(meta)))


@pytest.mark.parametrize(
    ("meta", "values"),
    [
        ({"dtype": "<f8", "shape": [2], "order": "C"}, pa.array([b"x" * 8], type=pa.binary(8))),  # width 16 expected
        ({"dtype": "<f8", "shape": [2], "order": "C"}, pa.array([b"x" * 16])),  # not fixed-size
        ({"dtype": "|O", "shape": [1], "order": "C"}, pa.array([b"x" * 8], type=pa.binary(8))),
        ({"dtype": "|V8", "shape": [1], "order": "C"}, pa.array([b"x" * 8], type=pa.binary(8))),
        ({"dtype": "<f16", "shape": [1], "order": "C"}, pa.array([b"x" * 16], type=pa.binary(16))),
        ({"dtype": "(2,)<f8", "shape": [1], "order": "C"}, pa.array([b"x" * 16], type=pa.binary(16))),
        ({"dtype": "<U0", "shape": [1], "order": "C"}, pa.array([b""], type=pa.binary(0))),
        ({"dtype": "<f8", "shape": [], "order": "C"}, pa.array([b"x" * 8], type=pa.binary(8))),
        ({"dtype": "<f8", "shape": [0], "order": "C"}, pa.array([b""], type=pa.binary(0))),
        ({"dtype": "<f8", "shape": [True], "order": "C"}, pa.array([b"x" * 8], type=pa.binary(8))),
        ({"dtype": "<f8", "shape": [1] * 64, "order": "C"}, pa.array([b"x" * 8], type=pa.binary(8))),
        ({"dtype": "<f8", "shape": [1], "order": "K"}, pa.array([b"x" * 8], type=pa.binary(8))),
        ({"dtype": "<f8", "shape": [1 << 40, 1 << 40], "order": "C"}, pa.array([b"x" * 8], type=pa.binary(8))),
        ([], pa.array([b"x" * 8], type=pa.binary(8))),
    ],
)
def test_inconsistent_array_columns_are_refused(meta: dict, values: pa.Array) -> None:
    with pytest.raises(hypha_arrow.DecodeError):
        _column(meta, values)


def test_a_sliced_column_gives_its_own_arrays() -> None:
    values, meta = encode_arrays(_arrays("<i8", 10, (2,)))
    assert_same(_arrays("<i8", 10, (2,))[3:7], decode_arrays(values.slice(3, 4), meta))
