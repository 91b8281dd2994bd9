"""Progress hooks (hypha_arrow.rpc.progress) on their own: who is told of a chunk, what the event
says, a real tqdm bar driven by it, and hooks that fail.

The connections and calls here are stand-ins with the attributes the module reads; the session
store is read with hypha-rpc's own ``_get_session_store``. tests/server/test_rpc_progress.py
checks the same against a real server.
"""

from __future__ import annotations

import asyncio
import io
import logging
from typing import Any

import pytest
from hypha_rpc.rpc import RPC
from tqdm import tqdm

from hypha_arrow.rpc import progress
from hypha_arrow.rpc.progress import TransferProgress
from hypha_arrow.rpc.transfer import CHUNK_MIN, message_key
from tests.support.aio import run

MIB = 1 << 20


class Connection:
    """What the module reads of an ``RPC``: its session store."""

    _get_session_store = RPC._get_session_store

    def __init__(self) -> None:
        self._object_store: dict[str, Any] = {}


class Call:
    """What the module reads of a ``RemoteFunction`` just called: hypha-rpc made its session."""

    __no_chunk__ = False

    def __init__(self, rpc: Connection, session: str, *, target: str = "ws/service", parent: str | None = None, with_promise: bool = True) -> None:
        self._rpc, self._local_parent, self._with_promise = rpc, parent, with_promise
        self._encoded_method = {"_rtarget": target, "_rmethod": "services.svc.echo"}
        rpc._get_session_store(f"{parent}.{session}" if parent else session, create=True)["target_id"] = target


def send_message(rpc: Any, key: str, total: int, chunk: int) -> None:
    for start in range(0, total, chunk):
        step = min(chunk, total - start)
        progress.sent(rpc, "ws/service", key, start + step, step, total)


def receive_message(rpc: Any, key: str, total: int, chunk: int) -> None:
    progress.started(rpc, key)
    for start in range(0, total, chunk):
        progress.received(rpc, key, "ws/sender", min(chunk, total - start))


def test_a_block_is_told_of_the_chunks_sent_inside_it_and_nothing_outside() -> None:
    events: list[TransferProgress] = []
    rpc = Connection()
    with progress.progress(events.append):
        send_message(rpc, "k1", 2 * MIB + 5, MIB)
    send_message(rpc, "k2", 2 * MIB, MIB)
    assert events == [
        TransferProgress("sent", "k1", "ws/service", MIB, MIB, 2 * MIB + 5),
        TransferProgress("sent", "k1", "ws/service", 2 * MIB, MIB, 2 * MIB + 5),
        TransferProgress("sent", "k1", "ws/service", 2 * MIB + 5, 5, 2 * MIB + 5),
    ]


def test_nested_blocks_each_get_every_chunk_of_the_inner_one() -> None:
    outer: list[TransferProgress] = []
    inner: list[TransferProgress] = []
    rpc = Connection()
    with progress.progress(outer.append):
        send_message(rpc, "a", MIB, MIB)
        with progress.progress(inner.append):
            send_message(rpc, "b", MIB, MIB)
    assert [event.key for event in outer] == ["a", "b"] and [event.key for event in inner] == ["b"]


def test_a_connection_hook_gets_received_chunks_with_the_total_a_hybrid_key_declares() -> None:
    events: list[TransferProgress] = []
    rpc = Connection()
    progress.watch_connection(rpc, events.append)
    hybrid, stock = message_key("session", 3 * CHUNK_MIN, CHUNK_MIN), "stock-session"
    receive_message(rpc, hybrid, 3 * CHUNK_MIN, CHUNK_MIN)
    receive_message(rpc, stock, 600_000, 256 << 10)
    assert [(event.done, event.total) for event in events if event.key == hybrid] == [(CHUNK_MIN, 3 * CHUNK_MIN), (2 * CHUNK_MIN, 3 * CHUNK_MIN), (3 * CHUNK_MIN, 3 * CHUNK_MIN)]
    assert [(event.done, event.step, event.total) for event in events if event.key == stock] == [(262144, 262144, None), (524288, 262144, None), (600000, 75712, None)]
    assert {(event.direction, event.peer) for event in events} == {("received", "ws/sender")}


def test_a_stock_senders_next_message_under_the_same_key_counts_from_zero() -> None:
    events: list[TransferProgress] = []
    rpc = Connection()
    progress.watch_connection(rpc, events.append)
    receive_message(rpc, "session", 300_000, 256 << 10)
    receive_message(rpc, "session", 1000, 256 << 10)
    assert [event.done for event in events] == [262144, 300000, 1000]


