"""The encode walk: map keys, nesting depth and the column limit, end to end through encode and decode."""

from __future__ import annotations

import enum
from typing import Any

import msgpack
import numpy as np
import pandas as pd
import pytest

import hypha_arrow
from hypha_arrow.families import LIST_FAMILIES
from hypha_arrow.testing import assert_same
from hypha_arrow.tree import Extraction
from tests.support.codec import round_trip

HEADER = {"type": "method", "to": "ws/client:svc"}
DEFAULT_DEPTH = hypha_arrow.Config().max_depth
DEFAULT_COLUMNS = hypha_arrow.Config().max_columns


def large_array(seed: int = 0) -> np.ndarray:
    """An array above the default binary threshold: it travels as an Arrow column."""
    return np.arange(1000.0) + seed


def nested(depth: int, family: Any) -> Any:
    """``family`` inside ``depth`` dicts."""
    for _ in range(depth):
        family = {"a": family}
    return family


def innermost(value: Any, depth: int) -> Any:
    for _ in range(depth):
        value = value["a"]
    return value


def message_round_trip(extra: dict[str, Any]) -> dict[str, Any]:
    header, decoded = hypha_arrow.decode_message(hypha_arrow.encode_message(HEADER, extra))
    assert header == HEADER
    return decoded


def assert_same_keys(expected: dict[Any, Any], actual: Any) -> None:
    assert type(actual) is dict and list(actual) == list(expected)
    assert [type(k) for k in actual] == [type(k) for k in expected]


SCALAR_KEYS = {7: "int", -(2**63): "min int", 2**64 - 1: "max uint", 2.5: "float", True: "bool", None: "none", b"k": "bytes", "s": "str"}


@pytest.mark.parametrize("size", ["small", "large"])
def test_map_keys_of_every_msgpack_scalar_type_come_back_as_themselves(size: str) -> None:
    value = dict(SCALAR_KEYS)
    if size == "large":
        value["s"] = large_array()  # the frame is hybrid and the walk builds the skeleton
    for decoded in (round_trip(value), message_round_trip(value)):
        assert_same_keys(value, decoded)
        assert decoded[7] == "int" and decoded[True] == "bool" and decoded[None] == "none" and decoded[b"k"] == "bytes"
        if size == "large":
            assert_same(value["s"], decoded["s"])


def test_a_column_under_an_int_key_is_put_back_where_it_was() -> None:
    array = large_array()
    frame = hypha_arrow.encode_message(HEADER, {"args": [{1: array, "1": "text"}]})
    assert hypha_arrow.inspect(frame)["section"]["columns"][0]["path"] == ["args", 0, 1]
    decoded = hypha_arrow.decode_message(frame)[1]["args"][0]
    assert_same(array, decoded[1])
    assert decoded["1"] == "text"


def test_path_of_an_int_key_is_shown_subscripted() -> None:
    with pytest.raises(hypha_arrow.EncodeError) as error:
        hypha_arrow.encode_message(HEADER, {"args": [{1: object()}]})
    assert error.value.path == "args[0][1]"


