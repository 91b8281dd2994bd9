"""Progress hooks through a real server: the bytes reported add up to the frames the connections
actually handed over, in both directions, between hypha_arrow clients and with stock ones."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
from tqdm import tqdm

import hypha_arrow
from hypha_arrow.rpc.transfer import CHUNK_MIN
from tests.support.aio import run
from tests.support.server import Connect, arrow_client, stock_client

SIZE = 20 << 20
"""Bytes of a payload between hypha_arrow clients: 21 chunks, more than one acknowledged window."""
STOCK_SIZE = 3 << 20
"""Bytes of a payload to or from a stock peer: 13 chunks of 256 KiB."""


def payload(size: int) -> np.ndarray:
    return np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8)


def frames_sent(server: Any) -> list[int]:
    """The size of every chunked frame ``server``'s connection sends from now on, as hypha-rpc
    hands it to ``_send_chunks`` (stock and hypha_arrow connections alike)."""
    rpc, sizes = server.rpc, []
    send_chunks = rpc._send_chunks

    async def recording(package: bytes, target_id: str, session_id: str | None) -> None:
        sizes.append(len(package))
        await send_chunks(package, target_id, session_id)

    rpc._send_chunks = recording
    return sizes


def by_message(events: list[hypha_arrow.TransferProgress], direction: str) -> list[list[hypha_arrow.TransferProgress]]:
    """The events of one direction, grouped per message key in order of first appearance."""
    messages: dict[str, list[hypha_arrow.TransferProgress]] = defaultdict(list)
    for event in events:
        if event.direction == direction:
            messages[event.key].append(event)
    return list(messages.values())


def assert_one_message(events: list[hypha_arrow.TransferProgress], direction: str, size: int, total: int | None, peer: str) -> None:
    """``events`` hold exactly one message in ``direction``, whose steps add up to ``size``."""
    (message,) = by_message(events, direction)
    assert sum(event.step for event in message) == size
    assert [event.done for event in message] == list(np.cumsum([event.step for event in message]))
    assert {event.total for event in message} == {total}
    assert {event.peer for event in message} == {peer}


@contextlib.asynccontextmanager
async def pair(url: str, provider: Connect, caller: Connect) -> AsyncIterator[tuple[Any, Any, Any]]:
    """An echo service on one client; yields (the providing client, the calling client, the service as it sees it)."""
    async with contextlib.AsyncExitStack() as stack:
        providing = await provider(url)
        stack.push_async_callback(providing.disconnect)
        calling = await caller(url)
        stack.push_async_callback(calling.disconnect)
        info = await providing.register_service({"id": "echo", "config": {"visibility": "public"}, "echo": lambda value: value})
        yield providing, calling, await calling.get_service(info.id)


def watched(hook: Any) -> Connect:
    """A hypha_arrow client whose connection reports its chunked messages to ``hook``."""
    return lambda url: hypha_arrow.connect_to_server({"server_url": url}, progress=hook)


async def echoed(providing: Any, calling: Any, service: Any, size: int, hook: Any = None) -> tuple[int, int]:
    """Echo ``size`` bytes (inside ``hypha_arrow.progress(hook)`` if given); the request's and the
    reply's frame sizes as the two connections sent them."""
    requests, replies = frames_sent(calling), frames_sent(providing)
    value = payload(size)
    with hypha_arrow.progress(hook) if hook is not None else contextlib.nullcontext():
        np.testing.assert_array_equal(await service.echo(value), value)
    (request,), (reply,) = requests, replies
    return request, reply


def full_id(server: Any) -> str:
    return f"{server.config.workspace}/{server.config.client_id}"


def test_a_progress_block_reports_its_calls_request_and_reply_and_no_other_call(hypha_server: str) -> None:
    async def body() -> None:
        async with pair(hypha_server, arrow_client(), arrow_client()) as (providing, calling, service):
            requests, replies = frames_sent(calling), frames_sent(providing)
            events: list[hypha_arrow.TransferProgress] = []
            value, other = payload(SIZE), payload(SIZE // 2)
            with hypha_arrow.progress(events.append):
                reported = service.echo(value)
            unreported = service.echo(other)  # made outside the block, in flight at the same time
            echoed, _ = await asyncio.gather(reported, unreported)
            np.testing.assert_array_equal(echoed, value)
            assert len(requests) == len(replies) == 2 and min(requests) > CHUNK_MIN
            assert_one_message(events, "sent", max(requests), max(requests), full_id(providing))
            assert_one_message(events, "received", max(replies), max(replies), full_id(providing))

    run(body)


def test_a_connection_hook_reports_every_chunked_message_both_ways_and_drives_a_tqdm_bar(hypha_server: str) -> None:
    calling_events: list[hypha_arrow.TransferProgress] = []
    shown = io.StringIO()
    bar = tqdm(file=shown, unit="B", unit_scale=True, mininterval=0)

    async def body() -> None:
        async with pair(hypha_server, watched(bar), watched(calling_events.append)) as (providing, calling, service):
            request, reply = await echoed(providing, calling, service, SIZE)
            assert_one_message(calling_events, "sent", request, request, full_id(providing))
            assert_one_message(calling_events, "received", reply, reply, full_id(providing))
            assert bar.n == bar.total == request + reply  # the service received the request and sent the reply

    run(body)
    bar.close()
    assert "100%" in shown.getvalue()


def test_progress_to_and_from_a_stock_service_in_its_256_kib_chunks(hypha_server: str) -> None:
    async def body() -> None:
        async with pair(hypha_server, stock_client(), arrow_client()) as (providing, calling, service):
            events: list[hypha_arrow.TransferProgress] = []
            request, reply = await echoed(providing, calling, service, STOCK_SIZE, events.append)
            assert_one_message(events, "sent", request, request, full_id(providing))
            assert_one_message(events, "received", reply, None, full_id(providing))  # a stock sender declares no size
            chunk = calling.rpc._long_message_chunk_size
            assert {event.step for event in events if event.direction == "sent"} == {chunk, request % chunk}

    run(body)


def test_a_service_hook_reports_a_stock_callers_request_and_its_reply(hypha_server: str) -> None:
    events: list[hypha_arrow.TransferProgress] = []

    async def body() -> None:
        async with pair(hypha_server, watched(events.append), stock_client()) as (providing, calling, service):
            request, reply = await echoed(providing, calling, service, STOCK_SIZE)
            assert_one_message(events, "received", request, None, full_id(calling))
            assert_one_message(events, "sent", reply, reply, full_id(calling))

    run(body)
