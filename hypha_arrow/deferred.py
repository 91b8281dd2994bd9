"""A large frame kept as its pieces, and copied one chunk at a time as it is sent.

A chunked send copies every chunk anyway (into the message that carries it), so writing the
whole frame first is one more copy of the payload, held until the last chunk is out: a
service echoing 1 GiB held the request's frame, the value decoded from it, and a 1 GiB reply
frame, and the event loop stopped for the copy. Arrow's IPC writer hands a value's buffers to
its sink as they are, so the section's pieces are the metadata it writes and the values' own
buffers.

A buffer that can change under the send (a writable numpy array, for instance) is copied when
the frame is made, as a whole frame would have been: the message is what the value was when
the call was made. A read-only one (a value decoded from a frame, an array the caller made
read-only) is read as the chunks go out.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable

import pyarrow as pa

from .buffers import new_frame

COALESCE_BYTES = 64 << 10
"""Pieces smaller than this (the writer's lengths, padding, flatbuffers) are joined into one."""

Piece = bytes | pa.Buffer


class DeferredFrame:
    """A frame of ``len(frame)`` bytes: ``chunk(start, size)`` copies one part, ``bytes(frame)`` all of it."""

    __slots__ = ("_pieces", "_starts", "_size")

    def __init__(self, pieces: list[Piece]) -> None:
        self._pieces = [memoryview(piece).cast("B") for piece in pieces]
        self._starts, position = [], 0
        for view in self._pieces:
            self._starts.append(position)
            position += view.nbytes
        self._size = position

    @classmethod
    def written(cls, head: bytes, write: Callable[[pa.NativeFile], None]) -> DeferredFrame:
        """``head`` followed by what ``write`` writes to the sink it is given."""
        recorder = _Recorder()
        sink = pa.PythonFile(recorder, mode="w")
        write(sink)
        pieces: list[Piece] = []
        small: list[bytes] = [head]
        for piece in recorder.pieces:
            size = memoryview(piece).nbytes
            if size < COALESCE_BYTES:
                small.append(bytes(piece))
                continue
            if small:
                pieces.append(b"".join(small))
                small = []
            pieces.append(piece if isinstance(piece, pa.Buffer) and not piece.is_mutable else bytes(piece))
        if small:
            pieces.append(b"".join(small))
        return cls(pieces)

    def __len__(self) -> int:
        return self._size

    def __bytes__(self) -> bytes:
        return self.chunk(0, self._size)

    def chunk(self, start: int, size: int) -> bytes:
        """Bytes ``start`` to ``start + size`` (fewer at the end), as a new ``bytes``."""
        size = max(0, min(size, self._size - start))
        chunk, target = new_frame(size)
        index = bisect.bisect_right(self._starts, start) - 1
        written = 0
        while written < size:
            view, offset = self._pieces[index], start + written - self._starts[index]
            step = min(size - written, view.nbytes - offset)
            target[written : written + step] = view[offset : offset + step]
            written += step
            index += 1
        return chunk


def chunk_of(frame: bytes | DeferredFrame, start: int, size: int) -> bytes:
    """Bytes ``start`` to ``start + size`` of a frame, whole or deferred, as a new ``bytes``."""
    if isinstance(frame, DeferredFrame):
        return frame.chunk(start, size)
    return bytes(memoryview(frame)[start : start + size])


class _Recorder:
    """The file object behind a ``pa.PythonFile``: keeps what is written, buffers as they are."""

    closed = False

    def __init__(self) -> None:
        self.pieces: list[Piece] = []

    def write(self, data: Piece) -> int:
        self.pieces.append(data)
        return memoryview(data).nbytes

    def flush(self) -> None:
        pass
