"""The compared encode/decode paths, each turning a Message into a buffer and back.

Every path does the whole job its real counterpart would do on a message, so timings
compare like with like: stock hypha-rpc's codec, pickle protocol 5, hypha_arrow under
each compression setting, and two floors (a bare np.copy, plain msgpack).
"""

from __future__ import annotations

import pickle
from typing import Protocol

import msgpack
import numpy as np
import pandas as pd

import hypha_arrow
from hypha_arrow.rpc.stock_forms import stock_form
from hypha_arrow.tools.stock import StockCodec
from benchmarks.payloads import Message, as_call

Buffer = bytes | memoryview | np.ndarray


class CodecPath(Protocol):
    """What the runner needs from a path."""

    name: str
    kinds: frozenset[str] | None  # payload kinds it runs on; None: all

    def encode(self, message: Message) -> Buffer: ...

    def decode(self, data: Buffer) -> Message: ...

    def expected(self, message: Message) -> Message: ...


class _RoundTrip:
    """Default: the decoded message must equal the input message."""

    kinds: frozenset[str] | None = None

    def expected(self, message: Message) -> Message:
        return message


class StockPath(_RoundTrip):
    """Stock hypha-rpc 0.21 (``hypha_arrow.tools.stock``); DataFrames as dict-of-lists, converted both ways."""

    name = "stock"

    def __init__(self) -> None:
        self._codec = StockCodec()

    def encode(self, message: Message) -> bytes:
        return self._codec.encode_message(message.main, message.extra)

    def decode(self, data: Buffer) -> Message:
        # Stock also merges extra into main (main.update(extra)); a dict merge of a few
        # keys, left out so the returned header can be checked against the input.
        return Message(*self._codec.decode_message(data))


class PicklePath(_RoundTrip):
    """pickle protocol 5 in-band: the fastest general Python-to-Python serializer."""

    name = "pickle5"

    def encode(self, message: Message) -> bytes:
        return pickle.dumps((message.main, message.extra), protocol=5)

    def decode(self, data: Buffer) -> Message:
        return Message(*pickle.loads(data))


class ArrowPath(_RoundTrip):
    """hypha_arrow.encode_message/decode_message under one Config."""

    def __init__(self, name: str, config: hypha_arrow.Config, kinds: frozenset[str] | None = None) -> None:
        self.name = name
        self.kinds = kinds
        self._config = config

    def encode(self, message: Message) -> bytes:
        return hypha_arrow.encode_message(message.main, message.extra, config=self._config)

    def decode(self, data: Buffer) -> Message:
        main, extra = hypha_arrow.decode_message(data, config=self._config)
        return Message(main, extra)

    def expected(self, message: Message) -> Message:
        """What ``decode_message`` gives back for the argument.

        An array under ``binary_threshold`` keeps hypha-rpc's own form, left for hypha-rpc's
        decoder as in a stock frame (that last step is hypha-rpc's, so not timed for this
        path); records_as="pandas" turns a record list into a DataFrame.
        """
        value = message.extra["args"][0]
        if isinstance(value, np.ndarray) and value.nbytes < self._config.binary_threshold:
            return _with_argument(message, stock_form(value))
        if self._config.records_as == "pandas":
            return _with_argument(message, pd.DataFrame(value))
        return message


def _with_argument(message: Message, value: object) -> Message:
    return Message(message.main, dict(message.extra, args=[value]))


class CopyPath(_RoundTrip):
    """Floor for arrays: one np.copy of the array is the least a serializer must do."""

    name = "np.copy"
    kinds = frozenset({"float-array"})

    def encode(self, message: Message) -> np.ndarray:
        return np.copy(message.extra["args"][0])

    def decode(self, data: Buffer) -> Message:
        return as_call(data)


class MsgpackPath(_RoundTrip):
    """Floor for small calls: plain msgpack of header and extra, no hypha-rpc encoding."""

    name = "msgpack"
    kinds = frozenset({"call"})

    def encode(self, message: Message) -> bytes:
        return msgpack.packb(message.main) + msgpack.packb(message.extra)

    def decode(self, data: Buffer) -> Message:
        unpacker = msgpack.Unpacker()
        unpacker.feed(data)
        return Message(unpacker.unpack(), unpacker.unpack())


def all_paths() -> list[CodecPath]:
    """Every path in report order; stock first because the speedups are relative to it."""
    return [
        StockPath(),
        PicklePath(),
        ArrowPath("arrow-none", hypha_arrow.Config(compression_algorithm=None)),
        ArrowPath("arrow-lz4", hypha_arrow.Config(compression_algorithm="lz4")),
        ArrowPath("arrow-zstd", hypha_arrow.Config(compression_algorithm="zstd")),
        ArrowPath("arrow-auto", hypha_arrow.Config(compression_algorithm="auto")),
        ArrowPath("arrow-pandas", hypha_arrow.Config(records_as="pandas"), kinds=frozenset({"records"})),
        CopyPath(),
        MsgpackPath(),
    ]

