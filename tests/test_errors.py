"""Bad input gets a typed error naming what was wrong: never a crash, a hang or code execution."""

from __future__ import annotations

import pickle
import struct
import time

import msgpack
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from pandas.testing import assert_frame_equal

import hypha_arrow
from hypha_arrow import section
from hypha_arrow.families import Column
from hypha_arrow.families.ndarray import NdarrayFamily
from hypha_arrow.framing import DESCRIPTOR_KEY
from tests.support.extension_types import recording_type
from tests.support.frames import crafted_frame, join, split

HEADER = {"type": "method", "to": "ws/client:svc"}


def hybrid_frame(**config: object) -> bytes:
    frame = pd.DataFrame({"a": np.arange(3000), "s": [f"x{i}" for i in range(3000)]})
    extra = {"args": [np.arange(5000.0), frame, ["t"] * 2000], "with_kwargs": False}
    return hypha_arrow.encode_message(HEADER, extra, config=hypha_arrow.Config(**config) if config else None)


@pytest.mark.parametrize("data", [b"", b"\xc1", b"\x81", b"\x92\x01", b"\xdd\xff\xff\xff\xff", b"\xdf\xff\xff\xff\xff\x00"])
def test_malformed_msgpack_raises_decode_error(data: bytes) -> None:
    with pytest.raises(hypha_arrow.DecodeError):
        hypha_arrow.decode_message(data)
    with pytest.raises(hypha_arrow.DecodeError):
        hypha_arrow.decode(data)


def test_header_that_is_not_a_map_is_refused() -> None:
    with pytest.raises(hypha_arrow.DecodeError, match="header must be a map"):
        hypha_arrow.decode_message(msgpack.packb([1, 2]))


def test_non_buffer_input_is_refused() -> None:
    with pytest.raises(hypha_arrow.DecodeError, match="expected bytes"):
        hypha_arrow.decode_message("text")  # type: ignore[arg-type]


def test_every_truncation_of_a_hybrid_frame_is_refused() -> None:
    frame = hybrid_frame()
    header_end = len(msgpack.packb(HEADER))  # cut there, it is a valid header-only frame
    for cut in [c for c in range(0, 400) if c != header_end] + list(range(400, len(frame), 997)):
        with pytest.raises(hypha_arrow.DecodeError):
            hypha_arrow.decode_message(frame[:cut])


def test_bytes_appended_to_a_hybrid_frame_are_refused() -> None:
    with pytest.raises(hypha_arrow.DecodeError, match="descriptor says"):
        hypha_arrow.decode_message(hybrid_frame() + b"\x00" * 8)


@pytest.mark.parametrize(
    "change",
    [
        {"version": 99},
        {"length": -1},
        {"length": "big"},
        {"columns": "nope"},
        {"columns": [["args", 0]]},
        {"columns": [["args", 0], ["args", 1], ["args", 7]]},
        {"columns": [["args", 0], ["args", 0], ["args", 2]]},
        {"columns": [["args", 0], ["with_kwargs"], ["args", 2]]},
        {"columns": [[], ["args", 1], ["args", 2]]},
        {"columns": [["args", 0], ["args", 1], ["args", 2, 0, 1]]},
    ],
)
def test_lying_descriptor_is_refused(change: dict) -> None:
    header, skeleton, section = split(hybrid_frame())
    skeleton[DESCRIPTOR_KEY].update(change)
    with pytest.raises(hypha_arrow.DecodeError):
        hypha_arrow.decode_message(join(header, skeleton, section, fix_length="length" not in change))


def test_descriptor_that_is_not_a_map_is_refused() -> None:
    header, skeleton, section = split(hybrid_frame())
    skeleton[DESCRIPTOR_KEY] = [1, 2]
    with pytest.raises(hypha_arrow.DecodeError, match="descriptor"):
        hypha_arrow.decode_message(msgpack.packb(header) + msgpack.packb(skeleton) + section)


def test_flipped_bytes_in_the_arrow_section_never_escape_as_other_errors() -> None:
    header, skeleton, section = split(hybrid_frame())
    rng = np.random.default_rng(0)
    outcomes = set()
    for position in rng.integers(0, len(section), size=300):
        corrupt = bytearray(section)
        corrupt[position] ^= 0xFF
        try:
            hypha_arrow.decode_message(join(header, skeleton, bytes(corrupt)))
            outcomes.add("decoded")
        except hypha_arrow.DecodeError:
            outcomes.add("refused")
    assert "refused" in outcomes


