"""Receive-side budgets: what chunked messages from any client of the server may cost this one.

hypha-rpc registers every client's built-in service, whose ``message_cache`` receives large
messages, as public, and the server forwards a call to it from any workspace unchecked. Left
alone, one anonymous client can pin gigabytes in a service (a message that never completes,
many at once, one byte every few seconds), write into a message someone else is sending, or
keep it past its sender's departure. ``IncomingTransfers`` checks every message-cache call
before hypha-rpc acts on it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, NoReturn

from ..config import Config
from ..errors import TransferRefused
from .heap import HeapTrimmer
from .transfer import CHUNK_MAX, KEY_MARK, MAX_CHUNKS

_log = logging.getLogger(__name__)

MAX_KEY_LENGTH = 256
"""Characters of a message key: a session id, ``KEY_MARK`` and a unique id fit many times over."""
REFUSALS_KEPT = 64
"""Refused keys remembered, so the sender's later chunks get the same error, not a missing key."""


@dataclass
class _Partial:
    """A chunked message being received, and what it costs."""

    sender: str
    created: float
    last_chunk: float
    max_chunks: int
    size: int = 0
    processing: bool = False
    """Its ``process`` is decoding it: no longer subject to the timeouts, still counted."""


@dataclass
class _Holdings:
    messages: int = 0
    size: int = 0


