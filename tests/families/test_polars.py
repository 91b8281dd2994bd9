"""polars DataFrames and Series come back as themselves: dtypes, names, values, or encode refuses."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

import hypha_arrow
from hypha_arrow import families
from hypha_arrow.testing import assert_same
from tests.support.codec import buffer_range, round_trip
from tests.support.frames import with_column_meta
from tests.support.polars_values import POLARS_2, every_dtype

HEADER = {"type": "method", "from": "ws/a", "to": "ws/b:svc", "method": "svc.echo"}
NEWEST = pl.CompatLevel.newest()


def test_frame_of_every_dtype_round_trips_exactly() -> None:
    frame = every_dtype(3000)
    assert_same(frame, round_trip(frame))


@pytest.mark.parametrize("name", every_dtype(3).columns)
def test_series_of_every_dtype_keeps_its_name_dtype_and_values(name: str) -> None:
    series = every_dtype(300)[name]
    assert_same(series, round_trip({"s": series})["s"])


@pytest.mark.parametrize(
    "frame",
    [pl.DataFrame(), every_dtype(3).clear(), every_dtype(3).head(1)],
    ids=["no_columns", "no_rows", "one_row"],
)
def test_empty_and_tiny_frames_round_trip(frame: pl.DataFrame) -> None:
    assert_same(frame, round_trip(frame))


def test_empty_series_keeps_its_dtype() -> None:
    series = pl.Series("levels", [], dtype=pl.Enum(["a", "b"]))
    assert_same(series, round_trip(series))


def test_column_named_like_polars_default_name_does_not_collide_with_the_empty_name() -> None:
    """polars' import renames an empty column name to ``column_0``; both names must stay."""
    frame = pl.DataFrame({"": [1, 2], "column_0": ["a", "b"]})
    assert_same(frame, round_trip(frame))


def test_frames_inside_containers_and_messages_round_trip() -> None:
    frame = every_dtype(50)
    value = {"frames": [frame, frame.head(3)], "series": frame["enum"], "n": 1}
    _, extra = hypha_arrow.decode_message(hypha_arrow.encode_message(HEADER, {"args": [value]}))
    decoded = extra["args"][0]
    assert_same(frame, decoded["frames"][0])
    assert_same(frame.head(3), decoded["frames"][1])
    assert_same(frame["enum"], decoded["series"])
    assert decoded["n"] == 1


def test_numbers_and_strings_are_read_in_place_from_the_frame() -> None:
    frame = pl.DataFrame({"x": np.random.default_rng(0).random(100_000), "s": [f"value number {i:08d}" for i in range(100_000)]})
    data = hypha_arrow.encode(frame)
    start, end = buffer_range(data)
    decoded = hypha_arrow.decode(data)
    for name in frame.columns:
        buffers = [b for b in decoded[name].to_arrow(compat_level=NEWEST).buffers() if b is not None and b.size]
        assert buffers and all(start <= b.address < end for b in buffers), name


def test_filtered_frame_does_not_send_the_strings_of_its_source() -> None:
    """polars' string views keep their source's buffers: a 10-row filter of 1 million strings
    would otherwise send them all."""
    source = pl.DataFrame({"i": np.arange(1_000_000), "s": [f"a string of some length, number {i}" for i in range(1_000_000)]})
    subset = source.filter(pl.col("i") % 100_000 == 0)
    assert subset.to_arrow(compat_level=NEWEST).nbytes > 10_000_000  # what the zero-copy export holds
    data = hypha_arrow.encode(subset)
    assert len(data) < 10_000
    assert_same(subset, hypha_arrow.decode(data))


@pytest.mark.parametrize(
    "value, path, reason",
    [
        (pl.DataFrame({"o": pl.Series([object()], dtype=pl.Object)}), r"value\['o'\]", "polars (dtype Object would arrive as Binary|cannot export dtype Object)"),
        (pl.DataFrame({"i": pl.Series([1], dtype=pl.Int128)}), r"value\['i'\]", "polars cannot export dtype Int128"),
        (pl.DataFrame({"l": pl.Series([[1]], dtype=pl.List(pl.Int128))}), r"value\['l'\]", r"polars cannot export dtype List\(Int128\)"),
        (pl.Series("i", [1], dtype=pl.Int128), "value", "polars cannot export dtype Int128"),
    ],
    ids=["object", "int128", "nested_int128", "series"],
)
def test_dtypes_that_would_not_come_back_are_refused_naming_the_column(value: Any, path: str, reason: str) -> None:
    with pytest.raises(hypha_arrow.EncodeError, match=rf"^{path}: {reason}"):
        hypha_arrow.encode(value)


