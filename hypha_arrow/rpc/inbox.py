"""Frames from each sender handled in the order they came, without making other senders wait.

hypha-rpc handles a connection's frames one after the other, on the event loop. Decoding a
large frame there (a 1 GiB message, a section inflating to hundreds of megabytes) would stall
every other call for as long; awaiting it on a worker thread in the connection's read loop
would still make every other sender's frames wait behind it. So a frame that needs real work,
and every later frame of the same sender, queues in that sender's inbox, worked through in
order by one task while the read loop goes on; frames of idle senders are handled at once.
The decoding itself runs on a small pool of worker threads, which bounds how many large
frames are inflated at the same time.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from .budgets import IncomingTransfers

DECODE_WORKERS = 2
"""Worker threads decoding large frames, for every connection of the process: as many as this
machine has cores, and each may inflate up to ``max_decompressed_bytes`` at once."""

_log = logging.getLogger(__name__)
_pool: concurrent.futures.ThreadPoolExecutor | None = None

Job = Callable[[], Awaitable[Any]]


async def off_loop(work: Callable[..., Any], *args: Any) -> Any:
    """``work(*args)`` on a decoding worker thread: the event loop keeps serving meanwhile."""
    global _pool
    if _pool is None:
        _pool = concurrent.futures.ThreadPoolExecutor(DECODE_WORKERS, thread_name_prefix="hypha_arrow-decode")
    return await asyncio.get_running_loop().run_in_executor(_pool, work, *args)


async def off_loop_if(large: bool, work: Callable[..., Any], *args: Any) -> Any:
    """``work(*args)``: on a decoding worker thread when it is ``large``, else here (below a size
    the thread hop costs more than the work)."""
    return await off_loop(work, *args) if large else work(*args)


class Inbox:
    """One connection's queues of work, per sender, each worked through in order by its own task."""

    def __init__(self, budgets: IncomingTransfers) -> None:
        self._budgets = budgets
        self._queues: dict[str, deque[tuple[Job, int, asyncio.Future]]] = {}
        self._workers: set[asyncio.Task] = set()

    def busy(self, sender: str) -> bool:
        """Whether ``sender`` has work queued: its next frame must wait its turn."""
        return sender in self._queues

    def queue(self, sender: str, job: Job, nbytes: int) -> asyncio.Future:
        """Run ``job`` after the sender's queued work; its ``nbytes`` count against the sender's
        budgets until it is done (``TransferRefused`` at once if they would go over)."""
        self._budgets.reserve(sender, nbytes)
        return self._add(sender, job, nbytes, next_up=False)

    def next(self, sender: str, job: Job) -> asyncio.Future:
        """Run ``job`` right after the work being done for ``sender`` now, ahead of what is queued:
        for a frame whose handling starts more work that must come before the sender's later frames."""
        return self._add(sender, job, 0, next_up=True)

    def close(self) -> None:
        for worker in self._workers:
            worker.cancel()

    def _add(self, sender: str, job: Job, nbytes: int, next_up: bool) -> asyncio.Future:
        done = asyncio.get_running_loop().create_future()
        queue = self._queues.get(sender)
        if queue is None:
            queue = self._queues[sender] = deque()
            worker = asyncio.ensure_future(self._work(sender, queue))
            self._workers.add(worker)
            worker.add_done_callback(self._workers.discard)
        if next_up and queue:
            queue.insert(1, (job, nbytes, done))  # queue[0] is the work being done now
        else:
            queue.append((job, nbytes, done))
        return done

    async def _work(self, sender: str, queue: deque[tuple[Job, int, asyncio.Future]]) -> None:
        try:
            while queue:
                job, nbytes, done = queue[0]
                try:
                    done.set_result(await job())
                except asyncio.CancelledError:
                    done.cancel()
                    raise
                except Exception as error:
                    done.set_exception(error)
                    done.exception()  # the job's own caller reports it, if anyone awaits it
                finally:
                    queue.popleft()
                    self._budgets.unreserve(sender, nbytes)
        finally:
            for _, nbytes, done in queue:  # cancelled: the connection closed
                done.cancel()
                self._budgets.unreserve(sender, nbytes)
            queue.clear()
            del self._queues[sender]
