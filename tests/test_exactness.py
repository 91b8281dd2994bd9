"""Exactness: every value comes back exactly (types, dtypes, labels, order, flags) or is refused.

The promise under test: ``decode(encode(x))`` is exactly ``as_delivered(x)`` under
``hypha_arrow.testing.assert_same``, or ``encode`` raises ``EncodeError``. Our decoder refusing our
encoder's frame (DecodeError) and any other exception from either side are failures.
``exact.as_delivered`` applies the documented rules (README "What travels how", wire format
section 5): tuples in the message tree arrive as lists, bytearray and contiguous memoryview as
bytes, np.memmap as ndarray, and (``decode`` only) a dict that is exactly hypha-rpc's ndarray
form as its array. ``DELIVERED_AS`` pins each rule with the value it must arrive as.

Property tests draw awkward values from ``tests/support/exact.py`` (``HYPHA_ARROW_EXAMPLES`` examples
each, default 60; ``HYPHA_ARROW_EXAMPLES=2000 python -m pytest tests/test_exactness.py`` for a
long run). The explicit cases below pin the values found to go wrong, and the values stock
hypha-rpc already carries exactly, which must not be refused.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any, Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, note

import hypha_arrow
from hypha_arrow.testing import assert_same
from tests.support.exact import (
    PROPERTY_SETTINGS,
    array_subclasses,
    as_delivered,
    as_memmap,
    assert_exact,
    assert_exact_or_refused,
    assert_message_exact_or_refused,
    columnar_values_in_containers,
    configs,
    data_frames,
    frame_of,
    long_data_frames,
    long_repeated_lists,
    nested_values,
    non_native_arrays,
    object_array,
    object_arrays,
    object_series,
    plain_arrays,
    record_lists,
    series,
    string_keyed_values,
    structured_arrays,
    typed_lists,
    void_arrays,
    wire_list_elements,
    wire_plain_values,
    wire_record_cells,
)

pytestmark = pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")

# ---------------------------------------------------------------- properties: standalone values


def _check(value: Any, config: dict[str, Any]) -> None:
    note(f"config={config!r}")
    refused = assert_exact_or_refused(value, **config)
    note(f"refused: {refused}" if refused else "round-tripped exactly")


@PROPERTY_SETTINGS
@given(value=nested_values, config=configs())
def test_nested_mixed_values_are_exact_or_refused(value: Any, config: dict[str, Any]) -> None:
    _check(value, config)


@PROPERTY_SETTINGS
@given(value=string_keyed_values, config=configs())
def test_msgpack_native_values_are_exact_or_refused(value: Any, config: dict[str, Any]) -> None:
    _check(value, config)


@PROPERTY_SETTINGS
@given(value=typed_lists(), config=configs())
def test_typed_lists_are_exact_or_refused(value: Any, config: dict[str, Any]) -> None:
    _check(value, config)


@PROPERTY_SETTINGS
@given(value=record_lists(), config=configs())
def test_record_lists_are_exact_or_refused(value: Any, config: dict[str, Any]) -> None:
    _check(value, config)


@PROPERTY_SETTINGS
@given(value=plain_arrays | non_native_arrays | structured_arrays | void_arrays, config=configs())
def test_arrays_of_every_dtype_are_exact_or_refused(value: np.ndarray, config: dict[str, Any]) -> None:
    _check(value, config)


@PROPERTY_SETTINGS
@given(value=object_arrays(), config=configs())
def test_object_arrays_are_exact_or_refused(value: np.ndarray, config: dict[str, Any]) -> None:
    _check(value, config)


@PROPERTY_SETTINGS
@given(value=array_subclasses, config=configs())
def test_array_subclasses_are_exact_or_refused(value: np.ndarray, config: dict[str, Any]) -> None:
    _check(value, config)


@PROPERTY_SETTINGS
@given(value=data_frames(), config=configs())
def test_data_frames_are_exact_or_refused(value: pd.DataFrame, config: dict[str, Any]) -> None:
    _check(value, config)


@PROPERTY_SETTINGS
@given(value=series(), config=configs())
def test_series_are_exact_or_refused(value: pd.Series, config: dict[str, Any]) -> None:
    _check(value, config)


@PROPERTY_SETTINGS
@given(value=long_data_frames() | long_repeated_lists(), config=configs())
def test_long_frames_and_repeated_lists_are_exact_or_refused(value: Any, config: dict[str, Any]) -> None:
    _check(value, config)


@PROPERTY_SETTINGS
@given(value=columnar_values_in_containers, config=configs())
def test_columnar_values_inside_containers_are_exact_or_refused(value: dict[str, Any], config: dict[str, Any]) -> None:
    _check(value, config)


# ---------------------------------------------------------------- properties: inside a message


def _check_message(value: Any, config: dict[str, Any]) -> None:
    note(f"config={config!r}")
    refused = assert_message_exact_or_refused(value, **config)
    note(f"refused: {refused}" if refused else "round-tripped exactly")


@PROPERTY_SETTINGS
@given(value=wire_plain_values, config=configs())
def test_plain_values_in_a_message_are_exact_or_refused(value: Any, config: dict[str, Any]) -> None:
    _check_message(value, config)


@PROPERTY_SETTINGS
@given(value=typed_lists(wire_list_elements) | record_lists(wire_record_cells), config=configs())
def test_lists_and_records_in_a_message_are_exact_or_refused(value: Any, config: dict[str, Any]) -> None:
    _check_message(value, config)


@PROPERTY_SETTINGS
@given(value=data_frames() | series(), config=configs())
def test_pandas_values_in_a_message_are_exact_or_refused(value: Any, config: dict[str, Any]) -> None:
    _check_message(value, config)


# ---------------------------------------------------------------- explicit cases

DEFAULT = {}
COLUMNAR = {"binary_threshold": 0}


def nested_dicts(value: Any, depth: int) -> dict[str, Any]:
    for _ in range(depth):
        value = {"a": value}
    return value


def case(id: str, make: Callable[[], Any], config: dict[str, Any] = DEFAULT) -> Any:
    return pytest.param(make, config, id=id)


EXACT_OR_REFUSED = [
    # object DataFrame columns
    case("object-column-of-ints", lambda: frame_of(object_series([1, 2, 3]))),
    case("object-ints-with-none-2**53+1", lambda: frame_of(object_series([1, None, 2**53 + 1]))),
    case("object-ints-with-none-series", lambda: object_series([None, 2**53 + 1, -5], name="n")),
    case("list-cells", lambda: frame_of(object_series([[1, 2], [3], []]))),
    case("dict-cells-differing-keys", lambda: frame_of(object_series([{"x": 1}, {"y": 2.5}, {}]))),
    case("decimal-cells-1.1-1.100-nan", lambda: frame_of(object_series([Decimal("1.1"), Decimal("1.100"), Decimal("NaN")]))),
    case("object-str-with-nan-na-none", lambda: frame_of(object_series(["a", float("nan"), pd.NA, None]))),
    case("object-cells-beyond-int64", lambda: frame_of(object_series([2**64, 1]))),
    case("object-cells-beyond-int64-negative", lambda: frame_of(object_series([-(2**63) - 1, None]))),
    # categorical, string and Arrow dtypes
    case("categorical-object-categories", lambda: frame_of(pd.Categorical(["a", "b", "a"], categories=pd.Index(["a", "b"], dtype=object)))),
    case("categorical-mixed-categories", lambda: frame_of(pd.Categorical(["a", 1, "a"]))),
    case("string-python-column", lambda: frame_of(pd.array(["x", None, "z"], dtype="string[python]"))),
    case("arrow-list-int64-column", lambda: frame_of(pd.array([[1, 2], None, []], dtype=pd.ArrowDtype(pa.list_(pa.int64()))))),
    case("arrow-string-column", lambda: frame_of(pd.array(["a", None], dtype=pd.ArrowDtype(pa.string())))),
    case("arrow-decimal-column", lambda: frame_of(pd.array([Decimal("1.500"), None], dtype=pd.ArrowDtype(pa.decimal128(12, 3))))),
    case("arrow-struct-column", lambda: frame_of(pd.array([{"x": 1}, None], dtype=pd.ArrowDtype(pa.struct([("x", pa.int32())]))))),
    # labels and indexes
    case("bool-column-labels", lambda: pd.DataFrame([[1, 2]], columns=[True, False])),
    case("mixed-multiindex-column-level", lambda: pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([("x", "a"), ("x", 1)]))),
    case("duplicate-multiindex-column-labels", lambda: pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([("a", "b"), ("a", "b")]))),
    case("index-named-int-0", lambda: frame_of([1, 2], index=pd.Index([10, 11], name=0))),
    case("index-named-str-0", lambda: frame_of([1, 2], index=pd.Index([10, 11], name="0"))),
    case("object-dtype-str-column-labels", lambda: pd.DataFrame([[1]], columns=pd.Index(["a"], dtype=object))),
    case("columns-named-int-0", lambda: pd.DataFrame([[1]], columns=pd.Index(["a"], name=0))),
    case("categorical-column-labels", lambda: pd.DataFrame([[1, 2]], columns=pd.CategoricalIndex(["a", "b"]))),
    case("period-column-labels", lambda: pd.DataFrame([[1, 2]], columns=pd.period_range("2020-01", periods=2, freq="M"))),
    case("timedelta-column-labels", lambda: pd.DataFrame([[1, 2]], columns=pd.timedelta_range(0, periods=2, freq="h"))),
    case("timestamp-column-labels", lambda: pd.DataFrame([[1, 2]], columns=pd.date_range("2024-01-01", periods=2, tz="UTC"))),
    case("period-index-rows", lambda: frame_of([1, 2, 3], index=pd.period_range("2020-01", periods=3, freq="M"))),
    case("categorical-index-object-categories", lambda: frame_of([1, 2], index=pd.CategoricalIndex(["a", "b"], categories=pd.Index(["a", "b"], dtype=object)))),
    case("duplicate-labels-disallowed", lambda: frame_of([1, 2]).set_flags(allows_duplicate_labels=False)),
    # numpy arrays and subclasses
    case("masked-array-small", lambda: np.ma.array([1.0, 2.0, 3.0], mask=[False, True, False])),
    case("masked-array-large", lambda: np.ma.array(np.arange(1000.0), mask=np.arange(1000) % 3 == 0)),
    case("masked-array-large-columnar", lambda: np.ma.array(np.arange(1000.0), mask=np.arange(1000) % 3 == 0), COLUMNAR),
    case("matrix-small", lambda: np.asmatrix(np.arange(6).reshape(2, 3))),
    case("matrix-large", lambda: np.asmatrix(np.arange(400.0).reshape(20, 20))),
    case("fortran-bool-array-below-threshold", lambda: np.asfortranarray(np.zeros((2, 2), dtype=bool))),
    case("fortran-object-array-small", lambda: object_array(["a", "b", None, "d"], (2, 2), "F")),
    case("fortran-object-array-small-columnar", lambda: object_array(["a", "b", None, "d"], (2, 2), "F"), COLUMNAR),
    case("fortran-object-array-large", lambda: object_array([f"s{i}" for i in range(600)], (20, 30), "F")),
    case("object-array-beyond-int64", lambda: object_array([2**70, 1])),
    # pyarrow
    case("uuid-extension-array", lambda: pa.array([uuid.UUID(int=1).bytes, None], type=pa.uuid())),
    # records and lists
    case("numpy-scalars-in-records", lambda: [{"id": np.int64(i), "score": np.float32(i / 2), "ok": np.bool_(i % 2)} for i in range(200)]),
    case("numpy-scalars-in-records-columnar", lambda: [{"id": np.int64(i), "score": np.float32(i / 2)} for i in range(3)], COLUMNAR),
    case("12000-records-with-128-float-list-embeddings", lambda: [{"id": i, "embedding": [i / 7 + k for k in range(128)]} for i in range(12_000)]),
    case("12000-records-with-128-float-ndarray-embeddings", lambda: [{"id": i, "embedding": np.full(128, i / 7)} for i in range(12_000)]),
    case("numpy-str-scalar-in-record-cell", lambda: [{"a": np.str_("")}], COLUMNAR),
    case("int-key-in-records", lambda: [{"id": 1, 0: None}], COLUMNAR),
    case("none-and-lone-surrogate-in-str-list", lambda: [None, "\ud800"], COLUMNAR),
    case("lone-surrogates-in-large-str-list", lambda: ["ok", "\ud800"] * 600),
    case("lone-surrogate-in-small-str-list", lambda: ["ok", "\ud800"], COLUMNAR),
    case("lone-surrogates-in-record-cells", lambda: [{"id": i, "name": "\udfff" if i == 5 else f"n{i}"} for i in range(200)]),
    case("ints-beyond-int64-in-large-list", lambda: [2**64] + list(range(200))),
    # dicts and reserved keys
    case("dict-with-int-keys", lambda: {1: "a", 2: "b"}),
    case("dict-with-bool-and-none-keys", lambda: {True: 1, None: 2}),
    case("dict-with-tuple-keys", lambda: {(1, 2): "x"}),
    case("dict-with-int-keys-and-array", lambda: {1: np.arange(200.0)}),
    case("reserved-descriptor-key-at-top-level", lambda: {"__hypha_arrow__": 1, "x": 2}),
    case("reserved-descriptor-key-with-columnar-value", lambda: {"__hypha_arrow__": {"version": 1}, "a": np.arange(200.0)}),
    # buffers
    case("non-contiguous-memoryview-in-list", lambda: [memoryview(b"abcdef")[::2]]),
    case("non-contiguous-memoryview-large", lambda: [memoryview(np.arange(1000))[::2]]),
]

ROUND_TRIPS_LIKE_STOCK = [
    # stock hypha-rpc carries these exactly (its ndarray form is tobytes() + str(dtype)), so refusing them is a regression
    case("longdouble-above-threshold", lambda: np.arange(100, dtype=np.longdouble) / 3),
    case("clongdouble-above-threshold", lambda: (np.arange(100) + 1j).astype(np.clongdouble) / 3),
    case("longdouble-below-threshold", lambda: np.arange(3, dtype=np.longdouble) / 3),
    case("void-V8-above-threshold", lambda: np.arange(200, dtype="u8").view("V8")),
    case("void-V8-below-threshold", lambda: np.arange(3, dtype="u8").view("V8")),
    case("array-150-dicts-deep", lambda: nested_dicts(np.arange(200.0), 150)),
    case("small-array-150-dicts-deep", lambda: nested_dicts(np.arange(3.0), 150)),
    case("10001-small-arrays-in-a-list", lambda: [np.arange(3) for _ in range(10_001)]),
    case("10001-small-arrays-in-a-list-columnar", lambda: [np.arange(3) for _ in range(10_001)], COLUMNAR),
    case("10001-large-arrays-in-a-list", lambda: [np.arange(130.0) for _ in range(10_001)]),
    # structured dtypes: the README promises them (stock hypha-rpc sends them but cannot decode its own str(dtype) form)
    case("structured-array-above-threshold", lambda: np.arange(100).astype([("a", "<i4"), ("b", "<f8")])),
    case("structured-array-below-threshold", lambda: np.arange(3).astype([("a", "<i4"), ("b", "<f8")])),
    case("structured-array-with-subarray-and-bytes", lambda: np.zeros(100, dtype=[("p", "f4", (2,)), ("s", "S3"), ("t", ">u2")])),
]


STOCK_FORM = {"_rtype": "ndarray", "_rvalue": b"\x01", "_rshape": [1], "_rdtype": "int8"}


def form(**changes: Any) -> dict[str, Any]:
    """hypha-rpc's ndarray form of ``np.array([1], dtype=np.int8)``, with ``changes`` (None drops a key)."""
    result = {**STOCK_FORM, **changes}
    return {key: item for key, item in result.items() if item is not None}


