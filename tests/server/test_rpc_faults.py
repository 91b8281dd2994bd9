"""Faults through real Hypha servers: a peer that leaves mid-transfer, a server restart
mid-transfer, and a stock peer sent a hybrid frame by mistake.

Each must end in an error the caller sees within its ``method_timeout`` (never a hang),
leave the server and the other clients working, and leave no partial message or payload
memory behind on either side.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from typing import Any

import numpy as np
import pytest

import hypha_arrow
from hypha_arrow import framing
from hypha_arrow.rpc.peers import METHOD_TAG
from hypha_arrow.tools.local_server import LocalServer
from hypha_arrow.rpc import transfer
from hypha_arrow.testing import assert_same
from tests.support.aio import run, until
from tests.support.server import FRAME, arrow_client, count_sent_bytes, settled_rss, stock_client, watch

MiB = 1 << 20
CALL_TIMEOUT = 8.0
"""The callers' ``method_timeout``: every failure here must reach the caller within it."""
IDLE_TIMEOUT = 2.0
"""The receivers' ``transfer_idle_timeout``: a partial message must be gone this long after its last chunk."""
TRANSFER_BYTES = 256 * MiB
"""Large enough that the fault lands mid-transfer (about a second of chunks on the CI machine)."""
MEMORY_BOUND = 64 * MiB
"""Settled RSS after a failed transfer, over what it was before the payload existed: a leaked
payload or frame would add at least 256 MiB."""


def partial_chunks(client: Any) -> int:
    """Chunks of unfinished messages held in ``client``'s hypha-rpc message cache."""
    return sum(len(chunks) for chunks in client.rpc._object_store.get("message_cache", {}).values())


def receiving_state_is_empty(client: Any) -> bool:
    return not client.rpc._object_store.get("message_cache") and len(client.rpc.arrow.transfers) == 0


def receiving_state(client: Any) -> str:
    cache = client.rpc._object_store.get("message_cache", {})
    return f"cache {[(key, len(chunks)) for key, chunks in cache.items()]}, transfers {client.rpc.arrow.transfers!r}"


def idle_receiver() -> Any:
    return arrow_client(hypha_arrow.Config(transfer_idle_timeout=IDLE_TIMEOUT))


@pytest.fixture
def unretrieved_errors(caplog: pytest.LogCaptureFixture) -> Any:
    """Fails the test if a send's error was dropped unread (asyncio logs it when collected)."""
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        yield
        gc.collect()  # asyncio reports an unread error when its future is collected
    records = caplog.get_records("call") + caplog.records  # the latter: this teardown's
    dropped = [record.getMessage() for record in records if "never retrieved" in record.getMessage()]
    assert not dropped, dropped[0]


# -- capability mismatch ------------------------------------------------------------------------


@pytest.mark.parametrize("elements", [1_000, MiB], ids=["sent-whole", "chunked"])
def test_stock_service_sent_a_hybrid_frame_by_mistake_gets_the_call_again_stock_at_once(hypha_server: str, elements: int) -> None:
    """A stock client that took over a hypha_arrow client's id still has its ``_rarrow`` tags
    at the caller: it refuses the hybrid frame while decoding it, before its method runs, and
    the caller sends the call again, stock, and stays stock towards it."""
    received: list[Any] = []

    def take(array: Any) -> int:
        received.append(array)
        return int(array.nbytes)

    async def body() -> None:
        provider = await stock_client()(hypha_server)
        caller = await arrow_client(method_timeout=CALL_TIMEOUT)(hypha_server)
        try:
            dropped = watch(provider)
            info = await provider.register_service({"id": "stock-take", "config": {"visibility": "public"}, "take": take})
            service = await caller.get_service(info.id)
            service.take._encoded_method[METHOD_TAG] = framing.FORMAT_VERSION  # wrongly believed capable
            sent = count_sent_bytes(caller.rpc)
            started = time.monotonic()
            assert await service.take(np.ones(elements)) == elements * 8
            assert time.monotonic() - started < CALL_TIMEOUT / 2, "the caller waited for its timeout instead of an answer"
            assert len(received) == 1 and np.array_equal(received[0], np.ones(elements)), "the method ran once, with the array"
            first = sum(sent)
            sent.clear()
            assert await service.take(np.ones(elements)) == elements * 8
            if elements * 8 > transfer.CHUNK_MIN:  # the reply to `create` came from a stock client: no chunk went hybrid
                assert first < sum(sent) * 1.05, f"{first} bytes for the first call, {sum(sent)} for a stock one"
            else:  # the whole hybrid frame, then the stock one
                assert sum(sent) < first * 0.75, "the second call went hybrid again"
            assert dropped == [] and partial_chunks(provider) == 0
        finally:
            await caller.disconnect()
            await provider.disconnect()

    run(body)


# -- a peer leaves mid-transfer -----------------------------------------------------------------


