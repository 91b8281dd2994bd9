"""Freed heap back to the OS (hypha_arrow.rpc.heap)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import pytest

from hypha_arrow.rpc import heap
from tests.support.aio import run, until

MiB = 1 << 20


HEAP_RETENTION = """
import ctypes, gc, json, os
from hypha_arrow.rpc import heap

def rss():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))

libc = ctypes.CDLL("libc.so.6")
libc.mallopt(-3, 16 << 20)  # M_MMAP_THRESHOLD: where glibc's own threshold ends up after a large message
libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD: so glibc never trims the heap's top by itself either
chunks, kept_alive = [], []
for _ in range(256):  # now on the heap, as a large message's chunks, between what lives on
    chunks.append(os.urandom(1 << 20))
    kept_alive.append(os.urandom(64 << 10))  # right after it on the heap: too large for any hole left before
before = rss()
del chunks
gc.collect()
kept = rss()
heap.release_free_memory()
print(json.dumps([before, kept, rss()]))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux") or heap._malloc_trim is None, reason="glibc's malloc_trim is Linux-only")
def test_chunks_freed_after_the_mmap_threshold_rose_stay_resident_until_released() -> None:
    # a fresh process: what glibc keeps depends on everything the process allocated before
    before, kept, released = json.loads(subprocess.run([sys.executable, "-c", HEAP_RETENTION], capture_output=True, check=True, text=True).stdout)
    assert before - kept < 64 * MiB, "glibc gave the freed chunks back by itself: the state the trim is for was not reached"
    assert kept - released > 192 * MiB, f"the trim gave back {(kept - released) / MiB:.0f} MiB of 256"


def test_the_trimmer_waits_for_a_quiet_moment_once_enough_was_freed(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[float] = []
    monkeypatch.setattr(heap, "release_free_memory", lambda: calls.append(time.monotonic()))

    async def body() -> None:
        trimmer = heap.HeapTrimmer(threshold=100)
        trimmer.freed(60)
        await asyncio.sleep(heap.QUIET_SECONDS + 0.1)
        assert calls == [], "60 bytes: not worth a trim"
        started = time.monotonic()
        for _ in range(5):  # a transfer still arriving: no trim between its frames
            trimmer.freed(60)
            await asyncio.sleep(heap.QUIET_SECONDS / 2)
        await until(lambda: len(calls) == 1, 1.0, "one trim once quiet")
        assert calls[0] - started >= 4 * heap.QUIET_SECONDS / 2 + heap.QUIET_SECONDS * 0.9  # the last frame at 4 half-periods
        trimmer.freed(99)
        await asyncio.sleep(heap.QUIET_SECONDS + 0.1)
        assert len(calls) == 1, "99 bytes since the trim: not worth another"
        trimmer.freed(1)
        await until(lambda: len(calls) == 2, 1.0, "a second trim")
        trimmer.freed(heap.TRIM_AT_LEAST_EVERY_BYTES)  # a flood that is never quiet: at once
        await until(lambda: len(calls) == 3, heap.QUIET_SECONDS / 2, "a trim without waiting")

    run(body)
