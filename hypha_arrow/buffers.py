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


def new_frame(size: int) -> tuple[bytes, memoryview]:
    """A fresh ``bytes`` of ``size`` bytes and a writable view of it, to be filled before use."""
    frame = _new_bytes(None, size)
    raw = (ctypes.c_char * size).from_address(_bytes_data(frame))
    return frame, memoryview(raw).cast("B")


def address_of(data: bytes | bytearray | memoryview) -> int:
    """Memory address of the first byte of a buffer-protocol object."""
    if not len(data):
        return 0
    return pa.py_buffer(data).address


def aligned(section: memoryview) -> tuple[pa.Buffer, bool]:
    """An Arrow buffer over ``section``, copied once into fresh memory if it is misaligned.

    Returns the buffer and whether it was copied. Misaligned Arrow buffers would
    give numpy views that are slow or, on some platforms, crash; one copy is cheaper.
    """
    if address_of(section) % ARROW_ALIGNMENT == 0:
        return pa.py_buffer(section), False
    copy = np.empty(len(section), dtype=np.uint8)
    copy[:] = np.frombuffer(section, dtype=np.uint8)
    return pa.py_buffer(copy), True