class IncomingTransfers:
    """The receive-side budgets of one connection: what chunked messages may cost it, and whose they are.

    Any client of the server can call this client's built-in message cache. So every ``create``,
    chunk and ``process`` is checked here before hypha-rpc stores or handles it: the message's
    owner (the client that created it, as the server states it), its size, chunk count and
    chunk size, the number and bytes of partial messages per sender and in all, and its age. A
    message over a budget is freed at once and its sender gets ``TransferRefused``; one past
    ``transfer_deadline`` (from ``create``) or ``transfer_idle_timeout`` (since its last chunk)
    is dropped, and so is every message of a sender whose disconnection is announced.
    """

    def __init__(self, object_store: dict[str, Any], config: Config, trimmer: HeapTrimmer) -> None:
        self._store = object_store  # hypha-rpc creates its "message_cache" entry on first use
        self._config = config
        self._trimmer = trimmer
        self._partials: dict[str, _Partial] = {}
        self._by_sender: dict[str, _Holdings] = {}
        self._total = _Holdings()
        self._refused: OrderedDict[str, tuple[str, str]] = OrderedDict()
        """key -> (its sender, why it was refused): the text, never the raised error, whose
        traceback would keep the refused chunks alive."""
        self._expiry: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        return len(self._partials)

    @property
    def pending_bytes(self) -> int:
        return self._total.size

    def __repr__(self) -> str:
        held = {key: (partial.sender, partial.size) for key, partial in self._partials.items()}
        return f"IncomingTransfers({held!r}, {self._total.size} bytes, expiry {'armed' if self._expiry else 'idle'})"

    # -- the message cache's calls, checked before hypha-rpc acts on them ----------------------

    def admit_create(self, key: Any, sender: str) -> None:
        """Refuse a ``create`` that would take a message of someone else's or exceed a count."""
        config = self._config
        if not isinstance(key, str) or len(key) > MAX_KEY_LENGTH:
            raise TransferRefused(f"refused: a message key must be a string of at most {MAX_KEY_LENGTH} characters")
        if self._refused.get(key, ("",))[0] == sender:
            del self._refused[key]  # its sender starts it again
        partial = self._partials.get(key)
        if partial is not None:
            self._check_owner(key, partial, sender)
            return  # hypha-rpc refuses the same key again, or starts it afresh (``overwrite``)
        holdings = self._by_sender.get(sender, _Holdings())
        if holdings.messages >= config.max_partial_messages_per_sender:
            raise TransferRefused(f"refused: {sender} has {holdings.messages} unfinished messages here, the most max_partial_messages_per_sender={config.max_partial_messages_per_sender} allows", key)
        if self._total.messages >= config.max_partial_messages:
            raise TransferRefused(f"refused: {self._total.messages} unfinished messages are held here, the most max_partial_messages={config.max_partial_messages} allows", key)

    def created(self, key: str, sender: str) -> None:
        """hypha-rpc stored an empty message under ``key`` (a new one, or one started afresh)."""
        now = time.monotonic()
        old = self._partials.pop(key, None)
        if old is not None:
            self._release(key, old)
        max_chunks = min(self._config.max_chunks, MAX_CHUNKS) if KEY_MARK in key else self._config.max_chunks
        self._partials[key] = _Partial(sender, now, now, max_chunks)
        self._count(sender, messages=1)
        self._arm(now + min(self._config.transfer_idle_timeout, self._config.transfer_deadline))

    def admit_chunk(self, key: Any, sender: str, index: Any, data: Any) -> int:
        """Check one chunk for ``key`` (``index`` None: appended); the bytes it adds to the message.

        Over a budget, the message is dropped and ``TransferRefused`` raised.
        """
        partial = self._owned(key, sender)
        if partial is None:
            return 0  # no such message: hypha-rpc says so
        if partial.processing:
            raise TransferRefused("refused: a chunk for a message already being processed", key)
        if index is None:
            index = len(self._chunks(key))
        if type(index) is not int or not 0 <= index < partial.max_chunks:
            self._refuse(key, partial, f"chunk index {index!r:.40} is not an int from 0 to {partial.max_chunks - 1} (max_chunks)")
        if type(data) is not bytes:
            self._refuse(key, partial, f"a chunk must be bytes, got {type(data).__name__}")
        if KEY_MARK in key and len(data) > CHUNK_MAX:
            self._refuse(key, partial, f"a chunk of {len(data)} bytes is over the {CHUNK_MAX} hypha_arrow senders send")
        added = len(data) - len(self._chunks(key).get(index, b""))
        over = self._over_budget(sender, added, partial.size)
        if over is not None:
            self._refuse(key, partial, over)
        return added

    def stored(self, key: str, added: int) -> None:
        """hypha-rpc stored the chunk ``admit_chunk`` let through."""
        partial = self._partials.get(key)
        if partial is not None:
            partial.size += added
            partial.last_chunk = time.monotonic()
            self._count(partial.sender, size=added)

    def claim(self, key: Any, sender: str) -> int:
        """The owner's ``process`` starts: the message stops aging (its bytes stay counted until
        ``finished``); its size. 0 for a message not tracked here (hypha-rpc then says so)."""
        partial = self._owned(key, sender)
        if partial is None:
            return 0
        if partial.processing:
            raise TransferRefused("refused: the message is already being processed", key)
        partial.processing = True
        return partial.size

    def admit_remove(self, key: Any, sender: str) -> bool:
        """Whether hypha-rpc should remove the message: not when it was refused (and so dropped)
        already, for its sender cleaning up after the refusal."""
        refused = self._refused.get(key) if isinstance(key, str) else None
        if refused is not None and refused[0] == sender and key not in self._partials:
            del self._refused[key]
            return False
        self._owned(key, sender)
        return True

    def finished(self, key: str) -> None:
        """The message was handled, failed or removed: it no longer counts."""
        partial = self._partials.pop(key, None)
        if partial is not None:
            self._release(key, partial)

    def reserve(self, sender: str, nbytes: int) -> None:
        """Count ``nbytes`` of a frame waiting to be decoded against the sender's and the total byte budgets."""
        over = self._over_budget(sender, nbytes)
        if over is not None:
            raise TransferRefused(f"refused: a {nbytes}-byte frame waiting its turn: {over}")
        self._count(sender, size=nbytes)

    def unreserve(self, sender: str, nbytes: int) -> None:
        self._count(sender, size=-nbytes)
        self._trimmer.freed(nbytes)

    def drop_from(self, sender: str) -> None:
        for key, partial in list(self._partials.items()):
            if partial.sender == sender and not partial.processing:
                self._drop(key, "its sender disconnected")

    def refuse(self, key: str, reason: str) -> TransferRefused:
        """Drop the message for a reason found while processing it; the error for its sender."""
        partial = self._partials.get(key)
        if partial is not None:
            self._remember_refusal(key, partial.sender, reason)
            self._drop(key, reason)
        return TransferRefused(f"refused: {reason}", key)

    # -- inside -------------------------------------------------------------------------------

    def _owned(self, key: Any, sender: str) -> _Partial | None:
        refused = self._refused.get(key) if isinstance(key, str) else None
        if refused is not None and refused[0] == sender:
            raise TransferRefused(f"refused: {refused[1]}", key)
        partial = self._partials.get(key) if isinstance(key, str) else None
        if partial is not None:
            self._check_owner(key, partial, sender)
        return partial

    def _over_budget(self, sender: str, added: int, message_size: int | None = None) -> str | None:
        """Which byte budget ``added`` more bytes from ``sender`` (for a message of ``message_size``) would exceed."""
        config = self._config
        budgets = [
            (self._by_sender.get(sender, _Holdings()).size, config.max_pending_bytes_per_sender, "max_pending_bytes_per_sender"),
            (self._total.size, config.max_pending_bytes, "max_pending_bytes"),
        ]
        if message_size is not None:
            budgets.insert(0, (message_size, config.max_message_bytes, "max_message_bytes"))
        for held, limit, name in budgets:
            if held + added > limit:
                return f"{held + added} bytes would be over {name}={limit}"
        return None

    @staticmethod
    def _check_owner(key: str, partial: _Partial, sender: str) -> None:
        if partial.sender != sender:
            raise TransferRefused(f"refused: the message was created by another client, not by {sender}", key)

    def _refuse(self, key: str, partial: _Partial, reason: str) -> NoReturn:
        self._remember_refusal(key, partial.sender, reason)
        self._drop(key, reason)
        raise TransferRefused(f"refused: {reason}; the message was dropped", key)

    def _remember_refusal(self, key: str, sender: str, reason: str) -> None:
        self._refused[key] = (sender, reason)
        if len(self._refused) > REFUSALS_KEPT:
            self._refused.popitem(last=False)

    def _chunks(self, key: str) -> dict[Any, Any]:
        chunks = self._store.get("message_cache", {}).get(key)
        return chunks if isinstance(chunks, dict) else {}

    def _count(self, sender: str, messages: int = 0, size: int = 0) -> None:
        holdings = self._by_sender.setdefault(sender, _Holdings())
        holdings.messages += messages
        holdings.size += size
        self._total.messages += messages
        self._total.size += size
        if not holdings.messages and not holdings.size:
            del self._by_sender[sender]

    def _release(self, key: str, partial: _Partial) -> None:
        self._count(partial.sender, messages=-1, size=-partial.size)
        self._trimmer.freed(partial.size)
        if not self._partials and self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None

    def _drop(self, key: str, reason: str) -> None:
        partial = self._partials.pop(key)
        count = len(self._store.get("message_cache", {}).pop(key, None) or ())  # its chunks are freed here
        self._release(key, partial)
        _log.warning("Dropped a partial message from %s (%d chunks, %d bytes): %s", partial.sender, count, partial.size, reason)

    def _arm(self, when: float) -> None:
        """Make sure the expiry check runs no later than ``when`` (monotonic seconds)."""
        loop = asyncio.get_running_loop()
        if self._expiry is not None and self._expiry.when() <= when:
            return
        if self._expiry is not None:
            self._expiry.cancel()
        self._expiry = loop.call_at(when, self._expire)

    def _expire(self) -> None:
        """Drop every message past its deadline or idle timeout; run again at the next one due."""
        self._expiry = None
        config, now = self._config, time.monotonic()
        due = []
        for key, partial in list(self._partials.items()):
            if partial.processing:
                continue
            if key not in self._store.get("message_cache", {}):  # removed behind our back
                self.finished(key)
                continue
            idle_end, deadline = partial.last_chunk + config.transfer_idle_timeout, partial.created + config.transfer_deadline
            if now >= deadline:
                self.refuse(key, f"not complete within transfer_deadline={config.transfer_deadline} s of its creation; the message was dropped")
            elif now >= idle_end:
                self.refuse(key, f"no chunk arrived for transfer_idle_timeout={config.transfer_idle_timeout} s; the message was dropped")
            else:
                due.append(min(idle_end, deadline))
        if due:
            self._arm(min(due))
