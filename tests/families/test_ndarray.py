"""numpy arrays and scalars round-trip exactly; large ones decode as zero-copy views."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

import hypha_arrow
from hypha_arrow.testing import assert_same
from tests.support.codec import lies_inside, round_trip

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
    assert_same(array, round_trip(array))


@pytest.mark.parametrize("dtype", ["f8", "c16", "M8[ns]", "U4", "bool"])
def test_fortran_and_c_order_and_views_round_trip(dtype: str) -> None:
    base = _values(dtype, 6000).reshape(60, 100)
    for array in (base, np.asfortranarray(base), base[::2, 3:50], base.T, base[5]):
        decoded = round_trip(array)
        assert_same(array, decoded)


def test_fortran_order_is_kept_without_a_copy() -> None:
    array = np.asfortranarray(np.random.default_rng(1).random((300, 40)))
    frame = hypha_arrow.encode(array)
    decoded = hypha_arrow.decode(frame)
    assert decoded.flags.f_contiguous and lies_inside(decoded, frame)


@pytest.mark.parametrize("dtype", [">f8", ">i4", ">c16", ">M8[us]", ">U3"])
def test_big_endian_input_round_trips_with_its_byte_order(dtype: str) -> None:
    array = _values(dtype, LARGE)
    assert_same(array, round_trip(array))


@pytest.mark.parametrize("shape", [(), (0,), (0, 5), (1,), (2, 3, 4, 5), (1, 1, 1, 1, 1, 2000)])
def test_any_ndim_round_trips(shape: tuple[int, ...]) -> None:
    array = np.arange(int(np.prod(shape)), dtype="f8").reshape(shape)
    assert_same(array, round_trip(array))
    assert_same(array, round_trip(array, binary_threshold=0))


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
    assert_same(array, round_trip(array))
    assert_same(array.reshape(-1, 2) if len(values) % 2 == 0 else array, round_trip(array.reshape(-1, 2) if len(values) % 2 == 0 else array))


@pytest.mark.parametrize("order", ["C", "F"])
def test_object_arrays_of_any_cells_round_trip_in_their_order(order: str) -> None:
    array = np.empty((40, 30), dtype=object, order=order)
    array.flat[:] = [[1, 2**70, "a", 2.5, None, (1, "t"), {"k": [1]}, np.float32(3), Decimal("1.10"), b"x"][i % 10] for i in range(1200)]
    decoded = round_trip(array)
    assert decoded.flags.f_contiguous == array.flags.f_contiguous and decoded.shape == array.shape
    assert [type(v) for v in decoded.flat] == [type(v) for v in array.flat]
    assert repr(decoded.tolist()) == repr(array.tolist())


def test_fortran_object_array_of_strings_keeps_its_order() -> None:
    array = np.asfortranarray(np.array([["a" * 50, "b"], ["c", None]] * 200, dtype=object))
    decoded = round_trip(array)
    assert decoded.flags.f_contiguous and not decoded.flags.c_contiguous
    assert_same(array, decoded)


def test_object_array_cell_that_cannot_be_sent_is_refused_with_its_position() -> None:
    array = np.array([1, "a", object()], dtype=object)
    with pytest.raises(hypha_arrow.EncodeError, match=r"args\[1\]\[2\]: cell cannot be sent exactly"):
        hypha_arrow.encode_message({"type": "method"}, {"args": [0, array]}, config=hypha_arrow.Config(binary_threshold=0))


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
    assert_same(array, hypha_arrow.decode(frame, config=config))


@pytest.mark.parametrize("size", [3, 5000])
def test_structured_arrays_round_trip_with_their_fields(size: int) -> None:
    dtype = np.dtype([("a", "<i4"), ("b", ">f8", (2,)), ("c", [("x", "u1")])], align=True)
    array = np.zeros(size, dtype=dtype)
    array["a"] = np.arange(size)
    array["b"][:, 1] = 0.5
    decoded = round_trip(array)
    assert decoded.dtype == dtype and decoded.dtype.descr == dtype.descr
    assert decoded.tobytes() == array.tobytes()


@pytest.mark.parametrize("dtype", [np.longdouble, np.clongdouble, "V8"], ids=str)
@pytest.mark.parametrize("size", [3, 20_000])
def test_dtypes_arrow_cannot_hold_travel_in_hypha_rpc_form_at_any_size(dtype: object, size: int) -> None:
    array = np.frombuffer(np.random.default_rng(1).bytes(np.dtype(dtype).itemsize * size), dtype=dtype)
    frame = hypha_arrow.encode_message({"type": "method"}, {"args": [array]})
    assert hypha_arrow.inspect(frame)["hybrid"] is False
    assert hypha_arrow.decode_message(frame)[1]["args"][0]["_rdtype"] == str(np.dtype(dtype))
    decoded = round_trip(array)
    assert decoded.dtype == array.dtype and decoded.tobytes() == array.tobytes()


@pytest.mark.parametrize(
    "make",
    [lambda a: np.ma.masked_array(a, mask=a > 3), lambda a: np.asmatrix(a.reshape(1, -1)), lambda a: a.view(np.recarray)],
    ids=["masked", "matrix", "recarray"],
)
@pytest.mark.parametrize("size", [4, 5000])
def test_subclasses_that_change_meaning_are_refused(make: object, size: int) -> None:
    value = make(np.arange(float(size)))  # type: ignore[operator]
    with pytest.raises(hypha_arrow.EncodeError, match=r"args\[0\]: .* would arrive as a plain ndarray"):
        hypha_arrow.encode_message({"type": "method"}, {"args": [value]})


def test_memmap_arrives_as_a_plain_array(tmp_path: object) -> None:
    mapped = np.memmap(f"{tmp_path}/data.bin", dtype="f8", mode="w+", shape=(5000,))
    mapped[:] = np.arange(5000.0)
    decoded = round_trip(mapped)
    assert type(decoded) is np.ndarray
    np.testing.assert_array_equal(decoded, np.arange(5000.0))


def test_small_fortran_array_keeps_its_order_and_stock_peers_read_its_values() -> None:
    array = np.asfortranarray(np.arange(12, dtype="i2").reshape(3, 4))
    frame = hypha_arrow.encode_message({"type": "method"}, {"args": [array]})
    form = hypha_arrow.decode_message(frame)[1]["args"][0]
    assert form["_rorder"] == "F"
    stock_view = np.frombuffer(form["_rvalue"], dtype=form["_rdtype"]).reshape(form["_rshape"])
    np.testing.assert_array_equal(stock_view, array)
    decoded = round_trip(array)
    assert decoded.flags.f_contiguous and not decoded.flags.c_contiguous
    np.testing.assert_array_equal(decoded, array, strict=True)
