"""hypha_arrow clients through a real Hypha server: types both ways, stock compatibility, large payloads."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypha_rpc import connect_to_server as stock_connect

import hypha_arrow
from hypha_arrow.local_server import LocalServer

Connect = Callable[[str], Awaitable[Any]]


@pytest.fixture(scope="module")
def server_url() -> str:
    with LocalServer() as server:
        yield server.url


def arrow_client(config: hypha_arrow.Config | None = None, **options: Any) -> Connect:
    return lambda url: hypha_arrow.connect_to_server({"server_url": url, **options}, arrow=config)


def stock_client(url: str) -> Awaitable[Any]:
    return stock_connect({"server_url": url})


def with_service(url: str, service: dict[str, Any], body: Callable[[Any], Awaitable[None]], *,
                 provider: Connect = arrow_client(), caller: Connect = arrow_client()) -> None:
    """Register ``service`` on one client, run ``body`` with it as seen from another client."""

    async def run() -> None:
        providing = await provider(url)
        calling = await caller(url)
        try:
            info = await providing.register_service({"config": {"visibility": "public"}, **service})
            await body(await calling.get_service(info.id))
        finally:
            await calling.disconnect()
            await providing.disconnect()

    asyncio.run(run())


def echo_service(**extra: Any) -> dict[str, Any]:
    return {"id": "echo", "echo": lambda value: value, **extra}


def assert_same(expected: Any, actual: Any) -> None:
    if isinstance(expected, np.ndarray):
        assert isinstance(actual, np.ndarray) and actual.dtype == expected.dtype
        np.testing.assert_array_equal(actual, expected)
    elif isinstance(expected, pd.DataFrame):
        pd.testing.assert_frame_equal(actual, expected, check_exact=True)
    elif isinstance(expected, pd.Series):
        pd.testing.assert_series_equal(actual, expected, check_exact=True)
    elif isinstance(expected, (pa.Table, pa.Array)):
        assert type(actual) is type(expected) and actual.equals(expected)
    elif isinstance(expected, dict):
        assert set(actual) == set(expected)
        for key in expected:
            assert_same(expected[key], actual[key])
    elif isinstance(expected, list):
        assert len(actual) == len(expected)
        for left, right in zip(expected, actual):
            assert_same(left, right)
    else:
        assert type(actual) is type(expected) and actual == expected


FRAME = pd.DataFrame(
    {
        "id": np.arange(50_000),
        "value": np.linspace(0, 1, 50_000),
        "label": pd.Categorical(np.array(["a", "b", "c"])[np.arange(50_000) % 3]),
        "count": pd.array([i if i % 7 else None for i in range(50_000)], dtype="Int64"),
    },
    index=pd.Index(np.arange(50_000) * 2, name="row"),
)
VALUES = {
    "float64 array": np.random.default_rng(0).random(1_000_000),
    "int16 image": np.arange(3 * 200 * 300, dtype="i2").reshape(3, 200, 300),
    "datetime array": np.arange(5000).astype("M8[s]"),
    "numpy scalar": np.float32(2.5),
    "DataFrame": FRAME,
    "Series": FRAME["value"],
    "Arrow table": pa.table({"x": np.arange(10_000), "y": [str(i) for i in range(10_000)]}),
    "string list": [f"s{i}" for i in range(10_000)],
    "record list": [{"id": i, "name": f"n{i}", "score": i / 3} for i in range(10_000)],
    "nested": {"a": [np.arange(5000.0), {"frame": FRAME.head(100)}], "note": "x"},
}


@pytest.mark.parametrize("name", list(VALUES))
def test_value_round_trips_as_argument_and_return_value(server_url: str, name: str) -> None:
    value = VALUES[name]

    async def body(service: Any) -> None:
        assert_same(value, await service.echo(value))

    with_service(server_url, echo_service(), body)


def test_keyword_arguments_and_values_in_containers_arrive_typed(server_url: str) -> None:
    seen: dict[str, Any] = {}

    def analyse(frame: Any, weights: Any = None, options: Any = None) -> dict[str, Any]:
        seen.update(frame=frame, weights=weights, options=options)
        return {"frame": frame, "total": weights.sum(), "parts": [weights[:10], frame.head(3)]}

    async def body(service: Any) -> None:
        weights = np.ones(200_000)
        result = await service.analyse(FRAME, weights=weights, options={"inner": [np.arange(3000)]})
        assert isinstance(seen["frame"], pd.DataFrame) and isinstance(seen["weights"], np.ndarray)
        assert_same(np.arange(3000), seen["options"]["inner"][0])
        assert_same(FRAME, result["frame"])
        assert result["total"] == 200_000
        assert_same(weights[:10], result["parts"][0])
        assert_same(FRAME.head(3), result["parts"][1])

    with_service(server_url, {"id": "analysis", "analyse": analyse}, body)


def test_callback_receives_a_dataframe(server_url: str) -> None:
    async def notify(callback: Any) -> str:
        await callback(FRAME.head(5000))
        return "done"

    async def body(service: Any) -> None:
        received: list[Any] = []
        assert await service.notify(lambda frame: received.append(frame)) == "done"
        assert_same(FRAME.head(5000), received[0])

    with_service(server_url, {"id": "events", "notify": notify}, body)


def test_generator_yields_dataframes(server_url: str) -> None:
    async def batches(count: int) -> Any:
        for index in range(count):
            yield FRAME.iloc[index * 1000 : (index + 1) * 1000]

    async def body(service: Any) -> None:
        received = [frame async for frame in await service.batches(3)]
        assert len(received) == 3
        for index, frame in enumerate(received):
            assert_same(FRAME.iloc[index * 1000 : (index + 1) * 1000], frame)

    with_service(server_url, {"id": "stream", "batches": batches}, body)


@pytest.mark.parametrize("caller_kind", ["stock", "hypha_arrow"])
@pytest.mark.parametrize("provider_kind", ["stock", "hypha_arrow"])
def test_stock_and_hypha_arrow_clients_interoperate(server_url: str, caller_kind: str, provider_kind: str) -> None:
    kinds = {"stock": stock_client, "hypha_arrow": arrow_client()}
    array = np.random.default_rng(1).random(100_000)

    async def body(service: Any) -> None:
        assert_same(array, await service.echo(array))
        assert_same(np.arange(5), await service.echo(np.arange(5)))
        assert await service.echo("text") == "text" and await service.echo(7) == 7
        if "stock" in (caller_kind, provider_kind):
            with pytest.raises(Exception, match="Unsupported data type"):
                await asyncio.wait_for(service.echo(FRAME.head(10)), 30)
        else:
            assert_same(FRAME.head(10), await service.echo(FRAME.head(10)))

    with_service(server_url, echo_service(), body, provider=kinds[provider_kind], caller=kinds[caller_kind])


def test_payload_over_the_16_mib_frame_limit_goes_through(server_url: str) -> None:
    array = np.random.default_rng(2).random(3_000_000)  # 24 MB

    async def body(service: Any) -> None:
        assert_same(array, await service.echo(array))
        assert await service.echo(1) == 1

    with_service(server_url, echo_service(), body)


def test_payload_beyond_the_rate_limit_burst_in_stock_chunks_goes_through(server_url: str) -> None:
    # 600 MB would be 2400 chunks of 256 KiB: more than the server's burst of 2000 messages
    payload = np.frombuffer(np.random.default_rng(3).bytes(600 * 2**20), dtype=np.uint8)

    async def body(service: Any) -> None:
        assert_same(payload, await service.echo(payload))
        assert await service.echo(2) == 2  # the connections were not closed

    with_service(server_url, echo_service(), body)


@pytest.mark.parametrize("algorithm", [None, "lz4", "zstd", "auto"])
def test_compression_settings_round_trip(server_url: str, algorithm: str | None) -> None:
    config = hypha_arrow.Config(compression_algorithm=algorithm)
    compressible = np.arange(2_000_000) % 10

    async def body(service: Any) -> None:
        assert_same(compressible, await service.echo(compressible))
        assert_same(FRAME, await service.echo(FRAME))

    with_service(server_url, echo_service(), body, provider=arrow_client(config), caller=arrow_client(config))


def test_http_transport_carries_hybrid_frames(server_url: str) -> None:
    array = np.random.default_rng(4).random(2_500_000)  # 20 MB

    async def body(service: Any) -> None:
        assert_same(array, await service.echo(array))
        assert_same(FRAME, await service.echo(FRAME))

    with_service(server_url, echo_service(), body, caller=arrow_client(transport="http"))


def test_enable_switches_plain_hypha_rpc_connections_and_disable_switches_back(server_url: str) -> None:
    async def body(service: Any) -> None:
        assert_same(FRAME.head(100), await service.echo(FRAME.head(100)))

    hypha_arrow.enable()
    try:
        with_service(server_url, echo_service(), body, provider=stock_client, caller=stock_client)
    finally:
        hypha_arrow.disable()

    async def refused(service: Any) -> None:
        with pytest.raises(Exception, match="Unsupported data type"):
            await service.echo(FRAME.head(100))

    with_service(server_url, echo_service(), refused, provider=stock_client, caller=stock_client)


def test_sync_api_after_enable(server_url: str) -> None:
    from hypha_rpc.sync import connect_to_server as sync_connect

    hypha_arrow.enable()
    try:
        provider = sync_connect({"server_url": server_url})
        caller = sync_connect({"server_url": server_url})
        try:
            info = provider.register_service({"id": "echo-sync", "config": {"visibility": "public"}, "echo": lambda value: value})
            assert_same(FRAME.head(1000), caller.get_service(info.id).echo(FRAME.head(1000)))
        finally:
            caller.disconnect()
            provider.disconnect()
    finally:
        hypha_arrow.disable()


def test_errors_and_missing_methods_behave_as_in_hypha_rpc(server_url: str) -> None:
    def fail(frame: Any) -> None:
        raise ValueError(f"bad frame with {len(frame)} rows")

    async def body(service: Any) -> None:
        with pytest.raises(Exception, match="bad frame with 50000 rows"):
            await service.fail(FRAME)
        with pytest.raises(Exception):
            await service.missing(1)

    with_service(server_url, {"id": "failing", "fail": fail}, body)


def test_unsupported_hypha_rpc_version_is_refused() -> None:
    script = (
        "import hypha_rpc, hypha_arrow\n"
        "hypha_rpc.__version__ = '0.99.0'\n"
        "try:\n    hypha_arrow.enable()\nexcept RuntimeError as error:\n    print(error)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert "hypha_arrow supports hypha-rpc 0.21.47; 0.99.0 is installed" in result.stdout, result.stderr


def test_get_remote_service_path_uses_hybrid_frames_after_enable(server_url: str) -> None:
    from hypha_rpc import get_remote_service

    async def run() -> None:
        provider = await hypha_arrow.connect_to_server({"server_url": server_url})
        try:
            info = await provider.register_service(echo_service(config={"visibility": "public"}))
            workspace, service_id = info.id.split("/", 1)
            hypha_arrow.enable()
            try:
                service = await get_remote_service(f"{server_url}/{workspace}/services/{service_id}")
            finally:
                hypha_arrow.disable()
            assert_same(FRAME.head(500), await service.echo(FRAME.head(500)))
        finally:
            await provider.disconnect()

    asyncio.run(run())
