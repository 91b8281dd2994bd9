"""hypha-rpc's own codec path, for side-by-side comparisons (demo, benchmarks).

It drives the installed hypha-rpc exactly as a client does on send and receive:
``RPC._encode``, ``msgpack.packb(main) + msgpack.packb(extra)``, an ``Unpacker``,
``RPC._decode``. Stock hypha-rpc cannot send DataFrames, so they travel the way an
application would make it: a registered codec turning them into dict-of-lists.
The codec core never imports this module; hypha-rpc is imported on first use.
"""

from __future__ import annotations

import io
from typing import Any

import msgpack
import pandas as pd


class StockCodec:
    """Encode and decode messages the way stock hypha-rpc does."""

    def __init__(self) -> None:
        from hypha_rpc.rpc import RPC

        self._rpc = RPC(None, client_id="stock", server_base_url="http://stock")
        self._rpc.register_codec(
            {"name": "pandas-dataframe", "type": pd.DataFrame, "encoder": frame_to_columns, "decoder": columns_to_frame}
        )

    def encode_message(self, main: dict[str, Any], extra: dict[str, Any]) -> bytes:
        encoded = self._rpc._encode(extra, session_id="s")
        return msgpack.packb(main) + msgpack.packb(encoded)

    def decode_message(self, data: bytes) -> tuple[dict[str, Any], Any]:
        # A stock receiver sizes its buffer for 256 KiB chunks and reassembles
        # larger messages first; here the whole frame is one reassembled message.
        unpacker = msgpack.Unpacker(io.BytesIO(data), max_buffer_size=len(data) + 1)
        main = unpacker.unpack()
        return main, self._rpc._decode(unpacker.unpack())


def frame_to_columns(frame: pd.DataFrame) -> dict[str, list[Any]]:
    """How an application sends a DataFrame through stock hypha-rpc: a dict of lists."""
    return {str(column): frame[column].tolist() for column in frame}


def columns_to_frame(columns: dict[str, Any]) -> pd.DataFrame:
    """The DataFrame back from ``frame_to_columns``'s dict (extra ``_rtype`` keys ignored)."""
    return pd.DataFrame({key: value for key, value in columns.items() if key != "_rtype"})
