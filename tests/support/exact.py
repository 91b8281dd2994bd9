"""Exactness checking for hypha_arrow: round-trip helpers and hypothesis strategies of awkward values.

The codec's promise: ``decode(encode(x))`` is exactly ``as_delivered(x)`` (same Python types,
dtypes, values, labels, order and flags, as ``hypha_arrow.testing.assert_same`` checks them), or
``encode`` raises ``EncodeError``. A frame our encoder produced that our decoder refuses, and any
other exception from either side, is a bug. ``as_delivered`` is the one place where the expected
value differs from the sent one: the documented rules (README "What travels how", wire format
section 5) under which msgpack and stock hypha-rpc, and so we, deliver a value changed.
``assert_same`` itself stays strict.

Helpers: ``assert_exact_or_refused`` (the promise), ``assert_exact`` (refusal is a failure too:
for values stock hypha-rpc already carries exactly), ``assert_message_exact_or_refused`` (the same
through ``encode_message``/``decode_message`` as a call's only argument).

Strategies, from small to large: scalars (``mixed_scalars``), nested containers
(``nested_values``), typed lists, record lists, numpy arrays of every kind, pandas labels and
indexes, columns of every dtype, DataFrames and Series; ``configs`` draws the codec options
(``binary_threshold`` 0 sends even tiny values columnar, 1000 is the default).

``HYPHA_ARROW_EXAMPLES`` sets the number of examples per property test (default 60), e.g.
``HYPHA_ARROW_EXAMPLES=2000 python -m pytest tests/test_exactness.py`` for a long run.
"""

from __future__ import annotations

import atexit
import datetime
import os
import shutil
import sys
import tempfile
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import hypha_arrow
from hypha_arrow.testing import assert_same

EXAMPLES = int(os.environ.get("HYPHA_ARROW_EXAMPLES", "60"))
PROPERTY_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],  # no "explain": it traces every line and takes seconds per failure
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
HEADER = {"type": "method", "from": "ws-a/caller", "to": "ws-a/callee:svc", "method": "svc.echo", "session": "s1"}

# ---------------------------------------------------------------- what a value looks like on arrival

_STOCK_FORM_KEYS = frozenset({"_rtype", "_rvalue", "_rshape", "_rdtype"})
_STOCK_FORM_OPTIONAL_KEYS = frozenset({"_rscalar", "_rorder"})
_RAW_DTYPE_KINDS = "biufcMmUSV"
_PLAIN_LEAVES = frozenset({str, bytes, int, float, bool, type(None)})


def as_delivered(value: Any, *, ndarray_forms: bool = True) -> Any:
    """What ``value`` looks like after the trip, per the documented rules (and nothing else):

    1. tuples in the message tree (top level, in lists and dicts, in record-list rows, columnar
       or not) arrive as lists; the tree is lists, tuples and dicts only, so tuples inside
       DataFrames, Series, Index, ndarrays, numpy scalars and Arrow values (cells, labels,
       names, ``attrs``) are not touched and stay tuples;
    2. ``bytearray`` and C-contiguous ``memoryview`` values arrive as ``bytes`` (a memoryview
       that is not C-contiguous is refused, so it is left as it is);
    3. ``np.memmap`` arrives as a plain ``np.ndarray``, same dtype, shape, values and order;
    4. with ``ndarray_forms`` (``decode``; ``decode_message`` leaves them alone: pass False),
       a dict that is exactly hypha-rpc's ndarray form (after rules 1-2 applied to its values)
       arrives as the array hypha-rpc's decoder reads from it, see ``_from_stock_form``; a dict
       with ``_rtype: "ndarray"`` that is not a valid form stays that dict.

    Returns new containers where anything changed inside; every other value is returned as is
    (dict subclasses and list subclasses included: those stay strict)."""
    kind = type(value)
    if kind in _PLAIN_LEAVES:
        return value
    if kind is list or isinstance(value, tuple):
        if all(type(item) in _PLAIN_LEAVES for item in value):
            return list(value)
        return [as_delivered(item, ndarray_forms=ndarray_forms) for item in value]
    if kind is dict:
        delivered = {key: as_delivered(item, ndarray_forms=ndarray_forms) for key, item in value.items()}
        if ndarray_forms and delivered.get("_rtype") == "ndarray":
            array = _from_stock_form(delivered)
            if array is not None:
                return array
        return delivered
    if isinstance(value, bytearray):
        return bytes(value)
    if isinstance(value, memoryview) and value.c_contiguous:
        return value.tobytes()
    if isinstance(value, np.memmap):
        return value.view(np.ndarray)
    return value


