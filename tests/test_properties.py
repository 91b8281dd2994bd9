"""Property tests: any array, frame, list or record list round-trips exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from hypothesis.extra import pandas as hpd

import hypha_arrow
from hypha_arrow.testing import assert_same
from tests.support.codec import round_trip

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
THRESHOLDS = st.sampled_from([0, 1000])

DTYPES = st.one_of(
    hnp.boolean_dtypes(),
    hnp.integer_dtypes(endianness="="),
    hnp.unsigned_integer_dtypes(endianness="="),
    hnp.floating_dtypes(endianness="="),
    hnp.complex_number_dtypes(endianness="="),
    hnp.datetime64_dtypes(endianness="="),
    hnp.timedelta64_dtypes(endianness="="),
    hnp.unicode_string_dtypes(min_len=1, max_len=6),
    hnp.byte_string_dtypes(min_len=1, max_len=6),
)


@SETTINGS
@given(array=hnp.arrays(DTYPES, hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=12)), threshold=THRESHOLDS, fortran=st.booleans())
def test_any_array_round_trips(array: np.ndarray, threshold: int, fortran: bool) -> None:
    if fortran:
        array = np.asfortranarray(array)
    assert_same(array, round_trip(array, binary_threshold=threshold))


@SETTINGS
@given(
    frame=hpd.data_frames(
        [
            hpd.column("i", dtype=np.int64),
            hpd.column("f", dtype=np.float64),
            hpd.column("s", elements=st.text(max_size=8)),
            hpd.column("b", dtype=bool),
        ],
        index=hpd.range_indexes(min_size=0, max_size=50),
    )
)
def test_any_frame_round_trips(frame: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(frame, round_trip(frame), check_exact=True)


SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False), st.text(max_size=10), st.binary(max_size=10)
)


@SETTINGS
@given(kind=st.sampled_from([st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False), st.booleans(), st.text(max_size=10), st.binary(max_size=10)]), data=st.data(), threshold=THRESHOLDS)
def test_any_homogeneous_list_round_trips(kind: st.SearchStrategy, data: st.DataObject, threshold: int) -> None:
    values = data.draw(st.lists(st.one_of(st.none(), kind), max_size=200))
    assert_same(values, round_trip(values, binary_threshold=threshold))


@SETTINGS
@given(
    rows=st.lists(st.dictionaries(st.sampled_from(["id", "name", "score", "tags"]), SCALARS, max_size=4), min_size=1, max_size=80),
    threshold=THRESHOLDS,
)
def test_any_record_list_round_trips_with_exact_keys(rows: list[dict], threshold: int) -> None:
    decoded = round_trip(rows, binary_threshold=threshold)
    assert decoded == rows
    assert [list(r) for r in decoded] == [list(r) for r in rows]
    assert [[type(v) for v in r.values()] for r in decoded] == [[type(v) for v in r.values()] for r in rows]


@SETTINGS
@given(value=st.recursive(SCALARS, lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=5), children, max_size=5), max_leaves=30))
def test_plain_values_match_msgpack_exactly(value: object) -> None:
    import msgpack

    assert hypha_arrow.encode(value, config=hypha_arrow.Config(binary_threshold=10**9)) == msgpack.packb(value)
    assert round_trip(value, binary_threshold=0) == value
