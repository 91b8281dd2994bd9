"""A chunked message written straight into its final frame as its chunks arrive.

hypha-rpc keeps a large message's chunks in a dict and joins them on ``process``: the payload
is held twice at the join, and glibc keeps the freed chunks' memory after it, so a 1 GiB
message cost a receiver about 3 GiB. A hypha_arrow sender declares the frame's size and its
chunk size in the message key (``transfer.message_key``), so the receiver writes every chunk
at its place in one buffer and the joined frame is that buffer: the payload is held once.

The buffer is allocated at the first chunk (a ``create`` alone costs nothing), and its pages
become resident only as chunks fill them, so a sender that declares much and sends little
pins only what it sent, which the byte budgets count as for any message.

The frame starts up to 7 bytes into the buffer, so that its Arrow section is 8-byte aligned:
the server rewrites the header, which moves the section by any number of bytes, and a
misaligned section is copied whole before decoding (an extra 1 GiB for a 1 GiB message).
"""

from __future__ import annotations

import msgpack

from ..buffers import ARROW_ALIGNMENT, address_of, new_frame


class Assembly(dict):
    """The message-cache entry of a message whose layout its key declares.

    A ``dict`` (empty as hypha-rpc sees it) stored where hypha-rpc keeps a message's chunks,
    so whatever drops the cache entry (a refusal, an expiry, ``remove``) frees the buffer.
    ``get(index)`` is the bytes written at ``index`` and ``len`` the chunks written, as for
    hypha-rpc's own dict of chunks.
    """

    __slots__ = ("total", "chunk", "count", "_frame", "_view", "_shift", "_written", "_filled")

    def __init__(self, total: int, chunk: int) -> None:
        super().__init__()
        self.total = total
        self.chunk = chunk
        self.count = -(-total // chunk)
        self._frame: bytes | None = None
        self._view: memoryview | None = None
        self._shift = 0
        self._written = bytearray(self.count)
        self._filled = 0

    def __len__(self) -> int:
        return self._filled

    def __bool__(self) -> bool:
        return True  # an entry, even before its first chunk

    def get(self, index: object, default: object = None) -> object:  # type: ignore[override]
        if type(index) is int and 0 <= index < self.count and self._written[index]:
            return self._span(index)
        return default

    def write(self, index: int, data: bytes) -> None:
        """Copy chunk ``index`` to its place; ValueError if the layout has no such chunk or
        makes it another size, MemoryError if the frame cannot be allocated."""
        if not 0 <= index < self.count:
            raise ValueError(f"chunk {index} is past the {self.count} chunks its key declares")
        expected = self._size(index)
        if len(data) != expected:
            raise ValueError(f"chunk {index} is {len(data)} bytes; the layout its key declares makes it {expected}")
        if self._view is None:
            self._allocate(data if index == 0 else None)
        self._span(index)[:] = data
        if not self._written[index]:
            self._written[index] = 1
            self._filled += 1

    def frame(self) -> memoryview:
        """The whole frame, a view of the buffer (its ``obj``); ValueError while chunks are
        missing (their bytes were never written)."""
        if self._filled != self.count or self._frame is None:
            missing = [index for index, done in enumerate(self._written) if not done]
            raise ValueError(f"chunks {missing[:10]} of {self.count} are missing")
        frame = memoryview(self._frame)[self._shift : self._shift + self.total]  # holds the buffer
        self._frame = self._view = None
        return frame

    def _allocate(self, first_chunk: bytes | None) -> None:
        """The buffer, with the frame placed so that the section after its msgpack objects is
        aligned (when the first chunk to arrive is chunk 0 and holds them, as senders send)."""
        self._frame, whole = new_frame(self.total + ARROW_ALIGNMENT - 1, huge_pages=False)
        end = _objects_end(first_chunk) if first_chunk is not None else None
        self._shift = -(address_of(self._frame) + (end or 0)) % ARROW_ALIGNMENT
        self._view = whole[self._shift : self._shift + self.total]

    def _size(self, index: int) -> int:
        return min(self.chunk, self.total - index * self.chunk)

    def _span(self, index: int) -> memoryview:
        assert self._view is not None
        start = index * self.chunk
        return self._view[start : start + self._size(index)]


def _objects_end(chunk: bytes) -> int | None:
    """Where a frame's header and extra end in its first chunk (its Arrow section starts there), if they do."""
    unpacker = msgpack.Unpacker(max_buffer_size=len(chunk) or 1)
    unpacker.feed(chunk)
    try:
        unpacker.skip()
        unpacker.skip()
    except (msgpack.UnpackException, ValueError):  # truncated or not msgpack: the frame's decoder says what is wrong
        return None
    return unpacker.tell()
