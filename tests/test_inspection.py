"""inspect(): a report for any valid frame, DecodeError for anything else, as decoding does."""

from __future__ import annotations

import json
from typing import Any

import msgpack
import numpy as np
import pyarrow as pa
import pytest

import hypha_arrow
from hypha_arrow.framing import DESCRIPTOR_KEY
from tests.support.frame_fuzzer import inputs
from tests.support.frames import join, split

HEADER = {"type": "method", "to": "ws/client:svc"}


def hybrid_frame() -> bytes:
    return hypha_arrow.encode_message(HEADER, {"args": [np.arange(1000), ["text"] * 500]})


@pytest.mark.parametrize(
    "descriptor",
    [[1, 2], "descriptor", {"columns": 5}, {"columns": [["args", 0], "args"]}, {"columns": [[]] * 2}, {"version": 2}, {"length": "8"}],
    ids=["list", "str", "columns-not-a-list", "path-not-a-list", "empty-paths", "other-version", "length-not-an-int"],
)
def test_corrupt_descriptor_is_refused(descriptor: Any) -> None:
    header, skeleton, section = split(hybrid_frame())
    if isinstance(descriptor, dict):
        descriptor = {**skeleton[DESCRIPTOR_KEY], **descriptor}
    skeleton[DESCRIPTOR_KEY] = descriptor
    with pytest.raises(hypha_arrow.DecodeError):
        hypha_arrow.inspect(msgpack.packb(header) + msgpack.packb(skeleton) + section)


def frame_with_field_metadata(metadata: bytes) -> bytes:
    """A one-column hybrid frame whose column carries ``metadata`` as its ``hypha_arrow`` field metadata."""
    column = pa.LargeListArray.from_arrays(pa.array([0, 1000], pa.int64()), pa.array(np.arange(1000.0)))
    schema = pa.schema([pa.field("0", column.type, nullable=False, metadata={b"hypha_arrow": metadata})])
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema) as writer:
        writer.write_batch(pa.record_batch([column], schema=schema))
    header, skeleton, _ = split(hypha_arrow.encode_message(HEADER, {"args": [np.arange(1000.0)]}))
    return join(header, skeleton, sink.getvalue().to_pybytes())


def test_frame_with_field_metadata_is_a_valid_frame() -> None:  # so the forgeries below differ only in it
    metadata = json.dumps({"kind": "ndarray", "dtype": "<f8", "shape": [1000], "order": "C"}).encode()
    assert hypha_arrow.inspect(frame_with_field_metadata(metadata))["section"]["columns"][0]["kind"] == "ndarray"


@pytest.mark.parametrize("metadata", [b"{", b"\xff", b'"ndarray"', b"[" * 100_000], ids=["not-json", "not-utf8", "json-string", "nested-past-json-stack"])
def test_corrupt_field_metadata_is_refused(metadata: bytes) -> None:
    with pytest.raises(hypha_arrow.DecodeError, match="metadata"):
        hypha_arrow.inspect(frame_with_field_metadata(metadata))


def test_section_of_a_lying_descriptor_is_still_reported_in_full() -> None:
    header, skeleton, section = split(hybrid_frame())
    skeleton[DESCRIPTOR_KEY]["columns"] = [["args", 0]]  # one path for two columns
    report = hypha_arrow.inspect(join(header, skeleton, section))
    assert [column["path"] for column in report["section"]["columns"]] == [["args", 0], None]


@pytest.mark.parametrize("data", ["text", None, memoryview(b"\x92\xc0\xc0\xc0")[::2]], ids=["str", "none", "strided-view"])
def test_input_that_is_not_contiguous_bytes_is_refused(data: Any) -> None:
    with pytest.raises(hypha_arrow.DecodeError):
        hypha_arrow.inspect(data)


def test_skeletons_nested_as_deep_as_msgpack_allows_are_shown() -> None:
    value: Any = b"raw"
    for _ in range(1000):
        value = {1: value}
    skeleton = hypha_arrow.inspect(msgpack.packb(HEADER) + msgpack.packb(value))["skeleton"]
    for _ in range(1000):
        skeleton = skeleton["1"]
    assert skeleton == "<3 bytes>"


def test_mutated_frames_are_reported_or_refused_with_decode_error() -> None:
    for index, data in inputs(seed=20261127, count=3000):
        try:
            hypha_arrow.inspect(data)
        except hypha_arrow.DecodeError:
            pass
