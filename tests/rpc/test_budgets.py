"""The receive-side budgets (hypha_arrow.rpc.budgets), driven as the message-cache handlers drive them.

``Cache`` plays hypha-rpc's part (it stores what was admitted); the real-server attacks are in
tests/server/test_rpc_budgets.py.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from hypha_arrow import Config, TransferRefused
from hypha_arrow.rpc.budgets import MAX_KEY_LENGTH, IncomingTransfers
from hypha_arrow.rpc.heap import HeapTrimmer
from hypha_arrow.rpc.transfer import CHUNK_MAX, KEY_MARK, MAX_CHUNKS
from tests.support.aio import run

OWNER, OTHER = "ws-a/owner", "ws-b/attacker"
HYBRID_KEY = f"s1{KEY_MARK}x"


class Cache:
    """hypha-rpc's message cache as the handlers see it, with the budgets in front of it."""

    def __init__(self, **limits: Any) -> None:
        self.store: dict[str, Any] = {"message_cache": {}}
        self.trimmer = HeapTrimmer(threshold=1 << 62)  # never trims: the counts are what is tested
        self.freed: list[int] = []
        self.trimmer.freed = self.freed.append  # type: ignore[method-assign]
        self.budgets = IncomingTransfers(self.store, Config(**limits), self.trimmer)

    @property
    def messages(self) -> dict[str, dict[int, bytes]]:
        return self.store["message_cache"]

    def create(self, key: str, sender: str = OWNER) -> None:
        self.budgets.admit_create(key, sender)
        self.messages[key] = {}
        self.budgets.created(key, sender)

    def set(self, key: str, index: int | None, data: bytes, sender: str = OWNER) -> None:
        added = self.budgets.admit_chunk(key, sender, index, data)
        chunks = self.messages[key]
        chunks[len(chunks) if index is None else index] = data
        self.budgets.stored(key, added)


def test_chunks_are_counted_per_message_per_sender_and_in_all_and_overwrites_count_once() -> None:
    async def body() -> None:
        cache = Cache()
        cache.create("a")
        cache.set("a", 0, b"x" * 100)
        cache.set("a", 0, b"x" * 40)  # the same index again replaces, it does not add
        cache.set("a", None, b"y" * 10)
        cache.create("b", OTHER)
        cache.set("b", 0, b"z" * 5, OTHER)
        assert len(cache.budgets) == 2 and cache.budgets.pending_bytes == 55
        cache.budgets.claim("a", OWNER)
        cache.budgets.finished("a")
        assert len(cache.budgets) == 1 and cache.budgets.pending_bytes == 5 and cache.freed == [50]

    run(body)


@pytest.mark.parametrize(
    ("limit", "value", "sizes"),
    [
        ("max_message_bytes", 1000, [600, 600]),
        ("max_pending_bytes_per_sender", 1000, [600, 0, 600]),  # 0: a second message of the same sender
        ("max_pending_bytes", 1000, [600, -1, 600]),  # -1: a second message from another sender
    ],
)
def test_a_chunk_over_a_byte_budget_is_refused_naming_it_and_its_message_freed(limit: str, value: int, sizes: list[int]) -> None:
    async def body() -> None:
        cache = Cache(**{limit: value})
        cache.create("first")
        cache.set("first", None, b"x" * sizes[0])
        key, sender = "first", OWNER
        if len(sizes) == 3:
            key, sender = "second", OWNER if sizes[1] == 0 else OTHER
            cache.create(key, sender)
        with pytest.raises(TransferRefused, match=f"refused: .*over {limit}={value}; the message was dropped"):
            cache.set(key, None, b"x" * sizes[-1], sender)
        assert key not in cache.messages and cache.budgets.pending_bytes == (600 if key != "first" else 0)
        with pytest.raises(TransferRefused, match=limit):  # its sender's next chunk: the same error
            cache.budgets.admit_chunk(key, sender, None, b"x")

    run(body)


def test_counts_of_unfinished_messages_are_bounded_per_sender_and_in_all() -> None:
    async def body() -> None:
        cache = Cache(max_partial_messages_per_sender=2, max_partial_messages=3)
        cache.create("a1")
        cache.create("a2")
        with pytest.raises(TransferRefused, match="max_partial_messages_per_sender=2"):
            cache.budgets.admit_create("a3", OWNER)
        cache.create("b1", OTHER)
        with pytest.raises(TransferRefused, match="max_partial_messages=3"):
            cache.budgets.admit_create("c1", "ws-c/third")
        cache.budgets.claim("a1", OWNER)
        cache.budgets.finished("a1")
        cache.create("a3")  # room again

    run(body)


