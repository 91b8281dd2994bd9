"""Progress of chunked transfers: the bytes of large messages sent and received, for a hook of the user's.

A large message takes seconds (a 1 GiB echo took 14 s), sent as chunks: about 1 MiB or more
between hypha_arrow clients, 256 KiB to and from stock ones. Each chunk is reported, in both
directions, to the hooks that apply:

- per call: ``with hypha_arrow.progress(hook): reply = await svc.echo(x)`` reports the chunked
  sends of the calls made inside the block (their send tasks inherit the block's context) and
  the chunked replies to them. A reply travels under the caller's session id for the call:
  hypha-rpc makes one per call in ``RemoteFunction.__call__`` and the callee's ``resolve``
  sends under it; a stock sender's message key is that session id, a hypha_arrow sender's key
  begins with it (``transfer.session_of``). Blocks nest: every enclosing block's hooks apply.
  A block sees only calls made in its own context: hypha-rpc's sync API makes its calls on its
  event loop's thread, so there only a connection's hook applies.
- per connection: ``hypha_arrow.connect_to_server(config, progress=hook)`` reports every
  chunked message the connection sends or receives, a service's requests and replies included.

A hook is a callable given one ``TransferProgress`` per chunk, or a progress bar: anything with
``update(n)``, such as ``tqdm(unit="B", unit_scale=True)``. A bar that has no total (or is
full) when its block or connection takes it gets one: the sum of the totals of the messages it
has seen begin, as far as they are known. A hook that raises is logged once and never breaks a
transfer. Hooks run on the event loop: keep them quick (tqdm redraws at most 10 times a second).

What is reported: a sent chunk once it is queued on the connection (the sender keeps at most
``transfer.pipeline(size).window`` chunks unacknowledged, so the count runs at most that far ahead of the
receiver); a received chunk once the receive budgets admitted it and it was stored. The steps
of one message add up to its frame's size. The sender knows the total; a receiver knows it when
a hypha_arrow sender declared it in the message key (``transfer.declared_total``), and not from
stock senders. Frames sent in one piece (under ``transfer.CHUNK_MIN`` to a hypha_arrow peer,
about 257 KiB to a stock one) are not reported: they take milliseconds.

Cost when no hook is installed: one context-variable read and one length check per chunk, one
context-variable read per call, nothing per small frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, Protocol

_log = logging.getLogger(__name__)

TRACKED_MESSAGES = 1024
"""Received messages whose byte counts a connection keeps, the least recently advanced forgotten
first: as many as the default ``max_partial_messages`` lets arrive at once. A message whose
total is known is forgotten once complete; one from a stock sender only in this way."""


@dataclass(frozen=True, slots=True)
class TransferProgress:
    """One chunk of a large message, sent or received."""

    direction: Literal["sent", "received"]
    key: str
    """The message's key in the receiver's message cache, one per message while it travels."""
    peer: str
    """The other end: the target as called (sent), or the sender as the server stated it (received)."""
    done: int
    """Bytes of the message sent or received so far, this chunk's included."""
    step: int
    """Bytes of this chunk."""
    total: int | None
    """The frame's size: always known when sent; when received, only if the sender declared it."""


class SupportsUpdate(Protocol):
    """A progress bar, as tqdm's: ``update(n)`` advances it by ``n``; ``total`` may be None."""

    def update(self, n: int) -> Any: ...


Hook = Callable[[TransferProgress], Any] | SupportsUpdate


class _Reporter:
    """One hook as installed: a callable called with each event, or a bar advanced by each step."""

    __slots__ = ("hook", "_report", "_grows_total", "_failed")

    def __init__(self, hook: Hook) -> None:
        self.hook = hook
        self._failed = False
        self._grows_total = False
        if callable(hook):
            self._report: Callable[[TransferProgress], Any] = hook
        elif callable(getattr(hook, "update", None)):
            total = getattr(hook, "total", None)
            self._grows_total = total is None or getattr(hook, "n", 0) >= total
            self._report = self._advance
        else:
            raise TypeError(f"a progress hook is a callable taking a TransferProgress, or a bar with update(n), not {type(hook).__name__}")

    def __call__(self, event: TransferProgress) -> None:
        try:
            self._report(event)
        except Exception:
            if not self._failed:
                self._failed = True
                _log.exception("The progress hook %r raised (the transfer goes on; its later errors are not logged)", self.hook)

    def _advance(self, event: TransferProgress) -> None:
        bar: Any = self.hook
        if self._grows_total and event.total is not None and event.done == event.step:  # a message begins
            bar.total = (bar.total or 0) + event.total
        bar.update(event.step)


_CALL: contextvars.ContextVar[tuple[_Reporter, ...]] = contextvars.ContextVar("hypha_arrow_progress", default=())


