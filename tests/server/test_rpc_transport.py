"""End to end through a real Hypha server: stock/hypha_arrow compatibility, large payloads,
compression, the HTTP transport, ``enable()``/``disable()`` and the sync API."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import hypha_arrow
from hypha_arrow.rpc import transfer
from hypha_arrow.testing import assert_same
from tests.support.aio import run
from tests.support.server import FRAME, arrow_client, count_sent_bytes, serve, stock_client

MiB = 1 << 20
UNSUPPORTED = "Unsupported data type: <class 'pandas"


@pytest.fixture(autouse=True)
def integration_left_disabled() -> Iterator[None]:
    """No test here may leave ``hypha_arrow.enable()`` in effect for the next one."""
    yield
    hypha_arrow.disable()


def plain_stock_client() -> Any:
    """A stock client, checked to really be stock (no process-wide ``enable()`` leaked in)."""
    connect = stock_client()

    async def checked(url: str) -> Any:
        from hypha_rpc.rpc import RPC

        client = await connect(url)
        assert type(client.rpc) is RPC, "enable() leaked into a stock client"
        return client

    return checked


KINDS = {"stock": plain_stock_client, "hypha_arrow": arrow_client}
MATRIX = pytest.mark.parametrize(
    ("caller_kind", "provider_kind"),
    [("hypha_arrow", "hypha_arrow"), ("hypha_arrow", "stock"), ("stock", "hypha_arrow"), ("stock", "stock")],
)


def matrix_serve(url: str, methods: dict[str, Any], caller_kind: str, provider_kind: str) -> Any:
    return serve(url, methods, provider=KINDS[provider_kind](), caller=KINDS[caller_kind]())


# -- 2. the compatibility matrix ---------------------------------------------------------------


@MATRIX
def test_numpy_arrays_round_trip_between_stock_and_hypha_arrow_clients(hypha_server: str, caller_kind: str, provider_kind: str) -> None:
    large = np.random.default_rng(1).random(100_000)
    small = np.arange(7, dtype=np.int32)
    received: list[Any] = []

    def take(array: np.ndarray) -> np.ndarray:
        received.append(array)
        return array

    async def body() -> None:
        async with matrix_serve(hypha_server, {"take": take}, caller_kind, provider_kind) as service:
            assert_same(large, await service.take(large))
            assert_same(small, await service.take(small))
            assert_same(np.arange(3_000_000, dtype=np.float32), await service.take(np.arange(3_000_000, dtype=np.float32)))
        assert_same(large, received[0])
        assert_same(small, received[1])

    run(body)


@MATRIX
def test_small_int_and_str_calls_work_between_stock_and_hypha_arrow_clients(hypha_server: str, caller_kind: str, provider_kind: str) -> None:
    methods = {"add": lambda a, b: a + b, "greet": lambda name, punctuation="!": f"hello {name}{punctuation}"}

    async def body() -> None:
        async with matrix_serve(hypha_server, methods, caller_kind, provider_kind) as service:
            assert await service.add(2, 3) == 5
            assert await service.greet("world") == "hello world!"
            assert await service.greet("you", punctuation="?") == "hello you?"
            assert await service.add([1, "a"], [{"k": None}]) == [1, "a", {"k": None}]

    run(body)


@MATRIX
def test_dataframe_works_between_hypha_arrow_clients_and_raises_on_the_sender_towards_a_stock_peer(
    hypha_server: str, caller_kind: str, provider_kind: str
) -> None:
    methods = {"echo": lambda value: value, "make": lambda: FRAME.head(100)}

    async def body() -> None:
        async with matrix_serve(hypha_server, methods, caller_kind, provider_kind) as service:
            if caller_kind == provider_kind == "hypha_arrow":
                assert_same(FRAME.head(100), await service.echo(FRAME.head(100)))
                assert_same(FRAME.head(100), await service.make())
                return
            # the caller sends: it raises itself, before anything is sent
            with pytest.raises(Exception, match=UNSUPPORTED):
                await asyncio.wait_for(service.echo(FRAME.head(100)), 30)
            # the service sends: its encoding error comes back to the caller as a remote error
            with pytest.raises(Exception, match=UNSUPPORTED):
                await asyncio.wait_for(service.make(), 30)
            assert await service.echo("still connected") == "still connected"

    run(body)


# -- 4, 5. large payloads ----------------------------------------------------------------------


def test_payload_over_the_16_mib_server_frame_limit_is_echoed_exactly_in_large_chunks(hypha_server: str) -> None:
    array = np.random.default_rng(2).random(24 * MiB // 8)

    async def body() -> None:
        async with serve(hypha_server, {"echo": lambda value: value}) as service:
            sizes = count_sent_bytes(service.echo._rpc)
            assert_same(array, await service.echo(array))
            # the provider's reply to ``create`` confirmed a hypha_arrow peer: 960 KiB chunks, not 256 KiB
            chunks = [size for size in sizes if size > 64 * 1024]
            assert len(chunks) == -(-array.nbytes // transfer.CHUNK_MIN), sizes
            assert max(sizes) < MiB, "a chunk over stock's 1 MiB frame limit"
            assert await service.echo(1) == 1

    run(body)


def test_more_arrays_than_max_columns_in_one_call_are_echoed_exactly(hypha_server: str) -> None:
    """10,001 arrays (embeddings, image tiles) once made a frame the receiver refused, and the
    call hung until its timeout; the arrays past max_columns now travel in hypha-rpc's form."""
    arrays = [np.full(130, i, dtype="f8") for i in range(10_001)]

    async def body() -> None:
        async with serve(hypha_server, {"echo": lambda value: value}) as service:
            echoed = await service.echo(arrays)
            assert len(echoed) == len(arrays)
            for sent, got in zip(arrays[::1000] + arrays[-2:], echoed[::1000] + echoed[-2:]):
                assert_same(sent, got)

    run(body)