def test_only_the_creator_may_add_to_process_or_remove_a_message() -> None:
    async def body() -> None:
        cache = Cache()
        cache.create("k")
        cache.set("k", 0, b"mine")
        for touch in (
            lambda: cache.budgets.admit_chunk("k", OTHER, 1, b"theirs"),
            lambda: cache.budgets.admit_chunk("k", OTHER, None, b"theirs"),
            lambda: cache.budgets.claim("k", OTHER),
            lambda: cache.budgets.admit_remove("k", OTHER),
            lambda: cache.budgets.admit_create("k", OTHER),  # overwrite=True would reset it
        ):
            with pytest.raises(TransferRefused, match=f"created by another client, not by {OTHER}"):
                touch()
        assert cache.messages["k"] == {0: b"mine"} and cache.budgets.pending_bytes == 4
        cache.budgets.admit_remove("k", OWNER)

    run(body)


def test_a_message_refused_for_its_owner_stays_the_owners_error_and_is_nobody_elses() -> None:
    async def body() -> None:
        cache = Cache(max_message_bytes=10)
        cache.create("k")
        with pytest.raises(TransferRefused):
            cache.set("k", 0, b"x" * 11)
        assert cache.budgets.admit_chunk("k", OTHER, 0, b"x") == 0  # unknown to it: hypha-rpc says "no such key"
        assert cache.budgets.admit_remove("k", OTHER) is True  # hypha-rpc's "no such key" again
        assert cache.budgets.admit_remove("k", OWNER) is False  # the sender cleaning up: nothing to do, no error
        assert cache.budgets.admit_remove("k", OWNER) is True  # once
        cache.create("k")  # the owner may start again
        cache.set("k", 0, b"x" * 10)

    run(body)


@pytest.mark.parametrize(
    ("key", "index", "data", "reason"),
    [
        ("stock-key", 8192, b"x", "chunk index 8192 is not an int from 0 to 8191"),
        ("stock-key", -1, b"x", "chunk index -1"),
        ("stock-key", "0", b"x", "chunk index '0'"),
        ("stock-key", True, b"x", "chunk index True"),
        (HYBRID_KEY, MAX_CHUNKS, b"x", f"from 0 to {MAX_CHUNKS - 1}"),
        (HYBRID_KEY, 0, bytes(CHUNK_MAX + 1), f"over the {CHUNK_MAX} hypha_arrow senders send"),
        ("stock-key", 0, "text", "a chunk must be bytes, got str"),
    ],
)
def test_chunks_hypha_rpc_would_choke_on_or_no_sender_sends_are_refused(key: str, index: Any, data: Any, reason: str) -> None:
    async def body() -> None:
        cache = Cache()
        cache.create(key)
        with pytest.raises(TransferRefused, match=reason.replace("(", r"\(")):
            cache.budgets.admit_chunk(key, OWNER, index, data)
        assert key not in cache.messages

    run(body)


@pytest.mark.parametrize("key", [7, None, "k" * (MAX_KEY_LENGTH + 1)], ids=["int", "none", "long"])
def test_keys_must_be_short_strings(key: Any) -> None:
    async def body() -> None:
        with pytest.raises(TransferRefused, match=f"at most {MAX_KEY_LENGTH} characters"):
            Cache().budgets.admit_create(key, OWNER)

    run(body)


def test_a_silent_message_goes_at_the_idle_timeout_and_a_trickling_one_at_the_deadline() -> None:
    async def body() -> None:
        cache = Cache(transfer_idle_timeout=0.3, transfer_deadline=1.0)
        started = time.monotonic()
        cache.create("silent")
        cache.create("trickle")
        cache.create("done")
        cache.budgets.claim("done", OWNER)  # being processed: neither timeout applies
        while "trickle" in cache.messages:
            cache.set("trickle", None, b"x")
            await asyncio.sleep(0.1)
            if "silent" not in cache.messages and not hasattr(cache, "silent_gone"):
                cache.silent_gone = time.monotonic() - started  # type: ignore[attr-defined]
        trickle_gone = time.monotonic() - started
        assert 0.3 <= cache.silent_gone < 0.5  # type: ignore[attr-defined]
        assert 1.0 <= trickle_gone < 1.2
        assert list(cache.messages) == ["done"] and len(cache.budgets) == 1

    run(body)


def test_a_departed_senders_messages_are_dropped_but_not_one_being_processed() -> None:
    async def body() -> None:
        cache = Cache()
        for key in ("a", "b"):
            cache.create(key)
            cache.set(key, 0, b"x")
        cache.create("c", OTHER)
        cache.budgets.claim("b", OWNER)
        cache.budgets.drop_from(OWNER)
        assert sorted(cache.messages) == ["b", "c"] and len(cache.budgets) == 2

    run(body)


def test_a_chunk_for_a_message_being_processed_is_refused_without_dropping_it() -> None:
    async def body() -> None:
        cache = Cache()
        cache.create("k")
        cache.set("k", 0, b"x")
        cache.budgets.claim("k", OWNER)
        with pytest.raises(TransferRefused, match="being processed"):
            cache.budgets.admit_chunk("k", OWNER, 1, b"y")
        with pytest.raises(TransferRefused, match="already being processed"):
            cache.budgets.claim("k", OWNER)
        assert cache.messages["k"] == {0: b"x"}

    run(body)
