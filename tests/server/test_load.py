"""Load through a real Hypha server: eight hypha_arrow callers call one hypha_arrow service at
once, each with a seeded mix of small calls, 8 MB float64 arrays and DataFrames.

A single echo (the ``test_rpc_*`` modules) cannot show what only concurrency shows: replies
crossed between callers, calls lost or run twice, a connection closed by the server's
per-client message rate limit (the service sends every reply, large ones as chunks, through
its one connection) and memory that grows with every round of large payloads. So every call
is checked both ways (the service's checksum of what it received, then the echoed value
exactly), every call id must reach the service exactly once, no connection may drop (as
hypha-rpc reports it, and as the server counts it), and the process's RSS must level off.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
import urllib.request
from collections import Counter
from typing import Any

import msgpack
import numpy as np
import pandas as pd

from hypha_arrow.testing import assert_same
from tests.support.aio import run
from tests.support.server import arrow_client, settled_rss, watch

MB = 1_000_000
CALLERS = 8
ROUND_KINDS = ("small",) * 6 + ("array",) * 2 + ("frame",) * 2
"""One round of one caller: 60% small calls, 20% 8 MB arrays, 20% DataFrames, in a seeded order."""
ROUNDS = 5
CALLS = ROUNDS * len(ROUND_KINDS)
ARRAY_ELEMENTS = 1_000_000
FRAME_ROWS = 20_000
SEED = 2026
LOAD_TIMEOUT = 120.0

SETTLED_AFTER_ROUND = 2
"""RSS is compared from the end of this round (allocator pools and caches warmed up) to the end of the last."""
RSS_GROWTH_BOUND = 64 * MB
"""Measured on the 2-core CI machine: settled RSS about 180-190 MB, growth over rounds 3-5 of
+3 to +4 MB. A leak of one round's arrays in one direction on one side alone (8 callers x
2 arrays x 8 MB = 128 MB per round) adds about 384 MB over those three rounds; keeping every
array on both sides in both directions, four times that."""

RATE_LIMIT_CLOSE = 1008
"""The websocket close code Hypha uses when a client exceeds its message rate limit."""


# -- what is sent and how it is checked ------------------------------------------------------


def schedule(caller: int) -> list[str]:
    """The kind of each of ``caller``'s calls: every round holds ``ROUND_KINDS`` in a seeded order."""
    kinds: list[str] = []
    for round_index in range(ROUNDS):
        order = np.random.default_rng((SEED, caller, round_index)).permutation(len(ROUND_KINDS))
        kinds.extend(ROUND_KINDS[i] for i in order)
    return kinds


def payload(kind: str, caller: int, call: int) -> Any:
    """The value of one call; its contents differ for every (caller, call)."""
    rng = np.random.default_rng((SEED, caller, call))
    if kind == "array":
        return rng.random(ARRAY_ELEMENTS)
    if kind == "frame":
        return pd.DataFrame(
            {
                "id": rng.integers(0, 1 << 62, FRAME_ROWS),
                "value": rng.random(FRAME_ROWS),
                "name": [f"c{caller}-k{call}-r{row}" for row in range(FRAME_ROWS)],
            }
        )
    if call % 2:
        return int(rng.integers(1 << 62))
    return {"caller": caller, "call": call, "note": f"small-{rng.integers(1000)}"}


def digest(value: Any) -> str:
    """sha256 of a payload's content, computed the same way by the caller and by the service."""
    sha = hashlib.sha256()
    if isinstance(value, np.ndarray):
        sha.update(f"{value.dtype}{value.shape}".encode())
        sha.update(np.ascontiguousarray(value).data)
    elif isinstance(value, pd.DataFrame):
        sha.update(repr(value.dtypes.to_dict()).encode())
        sha.update(pd.util.hash_pandas_object(value).to_numpy().data)
    else:
        sha.update(json.dumps(value, sort_keys=True).encode())
    return sha.hexdigest()


def size(value: Any) -> int:
    """Bytes of payload a value stands for (its data, not its frame)."""
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, pd.DataFrame):
        return int(value.memory_usage(index=False, deep=True).sum())
    return len(json.dumps(value))


def call_id(caller: int, call: int) -> str:
    return f"caller-{caller}/call-{call}"


# -- what is watched ------------------------------------------------------------------------


def rate_limited_disconnects(url: str) -> float:
    """How many clients the server has disconnected for exceeding its message rate limit (its own metric)."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        for line in response.read().decode().splitlines():
            if line.startswith("websocket_rate_limited_disconnects_total "):
                return float(line.split()[1])
    raise AssertionError("the server exposes no websocket_rate_limited_disconnects_total")


# -- the load --------------------------------------------------------------------------------


class Service:
    """The provider's side: echoes each value with its checksum and counts the call ids it sees."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()

    def echo(self, call: str, value: Any) -> dict[str, Any]:
        self.seen[call] += 1
        return {"sha": digest(value), "value": value}


