"""A large frame kept as its pieces and copied chunk by chunk (hypha_arrow.deferred)."""

from __future__ import annotations

import numpy as np
import pytest

import hypha_arrow
from hypha_arrow import framing
from hypha_arrow.deferred import COALESCE_BYTES, DeferredFrame, chunk_of

HEADER = {"type": "method", "to": "ws/peer"}


def deferred(extra: dict) -> DeferredFrame:
    frame = framing.encode_after(framing.encode_message(HEADER), extra, hypha_arrow.Config(), defer_from=0)
    assert isinstance(frame, DeferredFrame)
    return frame


def test_a_deferred_frame_is_byte_for_byte_the_frame_encode_message_writes() -> None:
    extra = {"args": [np.arange(300_000, dtype=np.float64), ["a", "b"] * 40_000], "with_kwargs": False}
    frame = deferred(extra)
    assert bytes(frame) == hypha_arrow.encode_message(HEADER, extra)
    whole = bytes(frame)
    for size in (1, 4096, 100_003, len(whole)):
        parts = [frame.chunk(start, size) for start in range(0, len(frame), size)] if size > 1000 else [frame.chunk(0, size)]
        assert parts[0] == whole[:size]
        if size > 1000:
            assert b"".join(parts) == whole
    assert frame.chunk(len(whole) - 5, 100) == whole[-5:] and chunk_of(whole, 3, 10) == whole[3:13]


def test_a_read_only_buffer_is_read_as_chunks_go_and_a_writable_one_copied_when_the_frame_is_made() -> None:
    """The message is what the value was when the call was made, unless the value cannot change."""
    writable = np.arange(200_000, dtype=np.int64)
    read_only = np.arange(200_000, dtype=np.int64) * 2
    read_only.setflags(write=False)
    frame = deferred({"args": [writable, read_only]})
    writable[:] = -1
    main, extra = hypha_arrow.decode_message(bytes(frame))
    assert np.array_equal(extra["args"][0], np.arange(200_000)) and np.array_equal(extra["args"][1], read_only)
    pieces = [view for view in frame._pieces if view.nbytes >= COALESCE_BYTES]
    assert any(view.obj is not None and np.shares_memory(np.frombuffer(view, np.uint8), read_only) for view in pieces)
    assert not any(np.shares_memory(np.frombuffer(view, np.uint8), writable) for view in pieces)


@pytest.mark.parametrize("compression", ["lz4", "zstd"])
def test_a_compressed_section_defers_too(compression: str) -> None:
    extra = {"args": [np.zeros(500_000)]}
    frame = framing.encode_after(framing.encode_message(HEADER), extra, hypha_arrow.Config(compression_algorithm=compression), defer_from=0)
    assert isinstance(frame, DeferredFrame)
    assert np.array_equal(hypha_arrow.decode_message(bytes(frame))[1]["args"][0], np.zeros(500_000))


def test_frames_under_defer_from_are_bytes() -> None:
    extra = {"args": [np.arange(1000.0)]}
    frame = framing.encode_after(framing.encode_message(HEADER), extra, hypha_arrow.Config(), defer_from=1 << 20)
    assert type(frame) is bytes and frame == hypha_arrow.encode_message(HEADER, extra)