@pytest.fixture(scope="module")
def payload_520_mib() -> np.ndarray:
    """520 MiB of random bytes: 2080 chunks of 256 KiB, more than the server's burst of 2000."""
    return np.frombuffer(np.random.default_rng(3).bytes(520 * MiB), dtype=np.uint8)


def test_payload_beyond_the_rate_limit_burst_is_echoed_exactly_and_both_clients_stay_connected(
    hypha_server: str, payload_520_mib: np.ndarray
) -> None:
    async def body() -> None:
        async with serve(hypha_server, {"echo": lambda value: value}) as service:
            echoed = await service.echo(payload_520_mib)
            assert type(echoed) is np.ndarray and echoed.dtype == np.uint8 and echoed.shape == payload_520_mib.shape
            assert np.array_equal(echoed, payload_520_mib)
            del echoed
            assert await service.echo(2) == 2  # neither connection was closed by the rate limit
            assert_same(FRAME.head(10), await service.echo(FRAME.head(10)))

    run(body, timeout=240)


def test_payload_beyond_the_burst_in_256_kib_chunks_reaches_a_stock_service_and_both_stay_connected(
    hypha_server: str, payload_520_mib: np.ndarray
) -> None:
    """A hypha_arrow caller must use hypha-rpc's 256 KiB chunks towards a stock service:
    2080 chunks, which the sender must pace under the server's rate limit."""

    def digest(array: np.ndarray) -> dict[str, Any]:
        return {"size": int(array.size), "dtype": str(array.dtype), "sha256": hashlib.sha256(memoryview(array)).hexdigest()}

    async def body() -> None:
        async with serve(
            hypha_server, {"digest": digest, "echo": lambda value: value}, provider=plain_stock_client(), caller=arrow_client()
        ) as service:
            expected = hashlib.sha256(memoryview(payload_520_mib)).hexdigest()
            sizes = count_sent_bytes(service.digest._rpc)
            assert await service.digest(payload_520_mib) == {"size": 520 * MiB, "dtype": "uint8", "sha256": expected}
            assert len(sizes) > 2000, f"{len(sizes)} frames: not sent in stock-sized chunks"
            assert max(sizes) < 256 * 1024 + 4096, max(sizes)
            assert await service.echo(3) == 3

    run(body, timeout=240)


