"""Freed heap back to the OS (hypha_arrow.rpc.heap)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest

from hypha_arrow.rpc import heap
from tests.support.aio import run, until

MiB = 1 << 20


HEAP_RETENTION = """
import gc, json, os
from hypha_arrow.rpc import heap

def rss():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))

block = bytes(16 << 20)
del block  # freeing a large mmapped block raises glibc's mmap threshold to its size
chunks, kept_alive = [], []
for _ in range(256):  # now on the heap, as a large message's chunks, between what lives on
    chunks.append(os.urandom(1 << 20))
    kept_alive.append(os.urandom(1024))  # over pymalloc's 512 bytes: from the same heap
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
    assert before - kept < 64 * MiB, "glibc gave the freed chunks back by itself: nothing left for the trim to do"
    assert kept - released > 192 * MiB, f"the trim gave back {(kept - released) / MiB:.0f} MiB of 256"


def test_the_trimmer_runs_once_enough_was_freed_and_one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(heap, "release_free_memory", lambda: calls.append(1))

    async def body() -> None:
        trimmer = heap.HeapTrimmer(threshold=100)
        trimmer.freed(60)
        await asyncio.sleep(0.05)
        assert calls == []
        trimmer.freed(60)  # 120 freed: one trim
        trimmer.freed(500)  # while it runs: counted for the next
        await until(lambda: calls == [1], 1.0, "one trim")
        await asyncio.sleep(0.05)
        assert calls == [1]
        trimmer.freed(1)  # 501 counted: the next trim
        await until(lambda: calls == [1, 1], 1.0, "a second trim")

    run(body)