def frame_with_attrs(frame: pd.DataFrame, **attrs: Any) -> pd.DataFrame:
    frame.attrs.update(attrs)
    return frame


def delivered(id: str, make: Callable[[], Any], expect: Callable[[], Any], config: dict[str, Any] = DEFAULT) -> Any:
    return pytest.param(make, expect, config, id=id)


DELIVERED_AS = [
    # rule 1: tuples in the message tree arrive as lists ...
    delivered("tuple-top-level", lambda: ("a", 1), lambda: ["a", 1]),
    delivered("tuples-in-list", lambda: [(1, 2), (3, 4)], lambda: [[1, 2], [3, 4]]),
    delivered("tuples-in-dict-nested", lambda: {"a": ((1, (2,)), [()])}, lambda: {"a": [[1, [2]], [[]]]}),
    delivered("tuple-cells-in-small-records", lambda: [{"id": 1, "t": (1, "x")}], lambda: [{"id": 1, "t": [1, "x"]}]),
    delivered("tuple-cells-in-records-columnar", lambda: [{"id": i, "t": (i, "x")} for i in range(3)], lambda: [{"id": i, "t": [i, "x"]} for i in range(3)], COLUMNAR),
    delivered("tuple-cells-in-large-records", lambda: [{"id": i, "t": (i,)} for i in range(300)], lambda: [{"id": i, "t": [i]} for i in range(300)]),
    delivered("tuple-of-arrays", lambda: (np.arange(200.0), np.arange(2)), lambda: [np.arange(200.0), np.arange(2)]),
    # ... but inside pandas and numpy values they stay tuples
    delivered("tuple-cells-in-object-column", lambda: frame_of(object_series([(1, "a"), (2,), None])), lambda: frame_of(object_series([(1, "a"), (2,), None]))),
    delivered("tuple-cells-in-object-array", lambda: object_array([(1, "a"), (2,)]), lambda: object_array([(1, "a"), (2,)])),
    delivered("tuple-column-labels-and-index-name", lambda: frame_of([1], index=pd.Index([0], name=(1, "x"))).set_axis(pd.Index([(1, "a")], dtype=object, tupleize_cols=False), axis=1), lambda: frame_of([1], index=pd.Index([0], name=(1, "x"))).set_axis(pd.Index([(1, "a")], dtype=object, tupleize_cols=False), axis=1)),
    delivered("tuple-in-frame-attrs", lambda: frame_with_attrs(frame_of([1]), k=(1, 2)), lambda: frame_with_attrs(frame_of([1]), k=(1, 2))),
    delivered("frame-with-tuple-cells-in-a-tuple", lambda: (frame_of(object_series([(1,)])),), lambda: [frame_of(object_series([(1,)]))]),
    # rule 2: bytearray and contiguous memoryview arrive as bytes
    delivered("bytearray-top-level", lambda: bytearray(b"ab"), lambda: b"ab"),
    delivered("contiguous-memoryview-in-list", lambda: [memoryview(b"abc")], lambda: [b"abc"]),
    delivered("2d-int16-memoryview", lambda: {"m": memoryview(np.arange(6, dtype="<i2").reshape(2, 3))}, lambda: {"m": np.arange(6, dtype="<i2").tobytes()}),
    # rule 3: np.memmap arrives as a plain ndarray, same dtype, shape, values and order
    delivered("memmap-array", lambda: as_memmap(np.arange(200.0)), lambda: np.arange(200.0)),
    delivered("memmap-array-small", lambda: as_memmap(np.arange(3, dtype="i4")), lambda: np.arange(3, dtype="i4")),
    delivered("memmap-array-fortran", lambda: as_memmap(np.arange(600.0).reshape(20, 30), order="F"), lambda: np.asfortranarray(np.arange(600.0).reshape(20, 30))),
    delivered("memmaps-in-a-dict", lambda: {"a": as_memmap(np.arange(200.0)), "b": [as_memmap(np.ones(2))]}, lambda: {"a": np.arange(200.0), "b": [np.ones(2)]}),
    # rule 4: a dict that is exactly hypha-rpc's ndarray form is read as that array ...
    delivered("dict-shaped-like-stock-ndarray-form", lambda: form(), lambda: np.array([1], dtype=np.int8)),
    delivered("stock-form-nested-with-tuple-shape", lambda: {"x": [form(_rshape=(1,))]}, lambda: {"x": [np.array([1], dtype=np.int8)]}),
    delivered("stock-form-scalar", lambda: form(_rshape=[], _rscalar=True), lambda: np.int8(1)),
    delivered("stock-form-fortran", lambda: form(_rvalue=b"", _rshape=[2, 2], _rorder="F"), lambda: np.asfortranarray(np.array([[1, 2], [3, 4]], dtype=np.int8))),
    # ... and any other dict with `_rtype: "ndarray"` comes back as the same dict
    delivered("dict-with-partial-stock-ndarray-keys", lambda: form(_rshape=None, _rdtype=None), lambda: form(_rshape=None, _rdtype=None)),
    delivered("stock-form-unknown-dtype", lambda: form(_rdtype="no-such-dtype"), lambda: form(_rdtype="no-such-dtype")),
    delivered("stock-form-object-dtype", lambda: form(_rvalue=bytes(8), _rdtype="O"), lambda: form(_rvalue=bytes(8), _rdtype="O")),
    delivered("stock-form-size-mismatch", lambda: form(_rshape=[2]), lambda: form(_rshape=[2])),
    delivered("stock-form-str-value", lambda: form(_rvalue="x"), lambda: form(_rvalue="x")),
    delivered("stock-form-placeholder-dtype", lambda: form(_rdtype="hypha_arrow column: x"), lambda: form(_rdtype="hypha_arrow column: x")),
    delivered("malformed-stock-form-columnar", lambda: form(_rshape=[3]), lambda: form(_rshape=[3]), COLUMNAR),
]