def _from_stock_form(form: dict[Any, Any]) -> np.ndarray | np.generic | None:
    """The array hypha-rpc's decoder reads from ``form`` (``np.frombuffer(_rvalue, _rdtype)
    .reshape(_rshape)``), with our two additions: ``_rorder: "F"`` makes it Fortran-ordered and
    a true ``_rscalar`` on a 0-d array makes it the numpy scalar. None unless ``form`` is
    exactly that form: those keys and no others, ``_rvalue`` bytes, ``_rshape`` a list of
    ints, and a dtype whose elements are raw bytes (no object or structured dtypes, which
    would read pointers or which hypha-rpc's ``str(dtype)`` cannot name)."""
    keys = set(form)
    if not (_STOCK_FORM_KEYS <= keys <= _STOCK_FORM_KEYS | _STOCK_FORM_OPTIONAL_KEYS):
        return None
    raw, shape = form["_rvalue"], form["_rshape"]
    if type(raw) is not bytes or type(shape) is not list or not all(type(n) is int and n >= 0 for n in shape):
        return None
    try:
        dtype = np.dtype(form["_rdtype"])
        if dtype.kind not in _RAW_DTYPE_KINDS or dtype.hasobject or dtype.fields is not None:
            return None
        array = np.frombuffer(raw, dtype=dtype).reshape(tuple(shape))
    except (TypeError, ValueError):
        return None
    if form.get("_rorder") == "F":
        array = np.asfortranarray(array)
    return array[()] if form.get("_rscalar") and array.ndim == 0 else array


# ---------------------------------------------------------------- round-trip helpers


def _config(config: dict[str, Any]) -> hypha_arrow.Config | None:
    return hypha_arrow.Config(**config) if config else None


def _decode_own(decode: Any, data: bytes, config: hypha_arrow.Config | None) -> Any:
    try:
        return decode(data, config=config)
    except hypha_arrow.DecodeError as error:
        raise AssertionError(f"the decoder refused a frame the encoder produced: {error}") from error


def assert_exact_or_refused(value: Any, **config: Any) -> hypha_arrow.EncodeError | None:
    """``decode(encode(value))`` is exactly ``as_delivered(value)``, or ``encode`` raises EncodeError (returned).

    Any other exception propagates and fails the test."""
    cfg = _config(config)
    try:
        data = hypha_arrow.encode(value, config=cfg)
    except hypha_arrow.EncodeError as error:
        return error
    assert_same(as_delivered(value), _decode_own(hypha_arrow.decode, data, cfg), "decode(encode(value))")
    return None


def assert_exact(value: Any, **config: Any) -> None:
    """``decode(encode(value))`` is exactly ``as_delivered(value)``; refusing it fails too."""
    cfg = _config(config)
    try:
        data = hypha_arrow.encode(value, config=cfg)
    except hypha_arrow.EncodeError as error:
        raise AssertionError(f"encode refused a value stock hypha-rpc carries exactly: {str(error)[-300:]}") from error
    assert_same(as_delivered(value), _decode_own(hypha_arrow.decode, data, cfg), "decode(encode(value))")


def assert_message_exact_or_refused(value: Any, **config: Any) -> hypha_arrow.EncodeError | None:
    """The same promise for ``value`` as a call's only argument, header included
    (``as_delivered`` without rule 4: ``decode_message`` leaves hypha-rpc's forms alone).

    Only for values without numpy arrays or scalars: below the threshold ``decode_message``
    leaves those in hypha-rpc's ``_rtype: ndarray`` form for hypha-rpc's decoder, by design."""
    cfg = _config(config)
    extra = {"args": [value], "with_kwargs": False}
    try:
        data = hypha_arrow.encode_message(dict(HEADER), extra, config=cfg)
    except hypha_arrow.EncodeError as error:
        return error
    header, decoded = _decode_own(hypha_arrow.decode_message, data, cfg)
    assert_same(HEADER, header, "header")
    assert_same(as_delivered(extra, ndarray_forms=False), decoded, "extra")
    return None


def object_array(values: list[Any], shape: tuple[int, ...] | None = None, order: str = "C") -> np.ndarray:
    """An object array holding exactly ``values`` (numpy would turn nested lists into dimensions)."""
    flat = np.empty(len(values), dtype=object)
    for index, item in enumerate(values):
        flat[index] = item
    array = flat.reshape(shape if shape is not None else (len(values),))
    return np.asfortranarray(array) if order == "F" else array


def object_series(values: list[Any], **options: Any) -> pd.Series:
    """A Series of dtype object holding exactly ``values`` (pandas 3 would infer ``str`` from strings)."""
    return pd.Series(object_array(values), dtype=object, **options)


def frame_of(column: Any, **options: Any) -> pd.DataFrame:
    return pd.DataFrame({"a": column}, **options)


