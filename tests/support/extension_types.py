"""A registered Python extension type that records every run of its deserialiser."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pyarrow as pa


@contextlib.contextmanager
def recording_type(name: str, storage: pa.DataType = pa.int64()) -> Iterator[tuple[type[pa.ExtensionType], list[bytes]]]:
    """Register a Python extension type called ``name`` for the block; yield it and the payloads
    its ``__arrow_ext_deserialize__`` was called with (a test asserts that list stays empty)."""
    calls: list[bytes] = []

    class Recording(pa.ExtensionType):
        def __init__(self) -> None:
            super().__init__(storage, name)

        def __arrow_ext_serialize__(self) -> bytes:
            return b"\x80\x05pickled-payload"

        @classmethod
        def __arrow_ext_deserialize__(cls, storage_type: pa.DataType, serialized: bytes) -> Recording:
            calls.append(serialized)
            return cls()

    pa.register_extension_type(Recording())
    try:
        yield Recording, calls
    finally:
        pa.unregister_extension_type(name)