class Color(str, enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


@pytest.mark.parametrize(
    ("key", "shown"),
    [((1, 2), "(1, 2)"), (np.int64(3), "np.int64(3)"), (np.str_("s"), "np.str_('s')"), (Color.RED, "<Color.RED: 'red'>"),
     (Level.HIGH, "<Level.HIGH: 3>"), (frozenset({1}), "frozenset({1})"), (2**64, str(2**64))],
    ids=["tuple", "numpy-int", "numpy-str", "str-enum", "int-enum", "frozenset", "int-beyond-64-bits"],
)
@pytest.mark.parametrize("size", ["small", "large"])
def test_map_keys_that_would_not_come_back_as_themselves_are_refused_naming_their_path(key: Any, shown: str, size: str) -> None:
    inner: dict[Any, Any] = {key: 1}
    if size == "large":
        inner["big"] = large_array()
    with pytest.raises(hypha_arrow.EncodeError, match="map key") as error:
        hypha_arrow.encode_message(HEADER, {"args": [inner]})
    assert error.value.path == f"args[0][{shown}]"
    with pytest.raises(hypha_arrow.EncodeError, match="map key"):
        hypha_arrow.encode({"x": inner})


def test_record_lists_whose_rows_have_int_keys_round_trip() -> None:
    rows = [{1: i, 2: f"v{i}", "s": i / 2} for i in range(2000)]
    for decoded in (round_trip(rows), message_round_trip({"args": [rows]})["args"][0]):
        assert decoded == rows
        assert all(list(row) == [1, 2, "s"] for row in decoded)


@pytest.mark.parametrize("depth", [150, DEFAULT_DEPTH - 1, DEFAULT_DEPTH])
def test_arrays_nested_as_deep_as_max_depth_round_trip(depth: int) -> None:
    array, small = large_array(), np.arange(3.0)  # a column, and hypha-rpc's form in a plain frame
    assert_same(array, innermost(round_trip(nested(depth, array)), depth))
    assert_same(array, innermost(message_round_trip(nested(depth, array)), depth))
    assert_same(small, innermost(round_trip(nested(depth, small)), depth))


def test_nesting_deeper_than_max_depth_is_refused() -> None:
    value = nested(DEFAULT_DEPTH + 1, large_array())
    with pytest.raises(hypha_arrow.EncodeError, match="max_depth"):
        hypha_arrow.encode(value)
    with pytest.raises(hypha_arrow.EncodeError, match="max_depth"):
        hypha_arrow.encode_message(HEADER, value)


def test_reference_cycles_are_refused_whatever_max_depth_allows() -> None:
    cycle: dict[str, Any] = {"array": large_array()}
    cycle["self"] = cycle
    for config in (None, hypha_arrow.Config(max_depth=1_000_000)):  # past Python's stack, not only past max_depth
        with pytest.raises(hypha_arrow.EncodeError, match="max_depth|recursion limit"):
            hypha_arrow.encode_message(HEADER, {"args": [cycle]}, config=config)


def test_arrays_past_max_columns_travel_in_hypha_rpc_form() -> None:
    """In a dict: a list of them would share one column (families.array_column)."""
    arrays = {f"a{i}": large_array(i) for i in range(DEFAULT_COLUMNS + 1)}
    frame = hypha_arrow.encode(arrays)
    assert len(hypha_arrow.inspect(frame)["section"]["columns"]) == DEFAULT_COLUMNS
    decoded = hypha_arrow.decode(frame)
    assert list(decoded) == list(arrays)
    for key, expected in arrays.items():
        assert_same(expected, decoded[key])


def test_lists_past_max_columns_stay_msgpack() -> None:
    config = hypha_arrow.Config(max_columns=2)
    value = [[0.5] * 500, [f"s{i}" for i in range(500)], [{"id": i} for i in range(500)], list(range(500))]
    frame = hypha_arrow.encode(value, config=config)
    assert len(hypha_arrow.inspect(frame)["section"]["columns"]) == 2
    assert hypha_arrow.decode(frame, config=config) == value


def test_columns_built_ahead_past_max_columns_go_back_to_their_lists() -> None:
    config = hypha_arrow.Config(max_columns=1)
    lists = [list(range(500)), [{"id": i} for i in range(500)]]
    built = [next(c for family in LIST_FAMILIES if (c := family.encode(value, config)) is not None) for value in lists]
    extraction = Extraction(config)
    skeleton = extraction.walk(built)
    assert len(extraction.columns) == 1 and skeleton[1] == lists[1]


@pytest.mark.parametrize("value", [pd.DataFrame({"x": [1, 2]}), pd.Series([1.5]), np.array(["a", None] * 600, dtype=object)],
                         ids=["dataframe", "series", "object-array"])
def test_values_with_no_msgpack_form_past_max_columns_are_refused_naming_their_path(value: Any) -> None:
    config = hypha_arrow.Config(max_columns=3)
    values = {f"v{i}": value for i in range(4)}
    with pytest.raises(hypha_arrow.EncodeError, match="max_columns=3") as error:
        hypha_arrow.encode_message(HEADER, {"kwargs": values}, config=config)
    assert error.value.path == "kwargs['v3']"


def test_msgpack_extension_values_come_back_as_themselves_small_and_large() -> None:
    value = {"ext": msgpack.ExtType(42, b"raw"), "when": msgpack.Timestamp(1, 5)}
    for extra in ({}, {"array": np.arange(5000.0)}):
        decoded = hypha_arrow.decode(hypha_arrow.encode({**value, **extra}))
        assert decoded["ext"] == value["ext"] and type(decoded["ext"]) is msgpack.ExtType
        assert decoded["when"] == value["when"]
