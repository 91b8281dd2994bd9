"""Give freed heap memory back to the operating system after large messages.

glibc raises its mmap threshold as large blocks are freed (up to 32 MiB), so the chunks of a
large message (1-15 MiB each) soon come from the heap, and once freed they stay resident:
1.5-2.4 GB after a few dropped partial messages, until ``malloc_trim`` is asked to return
them. That call takes milliseconds to tens of them on a large heap, so it runs on a worker
thread (ctypes releases the GIL), at most one at a time, once enough was freed to matter.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util

import pyarrow as pa

TRIM_AFTER_BYTES = 64 << 20
"""Freed bytes, reported since the last trim, that make the next one worth its cost."""

try:
    _malloc_trim = ctypes.CDLL(ctypes.util.find_library("c") or None).malloc_trim
    _malloc_trim.argtypes = [ctypes.c_size_t]
    _malloc_trim.restype = ctypes.c_int
except (OSError, AttributeError):  # not glibc (macOS, musl, Windows): their allocators return memory themselves, or cannot be asked
    _malloc_trim = None


def release_free_memory() -> None:
    """Return what malloc and Arrow's memory pool hold free to the operating system, where it can be asked."""
    pa.default_memory_pool().release_unused()
    if _malloc_trim is not None:
        _malloc_trim(0)


QUIET_SECONDS = 0.2
"""A trim waits for this long without more memory freed (a transfer still arriving would only
fault the pages back in), and for what the reporting code still holds to be let go."""
TRIM_AT_LEAST_EVERY_BYTES = 1 << 30
"""Freed bytes after which a trim runs even while more keeps coming (a flood never quiet)."""


class HeapTrimmer:
    """Counts bytes a connection frees and trims the heap, off the event loop, once they add up
    and the connection is quiet for a moment."""

    def __init__(self, threshold: int = TRIM_AFTER_BYTES) -> None:
        self.threshold = threshold
        self._freed = 0
        self._quiet: asyncio.TimerHandle | None = None
        self._running: asyncio.Future | None = None

    def freed(self, nbytes: int) -> None:
        """``nbytes`` are being let go; call from the event loop."""
        self._freed += nbytes
        if self._freed < self.threshold:
            return
        if self._quiet is not None:
            self._quiet.cancel()
            self._quiet = None
        if self._freed >= TRIM_AT_LEAST_EVERY_BYTES:
            self._trim()
        else:
            self._quiet = asyncio.get_running_loop().call_later(QUIET_SECONDS, self._trim)

    def _trim(self) -> None:
        self._quiet = None
        if self._running is not None:
            return  # what was freed meanwhile counts for the next one
        self._freed = 0
        self._running = asyncio.get_running_loop().run_in_executor(None, release_free_memory)
        self._running.add_done_callback(self._done)

    def _done(self, trim: asyncio.Future) -> None:
        self._running = None
        if not trim.cancelled():
            trim.exception()  # a failed trim frees nothing more, and is no error of the caller's
        self.freed(0)  # what was freed while it ran