@contextlib.contextmanager
def progress(hook: Hook) -> Iterator[Hook]:
    """Report the chunked transfers of the calls made inside the block, and of their replies, to ``hook``.

    ``with tqdm(unit="B", unit_scale=True) as bar, hypha_arrow.progress(bar): await svc.echo(x)``
    """
    token = _CALL.set((*_CALL.get(), _Reporter(hook)))
    try:
        yield hook
    finally:
        _CALL.reset(token)


class _Watch:
    """What one connection reports beyond the ``progress`` blocks of its calls' sends."""

    __slots__ = ("hooks", "calls", "received")

    def __init__(self) -> None:
        self.hooks: tuple[_Reporter, ...] = ()
        """The connection's own hooks."""
        self.calls: dict[str, tuple[_Reporter, ...]] = {}
        """session id of a call awaiting its reply -> the hooks of the blocks it was made in."""
        self.received: OrderedDict[str, int] = OrderedDict()
        """message key -> bytes received so far, for messages some hook is told of."""


_watches: weakref.WeakKeyDictionary[Any, _Watch] = weakref.WeakKeyDictionary()
"""rpc -> its watch, for the connections with a hook or a call awaiting a reported reply."""


def watch_connection(rpc: Any, hook: Hook) -> None:
    """Report every chunked message ``rpc`` sends or receives to ``hook``."""
    watch = _watches.setdefault(rpc, _Watch())
    watch.hooks = (*watch.hooks, _Reporter(hook))


def calling(function: Any, call: asyncio.Future) -> None:
    """``function`` (a hypha-rpc ``RemoteFunction``) was just called: inside a ``progress`` block,
    the chunks of the reply to it are reported to the block's hooks until ``call`` settles."""
    hooks = _CALL.get()
    if not hooks or not function._with_promise or function.__no_chunk__ or call.done():
        return  # no block; no reply awaited; a message-cache call of a chunked send; failed at once
    session = _newest_session(function)
    if session is None:
        _log.debug("No session found for the call of %s: its reply's progress is not reported", function._encoded_method.get("_rmethod"))
        return
    rpc = function._rpc
    _watches.setdefault(rpc, _Watch()).calls[session] = hooks
    call.add_done_callback(lambda _: _settled(rpc, session))


def _newest_session(function: Any) -> str | None:
    """The session hypha-rpc made for the call just made: ``__call__`` returns only the future,
    and the session store it inserted is the last one under the call's parent (dicts keep
    insertion order; nothing else is inserted there while the call is made)."""
    parent = function._local_parent
    store = function._rpc._get_session_store(parent, create=False) if parent else function._rpc._object_store
    if not isinstance(store, dict) or not store:
        return None
    name = next(reversed(store))
    session = store[name]
    if not isinstance(session, dict) or session.get("target_id") != function._encoded_method.get("_rtarget"):
        return None
    return f"{parent}.{name}" if parent else name


def _settled(rpc: Any, session: str) -> None:
    watch = _watches.get(rpc)
    if watch is None:
        return
    watch.calls.pop(session, None)
    if not watch.hooks and not watch.calls:
        del _watches[rpc]


def sent(rpc: Any, peer: str, key: str, done: int, step: int, total: int) -> None:
    """A chunk of ``step`` bytes of the message ``key`` to ``peer`` was queued on ``rpc``'s connection."""
    hooks = _CALL.get()
    watch = _watches.get(rpc) if _watches else None
    if watch is not None:
        hooks = (*hooks, *watch.hooks)
    if hooks:
        _report(hooks, TransferProgress("sent", key, peer, done, step, total))


def started(rpc: Any, key: str) -> None:
    """``rpc`` created the message ``key`` (stock senders reuse a session's key for its next message)."""
    watch = _watches.get(rpc) if _watches else None
    if watch is not None:
        watch.received.pop(key, None)


def received(rpc: Any, key: str, peer: str, step: int) -> None:
    """``rpc`` stored ``step`` more bytes of the message ``key`` from ``peer``."""
    watch = _watches.get(rpc) if _watches else None
    if watch is None:
        return
    from .transfer import declared_total, session_of  # transfer reports here: imported late, no import cycle

    hooks = (*watch.hooks, *watch.calls.get(session_of(key), ()))
    if not hooks:
        return
    total = declared_total(key)
    done = watch.received.pop(key, 0) + step
    if total is None or done < total:
        watch.received[key] = done
        if len(watch.received) > TRACKED_MESSAGES:
            watch.received.popitem(last=False)
    _report(hooks, TransferProgress("received", key, peer, done, step, total))


def _report(hooks: tuple[_Reporter, ...], event: TransferProgress) -> None:
    for hook in hooks:
        hook(event)