def as_series(values: Any, **options: Any) -> pd.Series:
    """Column data as a Series, object arrays kept as object."""
    dtype = object if isinstance(values, np.ndarray) and values.dtype == object else None
    return pd.Series(values, dtype=dtype, **options)


# ---------------------------------------------------------------- codec options

thresholds = st.sampled_from([0, 1000])
"""0: even a one-element array or list goes columnar; 1000: the default."""


@st.composite
def configs(draw: st.DrawFn) -> dict[str, Any]:
    """Codec options as ``Config`` keyword arguments (records decode as lists: exactness).

    Mostly a threshold and maybe compression; now and then some families kept out of the
    Arrow section, or binary optimization off (stock frames only)."""
    config: dict[str, Any] = {"binary_threshold": draw(thresholds)}
    compression = draw(st.sampled_from([None, None, None, "lz4", "zstd", "auto"]))
    if compression:
        config["compression_algorithm"] = compression
    if draw(st.integers(0, 7)) == 0:
        config["optimization_patterns"] = draw(st.sets(st.sampled_from(["arrays", "strings", "records", "compression"])))
    if draw(st.integers(0, 7)) == 0:
        config["typed_array_optimization"] = False
    if draw(st.integers(0, 9)) == 0:
        config["enable_binary_optimization"] = False
    return config


# ---------------------------------------------------------------- scalars

ints_beyond_int64 = st.sampled_from([2**63, 2**64 - 1, 2**64, -(2**63) - 1, 10**30, -(10**30)])
ints_near_float_precision = st.sampled_from([2**53, 2**53 + 1, -(2**53) - 1, 2**62 + 1])
python_ints = st.integers(-(2**63), 2**63 - 1) | ints_near_float_precision | ints_beyond_int64
python_floats = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([-0.0, float("nan")])
lone_surrogates = st.sampled_from(["\ud800", "\udfff", "a\ud83d", "\udc00b"])
valid_texts = st.text(max_size=8)
texts = valid_texts | lone_surrogates
decimals = st.decimals(allow_nan=True, allow_infinity=True).filter(lambda d: not d.is_snan()) | st.sampled_from(
    [Decimal("1.1"), Decimal("1.100"), Decimal("NaN"), Decimal("-NaN"), Decimal("-0"), Decimal("1E+3")]
)
"""Decimals whose exponent matters; no signalling NaN (pandas cannot even print a column holding one)."""
timezones = st.sampled_from([None, "UTC", "Europe/Berlin", "America/New_York"])

SCALAR_DTYPES = [
    np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
    np.float16, np.float32, np.float64, np.longdouble, np.complex64, np.complex128,
    "datetime64[s]", "datetime64[ns]", "timedelta64[ms]", "U3", "S3",
]  # fmt: skip


def numpy_scalars_of(dtype: Any) -> st.SearchStrategy[np.generic]:
    """np.int64(3), np.str_('ab'), np.datetime64('NaT'), np.longdouble(...): the 0-d element, not a 0-d array."""
    return hnp.arrays(np.dtype(dtype), ()).map(lambda array: array[()])


numpy_scalar_kinds = st.sampled_from([numpy_scalars_of(dtype) for dtype in SCALAR_DTYPES])
"""A strategy of one numpy scalar type, for lists and columns that hold a single type."""
numpy_scalars = numpy_scalar_kinds.flatmap(lambda kind: kind)
"""Numpy scalars of any type."""

timestamps = st.builds(
    lambda seconds, tz: pd.Timestamp(seconds, unit="s", tz="UTC").tz_convert(tz) if tz else pd.Timestamp(seconds, unit="s"),
    st.integers(0, 2**31),
    timezones,
)
timedeltas = st.builds(pd.Timedelta, st.integers(-(10**12), 10**12), st.sampled_from(["s", "ms", "ns"]))
periods = st.builds(pd.Period, st.sampled_from(["2020-01", "1999-12-31", "2024-03-05"]), freq=st.sampled_from(["D", "M", "Y"]))
intervals = st.builds(pd.Interval, st.integers(-5, 0), st.integers(1, 5), closed=st.sampled_from(["left", "right", "both", "neither"]))
pandas_scalars = st.sampled_from([pd.NA, pd.NaT]) | timestamps | timedeltas | periods | intervals
python_datetimes = st.datetimes(timezones=st.none() | st.just(datetime.timezone.utc))

plain_scalars = st.none() | st.booleans() | python_ints | python_floats | texts | st.binary(max_size=8)
"""What msgpack itself has a type for (with ints too big for it and unencodable text)."""
mixed_scalars = plain_scalars | decimals | numpy_scalars | pandas_scalars | python_datetimes