@pytest.mark.parametrize("workspace", ["its-own", "the-providers"])
def test_provider_leaving_mid_transfer_fails_the_call_and_others_are_unaffected(hypha_server: str, unretrieved_errors: None, workspace: str) -> None:
    """In its own workspace the caller hears of no disconnection, but the next acknowledged
    chunk gets the server's "not connected" or, when the server dropped it, times out; in the
    provider's workspace hypha-rpc hears of it at once. Either way the rest of the payload is
    not sent."""

    async def body() -> None:
        provider = await arrow_client()(hypha_server)
        bystander = await arrow_client()(hypha_server)
        options: dict[str, Any] = {"method_timeout": CALL_TIMEOUT}
        if workspace == "the-providers":
            options.update(workspace=provider.config.workspace, token=await provider.generate_token())
        caller = await arrow_client(**options)(hypha_server)
        try:
            dropped = watch(caller)
            info = await provider.register_service({"id": "leaving", "config": {"visibility": "public"}, "take": lambda a: a.nbytes})
            service = await caller.get_service(info.id)
            info = await bystander.register_service({"id": "staying", "config": {"visibility": "public"}, "echo": lambda v: v})
            other = await caller.get_service(info.id)

            sent = count_sent_bytes(caller.rpc)
            call = asyncio.ensure_future(service.take(np.ones(TRANSFER_BYTES // 8)))
            await until(lambda: partial_chunks(provider) > 0, 30, "chunks at the provider")
            await provider.disconnect()
            left = time.monotonic()
            with pytest.raises(Exception, match="not connected|message_cache.set" if workspace == "its-own" else "disconnected"):
                await call
            failed_after = time.monotonic() - left
            await asyncio.sleep(0.5)  # what is still sent after the failure shows here
            assert failed_after < (CALL_TIMEOUT + 2 if workspace == "its-own" else CALL_TIMEOUT / 2), "the caller waited for its own call's timeout"
            assert sum(sent) < TRANSFER_BYTES / 2, f"{sum(sent) / MiB:.0f} MiB sent to a departed client"
            print(f"\nprovider left ({workspace} workspace): the call failed {failed_after:.1f} s later, {sum(sent) / MiB:.0f} MiB sent")

            assert_same(FRAME.head(1000), await other.echo(FRAME.head(1000)))
            large = np.random.default_rng(7).random(2 * MiB)  # chunked: the transfer path still works
            assert_same(large, await other.echo(large))
            assert dropped == [], "the caller's connection dropped"
        finally:
            await caller.disconnect()
            await bystander.disconnect()

    run(body)


def test_caller_leaving_mid_transfer_leaves_no_partial_message_at_the_provider(hypha_server: str, unretrieved_errors: None) -> None:
    received: list[int] = []

    async def body() -> None:
        provider = await idle_receiver()(hypha_server)
        leaving = await arrow_client()(hypha_server)
        staying = await arrow_client()(hypha_server)
        try:
            info = await provider.register_service(
                {"id": "receiving", "config": {"visibility": "public"}, "take": lambda a: received.append(a.nbytes) or a.nbytes}
            )
            call = asyncio.ensure_future((await leaving.get_service(info.id)).take(np.ones(TRANSFER_BYTES // 8)))
            await until(lambda: partial_chunks(provider) > 0, 30, "chunks at the provider")
            await leaving.disconnect()
            with pytest.raises(Exception):
                await call
            # another workspace: the provider hears of no disconnection, only silence
            dropped_after = await until(
                lambda: receiving_state_is_empty(provider), IDLE_TIMEOUT + 1.5, "partial message dropped", lambda: receiving_state(provider)
            )
            print(f"\ncaller left: its partial message dropped by the provider {dropped_after:.1f} s later (idle timeout {IDLE_TIMEOUT} s)")

            service = await staying.get_service(info.id)
            assert await service.take(np.ones(4 * MiB)) == 32 * MiB
            assert received == [32 * MiB], "the partial message reached the service"
            assert receiving_state_is_empty(provider)
        finally:
            await staying.disconnect()
            await provider.disconnect()

    run(body)


# -- the server restarts mid-transfer -----------------------------------------------------------


def test_server_restart_mid_transfer_fails_the_call_then_clients_reconnect_and_leave_nothing_behind(unretrieved_errors: None) -> None:
    server = LocalServer(env={"JWT_SECRET": "restart-test-secret"})  # tokens stay valid across the restart

    def restart() -> None:
        server.stop()
        server.start()

    async def body() -> None:
        provider = await idle_receiver()(server.url)
        caller = await arrow_client(method_timeout=CALL_TIMEOUT)(server.url)
        try:
            events = {"provider": watch(provider), "caller": watch(caller)}
            info = await provider.register_service({"id": "restart", "config": {"visibility": "public"}, "echo": lambda v: v})
            service = await caller.get_service(info.id)
            before = settled_rss()

            call = asyncio.ensure_future(service.echo(np.ones(TRANSFER_BYTES // 8)))
            await until(lambda: partial_chunks(provider) > 0, 30, "chunks at the provider")
            restarted = time.monotonic()
            await asyncio.to_thread(restart)
            with pytest.raises(Exception):
                await call
            failed_after = time.monotonic() - restarted
            assert failed_after < CALL_TIMEOUT + 10, failed_after
            del call

            for side, seen in events.items():
                await until(lambda seen=seen: "reconnected" in seen, 60, f"{side} reconnected")
            reconnected_after = time.monotonic() - restarted
            small = np.arange(10)
            assert_same(small, await service.echo(small))
            large = np.random.default_rng(8).random(2 * MiB)
            assert_same(large, await service.echo(large))

            await until(lambda: receiving_state_is_empty(provider), IDLE_TIMEOUT + 5, "partial message dropped", lambda: receiving_state(provider))
            assert partial_chunks(caller) == 0
            growth = settled_rss() - before
            assert growth < MEMORY_BOUND
            print(
                f"\nserver restart: call failed after {failed_after:.1f} s, both clients reconnected after "
                f"{reconnected_after:.1f} s, settled RSS {growth / MiB:+.0f} MiB"
            )
        finally:
            await caller.disconnect()
            await provider.disconnect()

    server.start()
    try:
        run(body)
    finally:
        server.stop()
