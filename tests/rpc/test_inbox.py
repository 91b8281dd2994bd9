"""Per-sender inboxes (hypha_arrow.rpc.inbox): in order per sender, never across senders."""

from __future__ import annotations

import asyncio
import threading

import pytest

from hypha_arrow import Config, TransferRefused
from hypha_arrow.rpc.budgets import IncomingTransfers
from hypha_arrow.rpc.heap import HeapTrimmer
from hypha_arrow.rpc.inbox import Inbox, off_loop
from tests.support.aio import run, until


def inbox(**limits: int) -> tuple[Inbox, IncomingTransfers]:
    budgets = IncomingTransfers({}, Config(**limits), HeapTrimmer())
    return Inbox(budgets), budgets


def test_one_senders_work_runs_in_order_while_another_sender_is_served_at_once() -> None:
    async def body() -> None:
        box, _ = inbox()
        done: list[str] = []
        release = asyncio.Event()

        async def slow() -> None:
            await release.wait()
            done.append("a1")

        async def quick(name: str) -> str:
            done.append(name)
            return name

        first = box.queue("a", slow, 10)
        second = box.queue("a", lambda: quick("a2"), 10)
        assert box.busy("a") and not box.busy("b")
        assert await box.queue("b", lambda: quick("b1"), 10) == "b1"
        assert done == ["b1"], "b waited for nothing; a's second job waits for its first"
        release.set()
        await first
        assert await second == "a2" and done == ["b1", "a1", "a2"]
        await until(lambda: not box.busy("a"), 1.0, "a's inbox closed once empty")

    run(body)


def test_next_runs_right_after_the_current_job_ahead_of_queued_ones() -> None:
    async def body() -> None:
        box, _ = inbox()
        done: list[str] = []

        async def current() -> None:  # handling a frame that starts more work (``process``)
            box.next("a", lambda: record("started by current"))
            done.append("current")

        async def record(name: str) -> None:
            done.append(name)

        box.queue("a", current, 0)
        last = box.queue("a", lambda: record("queued before"), 0)
        await last
        assert done == ["current", "started by current", "queued before"]
        await box.next("idle", lambda: record("alone"))  # an idle sender: runs at once
        assert done[-1] == "alone"

    run(body)


def test_queued_bytes_count_against_the_senders_budgets_until_done() -> None:
    async def body() -> None:
        box, budgets = inbox(max_pending_bytes_per_sender=100, max_pending_bytes=150)
        release = asyncio.Event()
        box.queue("a", release.wait, 60)
        with pytest.raises(TransferRefused, match="over max_pending_bytes_per_sender=100"):
            box.queue("a", release.wait, 60)
        box.queue("b", release.wait, 60)
        with pytest.raises(TransferRefused, match="over max_pending_bytes=150"):
            box.queue("c", release.wait, 60)
        assert budgets.pending_bytes == 120
        release.set()
        await until(lambda: budgets.pending_bytes == 0, 1.0, "bytes released")

    run(body)


def test_a_failing_job_fails_its_own_future_and_the_next_one_still_runs() -> None:
    async def body() -> None:
        box, _ = inbox()

        async def fail() -> None:
            raise ValueError("bad frame")

        async def fine() -> str:
            return "fine"

        failed = box.queue("a", fail, 0)
        assert await box.queue("a", fine, 0) == "fine"
        with pytest.raises(ValueError, match="bad frame"):
            await failed

    run(body)


def test_closing_cancels_the_work_and_releases_its_bytes() -> None:
    async def body() -> None:
        box, budgets = inbox()
        running = box.queue("a", asyncio.Event().wait, 50)
        waiting = box.queue("a", asyncio.Event().wait, 50)
        await asyncio.sleep(0)
        box.close()
        await until(lambda: running.cancelled() and waiting.cancelled(), 1.0, "work cancelled")
        await until(lambda: budgets.pending_bytes == 0 and not box.busy("a"), 1.0, "bytes released")

    run(body)


def test_off_loop_runs_on_a_decode_worker_thread() -> None:
    async def body() -> None:
        name = await off_loop(lambda: threading.current_thread().name)
        assert name.startswith("hypha_arrow-decode") and name != threading.current_thread().name

    run(body)