def test_a_calls_reply_is_reported_to_its_block_after_the_block_until_the_call_settles() -> None:
    async def body() -> None:
        events: list[TransferProgress] = []
        rpc, loop = Connection(), asyncio.get_running_loop()
        rpc._object_store["other"] = {"target_id": "ws/service"}
        call = loop.create_future()
        with progress.progress(events.append):
            progress.calling(Call(rpc, "s1"), call)
        reply = message_key("s1", 2 * CHUNK_MIN, CHUNK_MIN)
        receive_message(rpc, reply, 2 * CHUNK_MIN, CHUNK_MIN)
        receive_message(rpc, "other", 1000, 1000)  # another session's reply
        assert [(event.key, event.done) for event in events] == [(reply, CHUNK_MIN), (reply, 2 * CHUNK_MIN)]
        call.set_result(None)
        await asyncio.sleep(0)  # the done callback
        receive_message(rpc, message_key("s1", CHUNK_MIN, CHUNK_MIN), CHUNK_MIN, CHUNK_MIN)
        assert len(events) == 2 and rpc not in progress._watches

    run(body)


def test_a_stock_reply_to_a_call_with_a_parent_session_is_found_under_its_full_session_id() -> None:
    async def body() -> None:
        events: list[TransferProgress] = []
        rpc = Connection()
        rpc._object_store["parent"] = {"older": {"target_id": "ws/service"}}
        with progress.progress(events.append):
            progress.calling(Call(rpc, "child", parent="parent"), asyncio.get_running_loop().create_future())
        receive_message(rpc, "parent.older", 10, 10)
        receive_message(rpc, "parent.child", 10, 10)
        assert [event.key for event in events] == ["parent.child"]

    run(body)


def test_calls_awaiting_no_reply_and_the_chunks_own_calls_register_nothing() -> None:
    async def body() -> None:
        rpc, loop = Connection(), asyncio.get_running_loop()
        chunk_call = Call(rpc, "s2")
        chunk_call.__no_chunk__ = True
        with progress.progress(print):
            progress.calling(Call(rpc, "s1", with_promise=False), loop.create_future())
            progress.calling(chunk_call, loop.create_future())
        progress.calling(Call(rpc, "s3"), loop.create_future())  # no block
        assert rpc not in progress._watches

    run(body)


def test_a_tqdm_bar_without_a_total_counts_every_byte_against_the_totals_it_has_seen() -> None:
    shown = io.StringIO()
    rpc = Connection()
    with tqdm(file=shown, unit="B", unit_scale=True, mininterval=0) as bar, progress.progress(bar):
        send_message(rpc, "request", 3 * MIB + 1, MIB)
        assert (bar.n, bar.total) == (3 * MIB + 1, 3 * MIB + 1)
        send_message(rpc, "reply", 2 * MIB, MIB)
        assert (bar.n, bar.total) == (5 * MIB + 1, 5 * MIB + 1)
    assert "100%|##########| 5.24M/5.24M" in shown.getvalue()


def test_a_tqdm_bar_keeps_a_total_its_owner_set_and_a_full_bar_grows_again() -> None:
    rpc = Connection()
    with tqdm(file=io.StringIO(), total=10 * MIB) as bar:
        with progress.progress(bar):
            send_message(rpc, "k", MIB, MIB)
        assert (bar.n, bar.total) == (MIB, 10 * MIB)
    with tqdm(file=io.StringIO()) as bar:
        for key in ("first", "second"):  # a bar taken by a second block once full
            with progress.progress(bar):
                send_message(rpc, key, MIB, MIB)
        assert (bar.n, bar.total) == (2 * MIB, 2 * MIB)


def test_a_failing_hook_never_breaks_a_transfer_and_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    def broken(event: TransferProgress) -> None:
        raise RuntimeError("hook bug")

    events: list[TransferProgress] = []
    rpc = Connection()
    progress.watch_connection(rpc, broken)
    progress.watch_connection(rpc, events.append)
    with caplog.at_level(logging.ERROR, logger=progress.__name__), progress.progress(broken):
        send_message(rpc, "k", 3 * MIB, MIB)
        receive_message(rpc, "stock", 3 * MIB, MIB)
    assert len(events) == 6
    failures = [record for record in caplog.records if "hook bug" in str(record.exc_info)]
    assert len(failures) == 2  # one per installed hook: the block's and the connection's


def test_a_hook_must_be_callable_or_have_update() -> None:
    with pytest.raises(TypeError, match="update"), progress.progress(42):  # type: ignore[arg-type]
        pass
