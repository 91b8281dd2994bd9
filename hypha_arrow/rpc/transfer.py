"""Large frames between hypha_arrow clients: paced, pipelined chunks through the peer's message cache.

Stock hypha-rpc sends a large message as one awaited call per 256 KiB chunk, after an
extra round trip to look up the peer's built-in service. Between hypha_arrow clients,
whose inbound frame limit is raised, chunks are 960 KiB to 15 MiB (at most ``MAX_CHUNKS`` per
message, under the server's 16 MiB inbound limit) and are pipelined (``pipeline``), with
acknowledged chunks bounding how many bytes are on the way: the receiver handles a
connection's messages in order, so ``process`` arrives after the last ``set``. A token bucket keeps
every transfer under the server's per-client message rate limit, so no size of payload gets
the connection closed. The receiving side's budgets are ``budgets``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import shortuuid
from websockets.protocol import State

from ..buffers import new_frame
from ..deferred import DeferredFrame, chunk_of
from . import progress
from .assembly import Assembly
from .stock_forms import STOCK_REFUSAL

if TYPE_CHECKING:
    from .client import ArrowState
    from .frames import Sending

CHUNK_MIN = (1 << 20) - (64 << 10)
"""Under stock clients' 1 MiB inbound frame limit with room for the routing header, so a
frame sent whole reaches even a peer wrongly believed to read hybrid frames."""
CHUNK_MAX = 15 << 20
MAX_CHUNKS = 400
IN_FLIGHT = 8
"""Chunks queued for sending at once, at most: enough to keep the socket busy, few enough to bound memory."""
ACK_EVERY = 16
WINDOW = 48
"""Chunks sent but not yet acknowledged, at most: half the ~100 messages the server queues for
an HTTP client."""
WINDOW_BYTES = 16 << 20
"""Bytes sent but not yet acknowledged, at most. Every one of them may be queued ahead of a small
message on the same path (the server relays a connection's messages in order, and holds back
while the receiver catches up), so this bounds how long a call to or from a client busy with a
large transfer waits: at 48 chunks of 1 MiB, pings to a service echoing 256 MiB waited up to
300 ms."""
IN_FLIGHT_BYTES = 4 << 20
"""Bytes handed to the websocket ahead of the chunk being sent, at most, for the same reason."""


@dataclass(frozen=True)
class Pipeline:
    """How a message of chunks of one size is pipelined: ``window`` chunks unacknowledged at most,
    every ``ack_every``-th acknowledged, ``in_flight`` queued on the socket at once."""

    window: int
    ack_every: int
    in_flight: int


def pipeline(size: int) -> Pipeline:
    """The pipeline for chunks of ``size`` bytes, within ``WINDOW`` and ``WINDOW_BYTES``."""
    window = max(2, min(WINDOW, WINDOW_BYTES // size))
    return Pipeline(window, max(1, min(ACK_EVERY, window // 2)), max(1, min(IN_FLIGHT, IN_FLIGHT_BYTES // size)))


KEY_MARK = "~ha~"
"""Between a session id and the unique suffix of a hybrid message's cache key."""
LAYOUT_DIGITS = 12
"""Digits of a declared size at most: more than any frame ``MAX_CHUNKS`` chunks can hold."""
CLEANUP_TIMEOUT = 5.0

WEBSOCKET_RATE = (150.0, 400.0)
"""Messages per second and burst. The server allows 200 per second per client, with a burst
of 2000 in its websocket loop and 500 in its resource-limits manager: stay under both."""
HTTP_RATE = (80.0, 400.0)
"""The server allows anonymous HTTP clients 100 requests per second, burst 500, per IP."""



class Pacer:
    """A token bucket: ``acquire`` waits until one more message fits under the rate limit."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._stamp = time.monotonic()

    async def acquire(self) -> None:
        while True:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            if self._tokens >= 1:
                self._tokens -= 1
                return
            await asyncio.sleep((1 - self._tokens) / self.rate)


def pacer_for(connection: Any) -> Pacer:
    """A pacer matching the rate limit of the connection's transport."""
    http = type(connection).__name__.startswith("HTTP")
    return Pacer(*(HTTP_RATE if http else WEBSOCKET_RATE))


