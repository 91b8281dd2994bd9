"""Exact cells: every carried type comes back as itself; hostile cells are refused, never a crash."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgpack
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import hypha_arrow
from hypha_arrow import cells
from hypha_arrow.testing import assert_same

CARRIED = [
    None, True, 7, -(2**63), 2**64 - 1, 2**200, -(2**70), 1.5, float("nan"), "text", b"raw", [1, [2]], {"k": 1, 2: None},
    (1, "a"), (), Decimal("1.10"), Decimal("-NaN"), pd.NA, np.float32(2.5), np.int8(-3), np.datetime64("2024-01-01", "D"),
    np.str_(""), np.bytes_(b"ab"), np.arange(6, dtype="<u2").reshape(2, 3), np.asfortranarray(np.ones((2, 2))),
]


@pytest.mark.parametrize("value", CARRIED, ids=repr)
def test_every_carried_cell_comes_back_as_itself(value: Any) -> None:
    back = cells.Unpacking(512).unpack(cells.pack(cells.packer(), value))
    assert type(back) is type(value)
    if isinstance(value, np.ndarray):
        np.testing.assert_array_equal(back, value, strict=True)
        assert back.flags.f_contiguous == value.flags.f_contiguous
    else:
        assert repr(back) == repr(value)


def nested_tuples(depth: int) -> tuple[Any, ...]:
    value: tuple[Any, ...] = ()
    for _ in range(depth - 1):
        value = (value,)
    return value


def test_tuples_nest_as_deep_as_the_limit_and_no_deeper() -> None:
    packer = cells.packer()
    deepest = nested_tuples(cells.MAX_TUPLE_NESTING)
    assert cells.Unpacking(512).unpack(cells.pack(packer, deepest)) == deepest
    with pytest.raises(hypha_arrow.EncodeError, match="nested deeper"):
        cells.pack(packer, (deepest,))


def test_deeply_nested_tuple_cells_from_a_hostile_sender_are_refused_without_a_crash() -> None:
    """Each level would be one more msgpack call on the C stack: 200 levels used to segfault."""
    cell = msgpack.packb([])
    for _ in range(600):
        cell = msgpack.packb([msgpack.ExtType(cells.TUPLE, cell)])
    with pytest.raises(hypha_arrow.DecodeError, match="nested deeper"):
        cells.Unpacking(512).unpack(cell)


@pytest.mark.parametrize(
    "cell",
    [
        msgpack.packb(msgpack.ExtType(99, b"")),
        msgpack.packb(msgpack.ExtType(cells.BIG_INT, b"12x4")),
        msgpack.packb(msgpack.ExtType(cells.BIG_INT, b"9" * 5000)),
        msgpack.packb(msgpack.ExtType(cells.DECIMAL, b"not a number")),
        msgpack.packb(msgpack.ExtType(cells.NUMPY_SCALAR, msgpack.packb(["|O", b"\0" * 8]))),
        msgpack.packb(msgpack.ExtType(cells.NUMPY_SCALAR, msgpack.packb(["<f8", b"\0"]))),
        msgpack.packb(msgpack.ExtType(cells.NUMPY_ARRAY, msgpack.packb(["<f8", [2**62, 2**62], "C", b""]))),
        msgpack.packb(msgpack.ExtType(cells.NUMPY_ARRAY, msgpack.packb(["<f8", [2], "X", b"\0" * 16]))),
        msgpack.packb(msgpack.ExtType(cells.TUPLE, msgpack.packb({"not": "a list"}))),
        b"\xc1",
    ],
    ids=["unknown-code", "bad-big-int", "huge-big-int", "bad-decimal", "object-scalar", "short-scalar", "huge-shape", "bad-order",
         "tuple-of-a-map", "invalid-msgpack"],
)
def test_malformed_cells_are_refused(cell: bytes) -> None:
    with pytest.raises(hypha_arrow.DecodeError):
        cells.Unpacking(512).unpack(cell)
    with pytest.raises(hypha_arrow.DecodeError):
        cells.Unpacking(512).unpack_column(pa.array([msgpack.packb(1), cell], type=pa.large_binary()))


CELL_VALUES = [1, (2, (3,)), None, "x", 2**70, np.float32(1.5), [1, {"k": b"v"}], Decimal("1.10")]


@pytest.mark.parametrize("nulls", [False, True])
def test_a_column_unpacks_as_its_cells_one_by_one(nulls: bool) -> None:
    packed = cells.pack_column(CELL_VALUES * 3)
    column = pa.array([None if nulls and i % 5 == 0 else cell for i, cell in enumerate(packed)], type=pa.large_binary())
    one = cells.Unpacking(8)
    expected = [None if cell is None else one.unpack(cell) for cell in column.to_pylist()]
    for values in (column, column.slice(3, 10)):
        assert_same(expected[values.offset:][: len(values)], cells.Unpacking(8).unpack_column(values))


@pytest.mark.parametrize(
    "slots",
    [[msgpack.packb(1) * 2, b""], [b"", msgpack.packb(1)], [msgpack.packb([1, 2])[:-1], msgpack.packb([1, 2])[-1:]], [b"\x92\x01", b"\x02"]],
    ids=["two-values-then-none", "empty-cell", "split-value", "array-across-cells"],
)
def test_cells_that_are_not_one_whole_value_each_are_refused(slots: list[bytes]) -> None:
    with pytest.raises(hypha_arrow.DecodeError, match="not one whole msgpack value"):
        cells.Unpacking(8).unpack_column(pa.array(slots, type=pa.large_binary()))


def test_a_column_packs_as_its_cells_one_by_one() -> None:
    values = [1, (2, (3,)), None, "x", 2**70, np.float32(1.5), [1, {"k": b"v"}]] * 20
    one_packer = cells.packer()
    assert cells.pack_column(values) == [cells.pack(one_packer, value) for value in values]
    assert cells.Unpacking(8).unpack(cells.pack_column([(1, 2)], tuples=False)[0]) == [1, 2]


def test_a_column_with_a_value_no_cell_carries_names_its_row() -> None:
    values: list[Any] = [(1, 2)] * 3 + [object()] + ["\ud800"]
    with pytest.raises(hypha_arrow.EncodeError, match="not carried in a cell") as refused:
        cells.pack_column(values)
    assert refused.value.path == "[3]"
    with pytest.raises(hypha_arrow.EncodeError, match="not valid UTF-8") as refused:
        cells.pack_column(values[:3] + values[4:])
    assert refused.value.path == "[3]"