@pytest.mark.parametrize(("make", "expect", "config"), DELIVERED_AS)
def test_delivered_as_documented(make: Callable[[], Any], expect: Callable[[], Any], config: dict[str, Any]) -> None:
    """The rule itself (as_delivered gives the documented value) and the codec following it."""
    assert_same(expect(), as_delivered(make()), "as_delivered(value)")
    cfg = hypha_arrow.Config(**config) if config else None
    assert_same(expect(), hypha_arrow.decode(hypha_arrow.encode(make(), config=cfg), config=cfg), "decode(encode(value))")


@pytest.mark.parametrize(
    ("make", "config"),
    [(lambda: form(), COLUMNAR), (lambda: [form() for _ in range(300)], {})],
    ids=["form-whose-parts-went-columnar", "forms-as-rows-of-a-columnar-record-list"],
)
def test_stock_form_lookalikes_inside_columnar_values_stay_dicts(make: Callable[[], Any], config: dict[str, Any]) -> None:
    """Rule 4 holds where hypha-rpc's decoder meets a dict in the message tree; inside a columnar
    value it is data (``as_delivered`` cannot see that context, hence this separate test)."""
    cfg = hypha_arrow.Config(**config) if config else None
    assert_same(make(), hypha_arrow.decode(hypha_arrow.encode(make(), config=cfg), config=cfg))