def chunk_size(total: int) -> int:
    """About 1 MiB (fastest through the websocket stack), larger only to stay under ``MAX_CHUNKS``."""
    return min(CHUNK_MAX, max(CHUNK_MIN, -(-total // MAX_CHUNKS)))


async def send(rpc: Any, state: ArrowState, package: bytes | DeferredFrame, target_id: str, session_id: str | None, sending: Sending | None) -> None:
    """Deliver ``package`` to ``target_id`` as one message, chunked when it is large.

    A target believed to read hybrid frames gets a message key of its own (so concurrent
    messages of one session never collide in its cache) and no heartbeat flag (its session
    may be gone: a kept remote object called later; a hypha_arrow receiver resets the
    session's timer from the key itself). If the reply to ``create`` shows a stock client
    (one took over the target's id), nothing more is sent: the call fails with the stock
    refusal, which makes the caller send it again, stock. Once the call has ended, the
    remaining chunks are not sent.
    """
    hybrid = sending.hybrid if sending is not None else state.reads_hybrid(target_id, tagged=False)
    if hybrid and len(package) <= CHUNK_MIN:
        await state.pacer.acquire()
        await rpc._emit_message(bytes(package))  # bytes as they are; a DeferredFrame is never this small
        return
    size = chunk_size(len(package)) if hybrid else rpc._long_message_chunk_size
    if hybrid:
        message_id, heartbeat = message_key(session_id, len(package), size), False
    else:
        message_id, heartbeat = session_id or shortuuid.uuid(), bool(session_id)
    await state.pacer.acquire()
    await _cache_method(rpc, target_id, "create")(message_id, heartbeat)
    if hybrid and not state.known_hybrid(target_id):
        await _forget(rpc, target_id, message_id)
        raise ConnectionError(f"{STOCK_REFUSAL}: {target_id} answered as a stock client")

    def abandoned() -> bool:
        return sending is not None and sending.call is not None and sending.call.done()

    try:
        acks = await _send_chunks(rpc, state.pacer, package, size, target_id, message_id, heartbeat, abandoned)
        await state.pacer.acquire()
        # no reply awaited: messages arrive in order, and a send left waiting for one
        # when a client disconnects ends in a cancelled-task traceback
        await _cache_method(rpc, target_id, "process", reply=False)(message_id, heartbeat)
        await _all_read(acks)  # after `process`: the last acknowledgements cost no round trip
    except asyncio.CancelledError:  # hypha-rpc cancels its sends when this client disconnects
        raise
    except BaseException:
        await _forget(rpc, target_id, message_id)
        raise


def message_key(session_id: str | None, total: int, chunk: int) -> str:
    """A hybrid message's cache key: its session, ``KEY_MARK``, a unique id, and the frame's
    layout (its size and chunk size), so the receiver can write chunks straight into one
    buffer (``assembly``). Receivers that do not read the layout see one opaque unique id."""
    return f"{session_id or ''}{KEY_MARK}{shortuuid.uuid()}.{total}.{chunk}"


def declared_layout(key: object) -> tuple[int, int] | None:
    """(frame size, chunk size) as ``message_key`` declared them; None for a key without a
    layout (stock and JavaScript senders) or with one no hypha_arrow sender makes."""
    if not isinstance(key, str):
        return None
    _, mark, rest = key.partition(KEY_MARK)
    fields = rest.rsplit(".", 2) if mark else ()
    if len(fields) != 3 or not all(field.isascii() and field.isdigit() and len(field) <= LAYOUT_DIGITS for field in fields[1:]):
        return None
    total, chunk = int(fields[1]), int(fields[2])
    if not (CHUNK_MIN <= chunk <= CHUNK_MAX and 0 < total <= chunk * MAX_CHUNKS):
        return None
    return total, chunk


def declared_total(key: object) -> int | None:
    """The frame size a hybrid sender declared in its message key, if it did."""
    layout = declared_layout(key)
    return layout[0] if layout is not None else None


def join_chunks(chunks: dict[int, bytes]) -> bytes:
    """A message's chunks as one frame: an ``Assembly``'s own buffer, or the chunks of a key
    without a layout copied into one, each freed from ``chunks`` once copied.

    hypha-rpc joins with ``b"".join`` and keeps the chunks until the message is handled:
    two copies of the payload at once. Refused unless the chunks are numbered 0 to n-1.
    """
    if isinstance(chunks, Assembly):
        return chunks.frame()
    if set(chunks) != set(range(len(chunks))):
        raise ValueError(f"chunks {sorted(set(range(max(chunks, default=-1) + 1)) - set(chunks))[:10]} are missing")
    if len(chunks) == 1:
        return chunks[0]
    frame, view = new_frame(sum(len(part) for part in chunks.values()))
    position = 0
    for index in range(len(chunks)):
        part = chunks.pop(index)
        view[position : position + len(part)] = part
        position += len(part)
    return frame


def session_of(key: str) -> str:
    """The session a message key belongs to (a key ``send`` made unique, or hypha-rpc's own)."""
    return key.partition(KEY_MARK)[0]


async def _send_chunks(
    rpc: Any, pacer: Pacer, package: bytes | DeferredFrame, size: int, target_id: str, message_id: str, heartbeat: bool, abandoned: Callable[[], bool]
) -> deque[asyncio.Future]:
    """Send the chunks pipelined (``pipeline``), with every ``ack_every``-th one and the last acknowledged, and never more
    than ``window`` unacknowledged: the server queues only about 100 messages for an HTTP
    client and drops the rest, and a receiver handles a connection's messages in order, so
    one acknowledgement covers every chunk before it. Returns the acknowledgements still due."""
    plan = pipeline(size)
    store = _cache_method(rpc, target_id, "set", reply=False)
    store_acknowledged = _cache_method(rpc, target_id, "set")
    sent: deque[asyncio.Future] = deque()
    acks: deque[tuple[int, asyncio.Future]] = deque()
    acknowledged = 0
    last = (len(package) - 1) // size
    try:
        for index, start in enumerate(range(0, len(package), size)):
            while acks and index - acknowledged >= plan.window:
                await acks[0][1]  # popped once read: a send cancelled here leaves none unread
                acknowledged = acks.popleft()[0] + 1
            await pacer.acquire()
            if _connection_lost(rpc):
                raise ConnectionError("the connection to the server was lost during a chunked send")
            if abandoned():
                raise ConnectionError(f"the call ended before its chunked payload was sent to {target_id}")
            chunk = chunk_of(package, start, size)
            if index % plan.ack_every == plan.ack_every - 1 or index == last:  # the last too: a refusal of a short message is heard
                acks.append((index, store_acknowledged(message_id, index, chunk, heartbeat)))
            else:
                sent.append(store(message_id, index, chunk, heartbeat))
                if len(sent) >= plan.in_flight:
                    await sent[0]
                    sent.popleft()
            progress.sent(rpc, target_id, message_id, start + len(chunk), len(chunk), len(package))
        await _all_read(sent)
    except BaseException:
        for unread in (*sent, *(ack for _, ack in acks)):  # after a failure their errors repeat it
            unread.add_done_callback(_consume)
        raise
    return deque(ack for _, ack in acks)


async def _all_read(pending: deque[asyncio.Future]) -> None:
    """Await each queued send in order, dropping it once read; after a failure the rest are read too."""
    try:
        while pending:
            await pending[0]
            pending.popleft()
    except BaseException:
        for unread in pending:
            unread.add_done_callback(_consume)
        raise


def _consume(sent: asyncio.Future) -> None:
    if not sent.cancelled():
        sent.exception()


def _connection_lost(rpc: Any) -> bool:
    """Whether the websocket under ``rpc`` is no longer open.

    Sending then makes hypha-rpc open a second connection beside its own reconnection; the
    two race, and the client can end up never reconnecting.
    """
    websocket = getattr(rpc._connection, "_websocket", None)
    return websocket is not None and websocket.state is not State.OPEN


async def _forget(rpc: Any, target_id: str, message_id: str) -> None:
    """Best effort: drop the partial message from the receiver's cache after a failure.

    Not after a lost connection: a hypha_arrow receiver then drops it once no more chunks
    come; a stock one keeps it, as it does when a stock sender's connection is lost.
    """
    if _connection_lost(rpc):
        return
    try:
        await asyncio.wait_for(_cache_method(rpc, target_id, "remove")(message_id), CLEANUP_TIMEOUT)
    except Exception:  # the peer or the connection may be gone; its own cleanup then applies
        pass


def _cache_method(rpc: Any, target_id: str, name: str, *, reply: bool = True) -> Any:
    method = rpc._generate_remote_method(
        {
            "_rserver": rpc._server_base_url,
            "_rtarget": target_id,
            "_rmethod": f"services.built-in.message_cache.{name}",
            "_rpromise": reply,
        }
    )
    method.__no_chunk__ = True
    return method
