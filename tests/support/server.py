"""Clients, services and watches for the tests that talk through a real Hypha server."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import numpy as np
import pandas as pd
from hypha_rpc import connect_to_server as stock_connect

import hypha_arrow
from hypha_arrow.rpc.heap import release_free_memory

Connect = Callable[[str], Awaitable[Any]]


def arrow_client(config: hypha_arrow.Config | None = None, **options: Any) -> Connect:
    """A client with hybrid frames on for its own connection only."""
    return lambda url: hypha_arrow.connect_to_server({"server_url": url, **options}, arrow=config)


def stock_client(**options: Any) -> Connect:
    """A plain hypha-rpc client (stock as long as ``hypha_arrow.enable()`` is not in effect)."""
    return lambda url: stock_connect({"server_url": url, **options})


@contextlib.asynccontextmanager
async def serve(
    url: str,
    methods: dict[str, Any],
    *,
    provider: Connect | None = None,
    caller: Connect | None = None,
) -> AsyncIterator[Any]:
    """Register ``methods`` as a public service on one client; yield it as seen by another."""
    providing = await (provider or arrow_client())(url)
    try:
        calling = await (caller or arrow_client())(url)
        try:
            info = await providing.register_service({"id": "probe", "config": {"visibility": "public"}, **methods})
            yield await calling.get_service(info.id)
        finally:
            await calling.disconnect()
    finally:
        await providing.disconnect()


def _frame(rows: int) -> pd.DataFrame:
    index = np.arange(rows)
    return pd.DataFrame(
        {
            "id": index,
            "value": np.random.default_rng(rows).random(rows),
            "label": pd.Categorical(np.array(["red", "green", "blue"])[index % 3]),
            "count": pd.array([int(i) if i % 7 else None for i in index], dtype="Int64"),
            "name": [f"name-{i}" for i in index],
        },
        index=pd.Index(index * 2 + 1, name="row"),
    )


FRAME = _frame(20_000)
"""The DataFrame the server tests send: a named index, a categorical, nullable ints, strings."""


def count_sent_bytes(rpc: Any) -> list[int]:
    """Record the size of every frame the RPC connection ``rpc`` sends (chunks included)."""
    sizes: list[int] = []
    emit = rpc._emit_message

    async def counting(data: Any) -> Any:
        sizes.append(len(data))
        return await emit(data)

    rpc._emit_message = counting
    return sizes


def watch(client: Any) -> list[str]:
    """Record every drop of ``client``'s websocket (close code and reason) and every reconnection,
    as hypha-rpc reports them. A deliberate ``disconnect()`` is reported too: read before it."""
    rpc = client.rpc
    connection = rpc._connection
    events: list[str] = []
    report_lost = connection._handle_disconnected  # hypha-rpc's own handler, still called

    def lost(reason: str | None = None) -> None:
        events.append(f"closed with code {connection._websocket.close_code}: {reason}")
        report_lost(reason)

    connection.on_disconnected(lost)
    rpc.on("connected", lambda _info: events.append("reconnected"))
    return events


def settled_rss() -> int:
    """Resident set size in bytes of what this process (every client) keeps alive: after a full
    collection, with the free memory that glibc's malloc and Arrow's pool keep cached given back
    first (without that, RSS swings by up to 90 MB between rounds with no change in live memory)."""
    gc.collect()
    release_free_memory()
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")