def test_random_section_bytes_are_refused() -> None:
    header, skeleton, section = split(hybrid_frame())
    rng = np.random.default_rng(1)
    for _ in range(50):
        noise = rng.integers(0, 256, size=len(section), dtype=np.uint8).tobytes()
        with pytest.raises(hypha_arrow.DecodeError):
            hypha_arrow.decode_message(join(header, skeleton, noise))


def test_decompressed_size_over_the_limit_is_refused() -> None:
    frame = hypha_arrow.encode({"zeros": np.zeros(4_000_000)}, config=hypha_arrow.Config(compression_algorithm="zstd"))
    assert len(frame) < 100_000
    with pytest.raises(hypha_arrow.DecodeError, match="max_decompressed_bytes"):
        hypha_arrow.decode(frame, config=hypha_arrow.Config(max_decompressed_bytes=10_000_000))
    assert hypha_arrow.decode(frame)["zeros"].shape == (4_000_000,)


def test_forged_decompressed_size_is_refused_before_allocating() -> None:
    frame = hypha_arrow.encode({"zeros": np.zeros(100_000)}, config=hypha_arrow.Config(compression_algorithm="lz4"))
    declared = struct.pack("<q", 100_000 * 8)
    forged = frame.replace(declared, struct.pack("<q", 1 << 50))
    assert forged != frame
    with pytest.raises(hypha_arrow.DecodeError, match="max_decompressed_bytes"):
        hypha_arrow.decode(forged)


def test_frame_section_and_column_limits_are_enforced() -> None:
    frame = hybrid_frame()
    with pytest.raises(hypha_arrow.DecodeError, match="max_frame_bytes"):
        hypha_arrow.decode_message(frame, config=hypha_arrow.Config(max_frame_bytes=1000))
    with pytest.raises(hypha_arrow.DecodeError, match="max_section_bytes"):
        hypha_arrow.decode_message(frame, config=hypha_arrow.Config(max_section_bytes=1000))
    with pytest.raises(hypha_arrow.DecodeError, match="max_columns"):
        hypha_arrow.decode_message(frame, config=hypha_arrow.Config(max_columns=2))


def test_pickle_based_extension_type_is_refused_at_the_sender() -> None:
    """Its receiver would have to run the deserialiser; crafted frames carrying it are refused
    by the guard (tests/test_ipc_guard.py)."""
    with recording_type("test.pickled") as (pickled, calls):
        array = pa.ExtensionArray.from_storage(pickled(), pa.array([1, 2, 3]))
        nested = pa.StructArray.from_arrays([array], names=["inner"])
        for value in (array, nested, pa.table({"col": array})):
            with pytest.raises(hypha_arrow.EncodeError, match="test.pickled"):
                hypha_arrow.encode(value)
    assert calls == []


def test_ndarray_metadata_asking_for_object_dtype_is_refused() -> None:
    frame = hypha_arrow.encode(np.arange(1000, dtype="i8"))
    forged = frame.replace(b'"dtype": "<i8"', b'"dtype": "|O8"')
    assert forged != frame
    with pytest.raises(hypha_arrow.DecodeError, match="dtype"):
        hypha_arrow.decode(forged)


def test_ndarray_metadata_with_wrong_shape_is_refused() -> None:
    frame = hypha_arrow.encode(np.arange(1000, dtype="i8"))
    forged = frame.replace(b'"shape": [1000]', b'"shape": [1001]')
    with pytest.raises(hypha_arrow.DecodeError, match="does not hold"):
        hypha_arrow.decode(forged)


def test_stock_ndarray_form_with_object_dtype_is_never_read_as_an_array() -> None:
    """Raw bytes as object pointers would be memory corruption; such a dict stays a dict."""
    form = {"_rtype": "ndarray", "_rvalue": b"\x00" * 16, "_rshape": [2], "_rdtype": "object"}
    assert hypha_arrow.decode(msgpack.packb(form)) == form