# ---------------------------------------------------------------- nested containers

dict_keys = (
    st.text(max_size=4)
    | st.integers(-3, 3)
    | st.booleans()
    | st.floats(allow_nan=False, width=32)
    | st.none()
    | st.binary(max_size=3)
    | st.tuples(st.integers(0, 2), st.text(max_size=2))
)
"""str (the msgpack norm), and the keys Python allows that msgpack maps may not: int, bool, float, None, bytes, tuple."""


def containers_of(leaves: st.SearchStrategy[Any], max_leaves: int = 16) -> st.SearchStrategy[Any]:
    """Lists, tuples and dicts (keys of every kind) nesting ``leaves``."""
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner) | st.dictionaries(dict_keys, inner, max_size=4),
        max_leaves=max_leaves,
    )


def weighted(*choices: tuple[st.SearchStrategy[Any], int]) -> st.SearchStrategy[Any]:
    """Draw from each strategy in proportion to its weight (``|`` would weigh every branch alike)."""
    return st.sampled_from([strategy for strategy, weight in choices for _ in range(weight)]).flatmap(lambda strategy: strategy)


nested_values = containers_of(weighted((plain_scalars, 3), (numpy_scalars, 2), (mixed_scalars | st.just(Decimal("sNaN")), 1)))
"""Mixed scalars (numpy ones included, and a few that cannot be sent) in lists, tuples and dicts of every key type."""
wire_plain_values = containers_of(plain_scalars | decimals | pandas_scalars)
"""As nested_values without numpy values (for decode_message, which leaves small ones in stock form)."""
string_keyed_values = st.recursive(
    plain_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(valid_texts, inner, max_size=4), max_leaves=16
)
"""Only what msgpack carries natively: these must never be refused (apart from big ints and surrogates)."""


# ---------------------------------------------------------------- typed lists (the "list" family)

list_elements = st.sampled_from(
    [python_ints, st.integers(-(2**63), 2**63 - 1), python_floats, st.booleans(), texts, valid_texts, st.binary(max_size=8), numpy_scalars, decimals]
) | numpy_scalar_kinds
"""Each list draws its elements from one of these (numpy: mixed types, or one type)."""


wire_list_elements = st.sampled_from([python_ints, st.integers(-(2**63), 2**63 - 1), python_floats, st.booleans(), texts, valid_texts, st.binary(max_size=8)])
"""As list_elements without numpy scalars (for decode_message comparisons)."""


@st.composite
def typed_lists(draw: st.DrawFn, elements: st.SearchStrategy[st.SearchStrategy[Any]] = list_elements) -> list[Any] | tuple[Any, ...]:
    """Lists (sometimes tuples) of one element kind with Nones, long enough to cross the threshold."""
    kind = draw(elements)
    values = draw(st.lists(st.none() | kind | kind | kind, max_size=draw(st.sampled_from([5, 200]))))
    return tuple(values) if draw(st.integers(0, 5)) == 0 else values


# ---------------------------------------------------------------- numpy arrays

NATIVE_DTYPES = [
    "?", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16",
    "M8[s]", "M8[ns]", "M8[D]", "m8[us]", "m8[ns]", "U1", "U5", "S1", "S4",
    np.longdouble, np.clongdouble,
]  # fmt: skip
NON_NATIVE_DTYPES = [">i4" if sys.byteorder == "little" else "<i4", ">f8", ">c16", ">M8[ns]", ">U3", ">u2"]
if sys.byteorder == "big":
    NON_NATIVE_DTYPES = [d.replace(">", "<") for d in NON_NATIVE_DTYPES]
STRUCTURED_DTYPES = [
    [("a", "<i4"), ("b", "<f8")],
    [("x", ">u2"), ("s", "S3"), ("t", "M8[ms]")],
    [("p", "f4", (2,)), ("q", "?")],
]
array_shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=9)
"""Up to 729 elements: crosses binary_threshold=1000 bytes for most dtypes."""


@st.composite
def in_some_order(draw: st.DrawFn, arrays: st.SearchStrategy[np.ndarray]) -> np.ndarray:
    array = draw(arrays)
    return np.asfortranarray(array) if draw(st.booleans()) else array


plain_arrays = in_some_order(hnp.arrays(st.sampled_from(NATIVE_DTYPES).map(np.dtype), array_shapes))
non_native_arrays = in_some_order(hnp.arrays(st.sampled_from(NON_NATIVE_DTYPES).map(np.dtype), array_shapes))
structured_arrays = hnp.arrays(st.sampled_from(STRUCTURED_DTYPES).map(np.dtype), hnp.array_shapes(min_dims=1, max_dims=2, max_side=40))
void_arrays = hnp.arrays(np.uint8, st.tuples(st.integers(0, 300), st.just(8))).map(lambda raw: np.ascontiguousarray(raw).view("V8")[:, 0])
"""dtype V8 (eight opaque bytes each), up to 2400 bytes."""
numeric_arrays = hnp.arrays(st.sampled_from(["i8", "f8", "u1", "?", "c8"]).map(np.dtype), array_shapes)

