"""Timing of one (payload, path) cell: verified once, then medians of repeated runs."""

from __future__ import annotations

import gc
import statistics
import time
from dataclasses import dataclass

from benchmarks.paths import Buffer, CodecPath
from benchmarks.payloads import Message
from hypha_arrow.testing import assert_same

MIN_REPEATS = 3
MAX_REPEATS = 200


@dataclass(frozen=True)
class Cell:
    """Median timings of one path on one payload; times in seconds."""

    payload: str
    path: str
    encode_s: float
    decode_s: float
    size_bytes: int
    repeats: int
    warm_decode_s: float
    """Decode of one frame again and again: the decoder's own work, without the cache
    misses that follow writing a large frame (``decode_s`` includes those)."""

    @property
    def total_s(self) -> float:
        return self.encode_s + self.decode_s


def measure(payload: str, path: CodecPath, message: Message, budget_s: float) -> Cell:
    """Verify the round trip, then time encode and decode separately.

    The first round trip is checked and warms caches; a second, warm one sizes the
    repeat count so the cell takes about ``budget_s`` (a cold first call can be many
    times slower and would leave too few repeats). Garbage collection is off while
    timing so a collection triggered by an earlier cell's garbage does not land here.
    """
    data = path.encode(message)
    assert_same(path.expected(message), path.decode(data), f"{payload}/{path.name}")
    size = memoryview(data).nbytes
    del data
    started = time.perf_counter()
    path.decode(path.encode(message))
    once = time.perf_counter() - started
    repeats = min(MAX_REPEATS, max(MIN_REPEATS, int(budget_s / max(once, 1e-9))))
    encode_times, decode_times = _time_repeats(path, message, repeats)
    warm = _time_warm_decode(path, path.encode(message), repeats)
    return Cell(payload, path.name, statistics.median(encode_times), statistics.median(decode_times), size, repeats, warm)


def _time_warm_decode(path: CodecPath, data: Buffer, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        path.decode(data)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _time_repeats(path: CodecPath, message: Message, repeats: int) -> tuple[list[float], list[float]]:
    """Each decode reads the frame just encoded; freeing results happens outside the clock."""
    encode_times: list[float] = []
    decode_times: list[float] = []
    gc.collect()
    gc.disable()
    try:
        for _ in range(repeats):
            t0 = time.perf_counter()
            data: Buffer = path.encode(message)
            t1 = time.perf_counter()
            decoded = path.decode(data)
            t2 = time.perf_counter()
            del data, decoded
            encode_times.append(t1 - t0)
            decode_times.append(t2 - t1)
    finally:
        gc.enable()
    return encode_times, decode_times
