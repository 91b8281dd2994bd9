"""Named, seeded payloads: the same bytes every run, so numbers are comparable across runs.

Every payload is a whole RPC message (routing header + extra data) because hypha_arrow
encodes messages, and the header's cost matters for small calls. Data payloads sit in
``extra["args"]`` the way hypha-rpc puts a single positional argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

import numpy as np
import pandas as pd

SEED = 20240601
SCALES = ("tiny", "full")
TINY_DIVISOR = 100
TINY_FLOOR = 1000

# What a routed hypha-rpc method call carries in its main message.
ROUTING_HEADER = {
    "type": "method",
    "from": "ws-user-x/client-a",
    "to": "ws-user-x/client-b:svc",
    "method": "svc.echo",
    "session": "abc",
}

CATEGORIES = ("red", "green", "blue", "yellow", "purple")
EMBEDDING_WIDTH = 128
WIDE_ROWS = 200


class Message(NamedTuple):
    """One RPC message as the codecs see it: routing header and extra data."""

    main: dict[str, Any]
    extra: dict[str, Any]


@dataclass(frozen=True)
class Payload:
    """A named payload; ``build`` is lazy so only one large payload is alive at a time.

    ``kind`` tells which baselines apply ("float-array" gets np.copy, "call" gets msgpack,
    "records" gets the pandas decode); ``count`` is the element/row count at this scale;
    payloads of one ``family`` differ only in size, so plots draw them as one line.
    """

    name: str
    kind: str
    count: int
    build: Callable[[], Message]
    family: str


def as_call(value: Any) -> Message:
    """Wrap a value as the single positional argument of a method call."""
    return Message(dict(ROUTING_HEADER), {"args": [value], "with_kwargs": False})


def scaled(count: int, scale: str) -> int:
    """Element count at ``scale``; tiny keeps a floor so small cells still mean something."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    if scale == "full":
        return count
    return max(count // TINY_DIVISOR, min(count, TINY_FLOOR))


def _rng(salt: int) -> np.random.Generator:
    return np.random.default_rng([SEED, salt])


def float_array(n: int) -> Message:
    """Random float64: incompressible, the common case for scientific arrays."""
    return as_call(_rng(1).standard_normal(n))


def data_frame(n: int) -> Message:
    """Mixed-type table: int64 ids, float64 values, str names with 1000 distinct values."""
    frame = pd.DataFrame(
        {
            "id": np.arange(n, dtype=np.int64),
            "value": _rng(2).standard_normal(n),
            "name": [f"name-{i % 1000}" for i in range(n)],
        }
    )
    return as_call(frame)


def string_list(n: int) -> Message:
    """Mostly distinct short strings, like keys or identifiers."""
    return as_call([f"word-{x:x}" for x in _rng(3).integers(0, 2**40, n).tolist()])


def records(n: int) -> Message:
    """List of homogeneous dicts, the shape of a JSON API result."""
    scores = _rng(4).random(n).tolist()
    return as_call([{"id": i, "name": f"user-{i}", "score": scores[i]} for i in range(n)])


def categorical_strings(n: int) -> Message:
    """Few distinct strings repeated: what compression="auto" should shrink."""
    picks = _rng(5).integers(0, len(CATEGORIES), n).tolist()
    return as_call([CATEGORIES[i] for i in picks])


def small_ints(n: int) -> Message:
    """int64 values in [0, 16): mostly zero bytes, compressible."""
    return as_call(_rng(6).integers(0, 16, n, dtype=np.int64))


def numeric_frame(n: int) -> Message:
    """All-numeric table: what Arrow and pickle both carry as raw column buffers."""
    rng = _rng(7)
    frame = pd.DataFrame(
        {
            "id": np.arange(n, dtype=np.int64),
            "x": rng.standard_normal(n),
            "y": rng.standard_normal(n),
            "flag": rng.integers(0, 2, n).astype(bool),
        }
    )
    return as_call(frame)


def string_frame(n: int) -> Message:
    """String-heavy table: distinct text, a repeated label and one number per row."""
    words = _rng(8).integers(0, 2**40, n).tolist()
    frame = pd.DataFrame(
        {
            "key": [f"key-{x:x}" for x in words],
            "label": [CATEGORIES[x % len(CATEGORIES)] for x in words],
            "text": [f"row {i} of a text column, id {x:x}" for i, x in enumerate(words)],
            "value": np.arange(n, dtype=np.float64),
        }
    )
    return as_call(frame)


def embedding_records(n: int) -> Message:
    """Records each holding a 128-float embedding: many small same-dtype arrays in one message."""
    vectors = _rng(9).standard_normal((n, EMBEDDING_WIDTH))
    return as_call([{"id": i, "embedding": vectors[i].copy()} for i in range(n)])


def small_arrays(n: int) -> Message:
    """A list of separate 1 KB float64 arrays (128 values each)."""
    vectors = _rng(10).standard_normal((n, EMBEDDING_WIDTH))
    return as_call([vectors[i].copy() for i in range(n)])


def wide_frame(columns: int) -> Message:
    """``WIDE_ROWS`` rows of float64 under ``columns`` named columns (32 MB at 20,000 columns)."""
    values = _rng(11).standard_normal((WIDE_ROWS, columns))
    return as_call(pd.DataFrame(values, columns=[f"feature-{i}" for i in range(columns)]))


def wide_array(columns: int) -> Message:
    """The same bytes as ``wide_frame`` as one 2-D ndarray: what the wide frame is held against."""
    return as_call(_rng(11).standard_normal((WIDE_ROWS, columns)))


def small_call() -> Message:
    """A typical small method call: a few scalars and a promise descriptor."""
    extra = {
        "args": [1, 2.5, "hello", True],
        "with_kwargs": False,
        "promise": {
            "heartbeat": True,
            "interval": 2.0,
            "resolve": "ws-user-x/client-a:abc.resolve",
            "reject": "ws-user-x/client-a:abc.reject",
        },
    }
    return Message(dict(ROUTING_HEADER), extra)


def size_label(count: int) -> str:
    """Short count for payload names: 1000 -> "1e3", 300 -> "3e2", 1234 -> "1234"."""
    mantissa, exponent = f"{count:e}".split("e")
    return f"{float(mantissa):g}e{int(exponent)}" if float(mantissa).is_integer() else str(count)


def sized(family: str, kind: str, count: int, builder: Callable[[int], Message], label_count: int | None = None) -> Payload:
    """Payload ``family-<label_count>`` of ``count`` elements; the label defaults to the count."""
    name = f"{family}-{size_label(label_count or count)}"
    return Payload(name, kind, count, lambda: builder(count), family)


def _scaled(family: str, kind: str, full_count: int, builder: Callable[[int], Message], scale: str) -> Payload:
    return sized(family, kind, scaled(full_count, scale), builder, label_count=full_count)


def payloads(scale: str) -> list[Payload]:
    """All payloads in report order; names are the full-scale names at every scale."""
    return [
        _scaled("float64", "float-array", 100, float_array, scale),
        _scaled("float64", "float-array", 1_000, float_array, scale),
        _scaled("float64", "float-array", 3_000, float_array, scale),
        _scaled("float64", "float-array", 10_000, float_array, scale),
        _scaled("float64", "float-array", 100_000, float_array, scale),
        _scaled("float64", "float-array", 1_000_000, float_array, scale),
        _scaled("float64", "float-array", 10_000_000, float_array, scale),
        _scaled("frame", "frame", 100_000, data_frame, scale),
        _scaled("frame", "frame", 1_000_000, data_frame, scale),
        _scaled("strings", "strings", 100_000, string_list, scale),
        _scaled("records", "records", 10_000, records, scale),
        _scaled("embeddings", "nested", 2_000, embedding_records, scale),
        _scaled("arrays", "nested", 5_000, small_arrays, scale),
        _scaled("wide-frame", "wide", 20_000, wide_frame, scale),
        _scaled("wide-array", "wide", 20_000, wide_array, scale),
        Payload("small-call", "call", 1, small_call, "small-call"),
        _scaled("categorical", "repetitive", 100_000, categorical_strings, scale),
        _scaled("small-ints", "repetitive", 1_000_000, small_ints, scale),
    ]