object_cells = st.one_of(
    mixed_scalars,
    st.lists(st.integers(-3, 3), max_size=3),
    st.tuples(st.integers(), st.text(max_size=2)),
    st.dictionaries(st.text(max_size=3) | st.integers(0, 3), st.integers(0, 9), max_size=2),
    hnp.arrays(st.sampled_from(["i8", "f4", "U2", "M8[s]", "?"]).map(np.dtype), hnp.array_shapes(min_dims=0, max_dims=2, max_side=3)),
)
"""What an object array or object DataFrame column may hold: anything."""


@st.composite
def object_arrays(draw: st.DrawFn) -> np.ndarray:
    """Object arrays of mixed content, or of str/bytes/None only (the kind that can go columnar), C or F order."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=2, min_side=0, max_side=draw(st.sampled_from([4, 30]))))
    count = int(np.prod(shape))
    cells = draw(st.sampled_from([object_cells, st.none() | texts | st.binary(max_size=5), st.none() | valid_texts]))
    values = draw(st.lists(cells, min_size=count, max_size=count))
    return object_array(values, shape, order=draw(st.sampled_from("CF")))


@st.composite
def masked_arrays(draw: st.DrawFn) -> np.ma.MaskedArray:
    data = draw(numeric_arrays)
    mask = draw(hnp.arrays(np.bool_, data.shape))
    return np.ma.array(data, mask=mask) if draw(st.booleans()) else np.ma.array(data)


matrices = hnp.arrays(st.sampled_from(["i8", "f8"]).map(np.dtype), hnp.array_shapes(min_dims=2, max_dims=2, max_side=40)).map(np.asmatrix)
recarrays = structured_arrays.map(lambda array: array.view(np.recarray))

_MEMMAP_DIR = tempfile.mkdtemp(prefix="hypha-arrow-exact-")
atexit.register(shutil.rmtree, _MEMMAP_DIR, ignore_errors=True)


def as_memmap(array: np.ndarray, order: str = "C") -> np.memmap:
    """``array`` copied into a small file and mapped back (read-write), in C or Fortran order."""
    handle, path = tempfile.mkstemp(dir=_MEMMAP_DIR, suffix=".dat")
    os.close(handle)
    mapped = np.memmap(path, dtype=array.dtype, mode="w+", shape=array.shape or (1,), order=order)
    mapped[...] = array if array.shape else array.reshape(1)
    mapped.flush()
    return mapped


memmaps = hnp.arrays(st.sampled_from(["f8", "i4"]).map(np.dtype), hnp.array_shapes(min_dims=1, max_dims=2, max_side=30)).map(as_memmap)
array_subclasses = masked_arrays() | matrices | recarrays | memmaps
any_array = plain_arrays | non_native_arrays | structured_arrays | void_arrays | object_arrays() | array_subclasses


# ---------------------------------------------------------------- record lists (the "records" family)

record_key_sets = st.lists(st.sampled_from(["id", "name", "score", "vec", "tags", "when"]), min_size=1, max_size=4, unique=True)
record_cells = st.one_of(
    plain_scalars,
    numpy_scalars,
    decimals,
    hnp.arrays(st.sampled_from(["f8", "f4", "i8"]).map(np.dtype), st.integers(0, 5)),
    st.lists(st.floats(allow_nan=True), max_size=4),
    st.dictionaries(st.text(max_size=3) | st.integers(0, 3), st.integers(0, 9), max_size=2),
    st.tuples(st.integers(0, 3)),
)
"""Cells as services return them: numpy scalars, small ndarrays (embeddings), lists, dicts, tuples."""
record_columns = st.sampled_from(
    [
        record_cells,  # mixed in one column
        st.integers(-(2**63), 2**63 - 1),
        python_floats,
        valid_texts | st.none(),
        texts,
        numpy_scalars,
        hnp.arrays(np.float64, 4),
    ]
) | numpy_scalar_kinds
"""Each column draws its cells from one of these: one simple type, one numpy type, or anything."""


@st.composite
def record_lists(draw: st.DrawFn, cells: st.SearchStrategy[st.SearchStrategy[Any]] = record_columns) -> list[dict[Any, Any]]:
    """Lists of dicts: shared or varying keys (sometimes an int key), each column of one kind or mixed.

    A few distinct rows are drawn and repeated (as copies) up to the list's length, so long
    lists, which cross the threshold, stay cheap to draw and to shrink."""
    keys: list[Any] = draw(record_key_sets)
    if draw(st.integers(0, 6)) == 0:
        keys.append(draw(st.integers(0, 3)))
    column_cells = {key: draw(cells) for key in keys}
    varying = draw(st.booleans())
    distinct = []
    for _ in range(draw(st.integers(1, 8))):
        row_keys = draw(st.permutations(keys))[: draw(st.integers(0, len(keys)))] if varying else keys
        distinct.append({key: draw(column_cells[key]) for key in row_keys})
    count = draw(st.integers(len(distinct), max(len(distinct), draw(st.sampled_from([4, 160])))))
    return [dict(distinct[i % len(distinct)]) for i in range(count)]


wire_record_cells = st.sampled_from(
    [plain_scalars, st.integers(-(2**63), 2**63 - 1), valid_texts | st.none(), st.lists(st.floats(), max_size=3), decimals]
)
"""Record columns without numpy values, for the decode_message round trip."""


# ---------------------------------------------------------------- pandas labels and indexes

label_names = st.sampled_from([None, 0, "0", "name", 1.5, True, (1, "a"), ("x", None)])
"""Index and column-index names: 0 and '0' and True must stay apart."""
single_labels = st.one_of(
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(max_size=3),
    st.tuples(st.integers(0, 2), st.text(max_size=1)),
    timestamps,
    periods,
    timedeltas,
    st.sampled_from([np.str_("a"), np.int64(1), np.float64(2.5)]),
)
label_kinds = st.sampled_from(
    [
        st.booleans(),
        st.integers(-3, 3),
        st.integers(2**62, 2**63 - 1),
        st.floats(allow_nan=False, allow_infinity=False, width=32),
        st.text(max_size=3),
        st.tuples(st.integers(0, 2), st.text(max_size=1)),
        st.floats(width=32) | st.none(),  # NaN and None as labels
        st.text(max_size=2) | st.sampled_from([None, float("nan")]),
        timestamps | st.just(pd.NaT),
        single_labels,  # mixed kinds in one index
    ]
)


@st.composite
def labels(draw: st.DrawFn, size: int, unique: bool = False) -> pd.Index:
    """Column labels or a row index of ``size``: every pandas index class, mixed and duplicate values, names of every kind."""
    maker = draw(st.sampled_from(list(_INDEX_MAKERS)))
    index = _INDEX_MAKERS[maker](draw, size)
    if unique and not index.is_unique:
        index = pd.RangeIndex(size)
    names = [draw(label_names) for _ in range(index.nlevels)]
    return index.set_names(names) if index.nlevels > 1 else index.rename(names[0])


def _values_index(draw: st.DrawFn, size: int) -> pd.Index:
    kind = draw(label_kinds)
    values = draw(st.lists(kind, min_size=size, max_size=size))
    dtype = object if draw(st.booleans()) or any(isinstance(v, tuple) for v in values) else None
    return pd.Index(values, dtype=dtype, tupleize_cols=False)


def _range_index(draw: st.DrawFn, size: int) -> pd.Index:
    start, step = draw(st.integers(-5, 5)), draw(st.sampled_from([1, 2, -1, 7]))
    return pd.RangeIndex(start, start + size * step, step)


def _datetime_index(draw: st.DrawFn, size: int) -> pd.Index:
    freq = draw(st.sampled_from(["D", "h", "15min", "ms", None]))
    index = pd.date_range("2024-03-30", periods=size, freq=freq or "D", tz=draw(timezones), unit=draw(st.sampled_from(["ns", "us", "ms"])))
    return index if freq else pd.DatetimeIndex(list(index))


def _period_index(draw: st.DrawFn, size: int) -> pd.Index:
    return pd.period_range("2020-01", periods=size, freq=draw(st.sampled_from(["M", "D", "Q", "h"])))


def _timedelta_index(draw: st.DrawFn, size: int) -> pd.Index:
    return pd.timedelta_range(0, periods=size, freq=draw(st.sampled_from(["h", "s", "D"])))


def _categorical_index(draw: st.DrawFn, size: int) -> pd.Index:
    pool = draw(st.sampled_from([["a", "b", "c"], [1, 2, 3], ["a", 1, 2.5]]))
    values = draw(st.lists(st.sampled_from(pool), min_size=size, max_size=size))
    categories = pd.Index(pool, dtype=object) if draw(st.booleans()) else None
    return pd.CategoricalIndex(values, categories=categories, ordered=draw(st.booleans()))


def _interval_index(draw: st.DrawFn, size: int) -> pd.Index:
    breaks = np.arange(size + 1) * draw(st.sampled_from([1, 0.5]))
    return pd.IntervalIndex.from_breaks(breaks, closed=draw(st.sampled_from(["left", "right", "both", "neither"])))


def _multi_index(draw: st.DrawFn, size: int) -> pd.Index:
    first = draw(st.lists(st.sampled_from(["a", "b"]), min_size=size, max_size=size))
    second = draw(st.lists(st.sampled_from([1, 2, "x", 2.5, True]) | st.sampled_from([1, 2]), min_size=size, max_size=size))
    return pd.MultiIndex.from_arrays([first, second])


_INDEX_MAKERS = {
    "values": _values_index,
    "range": _range_index,
    "datetime": _datetime_index,
    "period": _period_index,
    "timedelta": _timedelta_index,
    "categorical": _categorical_index,
    "interval": _interval_index,
    "multi": _multi_index,
}


# ---------------------------------------------------------------- pandas columns


@st.composite
def column_values(draw: st.DrawFn, size: int) -> Any:
    """One column's data of ``size`` rows, in one of the dtypes people put in DataFrames."""
    maker = draw(st.sampled_from(list(_COLUMN_MAKERS)))
    return _COLUMN_MAKERS[maker](draw, size)


