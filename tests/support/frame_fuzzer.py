"""Structure-aware fuzzing of ``decode_message``: every input decodes or raises ``DecodeError``.

Mutations know the frame's parts (header, skeleton with its descriptor, Arrow section) and
the Arrow stream's own fields, so they reach the decoder's deep checks, not just msgpack's.
A long campaign: ``python tests/support/frame_fuzzer.py --inputs 1000000`` (prints failures with the
seed and index that reproduce them).
"""

from __future__ import annotations

import argparse
import random
import resource
import struct
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import msgpack
import numpy as np
import pandas as pd
import pyarrow as pa

import hypha_arrow
from hypha_arrow.framing import DESCRIPTOR_KEY

HEADER = {"type": "method", "from": "ws/a", "to": "ws/b:svc", "method": "svc.run", "session": "s1"}
LIMITS = hypha_arrow.Config(max_frame_bytes=64 << 20, max_section_bytes=64 << 20, max_decompressed_bytes=64 << 20, max_columns=64, max_depth=32)
TIME_BOUND_S = 2.0
"""No single input may take longer to decode (a hang shows up as a failure, not a stuck CI)."""


def seed_frames() -> list[bytes]:
    """Valid frames of every family, plain and compressed, to mutate."""
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"i": np.arange(300), "f": rng.random(300), "s": [f"v{i % 7}" for i in range(300)],
                          "c": pd.Categorical(np.array(["a", "b"])[np.arange(300) % 2])})
    values = [
        {"args": [rng.random(500), np.arange(24, dtype="i2").reshape(2, 3, 4)], "with_kwargs": False},
        {"args": [frame, frame["f"]], "with_kwargs": False},
        {"args": [["x", None, "yz"] * 200, [1, 2, None] * 200], "with_kwargs": True},
        {"args": [[{"id": i, "name": f"n{i}"} if i % 3 else {"name": "x", "id": i, "t": [1]} for i in range(200)]]},
        {"args": [pa.table({"a": list(range(200)), "b": [str(i) for i in range(200)]}), np.array(["a", b"b", None] * 100, dtype=object)]},
        {"args": [{"nested": [np.arange(400.0), {"deep": np.ones((20, 20), order="F")}]}, 1, "two"]},
    ]
    seeds = []
    for extra in values:
        for algorithm in (None, "lz4", "zstd"):
            seeds.append(hypha_arrow.encode_message(HEADER, extra, config=hypha_arrow.Config(compression_algorithm=algorithm, binary_threshold=100)))
    seeds.append(msgpack.packb(HEADER) + msgpack.packb({"args": [1, 2.5, "plain"]}))
    return seeds


@dataclass
class Parts:
    header: bytes
    skeleton: dict
    section: bytes


def split(frame: bytes) -> Parts | None:
    unpacker = msgpack.Unpacker(max_buffer_size=len(frame))
    unpacker.feed(frame)
    unpacker.unpack()  # the header
    start = unpacker.tell()
    try:
        skeleton = unpacker.unpack()
    except msgpack.OutOfData:
        return None
    if not isinstance(skeleton, dict) or DESCRIPTOR_KEY not in skeleton:
        return None
    return Parts(frame[:start], skeleton, frame[unpacker.tell() :])


def join(parts: Parts) -> bytes:
    return parts.header + msgpack.packb(parts.skeleton) + parts.section


# -- mutations: each takes a valid frame and a random source, returns one hostile input ----


def flip_bytes(frame: bytes, rnd: random.Random) -> bytes:
    data = bytearray(frame)
    for _ in range(rnd.randint(1, 8)):
        data[rnd.randrange(len(data))] ^= 1 << rnd.randrange(8)
    return bytes(data)


def overwrite_word(frame: bytes, rnd: random.Random) -> bytes:
    """Lie about a length, offset or count: write a hostile 4- or 8-byte integer anywhere."""
    data = bytearray(frame)
    width = rnd.choice((4, 8))
    position = rnd.randrange(max(1, len(data) - width))
    value = rnd.choice((0, 1, -1, 2**31 - 1, -(2**31), 2**32 - 1, 2**40, 2**62, rnd.randrange(2**16)))
    fmt = "<i" if width == 4 else "<q"
    if width == 4:
        value = max(-(2**31), min(2**31 - 1, value))
    data[position : position + width] = struct.pack(fmt, value)
    return bytes(data)


def truncate(frame: bytes, rnd: random.Random) -> bytes:
    return frame[: rnd.randrange(len(frame))]


def extend(frame: bytes, rnd: random.Random) -> bytes:
    return frame + bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 64)))


def splice(frame: bytes, rnd: random.Random) -> bytes:
    a, b = sorted(rnd.randrange(len(frame)) for _ in range(2))
    c = rnd.randrange(len(frame))
    return frame[:c] + frame[a:b] + frame[c:]


def random_bytes(frame: bytes, rnd: random.Random) -> bytes:
    return bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 256)))