@pytest.mark.skipif(not hasattr(pl, "Extension"), reason="extension dtypes arrived with polars 2")
def test_extension_dtype_is_refused_since_the_receiver_would_run_its_registered_class() -> None:
    json_values = pa.ExtensionArray.from_storage(pa.json_(), pa.array(['{"a": 1}']))
    frame = pl.DataFrame({"j": pl.from_arrow(json_values)})
    with pytest.raises(hypha_arrow.EncodeError, match=r"^value\['j'\]: polars would export the Arrow extension type 'arrow.json'"):
        hypha_arrow.encode(frame)


def test_subclasses_are_refused() -> None:
    class Tagged(pl.DataFrame):
        pass

    with pytest.raises(hypha_arrow.EncodeError, match="would arrive as a plain polars DataFrame"):
        hypha_arrow.encode(Tagged({"a": [1]}))


def test_without_binary_optimization_polars_values_are_refused() -> None:
    with pytest.raises(hypha_arrow.EncodeError, match="need enable_binary_optimization=True"):
        hypha_arrow.encode(pl.DataFrame({"a": [1]}), config=hypha_arrow.Config(enable_binary_optimization=False))


def as_polars_kind(table: pa.Table) -> bytes:
    """A message frame holding ``table`` under the kind ``polars.dataframe``, as a hostile sender could write."""
    frame = hypha_arrow.encode_message(HEADER, {"args": [table]})
    return with_column_meta(frame, lambda meta: meta.update(kind="polars.dataframe"))


@pytest.mark.parametrize(
    "table, where, reason",
    [
        (
            pa.table({"u": pa.ExtensionArray.from_storage(pa.uuid(), pa.array([b"0" * 16], pa.binary(16)))}),
            r"\['u'\]",
            "polars data cannot hold the Arrow extension type 'arrow.uuid'",
        ),
        (
            pa.table({"a": pa.array([3, 1, 2])}).cast(pa.schema([pa.field("a", pa.int64(), metadata={"_PL_FLAGS": "1"})])),
            r"\['a'\]",
            r"polars data cannot hold field metadata \[b'_PL_FLAGS'\]",
        ),
        (
            pa.table({"s": pa.array([{"x": 1}])}).cast(pa.schema([pa.field("s", pa.struct([pa.field("x", pa.int64(), metadata={"k": "v"})]))])),
            r"\['s'\]\['x'\]",
            "polars data cannot hold field metadata",
        ),
        pytest.param(
            pa.table({"e": pa.array(["a"]).dictionary_encode()}).cast(
                pa.schema([pa.field("e", pa.dictionary(pa.uint8(), pa.string()), metadata={"_PL_ENUM_VALUES2": "99;zz"})])
            ),
            "",
            "polars cannot read this data: PanicException",
            marks=pytest.mark.skipif(not POLARS_2, reason="polars 1 ignores this key"),
        ),
    ],
    ids=["extension_type", "flags_metadata", "nested_metadata", "malformed_enum_values"],
)
def test_decoder_refuses_polars_data_it_would_not_read_safely(table: pa.Table, where: str, reason: str) -> None:
    with pytest.raises(hypha_arrow.DecodeError, match=rf"^args\[0\]{where}: column 0 \(polars.dataframe\): {reason}"):
        hypha_arrow.decode_message(as_polars_kind(table))


def test_series_of_several_columns_is_refused() -> None:
    frame = hypha_arrow.encode_message(HEADER, {"args": [pa.table({"a": [1], "b": [2]})]})
    with pytest.raises(hypha_arrow.DecodeError, match="a polars Series must be one column, got 2"):
        hypha_arrow.decode_message(with_column_meta(frame, lambda meta: meta.update(kind="polars.series")))


def test_polars_types_are_owned_once_polars_is_imported() -> None:
    assert {pl.DataFrame, pl.Series} <= set(families.owned_types())
    assert families.family_for(pl.DataFrame()) is families.BY_KIND["polars.dataframe"]


def run_python(code: str, stdin: bytes = b"") -> str:
    done = subprocess.run([sys.executable, "-c", code], input=stdin, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


def test_importing_and_using_hypha_arrow_never_imports_polars() -> None:
    run_python("import sys, hypha_arrow; hypha_arrow.decode(hypha_arrow.encode([1])); assert 'polars' not in sys.modules")


def test_receiver_without_polars_gets_a_decode_error_naming_polars() -> None:
    """``sys.modules['polars'] = None`` makes ``import polars`` fail, as on a machine without it."""
    frame = hypha_arrow.encode({"frame": pl.DataFrame({"a": [1, 2]}), "other": np.arange(1000)})
    output = run_python(
        "import sys\n"
        "sys.modules['polars'] = None\n"
        "import hypha_arrow\n"
        "try:\n"
        "    hypha_arrow.decode(sys.stdin.buffer.read())\n"
        "except hypha_arrow.DecodeError as error:\n"
        "    print(error)\n",
        frame,
    )
    assert output.strip() == (
        "value['frame']: column 0 (polars.dataframe): a polars.dataframe value needs the polars package, which is not installed here"
    )
