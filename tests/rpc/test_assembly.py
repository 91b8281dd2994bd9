"""A chunked message written into one buffer as its chunks arrive (hypha_arrow.rpc.assembly)."""

from __future__ import annotations

import pytest

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
    assert join_chunks(assembly) == FRAME


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
