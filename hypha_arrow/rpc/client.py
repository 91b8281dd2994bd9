"""hypha-rpc's ``RPC`` and its pieces, extended by subclassing: hybrid frames between hypha_arrow clients.

``ArrowRPC`` overrides what it must and calls ``super()`` for the rest; hypha-rpc binds its
handlers (messages, the built-in message cache) in ``RPC.__init__``, so the overrides are
the ones it calls. Stock ``RPC`` objects in the same process are untouched.

- sending: ``ArrowRemoteFunction.__call__`` decides, per call, whether the target reads
  hybrid frames (``peers``); ``_encode`` then hands numpy, pandas, Arrow values and list
  columns to the codec as they are and tags this client's own methods; ``frames`` packs.
- receiving: ``_on_message`` and ``_process_message`` let ``frames`` read the frame and learn
  what the sender reads; ``_decode`` leaves the values from the Arrow section as they are.
- large messages: ``_send_chunks`` and the message-cache handlers (``transfer``).
- a call a stock peer refused because it came hybrid (its client id changed hands) is sent
  again, stock, at once: a stock peer refuses while decoding, before the method runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from hypha_rpc.rpc import RPC, RemoteFunction
from hypha_rpc.websocket_client import WebsocketRPCConnection

from .. import framing
from ..config import Config
from ..deferred import DeferredFrame
from ..errors import DecodeError, HyphaArrowError
from ..families import LIST_FAMILIES, family_for
from . import budgets, progress, transfer
from .assembly import Assembly
from .heap import HeapTrimmer
from .inbox import Inbox, off_loop, off_loop_if
from .frames import RECEIVING, SENDING, Receiving, Sending
from .peers import METHOD_TAG, Peers
from .stock_forms import STOCK_REFUSAL, from_stock_form

MAX_INBOUND_FRAME = 32 << 20
"""Inbound websocket frame limit for hypha_arrow clients (stock: 1 MiB); above the largest chunk."""
INBOUND_QUEUE = 4
"""Frames the websocket may hold before this client reads them (websockets' default: 16). With
frames up to ``MAX_INBOUND_FRAME``, that bounds what a sender can queue here while a large
frame is decoded at 128 MiB instead of 512 MiB; the socket's own buffer keeps the link busy."""
OFF_LOOP_BYTES = 4 << 20
"""Frames, Arrow sections and joins from this size on are decoded on a worker thread (any
compressed section too: it may inflate to ``max_decompressed_bytes``); below it the thread
hop would cost more than the work."""
LARGE_FRAME_BYTES = 256 << 10
"""Frames from this size on (every chunk, stock ones included) are reported to the heap trimmer
once handled: a chunk's frame is freed then, its data living on in the message cache as a copy."""
REFUSAL_METHOD = "hypha_arrow_refused"
"""The built-in method a call whose frame was refused is redirected to, to fail with the reason."""


@dataclass
class ArrowState:
    """What a hypha_arrow connection keeps beside hypha-rpc's own state."""

    config: Config
    local_workspace: str | None
    pacer: transfer.Pacer
    transfers: budgets.IncomingTransfers
    inbox: Inbox
    trimmer: HeapTrimmer
    """Told of every large frame handled: glibc keeps their memory after they are freed."""
    defer_from: int
    """Hybrid frames from this size on are kept as pieces until sent: hypha-rpc hands every
    frame over its chunk size (plus its 1024-byte allowance) to ``_send_chunks``, never to the socket."""
    peers: Peers = field(default_factory=Peers)

    def qualified(self, client_id: str) -> str:
        """``ws/client`` as the server writes ``from``, for a target written either way."""
        if "/" not in client_id and self.local_workspace:
            return f"{self.local_workspace}/{client_id}"
        return client_id

    def reads_hybrid(self, target: str, *, tagged: bool) -> bool:
        return self.peers.reads_hybrid(self.qualified(target), tagged)

    def known_hybrid(self, target: str) -> bool:
        return self.peers.known_hybrid(self.qualified(target))


class ArrowRPC(RPC):
    """An ``RPC`` that sends hybrid frames to hypha_arrow peers and stock frames to the rest."""

    def __init__(self, connection: Any, *args: Any, arrow: Config, **kwargs: Any) -> None:
        super().__init__(connection, *args, **kwargs)
        trimmer = HeapTrimmer()
        transfers = budgets.IncomingTransfers(self._object_store, arrow, trimmer)
        self.arrow = ArrowState(
            arrow, self._local_workspace, pacer=transfer.pacer_for(connection), transfers=transfers, inbox=Inbox(transfers), trimmer=trimmer,
            defer_from=max(transfer.CHUNK_MIN, self._long_message_chunk_size + 1024) + 1,
        )

    # -- sending ----------------------------------------------------------------------

    def _generate_remote_method(self, *args: Any, **kwargs: Any) -> RemoteFunction:
        method = super()._generate_remote_method(*args, **kwargs)
        method.__class__ = ArrowRemoteFunction  # the same object, with the subclass's ``__call__``
        return method

    def emit(self, main_message: dict[str, Any], extra_data: dict[str, Any] | None = None) -> Any:
        """Stock frames, with the ``_ha`` header key: a peer hearing from us learns what we read."""
        token = SENDING.set(Sending(self.arrow, hybrid=False))
        try:
            return super().emit(main_message, extra_data)
        finally:
            SENDING.reset(token)

    def _encode(self, a_object: Any, session_id: str | None = None, local_workspace: str | None = None) -> Any:
        sending = SENDING.get()
        if sending is not None and sending.hybrid:
            taken = _taken_by_codec(a_object, self.arrow.config)
            if taken is not None:
                sending.columns = True
                return taken
            if type(a_object) in (list, tuple):
                # hypha-rpc passes lists of primitive dicts through without visiting them;
                # visit every item so record lists inside ``args`` reach the codec
                return [self._encode(item, session_id=session_id, local_workspace=local_workspace) for item in a_object]
        encoded = super()._encode(a_object, session_id=session_id, local_workspace=local_workspace)
        if (
            type(encoded) is dict
            and encoded.get("_rtype") in ("method", "generator")
            and str(encoded.get("_rtarget", "")).rsplit("/", 1)[-1] == self._client_id
        ):
            encoded[METHOD_TAG] = framing.FORMAT_VERSION
        return encoded

    async def disconnect(self) -> None:
        self.arrow.inbox.close()
        with deliberate_disconnect(self._log):
            await super().disconnect()
        from . import closed  # the package imports this module lazily, so not at the top

        closed(self)

    async def _send_chunks(self, package: bytes | DeferredFrame, target_id: str, session_id: str | None) -> None:
        # the task sending this frame inherited its call's context
        await transfer.send(self, self.arrow, package, target_id, session_id, SENDING.get())

    # -- receiving --------------------------------------------------------------------

    def _on_message(self, message: Any) -> None:
        """Handle a frame now, or queue it in its sender's inbox when it needs real work (a large
        frame, a compressed section) or the sender has work queued: frames of one sender are
        handled in order, and no sender's large frame holds up the others'."""
        if not isinstance(message, bytes):
            return super()._on_message(message)
        config, sender = self.arrow.config, None
        try:
            if len(message) >= OFF_LOOP_BYTES:
                sender = _sender(framing.FrameReader(message, config).read())
                self.arrow.inbox.queue(sender, lambda: self._handle_later(message, None, sender), len(message))
                return
            parts = framing.FrameParts(message, 2, config)
            sender = _sender(parts.objects[0])
            if self.arrow.inbox.busy(sender) or parts.section_work >= OFF_LOOP_BYTES:
                self.arrow.inbox.queue(sender, lambda: self._handle_later(message, parts, sender), len(message))
                return
            receiving = self._received(parts, sender, _section_now(parts))
        except HyphaArrowError as error:  # DecodeError, or TransferRefused by the inbox
            self._log.warning("Refused a %d-byte frame from %s: %s", len(message), sender, error)
            return
        self._handle(message, receiving)

    async def _handle_later(self, message: bytes, parts: framing.FrameParts | None, sender: str) -> None:
        """``_on_message``'s work for a frame from the sender's inbox, its decoding off the event loop."""
        config = self.arrow.config
        try:
            if parts is None:
                parts = await off_loop(framing.FrameParts, message, 2, config)
            receiving = self._received(parts, sender, await _section(parts))
        except DecodeError as error:
            self._log.warning("Refused a %d-byte frame from %s: %s", len(message), sender, error)
            return
        except Exception:  # nobody awaits this job: say what went wrong here
            self._log.exception("Failed to decode a %d-byte frame from %s", len(message), sender)
            return
        self._handle(message, receiving)

    def _handle(self, message: bytes, receiving: Receiving) -> None:
        token = RECEIVING.set(receiving)
        try:
            super()._on_message(message)
        except Exception:  # hypha-rpc's own handler would log the whole frame
            self._log.exception("Failed to handle a %d-byte frame from %s", len(message), receiving.trusted_sender)
        finally:
            RECEIVING.reset(token)
            if len(message) >= LARGE_FRAME_BYTES:
                self.arrow.trimmer.freed(len(message))

    def _received(self, parts: framing.FrameParts, sender: str, columns: list[Any] | DecodeError) -> Receiving:
        """What the ``Unpacker`` hypha-rpc builds next gets: the frame, with its section's values
        ``columns``. A frame whose section was refused (over a limit, malformed) becomes a call
        of ``REFUSAL_METHOD`` when it was a call awaiting a reply, so the caller gets the error
        at once instead of a timeout; otherwise ``DecodeError`` is raised."""
        header, extra = parts.objects
        if type(header) is dict:
            self.arrow.peers.heard(sender, header)
        if isinstance(columns, DecodeError):
            parts.objects = _refusal(header, extra, columns)
            columns = []
        receiving = Receiving(self.arrow, trusted_sender=sender, parts=parts)
        receiving.arrow_values.update(id(value) for value in columns)
        return receiving

    def _decode(self, a_object: Any, *args: Any, **kwargs: Any) -> Any:
        receiving = RECEIVING.get()
        if receiving is not None and id(a_object) in receiving.arrow_values:
            return a_object
        if type(a_object) is dict and (a_object.get("_rscalar") or a_object.get("_rorder")) and a_object.get("_rtype") == "ndarray":
            return from_stock_form(a_object)
        return super()._decode(a_object, *args, **kwargs)

    def add_service(self, api: Any, overwrite: bool = False) -> Any:
        if isinstance(api, dict) and api.get("id") == "built-in":
            api = {**api, REFUSAL_METHOD: _refused_call}
        return super().add_service(api, overwrite)

    async def _handle_client_disconnected(self, client_id: str) -> Any:
        self.arrow.peers.left(client_id)
        self.arrow.transfers.drop_from(client_id)
        return await super()._handle_client_disconnected(client_id)

    # -- the built-in message cache: large messages arriving, within the budgets ----------

    def _create_message(self, key: str, heartbeat: bool = False, overwrite: bool = False, context: dict[str, Any] | None = None) -> Any:
        sender = _sender(context)
        self.arrow.transfers.admit_create(key, sender)
        result = super()._create_message(key, self._heartbeat(key, heartbeat), overwrite, context)
        layout = transfer.declared_layout(key)
        if layout is not None:  # one buffer for the whole frame, in place of hypha-rpc's dict of chunks
            self._object_store["message_cache"][key] = Assembly(*layout)
        self.arrow.transfers.created(key, sender)
        progress.started(self, key)
        return result

    def _append_message(self, key: str, data: bytes, heartbeat: bool = False, context: dict[str, Any] | None = None) -> Any:
        added = self.arrow.transfers.admit_chunk(key, _sender(context), None, data)
        if isinstance(self._assembly(key), Assembly):  # hypha_arrow senders number their chunks
            raise self.arrow.transfers.refuse(key, "a chunk appended to a message whose key declares its layout")
        result = super()._append_message(key, data, self._heartbeat(key, heartbeat), context)
        self.arrow.transfers.stored(key, added)
        progress.received(self, key, _sender(context), added)
        return result

    def _set_message(self, key: str, index: int, data: bytes, heartbeat: bool = False, context: dict[str, Any] | None = None) -> Any:
        added = self.arrow.transfers.admit_chunk(key, _sender(context), index, data)
        assembly = self._assembly(key)
        if isinstance(assembly, Assembly):
            try:
                assembly.write(index, data)
            except (ValueError, MemoryError) as error:
                raise self.arrow.transfers.refuse(key, str(error) or "no memory for the frame") from None
            self._heartbeat(key, heartbeat)
            result = None
        else:
            result = super()._set_message(key, index, data, self._heartbeat(key, heartbeat), context)
        self.arrow.transfers.stored(key, added)
        progress.received(self, key, _sender(context), added)
        return result

    def _assembly(self, key: str) -> Any:
        return self._object_store.get("message_cache", {}).get(key) if isinstance(key, str) else None

    def _remove_message(self, key: str, context: dict[str, Any] | None = None) -> Any:
        if not self.arrow.transfers.admit_remove(key, _sender(context)):
            return None
        try:
            return super()._remove_message(key, context)
        finally:
            self.arrow.transfers.finished(key)

    def _process_message(self, key: str, heartbeat: bool = False, context: dict[str, Any] | None = None) -> asyncio.Future:
        """Handle the message once the sender's earlier frames are, ahead of its later ones, with
        its join and decoding off the event loop when large; its bytes count against the
        budgets until then. hypha-rpc awaits the future returned."""
        sender = _sender(context)
        size = self.arrow.transfers.claim(key, sender)
        heartbeat = self._heartbeat(key, heartbeat)
        return self.arrow.inbox.next(sender, lambda: self._process_claimed(key, size, heartbeat, context, sender))

    async def _process_claimed(self, key: str, size: int, heartbeat: bool, context: dict[str, Any] | None, sender: str) -> Any:
        transfers = self.arrow.transfers
        try:
            cache = self._object_store.get("message_cache", {})
            chunks = cache.get(key)
            receiving = Receiving(self.arrow, trusted_sender=sender or None)
            if isinstance(chunks, dict) and chunks:  # else hypha-rpc reports what is wrong
                try:
                    large = size >= OFF_LOOP_BYTES
                    frame = await off_loop_if(large and not isinstance(chunks, Assembly), transfer.join_chunks, chunks)
                    if key in cache:  # else removed by its sender meanwhile: hypha-rpc says so
                        # an Assembly's frame is a view of its buffer: hypha-rpc gets the buffer,
                        # only to log its size (its Unpacker reads the frame decoded below)
                        cache[key] = {0: frame if isinstance(frame, bytes) else frame.obj}
                        parts = await off_loop_if(large, framing.FrameParts, frame, 2, self.arrow.config)
                        receiving = self._received(parts, sender, await _section(parts))
                except (ValueError, DecodeError) as error:  # DecodeError: no call awaiting a reply to tell
                    raise transfers.refuse(key, str(error)) from None
            token = RECEIVING.set(receiving)
            try:
                return super()._process_message(key, heartbeat, context)
            finally:
                RECEIVING.reset(token)
        finally:
            transfers.finished(key)

    def _heartbeat(self, key: str, heartbeat: bool) -> bool:
        """The heartbeat flag to hand hypha-rpc: a unique key's session timer is reset here.

        hypha_arrow senders give each message its own key and no flag; a session that is
        gone (a kept remote object called in a later call) is then no error, as it must not
        be: the flag only keeps a waiting call's timer from running out.
        """
        session = transfer.session_of(key) if isinstance(key, str) else key
        if session == key:
            return heartbeat
        store = self._object_store.get(session) if session else None  # the key is the sender's to choose
        timer = store.get("timer") if isinstance(store, dict) else None
        if timer is not None and hasattr(timer, "reset"):
            timer.reset()
        return False


def _sender(message: Any) -> str:
    """Who sent a frame, or called a built-in method, as the server stated it: the ``from`` of
    the frame's header, or of the call's context."""
    sender = message.get("from") if isinstance(message, dict) else None
    return sender if isinstance(sender, str) else ""


def _section_now(parts: framing.FrameParts) -> list[Any] | DecodeError:
    """The values of the frame's section, or the reason it was refused."""
    try:
        return parts.resolve()
    except DecodeError as error:
        return error


async def _section(parts: framing.FrameParts) -> list[Any] | DecodeError:
    """``_section_now``, off the event loop when the section is real work."""
    return await off_loop_if(parts.section_work >= OFF_LOOP_BYTES, _section_now, parts)


def _refusal(header: Any, extra: Any, error: DecodeError) -> list[Any]:
    """A refused call, rewritten as a call of ``REFUSAL_METHOD`` with the same promise; raises
    ``error`` when the frame is no call awaiting a reply (nobody to tell)."""
    if not (type(header) is dict and header.get("type") == "method" and type(extra) is dict and "promise" in extra):
        raise error
    method = header.get("method")
    reason = f"hypha_arrow at {header.get('to')} refused the call of {method!r:.200}: {error}"
    return [{**header, "method": f"services.built-in.{REFUSAL_METHOD}"}, {**{k: extra[k] for k in ("promise", "t") if k in extra}, "args": [reason], "with_kwargs": False}]


def _refused_call(reason: str, context: dict[str, Any] | None = None) -> None:
    """What a refused call runs instead: its error goes back to the caller through hypha-rpc."""
    raise DecodeError(str(reason)[:2000])


class ArrowRemoteFunction(RemoteFunction):
    """A remote method of an ``ArrowRPC``: each call decides how its frame is sent."""

    def __call__(self, *arguments: Any, **kwargs: Any) -> asyncio.Future:
        state: ArrowState = self._rpc.arrow
        target = self._encoded_method.get("_rtarget", "")
        hybrid = state.reads_hybrid(target, tagged=bool(self._encoded_method.get(METHOD_TAG)))
        first = self._send(Sending(state, hybrid), arguments, kwargs)
        if not first.columns:
            return first.call
        return _resent_stock_if_refused(first.call, lambda: self._send(Sending(state, False), arguments, kwargs).call, state, target)

    def _send(self, sending: Sending, arguments: tuple[Any, ...], kwargs: dict[str, Any]) -> Sending:
        sending.encrypting = bool(self._rpc._encryption_enabled and self._target_encryption_pub)
        token = SENDING.set(sending)
        try:
            sending.call = super().__call__(*arguments, **kwargs)  # its send task starts later
            progress.calling(self, sending.call)
        finally:
            SENDING.reset(token)
        return sending


class _ConnectionLostFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Connection lost")


@contextlib.contextmanager
def deliberate_disconnect(logger: Any) -> Iterator[None]:
    """Silence hypha-rpc's "Connection lost ..., rejecting all pending RPC calls" warning, which
    it logs on every disconnect, asked for or not, and which users take for a failure."""
    if not isinstance(logger, logging.Logger):  # hypha-rpc's silent logger, or one of the user's
        yield
        return
    quiet = _ConnectionLostFilter()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


async def disconnect_quietly(server: Any) -> None:
    """``server.disconnect()`` without that warning, for stock clients too (tools, benchmarks)."""
    with deliberate_disconnect(server.rpc._log):
        await server.disconnect()


def _resent_stock_if_refused(call: asyncio.Future, resend: Any, state: ArrowState, target: str) -> asyncio.Future:
    """``call``'s outcome, unless the target refused it as a stock peer: then a stock resend's."""
    outcome = asyncio.get_running_loop().create_future()

    def settle(done: asyncio.Future) -> None:
        if outcome.done():
            return
        if done.cancelled():
            outcome.cancel()
        elif done.exception() is not None:
            outcome.set_exception(done.exception())
        else:
            outcome.set_result(done.result())

    def first_done(done: asyncio.Future) -> None:
        if not done.cancelled() and STOCK_REFUSAL in str(done.exception() or ""):
            state.peers.refused_hybrid(state.qualified(target))
            resend().add_done_callback(settle)
        else:
            settle(done)

    call.add_done_callback(first_done)
    return outcome


def _taken_by_codec(value: Any, config: Config) -> Any:
    """The value, or its ready column, when the codec sends it better than hypha-rpc's
    encoder would (typed data, plain and record lists); None to leave it to hypha-rpc."""
    if family_for(value) is not None:
        return value
    if type(value) is list and value:
        return next((column for family in LIST_FAMILIES if (column := family.encode(value, config)) is not None), None)
    return None


class ArrowWebsocketConnection(WebsocketRPCConnection):
    """A websocket without permessage-deflate (Arrow compression replaces it, at far higher
    speed), with room for the large chunks hypha_arrow peers send and a short inbound queue."""

    def _ws_connect_kwargs(self) -> dict[str, Any]:
        return super()._ws_connect_kwargs() | {"compression": None, "max_size": MAX_INBOUND_FRAME, "max_queue": INBOUND_QUEUE}