def _drawn(draw: st.DrawFn, size: int, elements: st.SearchStrategy[Any]) -> list[Any]:
    return draw(st.lists(elements, min_size=size, max_size=size))


def _numpy_column(draw: st.DrawFn, size: int) -> np.ndarray:
    dtype = np.dtype(draw(st.sampled_from(["i8", "i4", "u8", "u1", "f8", "f4", "?", "c16", "M8[ns]", "M8[s]", "m8[ns]"])))
    return draw(hnp.arrays(dtype, size))


def _nullable_column(draw: st.DrawFn, size: int) -> Any:
    dtype, elements = draw(
        st.sampled_from(
            [
                ("Int64", st.integers(-(2**63), 2**63 - 1)),
                ("UInt8", st.integers(0, 255)),
                ("boolean", st.booleans()),
                ("Float64", st.floats(allow_nan=False)),
            ]
        )
    )
    return pd.array(_drawn(draw, size, st.none() | elements), dtype=dtype)


def _string_column(draw: st.DrawFn, size: int) -> Any:
    dtype = draw(st.sampled_from(["string[python]", "string[pyarrow]", "str"]))
    elements = texts if dtype == "string[python]" else valid_texts  # pyarrow-backed ones refuse surrogates themselves
    return pd.array(_drawn(draw, size, st.none() | elements), dtype=dtype)


