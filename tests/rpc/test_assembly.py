"""A chunked message written into one buffer as its chunks arrive (hypha_arrow.rpc.assembly)."""

from __future__ import annotations

import msgpack
import numpy as np
import pytest

import hypha_arrow
from hypha_arrow.buffers import address_of
from hypha_arrow.framing import FrameParts
from hypha_arrow.rpc.assembly import Assembly
from hypha_arrow.rpc.transfer import join_chunks

FRAME = bytes(range(256)) * 40 + b"tail"  # 10,244 bytes: two chunks of 4096 and one of 2052


def chunks_of(frame: bytes, size: int) -> list[bytes]:
    return [frame[start : start + size] for start in range(0, len(frame), size)]


def test_chunks_written_in_any_order_make_the_frame() -> None:
    assembly = Assembly(len(FRAME), 4096)
    parts = chunks_of(FRAME, 4096)
    for index in (2, 0):
        assembly.write(index, parts[index])
    assembly.write(0, parts[0])  # written again: counted once
    assert len(assembly) == 2 and assembly.get(0) == parts[0] and assembly.get(2) == parts[2] and assembly.get(1) is None
    with pytest.raises(ValueError, match=r"chunks \[1\] of 3 are missing"):
        assembly.frame()
    assembly.write(1, parts[1])
    frame = join_chunks(assembly)
    assert frame == FRAME and isinstance(frame.obj, bytes)


def test_a_chunk_the_declared_layout_does_not_have_is_refused() -> None:
    assembly = Assembly(len(FRAME), 4096)
    with pytest.raises(ValueError, match="past the 3 chunks"):
        assembly.write(3, b"x")
    with pytest.raises(ValueError, match="chunk 0 is 4095 bytes; the layout its key declares makes it 4096"):
        assembly.write(0, FRAME[:4095])
    with pytest.raises(ValueError, match="makes it 2052"):
        assembly.write(2, FRAME[:4096])
    assert len(assembly) == 0 and assembly.get(0) is None


def test_an_entry_without_chunks_allocates_nothing_and_is_still_an_entry() -> None:
    assembly = Assembly(1 << 30, 1 << 20)
    assert bool(assembly) and len(assembly) == 0 and assembly.get(0, b"") == b""
    assert assembly._frame is None, "the buffer is allocated at the first chunk"


@pytest.mark.parametrize("moved", range(8))
def test_the_frame_is_placed_so_that_its_section_is_aligned_wherever_the_header_moved_it(moved: int) -> None:
    """The server rewrites the header, moving the section by any number of bytes."""
    array = np.arange(100_000, dtype=np.float64)
    frame = hypha_arrow.encode_message({"type": "method", "to": "x"}, {"args": [array]})
    header_end = len(msgpack.packb({"type": "method", "to": "x"}))
    rewritten = msgpack.packb({"type": "method", "to": "x", "user": "u" * (40 + moved)}) + frame[header_end:]
    assembly = Assembly(len(rewritten), 300_000)
    for index, part in enumerate(chunks_of(rewritten, 300_000)):
        assembly.write(index, part)
    joined = join_chunks(assembly)
    assert joined == rewritten
    parts = FrameParts(joined, 2, hypha_arrow.Config())
    section = joined[len(joined) - parts.objects[1]["__hypha_arrow__"]["length"] :]
    assert address_of(section) % 8 == 0
    (value,) = parts.resolve()
    assert np.array_equal(value, array) and address_of(value) % 8 == 0