# -- 6. compression ----------------------------------------------------------------------------

COMPRESSIBLE = np.arange(2_000_000, dtype=np.int64) % 10  # 16 MB


@pytest.mark.parametrize("algorithm", [None, "zstd", "auto", "lz4"])
def test_compressible_array_and_dataframe_round_trip_with_compression_setting(hypha_server: str, algorithm: str | None) -> None:
    config = hypha_arrow.Config(compression_algorithm=algorithm)

    async def body() -> None:
        async with serve(hypha_server, {"echo": lambda value: value}, provider=arrow_client(config), caller=arrow_client(config)) as service:
            assert_same(COMPRESSIBLE, await service.echo(COMPRESSIBLE))
            assert_same(FRAME, await service.echo(FRAME))

    run(body)


@pytest.mark.parametrize(
    ("algorithm", "compressed"), [(None, False), ("zstd", True), ("lz4", True), ("auto", True)]
)
def test_compression_setting_decides_how_many_bytes_the_caller_sends(hypha_server: str, algorithm: str | None, compressed: bool) -> None:
    async def body() -> None:
        provider = await arrow_client()(hypha_server)  # the receiver's own setting does not matter
        caller = await arrow_client(hypha_arrow.Config(compression_algorithm=algorithm))(hypha_server)
        try:
            info = await provider.register_service({"id": "probe", "config": {"visibility": "public"}, "echo": lambda v: v})
            service = await caller.get_service(info.id)
            sizes = count_sent_bytes(caller.rpc)
            assert_same(COMPRESSIBLE, await service.echo(COMPRESSIBLE))
            sent = sum(sizes)
            if compressed:
                assert sent < COMPRESSIBLE.nbytes / 4, sent
            else:
                assert sent >= COMPRESSIBLE.nbytes, sent
        finally:
            await caller.disconnect()
            await provider.disconnect()

    run(body)


def test_auto_compression_sends_incompressible_data_uncompressed_and_exact(hypha_server: str) -> None:
    noise = np.random.default_rng(7).random(1_000_000)

    async def body() -> None:
        provider = await arrow_client()(hypha_server)
        caller = await arrow_client(hypha_arrow.Config(compression_algorithm="auto"))(hypha_server)
        try:
            info = await provider.register_service({"id": "probe", "config": {"visibility": "public"}, "echo": lambda v: v})
            service = await caller.get_service(info.id)
            sizes = count_sent_bytes(caller.rpc)
            assert_same(noise, await service.echo(noise))
            assert sum(sizes) >= noise.nbytes
        finally:
            await caller.disconnect()
            await provider.disconnect()

    run(body)


def test_compressed_sender_and_uncompressed_sender_understand_each_other(hypha_server: str) -> None:
    async def body() -> None:
        async with serve(
            hypha_server,
            {"echo": lambda value: value},
            provider=arrow_client(hypha_arrow.Config(compression_algorithm=None)),
            caller=arrow_client(hypha_arrow.Config(compression_algorithm="zstd")),
        ) as service:
            assert_same(COMPRESSIBLE, await service.echo(COMPRESSIBLE))
            assert_same(FRAME, await service.echo(FRAME))

    run(body)


# -- 7. the HTTP transport ---------------------------------------------------------------------


