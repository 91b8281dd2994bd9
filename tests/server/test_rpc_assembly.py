"""A large message costs a hypha_arrow receiver its payload once: chunks written straight into
one buffer (``rpc.assembly``), a reply sent from the decoded value's own memory
(``deferred``). Real server; the service runs in its own process so its memory is its own."""

from __future__ import annotations

import numpy as np
from hypha_rpc import connect_to_server

import hypha_arrow
from hypha_arrow.rpc.transfer import KEY_MARK, declared_total
from tests.support.aio import run
from tests.support.attackers import cache_method, last_line
from tests.support.service_process import victim

MiB = 1 << 20
PAYLOAD = 256 * MiB
ECHO_PEAK = 1.25
"""A service echoing the payload holds it once (it arrives into one buffer and leaves from it):
its peak may grow by this many payloads. Before both changes it grew by about 2.2."""
STRAY_MARGIN = 48 * MiB
CHUNK = 3 * MiB
"""A chunk size a 1 GiB layout may declare (at most 400 chunks)."""


def test_a_service_echoing_a_large_array_grows_by_about_the_payload_once(hypha_server: str) -> None:
    async def body() -> None:
        with victim(hypha_server) as target:
            caller = await hypha_arrow.connect_to_server({"server_url": hypha_server, "method_timeout": 120})
            try:
                service = await caller.get_service(target.service)
                payload = np.random.default_rng(7).integers(0, 255, PAYLOAD, dtype=np.uint8)
                before = await service.settled_rss()
                await service.reset_peak()
                echoed = await service.echo(payload)
                growth = (await service.rss())["peak"] - before
                assert echoed.nbytes == PAYLOAD and np.array_equal(echoed, payload)
                assert growth < ECHO_PEAK * PAYLOAD, f"the service grew by {growth / PAYLOAD:.2f}x the payload"
            finally:
                await caller.disconnect()

    run(body, 180)


def test_a_declared_layout_costs_only_the_chunks_sent_and_is_held_to_it(hypha_server: str) -> None:
    """Another workspace's client declaring 1 GiB pins only what it sends; a chunk the layout
    does not have, an append, and a process before every chunk came are refused."""

    async def body() -> None:
        with victim(hypha_server) as target:
            attacker = await connect_to_server({"server_url": hypha_server})
            caller = await hypha_arrow.connect_to_server({"server_url": hypha_server})
            try:
                assert attacker.config.workspace != target.workspace
                service = await caller.get_service(target.service)
                cache = {name: cache_method(attacker, target.client, name) for name in ("create", "set", "append", "process")}
                before = await service.settled_rss()
                await service.reset_peak()
                key = f"{KEY_MARK}attack.{1 << 30}.{CHUNK}"
                assert declared_total(key) == 1 << 30
                await cache["create"](key, False)
                await cache["set"](key, 0, bytes(CHUNK), False)
                growth = (await service.rss())["peak"] - before
                assert growth < CHUNK + STRAY_MARGIN, f"declaring 1 GiB pinned {growth / MiB:.0f} MiB"
                refusals = []
                for call in (lambda: cache["set"](key, 1, b"short", False), lambda: cache["append"](key, b"x", False)):
                    try:
                        await call()
                    except Exception as error:  # the victim's refusal, as hypha-rpc relays it
                        refusals.append(last_line(error))
                        await cache["create"](key, False)  # the refusal dropped the message: start again
                assert len(refusals) == 2, refusals
                assert "the layout its key declares makes it" in refusals[0] and "declares its layout" in refusals[1]
                await cache["set"](key, 0, bytes(CHUNK), False)
                try:
                    await cache["process"](key, False)
                    raise AssertionError("a message missing chunks was processed")
                except Exception as error:
                    assert "are missing" in last_line(error), last_line(error)
            finally:
                await caller.disconnect()
                await attacker.disconnect()

    run(body, 120)
