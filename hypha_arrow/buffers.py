"""Memory helpers: write a frame straight into a ``bytes`` object, and keep Arrow data aligned.

Building a frame in a ``bytearray`` and returning ``bytes(...)`` would copy every
payload twice; CPython's ``PyBytes_FromStringAndSize(NULL, n)`` hands out an
uninitialised ``bytes`` object that its creator may fill before sharing it, so the
payload is copied once, into the frame itself.
"""

from __future__ import annotations

import ctypes

import numpy as np
import pyarrow as pa

ARROW_ALIGNMENT = 8
"""Arrow's own rule for buffer alignment; ``bytes`` data is 16-byte aligned, so 8 is reachable."""

_new_bytes = ctypes.pythonapi.PyBytes_FromStringAndSize
_new_bytes.restype = ctypes.py_object
_new_bytes.argtypes = [ctypes.c_void_p, ctypes.c_ssize_t]
_bytes_data = ctypes.pythonapi.PyBytes_AsString
_bytes_data.restype = ctypes.c_void_p
_bytes_data.argtypes = [ctypes.py_object]

HUGE_PAGE_MIN_BYTES = 4 << 20
"""From this size on, frames ask for transparent huge pages, as numpy does for its arrays:
first-touch page faults otherwise make filling a fresh 80 MB frame about 4x slower than a copy."""
_PAGE = 4096
_MADV_HUGEPAGE = 14
try:
    _madvise = ctypes.CDLL(None, use_errno=True).madvise
    _madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
except (OSError, AttributeError):  # not Linux: no such hint, nothing to do
    _madvise = None


def new_frame(size: int, *, huge_pages: bool = True) -> tuple[bytes, memoryview]:
    """A fresh ``bytes`` of ``size`` bytes and a writable view of it, to be filled before use.

    ``huge_pages=False`` for a buffer filled a piece at a time on the event loop (a chunked
    message arriving): a huge page's first touch there may stall for its compaction (measured:
    one 80 MB message in four took 110-210 ms instead of 15, all in one chunk's write)."""
    frame = _new_bytes(None, size)
    address = _bytes_data(frame)
    if huge_pages and size >= HUGE_PAGE_MIN_BYTES and _madvise is not None:
        start = -(-address // _PAGE) * _PAGE
        _madvise(start, (address + size - start) // _PAGE * _PAGE, _MADV_HUGEPAGE)
    raw = (ctypes.c_char * size).from_address(address)
    return frame, memoryview(raw).cast("B")


def address_of(data: bytes | bytearray | memoryview) -> int:
    """Memory address of the first byte of a buffer-protocol object."""
    if not len(data):
        return 0
    return pa.py_buffer(data).address


def aligned(section: memoryview) -> pa.Buffer:
    """An Arrow buffer over ``section``, copied once into fresh memory if it is misaligned.

    Misaligned Arrow buffers would give numpy views that are slow or, on some
    platforms, crash; one copy is cheaper.
    """
    if address_of(section) % ARROW_ALIGNMENT == 0:
        return pa.py_buffer(section)
    copy = np.empty(len(section), dtype=np.uint8)
    copy[:] = np.frombuffer(section, dtype=np.uint8)
    return pa.py_buffer(copy)