def test_unsupported_value_names_its_path() -> None:
    with pytest.raises(hypha_arrow.EncodeError) as error:
        hypha_arrow.encode_message(HEADER, {"args": [1, {"table": {"price": object()}}]})
    assert error.value.path == "args[1]['table']['price']"
    assert "unsupported type builtins.object" in str(error.value)


def test_reference_cycles_and_deep_nesting_are_refused() -> None:
    cycle: list = [np.zeros(10)]
    cycle.append(cycle)
    with pytest.raises(hypha_arrow.EncodeError, match="max_depth"):
        hypha_arrow.encode_message(HEADER, {"args": cycle})


def test_integers_beyond_64_bits_are_refused_with_their_path() -> None:
    with pytest.raises(hypha_arrow.EncodeError, match=r"args\[0\]\[1\].*64 bits"):
        hypha_arrow.encode_message(HEADER, {"args": [[np.zeros(200), 2**70]]})


class ArrayLike:
    """An object whose ``__array__`` must never run: it may raise, return junk or never return."""

    calls = 0

    def __array__(self, dtype: object = None, copy: object = None) -> np.ndarray:
        ArrayLike.calls += 1
        raise RuntimeError("__array__ was called")

    def __len__(self) -> int:
        return 10**12


class NoArraySubclass(np.ndarray):
    def __array__(self, dtype: object = None, copy: object = None) -> np.ndarray:
        raise RuntimeError("__array__ was called")


def misbehaving_objects() -> np.ndarray:
    held = np.empty(2000, dtype=object)
    for index in range(len(held)):
        held[index] = ArrayLike()
    return held


@pytest.mark.parametrize(
    ("make", "path", "reason"),
    [
        (lambda: ArrayLike(), r"args\[0\]", "unsupported type"),
        (lambda: [ArrayLike()] * 2000, r"args\[0\]\[0\]", "unsupported type"),
        (misbehaving_objects, r"args\[0\]\[0\]", "cell cannot be sent exactly"),
        (lambda: pd.DataFrame({"a": misbehaving_objects()}), r"args\[0\]\['a'\]\[0\]", "cell cannot be sent exactly"),
    ],
    ids=["object", "list", "object-array", "dataframe-column"],
)
def test_objects_with_a_misbehaving_array_method_are_refused_without_calling_it(make: object, path: str, reason: str) -> None:
    value = make()  # type: ignore[operator]
    ArrayLike.calls = 0
    with pytest.raises(hypha_arrow.EncodeError, match=f"{path}: {reason}"):
        hypha_arrow.encode_message(HEADER, {"args": [value]})
    assert ArrayLike.calls == 0


def test_ndarray_subclass_is_refused_without_calling_its_array_method() -> None:
    data = np.arange(2000.0)
    with pytest.raises(hypha_arrow.EncodeError, match="would arrive as a plain ndarray"):
        hypha_arrow.encode_message(HEADER, {"args": [data.view(NoArraySubclass)]})


def test_config_rejects_invalid_options() -> None:
    for bad in ({"compression_algorithm": "gzip"}, {"records_as": "dict"}, {"binary_threshold": -1},
                {"optimization_patterns": {"arrays", "pictures"}}, {"max_columns": 0}, {"compression_level": "high"},
                {"enable_binary_optimization": 1}, {"transfer_idle_timeout": 0}, {"transfer_idle_timeout": float("nan")},
                {"transfer_idle_timeout": "60"}):
        with pytest.raises(ValueError):
            hypha_arrow.Config(**bad)


def test_nesting_deeper_than_msgpack_allows_is_refused() -> None:
    with pytest.raises(hypha_arrow.DecodeError, match="StackError"):
        hypha_arrow.decode_message(msgpack.packb(HEADER) + b"\x91" * 5000 + b"\xc0")


@pytest.mark.parametrize("size", ["small", "large"])
def test_memoryview_that_is_not_contiguous_is_refused_naming_its_path(size: str) -> None:
    inner = {"view": memoryview(b"abcdef")[::2]}
    if size == "large":
        inner["big"] = np.ones(1000)
    with pytest.raises(hypha_arrow.EncodeError, match="contiguous") as error:
        hypha_arrow.encode_message(HEADER, {"args": [1, inner]})
    assert error.value.path == "args[1]['view']"