def _category_column(draw: st.DrawFn, size: int) -> Any:
    pool = draw(st.sampled_from([["a", "b", "c"], [1, 2, 3], ["a", 1, 2.5, None], [True, False]]))
    values = _drawn(draw, size, st.sampled_from(pool))
    categories = [v for v in dict.fromkeys(pool) if v is not None]
    kind = draw(st.sampled_from(["inferred", "object", "str"]))
    if kind == "object":
        return pd.Categorical(values, categories=pd.Index(categories, dtype=object), ordered=draw(st.booleans()))
    if kind == "str" and all(isinstance(v, str) for v in categories):
        return pd.Categorical(values, categories=pd.Index(categories, dtype="str"), ordered=draw(st.booleans()))
    return pd.Categorical(values, ordered=draw(st.booleans()))


def _datetime_column(draw: st.DrawFn, size: int) -> Any:
    seconds = _drawn(draw, size, st.integers(0, 2**31) | st.none())
    values = pd.to_datetime(pd.Series(seconds, dtype="Int64"), unit="s").dt.tz_localize("UTC")
    tz = draw(timezones)
    return (values.dt.tz_convert(tz) if tz else values.dt.tz_localize(None)).array


def _period_column(draw: st.DrawFn, size: int) -> Any:
    return pd.period_range("2021-06", periods=size, freq=draw(st.sampled_from(["D", "M", "h"]))).array


def _interval_column(draw: st.DrawFn, size: int) -> Any:
    breaks = np.arange(size + 1) * draw(st.sampled_from([1, 0.25]))
    return pd.arrays.IntervalArray.from_breaks(breaks, closed=draw(st.sampled_from(["left", "right", "both", "neither"])))