def test_http_caller_exchanges_arrays_and_dataframes_with_a_websocket_service(hypha_server: str) -> None:
    big = np.random.default_rng(4).random(20_000_000 // 8)  # 20 MB
    small = np.arange(50_000, dtype=np.int16).reshape(250, 200)
    received: list[Any] = []

    def take(value: Any) -> str:
        received.append(value)
        return "ok"

    methods = {"echo": lambda value: value, "take": take, "make": lambda: {"frame": FRAME, "array": big}}

    async def body() -> None:
        async with serve(hypha_server, methods, caller=arrow_client(transport="http")) as service:
            assert type(service.echo._rpc._connection).__name__.startswith("HTTP")
            assert await service.take(big) == "ok"
            assert await service.take(FRAME) == "ok"
            assert_same(small, await service.echo(small))
            assert_same(FRAME, await service.echo(FRAME))
            made = await service.make()
            assert_same(FRAME, made["frame"])
            assert_same(big, made["array"])
            assert_same(big, await service.echo(big))
        assert_same(big, received[0])
        assert_same(FRAME, received[1])

    run(body)


# -- 8. enable() / disable() -------------------------------------------------------------------


def test_after_enable_plain_hypha_rpc_clients_exchange_dataframes(hypha_server: str) -> None:
    async def body() -> None:
        async with serve(hypha_server, {"echo": lambda value: value}, provider=stock_client(), caller=stock_client()) as service:
            assert_same(FRAME, await service.echo(FRAME))
            assert_same(np.arange(1_000_000.0), await service.echo(np.arange(1_000_000.0)))

    hypha_arrow.enable()
    try:
        run(body)
    finally:
        hypha_arrow.disable()


def test_enable_with_a_config_applies_it_to_plain_clients(hypha_server: str) -> None:
    async def body() -> None:
        provider = await stock_client()(hypha_server)
        caller = await stock_client()(hypha_server)
        try:
            info = await provider.register_service({"id": "probe", "config": {"visibility": "public"}, "echo": lambda v: v})
            service = await caller.get_service(info.id)
            sizes = count_sent_bytes(caller.rpc)
            assert_same(COMPRESSIBLE, await service.echo(COMPRESSIBLE))
            assert sum(sizes) < COMPRESSIBLE.nbytes / 4, sum(sizes)
        finally:
            await caller.disconnect()
            await provider.disconnect()

    hypha_arrow.enable(hypha_arrow.Config(compression_algorithm="zstd"))
    try:
        run(body)
    finally:
        hypha_arrow.disable()


def test_after_disable_new_plain_clients_are_stock_again(hypha_server: str) -> None:
    hypha_arrow.enable()
    hypha_arrow.disable()

    async def body() -> None:
        async with serve(hypha_server, {"echo": lambda value: value}, provider=plain_stock_client(), caller=plain_stock_client()) as service:
            with pytest.raises(Exception, match=UNSUPPORTED):
                await asyncio.wait_for(service.echo(FRAME.head(100)), 30)
            assert_same(np.arange(100_000.0), await service.echo(np.arange(100_000.0)))
            assert await service.echo("text") == "text"

    run(body)


def test_disable_keeps_existing_hypha_arrow_connections_working(hypha_server: str) -> None:
    async def body() -> None:
        hypha_arrow.enable()
        try:
            provider = await stock_client()(hypha_server)
            caller = await stock_client()(hypha_server)
        finally:
            hypha_arrow.disable()
        try:
            info = await provider.register_service({"id": "probe", "config": {"visibility": "public"}, "echo": lambda v: v})
            service = await caller.get_service(info.id)
            assert_same(FRAME, await service.echo(FRAME))
        finally:
            await caller.disconnect()
            await provider.disconnect()

    run(body)


def test_sync_api_after_enable_echoes_a_dataframe(hypha_server: str) -> None:
    from hypha_rpc.sync import connect_to_server as sync_connect

    hypha_arrow.enable()
    try:
        provider = sync_connect({"server_url": hypha_server})
        try:
            caller = sync_connect({"server_url": hypha_server})
            try:
                info = provider.register_service({"id": "probe", "config": {"visibility": "public"}, "echo": lambda value: value})
                service = caller.get_service(info.id)
                assert_same(FRAME, service.echo(FRAME))
                assert_same(np.arange(100_000, dtype=np.uint32), service.echo(np.arange(100_000, dtype=np.uint32)))
            finally:
                caller.disconnect()
        finally:
            provider.disconnect()
    finally:
        hypha_arrow.disable()