@pytest.mark.parametrize("size", ["small", "large"])
def test_bytearray_and_contiguous_memoryviews_arrive_as_bytes_as_msgpack_does(size: str) -> None:
    raw = bytes(range(256))
    values = {"bytearray": bytearray(raw), "view": memoryview(raw), "float-view": memoryview(np.frombuffer(raw, dtype="<f8"))}
    extra = {**values, "big": np.ones(1000)} if size == "large" else values
    decoded = hypha_arrow.decode_message(hypha_arrow.encode_message(HEADER, extra))[1]
    for key, value in msgpack.unpackb(msgpack.packb(values)).items():
        assert type(decoded[key]) is bytes and decoded[key] == value == raw


def test_metadata_nested_past_the_json_module_stack_is_refused() -> None:
    header, skeleton, _ = split(hypha_arrow.encode_message(HEADER, {"args": [pd.DataFrame({"a": np.arange(500)})]}))
    column = pa.StructArray.from_arrays([pa.array(np.arange(500))], names=["a"])
    forged = section.encode([Column("dataframe", column, {}, {b"pandas": b"[" * 100_000})], hypha_arrow.Config(), ["value"])
    data = bytearray(forged.size)
    forged.write_into(pa.py_buffer(data))
    with pytest.raises(hypha_arrow.DecodeError, match="RecursionError"):
        hypha_arrow.decode_message(join(header, skeleton, bytes(data)))


def test_one_except_clause_catches_every_refusal_and_the_old_base_classes_still_do() -> None:
    refusals = [
        lambda: hypha_arrow.decode_message(b"\xc1"),
        lambda: hypha_arrow.decode_message(hybrid_frame()[:-1]),
        lambda: hypha_arrow.decode(b""),
        lambda: hypha_arrow.encode_message(HEADER, {"args": [object()]}),
        lambda: hypha_arrow.encode({"big": 2**70}),
    ]
    for refuse in refusals:
        try:
            refuse()
        except hypha_arrow.HyphaArrowError as error:
            assert isinstance(error, (hypha_arrow.DecodeError, hypha_arrow.EncodeError))
        else:
            raise AssertionError("not refused")
    assert issubclass(hypha_arrow.DecodeError, ValueError) and issubclass(hypha_arrow.EncodeError, TypeError)


def test_corrupt_column_error_names_the_column_path() -> None:
    frame = hypha_arrow.encode_message(HEADER, {"args": [1, {"table": np.arange(1000)}]})
    forged = frame.replace(b'"shape": [1000]', b'"shape": [1001]')
    with pytest.raises(hypha_arrow.DecodeError) as error:
        hypha_arrow.decode_message(forged)
    assert error.value.path == "args[1]['table']"
    assert str(error.value) == f"{error.value.path}: {error.value.reason}"
    assert error.value.reason.startswith("column 0 (ndarray): ") and "does not hold" in error.value.reason


def test_errors_with_no_known_place_have_no_path() -> None:
    with pytest.raises(hypha_arrow.DecodeError) as decoding:
        hypha_arrow.decode_message(b"\x81\xc1")
    with pytest.raises(hypha_arrow.EncodeError) as encoding:
        hypha_arrow.encode_message(HEADER, ["not", "a", "dict"])  # type: ignore[arg-type]
    for error in (decoding.value, encoding.value):
        assert error.path is None and str(error) == error.reason


def test_bad_input_is_refused_without_a_chained_cause() -> None:
    """The error says all there is to say: msgpack's or the family's own exception adds nothing."""
    frame = hypha_arrow.encode(np.arange(1000, dtype="i8"))
    for data in (b"\x92\x01\xc1", frame.replace(b'"shape": [1000]', b'"shape": [1001]')):
        with pytest.raises(hypha_arrow.DecodeError) as error:
            hypha_arrow.decode(data)
        assert error.value.__cause__ is None and error.value.__suppress_context__