def _arrow_column(draw: st.DrawFn, size: int) -> Any:
    arrow_type, elements = draw(
        st.sampled_from(
            [
                (pa.int64(), st.integers(-(2**63), 2**63 - 1)),
                (pa.string(), valid_texts),
                (pa.bool_(), st.booleans()),
                (pa.list_(pa.int64()), st.lists(st.integers(-9, 9), max_size=3)),
                (pa.timestamp("us", tz="UTC"), st.datetimes(timezones=st.just(datetime.timezone.utc))),
                (pa.decimal128(12, 3), st.decimals(min_value=-(10**8), max_value=10**8, places=3, allow_nan=False)),
                (pa.struct([("x", pa.int32())]), st.fixed_dictionaries({"x": st.integers(-9, 9)})),
            ]
        )
    )
    return pd.array(_drawn(draw, size, st.none() | elements), dtype=pd.ArrowDtype(arrow_type))


def _object_mixed_column(draw: st.DrawFn, size: int) -> np.ndarray:
    return object_array(_drawn(draw, size, object_cells))


def _object_strings_column(draw: st.DrawFn, size: int) -> np.ndarray:
    """Strings with every missing marker: None, NaN and pd.NA are three different values."""
    return object_array(_drawn(draw, size, texts | st.sampled_from([None, float("nan"), pd.NA])))


def _object_ints_column(draw: st.DrawFn, size: int) -> np.ndarray:
    return object_array(_drawn(draw, size, python_ints | st.none()))


def _object_decimals_column(draw: st.DrawFn, size: int) -> np.ndarray:
    return object_array(_drawn(draw, size, decimals | st.none()))


_COLUMN_MAKERS = {
    "numpy": _numpy_column,
    "nullable": _nullable_column,
    "string": _string_column,
    "category": _category_column,
    "datetime": _datetime_column,
    "period": _period_column,
    "interval": _interval_column,
    "arrow": _arrow_column,
    "object_mixed": _object_mixed_column,
    "object_strings": _object_strings_column,
    "object_ints": _object_ints_column,
    "object_decimals": _object_decimals_column,
}

frame_attrs = st.sampled_from([{}, {}, {"source": "sensor-1", "version": 2}, {"units": ["m", "s"]}])


@st.composite
def data_frames(draw: st.DrawFn, max_rows: int = 8, max_columns: int = 4) -> pd.DataFrame:
    """DataFrames with columns of mixed dtypes, labels and row indexes of every kind, attrs and flags."""
    rows = draw(st.integers(0, max_rows))
    width = draw(st.integers(0, max_columns))
    frame = pd.DataFrame({position: as_series(draw(column_values(rows))) for position in range(width)}, index=pd.RangeIndex(rows))
    frame.index = draw(labels(rows))
    frame.columns = draw(labels(width))
    return _with_attrs_and_flags(draw, frame)


@st.composite
def series(draw: st.DrawFn, max_rows: int = 8) -> pd.Series:
    rows = draw(st.integers(0, max_rows))
    name = draw(label_names | single_labels)
    result = as_series(draw(column_values(rows)), index=draw(labels(rows)), name=name)
    return _with_attrs_and_flags(draw, result)


def _with_attrs_and_flags(draw: st.DrawFn, value: pd.DataFrame | pd.Series) -> Any:
    labels_unique = value.index.is_unique and (isinstance(value, pd.Series) or value.columns.is_unique)
    if labels_unique and draw(st.integers(0, 4)) == 0:
        value = value.set_flags(allows_duplicate_labels=False)
    value.attrs.update(draw(frame_attrs))
    return value


@st.composite
def long_data_frames(draw: st.DrawFn) -> pd.DataFrame:
    """A small drawn frame's rows repeated to 1,000-3,000 rows: repeated strings get dictionary-encoded
    under compression, and the section is big enough for "auto" to try compressing it."""
    frame = draw(data_frames(max_rows=6))
    if len(frame) == 0:
        return frame
    rows = draw(st.integers(1000, 3000))
    long = frame.set_flags(allows_duplicate_labels=True).take(np.arange(rows) % len(frame))
    long.attrs = dict(frame.attrs)
    return long


@st.composite
def long_repeated_lists(draw: st.DrawFn, elements: st.SearchStrategy[st.SearchStrategy[Any]] = list_elements) -> list[Any]:
    """A few distinct values of one kind repeated to 1,024-3,000 elements (dictionary-encoding territory)."""
    kind = draw(elements)
    distinct = draw(st.lists(st.none() | kind | kind | kind, min_size=1, max_size=10))
    return [distinct[i % len(distinct)] for i in range(draw(st.integers(1024, 3000)))]


# ---------------------------------------------------------------- columnar values inside containers

columnar_values = any_array | data_frames(max_rows=4, max_columns=2) | typed_lists() | record_lists()
columnar_values_in_containers = st.dictionaries(st.text(max_size=4), columnar_values | st.lists(columnar_values, max_size=2), max_size=3)
"""Several columnar values in one tree: their paths and placeholders must not get mixed up."""