async def call_round(service: Any, caller: int, kinds: list[str], round_index: int) -> int:
    """One round of one caller's calls, each checked both ways; returns the payload bytes moved."""
    moved = 0
    for call in range(round_index * len(ROUND_KINDS), (round_index + 1) * len(ROUND_KINDS)):
        value = payload(kinds[call], caller, call)
        result = await service.echo(call_id(caller, call), value)
        assert result["sha"] == digest(value), f"{call_id(caller, call)}: the service received other data"
        assert_same(value, result["value"])
        moved += 2 * size(value)
    return moved


def test_concurrent_callers_mixing_small_calls_arrays_and_dataframes_all_arrive_once_and_exactly(hypha_server: str) -> None:
    service = Service()
    schedules = [schedule(caller) for caller in range(CALLERS)]
    dropped: list[str] = []
    rss_per_round: list[int] = []
    moved = 0
    wall = 0.0

    async def body() -> None:
        nonlocal moved, wall
        async with contextlib.AsyncExitStack() as stack:
            clients = await asyncio.gather(*(arrow_client()(hypha_server) for _ in range(CALLERS + 1)))
            for client in clients:
                stack.push_async_callback(client.disconnect)
            provider, callers = clients[0], clients[1:]
            events = [watch(client) for client in clients]
            info = await provider.register_service({"id": "load", "config": {"visibility": "public"}, "echo": service.echo})
            proxies = await asyncio.gather(*(caller.get_service(info.id) for caller in callers))
            start = time.perf_counter()
            for round_index in range(ROUNDS):
                moved += sum(
                    await asyncio.gather(
                        *(call_round(proxy, caller, schedules[caller], round_index) for caller, proxy in enumerate(proxies))
                    )
                )
                rss_per_round.append(settled_rss())
            wall = time.perf_counter() - start
            dropped.extend(f"client {i}: {event}" for i, log in enumerate(events) for event in log)

    limited_before = rate_limited_disconnects(hypha_server)
    run(body, timeout=LOAD_TIMEOUT)
    limited = rate_limited_disconnects(hypha_server) - limited_before

    total = CALLERS * CALLS
    rss_mb = [round(r / MB) for r in rss_per_round]
    print(
        f"\nload: {total} calls ({CALLERS} callers x {CALLS}) in {wall:.1f} s, {total / wall:.0f} calls/s, "
        f"{moved / MB:.0f} MB of payload moved; settled RSS per round (MB): {rss_mb}, growth bound {RSS_GROWTH_BOUND / MB:.0f} MB"
    )
    assert not dropped, f"connections dropped during the load: {dropped}"
    assert limited == 0, f"the server disconnected {limited:.0f} client(s) for exceeding its rate limit"
    expected = Counter(call_id(caller, call) for caller in range(CALLERS) for call in range(CALLS))
    assert not expected - service.seen, f"calls that never reached the service: {sorted(expected - service.seen)}"
    assert not service.seen - expected, f"calls the service saw twice or unasked: {sorted(service.seen - expected)}"
    assert sum(service.seen.values()) == total
    growth = rss_per_round[-1] - rss_per_round[SETTLED_AFTER_ROUND - 1]
    assert growth < RSS_GROWTH_BOUND, f"RSS grew {growth / MB:.0f} MB after round {SETTLED_AFTER_ROUND}: {rss_mb} MB"


def test_watches_see_a_connection_the_server_closes_for_its_rate_limit(hypha_server: str) -> None:
    """The load test's no-drop checks can fail: a client flooding the server past its burst,
    bypassing hypha_arrow's pacing, gets its connection closed, and both watches see it."""
    events: list[str] = []

    async def body() -> None:
        client = await arrow_client()(hypha_server)
        try:
            log = watch(client)
            connection = client.rpc._connection
            noop = msgpack.packb({"type": "noop", "to": connection._client_id})  # routed back to itself, ignored
            with contextlib.suppress(Exception):  # the server closes the socket mid-flood
                for _ in range(3000):
                    await connection._websocket.send(noop)
            while "reconnected" not in log:
                await asyncio.sleep(0.05)
            events.extend(log)
        finally:
            await client.disconnect()

    limited_before = rate_limited_disconnects(hypha_server)
    run(body, timeout=30)
    assert rate_limited_disconnects(hypha_server) - limited_before == 1
    assert events[0].startswith(f"closed with code {RATE_LIMIT_CLOSE}:"), events
