"""numpy arrays and scalars round-trip exactly; large ones decode as zero-copy views."""

from __future__ import annotations

import numpy as np
import pytest

import hypha_arrow
from conftest import assert_same_array, lies_inside, round_trip

NUMERIC = ["bool", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16"]
TIME = [f"{kind}8[{unit}]" for kind in "Mm" for unit in ("Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as")]
LARGE = 5000


def _values(dtype: str, count: int) -> np.ndarray:
    if dtype.startswith(("U", "S")):
        return np.array([f"v{i % 97}" for i in range(count)], dtype=dtype)
    if dtype.startswith(("M", "m")):
        values = np.arange(count).astype(dtype)
        values[::7] = np.array("NaT", dtype=dtype)
        return values
    return (np.arange(count) % 120).astype(dtype)


@pytest.mark.parametrize("dtype", NUMERIC + TIME + ["U7", "S5"])
@pytest.mark.parametrize("count", [0, 3, LARGE])
def test_array_of_every_dtype_round_trips(dtype: str, count: int) -> None:
    array = _values(dtype, count)
    assert_same_array(array, round_trip(array))


@pytest.mark.parametrize("dtype", ["f8", "c16", "M8[ns]", "U4", "bool"])
def test_fortran_and_c_order_and_views_round_trip(dtype: str) -> None:
    base = _values(dtype, 6000).reshape(60, 100)
    for array in (base, np.asfortranarray(base), base[::2, 3:50], base.T, base[5]):
        decoded = round_trip(array)
        assert_same_array(array, decoded)


def test_fortran_order_is_kept_without_a_copy() -> None:
    array = np.asfortranarray(np.random.default_rng(1).random((300, 40)))
    frame = hypha_arrow.encode(array)
    decoded = hypha_arrow.decode(frame)
    assert decoded.flags.f_contiguous and lies_inside(decoded, frame)


@pytest.mark.parametrize("dtype", [">f8", ">i4", ">c16", ">M8[us]", ">U3"])
def test_big_endian_input_round_trips_with_its_byte_order(dtype: str) -> None:
    array = _values(dtype, LARGE)
    assert_same_array(array, round_trip(array))


@pytest.mark.parametrize("shape", [(), (0,), (0, 5), (1,), (2, 3, 4, 5), (1, 1, 1, 1, 1, 2000)])
def test_any_ndim_round_trips(shape: tuple[int, ...]) -> None:
    array = np.arange(int(np.prod(shape)), dtype="f8").reshape(shape)
    assert_same_array(array, round_trip(array))
    assert_same_array(array, round_trip(array, binary_threshold=0))


@pytest.mark.parametrize(
    "scalar",
    [np.float64(1.5), np.float32(-2.5), np.int8(-3), np.uint64(2**64 - 1), np.bool_(True), np.complex64(1 + 2j),
     np.datetime64("2024-02-29T12:00", "m"), np.timedelta64("NaT"), np.str_("text"), np.bytes_(b"raw")],
)
def test_numpy_scalars_keep_their_type(scalar: np.generic) -> None:
    decoded = round_trip(scalar)
    assert type(decoded) is type(scalar)
    assert decoded.dtype == scalar.dtype
    assert decoded == scalar or (np.isnat(scalar) and np.isnat(decoded))


@pytest.mark.parametrize(
    "values",
    [["a", None, "ccc"] * 600, [b"x", None, b"yy"] * 600, ["a", b"b", None] * 600, ["tiny", b"mixed"]],
)
def test_object_arrays_of_str_bytes_and_none_round_trip(values: list) -> None:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    assert_same_array(array, round_trip(array))
    assert_same_array(array.reshape(-1, 2) if len(values) % 2 == 0 else array, round_trip(array.reshape(-1, 2) if len(values) % 2 == 0 else array))


def test_object_array_of_other_objects_is_refused_with_its_path() -> None:
    array = np.array([1, "a", 2.5], dtype=object)
    with pytest.raises(hypha_arrow.EncodeError, match=r"args\[1\].*object arrays may hold only str, bytes and None, found float, int"):
        hypha_arrow.encode_message({"type": "method"}, {"args": [0, array]})


def test_large_numeric_array_decodes_as_read_only_view_into_the_frame() -> None:
    array = np.random.default_rng(0).random(100_000)
    frame = hypha_arrow.encode(array)
    decoded = hypha_arrow.decode(frame)
    assert lies_inside(decoded, frame)
    assert not decoded.flags.writeable
    assert decoded.flags.aligned
    writable = decoded.copy()
    writable[0] = -1.0
    assert decoded[0] == array[0]


def test_misaligned_frame_is_copied_once_and_stays_aligned() -> None:
    array = np.random.default_rng(2).random(50_000)
    frame = hypha_arrow.encode_message({"type": "method"}, {"args": [array]})
    for shift in range(1, 8):
        holder = bytearray(shift) + frame
        shifted = memoryview(holder)[shift:]
        _, extra = hypha_arrow.decode_message(shifted)
        decoded = extra["args"][0]
        assert decoded.flags.aligned and decoded.__array_interface__["data"][0] % 8 == 0
        assert not lies_inside(decoded, bytes(holder))
        np.testing.assert_array_equal(decoded, array)


def test_small_arrays_use_hypha_rpc_form() -> None:
    array = np.arange(5, dtype="i4")
    frame = hypha_arrow.encode_message({"type": "method"}, {"args": [array]})
    _, extra = hypha_arrow.decode_message(frame)
    form = extra["args"][0]
    assert form == {"_rtype": "ndarray", "_rvalue": array.tobytes(), "_rshape": [5], "_rdtype": "int32"}


def test_arrays_pattern_off_keeps_large_arrays_in_hypha_rpc_form() -> None:
    array = np.arange(10_000, dtype="f8")
    config = hypha_arrow.Config(optimization_patterns={"strings", "records"})
    frame = hypha_arrow.encode(array, config=config)
    assert hypha_arrow.inspect(frame)["hybrid"] is False
    assert_same_array(array, hypha_arrow.decode(frame, config=config))


def test_structured_dtype_is_refused() -> None:
    array = np.zeros(3, dtype=[("a", "i4"), ("b", "f8")])
    with pytest.raises(hypha_arrow.EncodeError, match="not supported"):
        hypha_arrow.encode({"x": array})