def test_a_bug_in_a_family_keeps_its_traceback_as_the_cause(monkeypatch: pytest.MonkeyPatch) -> None:
    """A broad catch cannot tell a hostile frame from a bug in our code: it keeps the original."""
    def buggy(self: NdarrayFamily, column: Column, config: hypha_arrow.Config) -> None:
        raise AttributeError("a bug, not the input")

    monkeypatch.setattr(NdarrayFamily, "decode", buggy)
    with pytest.raises(hypha_arrow.DecodeError, match="AttributeError: a bug") as error:
        hypha_arrow.decode_message(hypha_arrow.encode_message(HEADER, {"args": [np.arange(1000)]}))
    assert error.value.path == "args[0]"
    assert isinstance(error.value.__cause__, AttributeError)
    assert error.value.__cause__.__traceback__ is not None


def test_the_path_added_on_the_way_out_keeps_a_cause_the_family_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(self: NdarrayFamily, value: object, config: hypha_arrow.Config) -> None:
        try:
            {}["missing"]
        except KeyError as error:
            raise hypha_arrow.EncodeError("cannot", "[3]") from error

    monkeypatch.setattr(NdarrayFamily, "encode", failing)
    with pytest.raises(hypha_arrow.EncodeError) as error:
        hypha_arrow.encode_message(HEADER, {"args": [1, {"x": np.arange(1000)}]})
    assert str(error.value) == "args[1]['x'][3]: cannot"
    assert isinstance(error.value.__cause__, KeyError)


def test_errors_keep_reason_and_path_when_pickled() -> None:
    error = hypha_arrow.DecodeError("column 0 (ndarray): bad", "args[0]")
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), copy.reason, copy.path, str(copy)) == (hypha_arrow.DecodeError, "column 0 (ndarray): bad", "args[0]", str(error))


def test_compressed_dictionary_over_the_limit_is_refused() -> None:
    """Dictionary batches inflate too: a few kilobytes of zstd declaring 20 MB of labels."""
    labels = pa.DictionaryArray.from_arrays(pa.array([0, 1, 0]), pa.array(["a" * 10_000_000, "b" * 10_000_000]))
    frame = hypha_arrow.encode(pa.table({"labels": labels}), config=hypha_arrow.Config(compression_algorithm="zstd"))
    assert len(frame) < 100_000
    assert hypha_arrow.inspect(frame)["section"]["inflated_bytes"] > 20_000_000
    with pytest.raises(hypha_arrow.DecodeError, match="max_decompressed_bytes"):
        hypha_arrow.decode(frame, config=hypha_arrow.Config(max_decompressed_bytes=5_000_000))
    assert hypha_arrow.decode(frame).column("labels").equals(pa.chunked_array([labels]))


def null_records_frame(keys: int, rows: int) -> bytes:
    """Records whose key columns are all of the null type: a few KB declaring ``keys * rows`` values."""
    values = pa.StructArray.from_arrays([pa.nulls(rows)] * keys, names=[f"k{i}" for i in range(keys)])
    return crafted_frame(values, kind="records", meta={"columns": keys})


def test_values_declared_without_bytes_are_bounded_by_the_section_size() -> None:
    """Section 6: 12 million Nones from a 12 KB frame would cost the decoder gigabytes and seconds."""
    frame = null_records_frame(200, 60_000)
    assert len(frame) < 20_000
    started = time.monotonic()
    with pytest.raises(hypha_arrow.DecodeError, match="elements without bytes"):
        hypha_arrow.decode(frame)
    assert time.monotonic() - started < 1.0
    assert hypha_arrow.decode(null_records_frame(4, 1000)) == [dict.fromkeys(["k0", "k1", "k2", "k3"])] * 1000


def test_the_sender_refuses_what_the_bound_on_values_without_bytes_would_refuse() -> None:
    nones = pd.DataFrame({"a": [None] * 1_000_000, "b": [None] * 1_000_000})
    with pytest.raises(hypha_arrow.EncodeError, match="null values") as refused:
        hypha_arrow.encode({"frame": nones})
    assert refused.value.path == "value['frame']"
    with_data = nones.assign(x=np.arange(1_000_000.0))
    assert_frame_equal(hypha_arrow.decode(hypha_arrow.encode(with_data)), with_data, check_exact=True)
    rows = [{"id": i, "none": None} for i in range(3000)]
    frame = hypha_arrow.encode(rows)
    assert "null" not in hypha_arrow.inspect(frame)["section"]["columns"][0]["type"], "all-None record keys are cells"
    assert hypha_arrow.decode(frame) == rows
