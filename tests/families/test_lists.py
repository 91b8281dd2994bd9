"""Homogeneous lists go columnar above the threshold and keep their element types."""

from __future__ import annotations

import pytest

import hypha_arrow
from hypha_arrow.testing import assert_same
from tests.support.codec import round_trip


@pytest.mark.parametrize(
    "values",
    [
        list(range(-500, 500)),
        [i / 7 for i in range(500)] + [float("inf"), -0.0],
        [True, False, None] * 400,
        [f"s{i}" for i in range(400)] + [None, "", "ünïcode ✓"],
        [bytes([i % 256]) * 5 for i in range(400)] + [None, b""],
        [None] + [2**63 - 1, -(2**63)] * 200,
    ],
)
def test_homogeneous_list_round_trips_columnar(values: list) -> None:
    frame = hypha_arrow.encode(values)
    assert hypha_arrow.inspect(frame)["hybrid"]
    assert_same(values, hypha_arrow.decode(frame))


@pytest.mark.parametrize(
    "values",
    [[2**63 + i for i in range(200)], [1, 1.5] * 200, [1, "a"] * 200, [True, 1] * 300, [None] * 500, [[1, 2]] * 300],
)
def test_mixed_or_out_of_range_lists_stay_msgpack(values: list) -> None:
    frame = hypha_arrow.encode(values)
    assert not hypha_arrow.inspect(frame)["hybrid"]
    assert_same(values, hypha_arrow.decode(frame))


def test_short_lists_stay_msgpack() -> None:
    values = list(range(100))
    assert hypha_arrow.encode(values) == hypha_arrow.encode(values, config=hypha_arrow.Config(enable_binary_optimization=False))


def test_tuples_travel_as_lists_like_msgpack() -> None:
    values = tuple(range(1000))
    assert_same(list(values), round_trip(values))


def test_typed_array_optimization_off_keeps_number_lists_msgpack() -> None:
    config = hypha_arrow.Config(typed_array_optimization=False)
    assert not hypha_arrow.inspect(hypha_arrow.encode(list(range(1000)), config=config))["hybrid"]
    assert hypha_arrow.inspect(hypha_arrow.encode(["abc"] * 1000, config=config))["hybrid"]


def test_strings_pattern_off_keeps_string_lists_msgpack() -> None:
    config = hypha_arrow.Config(optimization_patterns={"arrays"})
    assert not hypha_arrow.inspect(hypha_arrow.encode(["abc"] * 1000, config=config))["hybrid"]
