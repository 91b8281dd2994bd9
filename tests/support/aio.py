"""Async test bodies on a fresh event loop, bounded in time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

TEST_TIMEOUT = 120.0
"""No test may hang: each asyncio.run is bounded (pytest-timeout is not installed)."""


def run(body: Callable[[], Coroutine[Any, Any, None]], timeout: float = TEST_TIMEOUT) -> None:
    """Run one async test body on a fresh event loop, failing instead of hanging."""
    asyncio.run(asyncio.wait_for(body(), timeout))


async def until(condition: Callable[[], bool], timeout: float, what: str, state: Callable[[], Any] = lambda: "") -> float:
    """Wait for ``condition``; the seconds it took. ``state`` describes what was seen instead."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not after {timeout} s {state()}")
        await asyncio.sleep(0.01)
    return time.monotonic() - started