def test_decode_message_leaves_stock_forms_alone() -> None:
    extra = {"args": [form(), (1, form(_rdtype="O"))], "with_kwargs": False}
    assert_same({"args": [form(), [1, form(_rdtype="O")]], "with_kwargs": False}, as_delivered(extra, ndarray_forms=False))
    assert_message_exact_or_refused([form(), (1, bytearray(b"a"))])
    _, decoded = hypha_arrow.decode_message(hypha_arrow.encode_message({"type": "method"}, extra))
    assert_same({"args": [form(), [1, form(_rdtype="O")]], "with_kwargs": False}, decoded)


@pytest.mark.parametrize(("make", "config"), EXACT_OR_REFUSED)
def test_exact_or_refused(make: Callable[[], Any], config: dict[str, Any]) -> None:
    assert_exact_or_refused(make(), **config)


@pytest.mark.parametrize(("make", "config"), ROUND_TRIPS_LIKE_STOCK)
def test_round_trips_like_stock(make: Callable[[], Any], config: dict[str, Any]) -> None:
    assert_exact(make(), **config)


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({"args": [1], "with_kwargs": False, "__hypha_arrow__": 1}, id="reserved-key-small"),
        pytest.param({"args": [np.arange(200.0)], "with_kwargs": False, "__hypha_arrow__": 1}, id="reserved-key-columnar"),
        pytest.param({"args": [{1: "a"}], "with_kwargs": False}, id="int-keys"),
        pytest.param({"args": [("a", 1)], "with_kwargs": False}, id="tuple-argument"),
    ],
)
def test_message_extra_is_exact_or_refused(extra: dict[str, Any]) -> None:
    header = {"type": "method", "to": "ws/b:svc", "method": "svc.f"}
    try:
        data = hypha_arrow.encode_message(header, extra)
    except hypha_arrow.EncodeError:
        return
    try:
        decoded_header, decoded = hypha_arrow.decode_message(data)
    except hypha_arrow.DecodeError as error:
        raise AssertionError(f"the decoder refused a frame the encoder produced: {error}") from error
    assert_same(header, decoded_header, "header")
    assert_same(as_delivered(extra, ndarray_forms=False), decoded, "extra")