def lie_in_descriptor(frame: bytes, rnd: random.Random) -> bytes:
    parts = split(frame)
    if parts is None:
        return flip_bytes(frame, rnd)
    descriptor = parts.skeleton[DESCRIPTOR_KEY]
    paths = descriptor.get("columns", [])
    choice = rnd.randrange(7)
    if choice == 0:
        descriptor["length"] = descriptor["length"] + rnd.choice((-9, -1, 1, 8, 2**40))
    elif choice == 1:
        descriptor["compression"] = rnd.choice(("lz4", "zstd", None, "gzip", 7))
    elif choice == 2 and paths:
        paths.append(rnd.choice(paths))  # a placeholder pointed at twice
    elif choice == 3 and paths:
        paths.pop(rnd.randrange(len(paths)))  # a column with no path
    elif choice == 4 and paths:
        paths[rnd.randrange(len(paths))] = rnd.choice((["args", 99], ["nowhere"], [], ["args", 0, "x", 1], [b"k"], "str"))
    elif choice == 5:
        descriptor["version"] = rnd.choice((0, 2, "1", None))
    else:
        parts.skeleton[DESCRIPTOR_KEY] = rnd.choice(([], "x", {"version": 1}, None))
    return join(parts)


def corrupt_section(frame: bytes, rnd: random.Random) -> bytes:
    """Mutate only the Arrow section, then fix the descriptor's length to match."""
    parts = split(frame)
    if parts is None or not parts.section:
        return flip_bytes(frame, rnd)
    mutate = rnd.choice((flip_bytes, overwrite_word, truncate, extend, splice))
    parts.section = mutate(parts.section, rnd) if len(parts.section) > 8 else parts.section
    parts.skeleton[DESCRIPTOR_KEY]["length"] = len(parts.section)
    return join(parts)


def corrupt_metadata(frame: bytes, rnd: random.Random) -> bytes:
    """Rewrite one column's JSON metadata (kind, dtype, shape, layouts ...) with a hostile value."""
    replacements = [
        (b'"kind": "ndarray"', b'"kind": "records"'), (b'"kind": "dataframe"', b'"kind": "array"'),
        (b'"dtype": "<f8"', b'"dtype": "|O8"'), (b'"dtype": "<f8"', b'"dtype": "<U2"'), (b'"shape": [', b'"shape": [9999999, '),
        (b'"order": "C"', b'"order": "X"'), (b'"columns": ', b'"columns": 99, "x": '), (b'"layouts": [[', b'"layouts": [[99, '),
        (b'"chunks": [', b'"chunks": [-5, '), (b'"unnamed": ', b'"unnamed": [1], "y": '),
    ]
    old, new = rnd.choice(replacements)
    if old not in frame:
        return overwrite_word(frame, rnd)
    parts = split(frame.replace(old, new, 1))
    if parts is None:
        return frame.replace(old, new, 1)
    parts.skeleton[DESCRIPTOR_KEY]["length"] = len(parts.section)
    return join(parts)


MUTATIONS: tuple[Callable[[bytes, random.Random], bytes], ...] = (
    flip_bytes, overwrite_word, truncate, extend, splice, random_bytes, lie_in_descriptor, corrupt_section, corrupt_section, corrupt_metadata,
)


def inputs(seed: int, count: int) -> Iterator[tuple[int, bytes]]:
    rnd = random.Random(seed)
    frames = seed_frames()
    for index in range(count):
        yield index, rnd.choice(MUTATIONS)(rnd.choice(frames), rnd)


@dataclass
class Outcome:
    decoded: int = 0
    refused: int = 0
    failures: list[str] | None = None
    slowest_s: float = 0.0


def campaign(seed: int, count: int) -> Outcome:
    outcome = Outcome(failures=[])
    for index, data in inputs(seed, count):
        started = time.perf_counter()
        try:
            hypha_arrow.decode_message(data, config=LIMITS)
            outcome.decoded += 1
        except hypha_arrow.DecodeError:
            outcome.refused += 1
        except Exception as error:  # anything else is a finding
            outcome.failures.append(f"seed={seed} index={index}: {type(error).__name__}: {error}"[:300])
        took = time.perf_counter() - started
        outcome.slowest_s = max(outcome.slowest_s, took)
        if took > TIME_BOUND_S:
            outcome.failures.append(f"seed={seed} index={index}: took {took:.2f} s")
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args(argv)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outcome = campaign(args.seed, args.inputs)
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print(f"seed {args.seed}: {args.inputs} inputs, {outcome.decoded} decoded, {outcome.refused} refused with DecodeError, "
          f"{len(outcome.failures)} failures; slowest {outcome.slowest_s * 1e3:.1f} ms; peak RSS grew {grown:.0f} MB")
    for failure in outcome.failures[:50]:
        print(failure)
    return 1 if outcome.failures else 0


if __name__ == "__main__":
    sys.exit(main())
