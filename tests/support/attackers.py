"""Attackers of a victim's message cache: stock hypha-rpc clients, each in an anonymous
workspace of its own, calling the victim's built-in message cache directly, paced under the
server's rate limit. Shared by tests/server/test_rpc_budgets.py (a Python victim) and
js/test/support/attacker.py (a JavaScript victim)."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

import numpy as np
import shortuuid

import hypha_arrow
from hypha_arrow.rpc.transfer import KEY_MARK, Pacer

ATTACK_RATE = (150.0, 300.0)
"""Messages per second and burst for an attacker: under the server's per-client rate limit
(200/s; bursts of 500 in its resource limiter), since an attacker closed for its rate would
prove nothing."""
CACHE_OPERATIONS = ("create", "append", "set", "process", "remove")

Sent = deque[tuple[str, int, asyncio.Future]]
"""Calls awaiting the victim's answer, oldest first: message key, payload bytes, answer."""


def cache_method(client: Any, target: str, operation: str) -> Any:
    """``target``'s ``built-in`` message-cache ``operation`` as any client can call it."""
    return remote_method(client, target, f"services.built-in.message_cache.{operation}")


def remote_method(client: Any, target: str, name: str) -> Any:
    """``target``'s method ``name``, sent as one frame whatever its size (stock hypha-rpc would
    chunk a large argument through the cache)."""
    method = client.rpc._generate_remote_method(
        {"_rserver": client.rpc._server_base_url, "_rtarget": target, "_rmethod": name, "_rpromise": True}
    )
    method.__no_chunk__ = True
    return method


def last_line(text: str) -> str:
    """The message of a remote error (hypha-rpc sends the whole traceback)."""
    lines = str(text).strip().splitlines()
    return lines[-1] if lines else str(text)


def bomb(sender: str, target: str, declared: int, method: str = "services.built-in.ping") -> bytes:
    """A hybrid frame calling ``target``'s ``method`` with one zstd-compressed array of
    ``declared`` zero bytes."""
    header = {"type": "method", "from": sender, "to": target, "method": method}
    extra = {"args": [np.zeros(declared, np.uint8)], "with_kwargs": False}
    return hypha_arrow.encode_message(header, extra, config=hypha_arrow.Config(compression_algorithm="zstd"))


class Attacker:
    """A stock hypha-rpc client calling the victim's message cache, and its ledger of what the
    victim acknowledged holding for it.

    The ledger is kept in the order the victim answered (one connection: the order in which it
    handled the calls), so it is exactly what the victim holds for this sender, provided a
    refused call frees that call's whole message, as it must, and nothing else is dropped.
    """

    def __init__(self, client: Any, target: str) -> None:
        self.client = client
        self.id = f"{client.config.workspace}/{client.rpc._client_id}"
        self.target = target
        self._cache = {operation: cache_method(client, target, operation) for operation in CACHE_OPERATIONS}
        self.pacer = Pacer(*ATTACK_RATE)
        self.reset()

    def reset(self) -> None:
        """A fresh ledger, for the next attack by the same client."""
        self.held: dict[str, int] = {}
        """Payload bytes acknowledged, per message the victim still holds."""
        self.peak = 0
        """The most bytes ``held`` at once."""
        self.refusals: list[str] = []
        self.refused_keys: set[str] = set()
        self.accepted_after_refusal: list[str] = []
        self.first_refusal_at: float | None = None
        self.last_answer_at = time.monotonic()

    @property
    def holding(self) -> int:
        return sum(self.held.values())

    def new_key(self, key_mark: bool = False) -> str:
        """A message key; ``key_mark``: one a hypha_arrow sender would make (its own budgets apply)."""
        return f"attack{KEY_MARK}{shortuuid.uuid()}" if key_mark else f"attack-{shortuuid.uuid()}"

    async def call(self, operation: str, *args: Any) -> asyncio.Future:
        """Send one cache call, paced; its answer is the returned future."""
        await self.pacer.acquire()
        return self._cache[operation](*args)

    async def fill(self, chunk: bytes, *, per_message: int, in_flight: int, give_up: int, key_mark: bool = False) -> None:
        """Open message after message of ``per_message`` chunks each, the chunks ``in_flight``
        calls deep, until a call is refused or ``give_up`` bytes are sent (there is no budget)."""
        sent: Sent = deque()

        def enough() -> bool:
            return bool(self.refusals) or self.holding + sum(size for _, size, _ in sent) >= give_up

        while not enough():
            key = self.new_key(key_mark)
            try:
                await (await self.call("create", key))
            except Exception as error:
                self._refused(key, error)
                break
            self.held[key] = 0
            for index in range(per_message):
                sent.append((key, len(chunk), await self.call("set", key, index, chunk)))
                while len(sent) >= in_flight:
                    await self._settle(sent)
                if enough():
                    break
        while sent:
            await self._settle(sent)

    async def persist(self, key: str, chunk: bytes, indices: range, in_flight: int) -> None:
        """Keep sending chunks of ``key`` at ``indices``, ``in_flight`` calls deep, whatever the answers."""
        sent: Sent = deque()
        for index in indices:
            sent.append((key, len(chunk), await self.call("set", key, index, chunk)))
            while len(sent) >= in_flight:
                await self._settle(sent)
        while sent:
            await self._settle(sent)

    async def open_many(self, count: int, chunk: bytes) -> None:
        """Create ``count`` messages at once, then send one chunk into each one accepted."""
        sent: Sent = deque()
        for key in [self.new_key() for _ in range(count)]:
            sent.append((key, 0, await self.call("create", key)))
        while sent:
            await self._settle(sent)
        for key in list(self.held):
            sent.append((key, len(chunk), await self.call("set", key, 0, chunk)))
        while sent:
            await self._settle(sent)

    async def intrude(self, key: str, new_index: int, *, reason: str = "refused") -> list[str]:
        """Every way of writing into, processing or removing ``key``, as a client that did not
        create it (``new_index``: a chunk the owner has not sent). Returns the calls that were
        accepted, or refused without ``reason`` in the refusal."""
        attempts = {
            "append": ("append", key, b"intruder"),
            "set over chunk 0": ("set", key, 0, b"intruder"),
            "set a new chunk": ("set", key, new_index, b"intruder"),
            "process": ("process", key),
            "remove": ("remove", key),
            "create with overwrite": ("create", key, False, True),
        }
        wrong: list[str] = []
        for name, (operation, *args) in attempts.items():
            try:
                await (await self.call(operation, *args))
            except Exception as error:
                if "refused" not in str(error) or reason not in str(error):
                    wrong.append(f"{name}: {last_line(str(error))}")
            else:
                wrong.append(f"{name}: accepted")
        return wrong

    async def _settle(self, sent: Sent) -> None:
        key, size, answer = sent.popleft()
        try:
            await answer
        except Exception as error:
            self._refused(key, error)
            return
        finally:
            self.last_answer_at = time.monotonic()
        if key in self.refused_keys:
            self.accepted_after_refusal.append(key)
            return
        self.held[key] = self.held.get(key, 0) + size
        self.peak = max(self.peak, self.holding)

    def _refused(self, key: str, error: Exception) -> None:
        if self.first_refusal_at is None:
            self.first_refusal_at = time.monotonic()
        self.refusals.append(str(error))
        self.refused_keys.add(key)
        self.held.pop(key, None)
