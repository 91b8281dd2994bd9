"""Through a real server: what a hypha_arrow client believes about its peers, and chunked
messages that must reach them whatever they are (a client id that changed hands, an HTTP
client reading slowly, concurrent messages of one session, kept remote objects)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np
import pandas as pd
import pytest

from hypha_arrow.testing import assert_same
from tests.support.aio import run
from tests.support.server import arrow_client, stock_client

MiB = 1 << 20
CALL_TIMEOUT = 8.0
SIZES = pytest.mark.parametrize("nbytes", [800_000, 20 * MiB], ids=["sent-whole", "chunked"])


async def reconnect_as(client: Any, url: str, connect: Any) -> Any:
    """Disconnect ``client`` and connect ``connect`` in its place: same workspace, same client id."""
    workspace, client_id = client.config.workspace, client.config.client_id
    token = await client.generate_token()
    await client.disconnect()
    await asyncio.sleep(0.5)  # the server lets the id go
    return await connect({"server_url": url, "workspace": workspace, "token": token, "client_id": client_id, "method_timeout": CALL_TIMEOUT})


@SIZES
def test_caller_keeps_working_when_a_stock_client_takes_over_its_providers_client_id(hypha_server: str, nbytes: int) -> None:
    array = np.random.default_rng(1).random(nbytes // 8)

    async def body() -> None:
        provider = await arrow_client()(hypha_server)
        caller = await arrow_client(method_timeout=CALL_TIMEOUT)(hypha_server)
        replacement = None
        try:
            info = await provider.register_service({"id": "nbytes", "config": {"visibility": "public"}, "nbytes": lambda a: int(a.nbytes)})
            service = await caller.get_service(info.id)
            assert await service.nbytes(array) == nbytes  # hybrid: the caller knows a hypha_arrow provider
            replacement = await reconnect_as(provider, hypha_server, lambda config: stock_client(**config)(config.pop("server_url")))
            await replacement.register_service({"id": "nbytes", "config": {"visibility": "public"}, "nbytes": lambda a: int(a.nbytes)})
            started = time.monotonic()
            assert await service.nbytes(array) == nbytes  # the same proxy, its methods still tagged
            assert time.monotonic() - started < CALL_TIMEOUT / 2, "the call waited for a timeout"
        finally:
            await caller.disconnect()
            if replacement is not None:
                await replacement.disconnect()

    run(body)


@SIZES
def test_provider_replies_stock_to_a_stock_client_that_took_over_a_hypha_arrow_callers_id(hypha_server: str, nbytes: int) -> None:
    array = np.random.default_rng(2).random(nbytes // 8)

    async def body() -> None:
        provider = await arrow_client()(hypha_server)
        caller = await arrow_client(method_timeout=CALL_TIMEOUT)(hypha_server)
        replacement = None
        try:
            info = await provider.register_service({"id": "echo", "config": {"visibility": "public"}, "echo": lambda a: a})
            assert_same(array, await (await caller.get_service(info.id)).echo(array))  # the provider heard `_ha`
            replacement = await reconnect_as(caller, hypha_server, lambda config: stock_client(**config)(config.pop("server_url")))
            service = await replacement.get_service(info.id)
            started = time.monotonic()
            assert_same(array, await service.echo(array))
            assert time.monotonic() - started < CALL_TIMEOUT / 2, "the reply waited for a timeout"
        finally:
            if replacement is not None:
                await replacement.disconnect()
            await provider.disconnect()

    run(body)


def test_callback_called_four_times_at_once_with_large_dataframes_gets_each(hypha_server: str) -> None:
    """The four calls share one session: each chunked message needs its own cache key."""
    frame = pd.DataFrame({"a": np.arange(400_000), "b": np.random.default_rng(3).random(400_000)})  # 6.4 MB

    async def fan_out(callback: Any) -> list[int]:
        return list(await asyncio.gather(*(callback(frame.iloc[: len(frame) - i]) for i in range(4))))

    async def body() -> None:
        provider = await arrow_client()(hypha_server)
        caller = await arrow_client(method_timeout=30)(hypha_server)
        try:
            info = await provider.register_service({"id": "fan", "config": {"visibility": "public"}, "fan_out": fan_out})
            service = await caller.get_service(info.id)
            received: list[pd.DataFrame] = []

            def callback(part: pd.DataFrame) -> int:
                received.append(part)
                return len(part)

            assert await service.fan_out(callback) == [len(frame) - i for i in range(4)]
            for part in sorted(received, key=len, reverse=True):
                assert_same(frame.iloc[: len(part)], part)
        finally:
            await caller.disconnect()
            await provider.disconnect()

    run(body)


@pytest.mark.parametrize("holder", ["provider", "caller"])
def test_kept_remote_object_takes_a_large_dataframe_in_a_later_call(hypha_server: str, holder: str) -> None:
    """A kept object's methods carry the session of the call that handed it over, long gone at
    its owner: a large argument in a later call must not depend on that session."""
    frame = pd.DataFrame({"x": np.random.default_rng(4).random(200_000)})  # 1.6 MB
    kept: list[pd.DataFrame] = []
    subscribers: list[Any] = []

    def sink() -> dict[str, Any]:
        return {"_rintf": True, "put": lambda part: kept.append(part) or len(kept)}

    async def publish() -> int:
        return await subscribers[-1].put(frame)

    methods = {"open": sink, "subscribe": subscribers.append, "publish": publish}

    async def body() -> None:
        provider = await arrow_client()(hypha_server)
        caller = await arrow_client(method_timeout=CALL_TIMEOUT)(hypha_server)
        try:
            info = await provider.register_service({"id": "stores", "config": {"visibility": "public"}, **methods})
            service = await caller.get_service(info.id)
            if holder == "caller":  # the caller keeps the provider's object and calls it
                store = await service.open()
                assert [await store.put(frame), await store.put(frame)] == [1, 2]
            else:  # the provider keeps the caller's object and calls it in a later call
                await service.subscribe(sink())
                assert [await service.publish(), await service.publish()] == [1, 2]
            for part in kept:
                assert_same(frame, part)
        finally:
            await caller.disconnect()
            await provider.disconnect()

    run(body)


@pytest.mark.parametrize("caller_kind", ["stock", "hypha_arrow"])
def test_large_reply_reaches_an_http_caller_that_reads_slowly(hypha_server: str, caller_kind: str) -> None:
    """The server queues about 100 messages for an HTTP client and drops the rest: a reply in
    more chunks than that must wait for the reader, not overrun it."""
    chunks = 160
    nbytes = chunks * (256 << 10 if caller_kind == "stock" else 1 << 20)
    array = np.random.default_rng(5).random(nbytes // 8)
    connect = stock_client if caller_kind == "stock" else arrow_client

    async def body() -> None:
        provider = await arrow_client()(hypha_server)
        caller = await connect(transport="http", method_timeout=60)(hypha_server)
        try:
            slow_down(caller.rpc._connection, seconds_per_message=0.01)
            info = await provider.register_service({"id": "make", "config": {"visibility": "public"}, "make": lambda: array})
            assert_same(array, await (await caller.get_service(info.id)).make())
        finally:
            await caller.disconnect()
            await provider.disconnect()

    run(body, timeout=180)


def slow_down(connection: Any, seconds_per_message: float) -> None:
    """Make an HTTP client read its stream as if over a slow link (the test's own client)."""
    handle = connection._handle_message
    is_async = connection._is_async

    async def slowly(frame: bytes) -> None:
        await asyncio.sleep(seconds_per_message)
        if is_async:
            await handle(frame)
        else:
            handle(frame)

    connection._handle_message = slowly
    connection._is_async = True
