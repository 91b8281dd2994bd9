"""hypha-rpc integration: hybrid frames between hypha_arrow clients, stock frames to everyone else.

Tested against hypha-rpc 0.21.47 (``SUPPORTED_HYPHA_RPC``). ``enable()`` patches, at class
or module level and before connections are made, these points of hypha-rpc:

1. ``hypha_rpc.rpc.msgpack`` -> ``_MsgpackShim``: rpc.py packs and unpacks every frame
   through this one module global, so sending, receiving, chunk reassembly and the
   encrypted payload all pass through the codec here.
2. ``RPC.__init__``: attaches the connection's ``Config`` (connections without one stay stock).
3. ``RemoteFunction.__call__``: records, for the frame being built, whether its target reads
   hybrid frames.
4. ``RPC._encode``: hands numpy, pandas, pyarrow values and homogeneous lists to the codec
   as they are (capable targets only), and tags this client's own methods with ``_rarrow``.
5. ``RPC._decode``: leaves values that came out of the Arrow section as they are, and turns
   numpy scalars sent by hypha_arrow back into scalars.
6. ``RPC._on_message`` / ``RPC._process_message``: the receiving connection's config; the
   ``_ha`` header key tells which senders read hybrid frames; chunks are joined into one
   aligned frame, each freed as soon as it is copied.
7. ``RPC._send_chunks``: large frames go as paced, pipelined chunks (see ``transfer``):
   960 KiB-15 MiB to capable targets instead of one awaited call per 256 KiB, and hypha-rpc's
   256 KiB to stock targets, paced so that no payload size trips the server's rate limit.
8. ``RPC._create_message`` / ``RPC._handle_client_disconnected``: a partial message whose
   sender disconnected or went silent is dropped (``transfer.IncomingTransfers``).
9. ``WebsocketRPCConnection._ws_connect_kwargs``: no permessage-deflate (Arrow compression
   replaces it) and inbound frames up to ``MAX_INBOUND_FRAME``.

Capability: a target reads hybrid frames if the method being called carries ``_rarrow``
(hypha_arrow tags the methods it encodes: services, callbacks, promise callbacks) or its
client sent us a header with ``_ha`` (covers replies to ``promise: "*"`` calls). Everyone
else gets exactly what stock hypha-rpc sends.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import io
import weakref
from dataclasses import dataclass, field
from typing import Any

import msgpack
import numpy as np
import pandas as pd
import pyarrow as pa

from . import framing, transfer
from .buffers import new_frame
from .config import DEFAULT_CONFIG, Config
from .leaves import LIST_FAMILIES
from .leaves.ndarray import from_stock_form

SUPPORTED_HYPHA_RPC = ("0.21.47",)
HEADER_KEY = "_ha"
METHOD_TAG = "_rarrow"
MAX_INBOUND_FRAME = 32 << 20
"""Inbound websocket frame limit for hypha_arrow clients (stock: 1 MiB); above the largest chunk."""
_OWNED_TYPES = (np.ndarray, np.generic, pd.DataFrame, pd.Series, pa.Table, pa.RecordBatch, pa.Array, pa.ChunkedArray)


@dataclass
class _Connection:
    """What hypha_arrow keeps per RPC connection."""

    config: Config
    pacer: transfer.Pacer
    transfers: transfer.IncomingTransfers
    capable_peers: set[str] = field(default_factory=set)


@dataclass
class _Sending:
    connection: _Connection
    capable: bool
    encrypting: bool
    raw: bool = False
    call: asyncio.Future | None = None
    """The call's future once ``__call__`` returned it; settled before its chunks are all sent
    (the target left, the caller disconnected), the rest of them would go nowhere."""


@dataclass
class _Receiving:
    connection: _Connection
    trusted_sender: str | None
    arrow_values: set[int] = field(default_factory=set)


_SENDING: contextvars.ContextVar[_Sending | None] = contextvars.ContextVar("hypha_arrow_sending", default=None)
_RECEIVING: contextvars.ContextVar[_Receiving | None] = contextvars.ContextVar("hypha_arrow_receiving", default=None)
_CONNECTING: contextvars.ContextVar[Config | None] = contextvars.ContextVar("hypha_arrow_connecting", default=None)

_default_config: Config | None = None
_originals: dict[str, tuple[Any, Any]] = {}
"""Patched attribute name -> (owner, original); every name is patched on one owner only."""
_live: "weakref.WeakSet[Any]" = weakref.WeakSet()


def enable(config: Config | None = None) -> None:
    """Use hybrid frames on every hypha-rpc connection made from now on in this process."""
    global _default_config
    _install()
    _default_config = config or DEFAULT_CONFIG


def disable() -> None:
    """Connections made from now on are stock again; once none is left, hypha-rpc is restored."""
    global _default_config
    _default_config = None
    if not _live:
        _uninstall()


async def connect_to_server(config: dict[str, Any], *, arrow: Config | None = None) -> Any:
    """``hypha_rpc.connect_to_server`` with hybrid frames on for this connection only.

    ``arrow`` sets the codec options (``Config``); hypha-rpc's own options go in ``config``.
    """
    from hypha_rpc import connect_to_server as stock_connect

    _install()
    token = _CONNECTING.set(arrow or _default_config or DEFAULT_CONFIG)
    try:
        return await stock_connect(config)
    finally:
        _CONNECTING.reset(token)


def _install() -> None:
    if _originals:
        return
    import hypha_rpc
    from hypha_rpc import rpc, websocket_client

    if hypha_rpc.__version__ not in SUPPORTED_HYPHA_RPC:
        raise RuntimeError(
            f"hypha_arrow supports hypha-rpc {', '.join(SUPPORTED_HYPHA_RPC)}; "
            f"{hypha_rpc.__version__} is installed and its internals are untested"
        )
    patches = {
        (rpc, "msgpack"): _MsgpackShim,
        (rpc.RPC, "__init__"): _rpc_init,
        (rpc.RemoteFunction, "__call__"): _remote_call,
        (rpc.RPC, "_encode"): _encode,
        (rpc.RPC, "_decode"): _decode,
        (rpc.RPC, "_on_message"): _on_message,
        (rpc.RPC, "_process_message"): _process_message,
        (rpc.RPC, "_send_chunks"): _send_chunks,
        (rpc.RPC, "_create_message"): _create_message,
        (rpc.RPC, "_handle_client_disconnected"): _handle_client_disconnected,
        (websocket_client.WebsocketRPCConnection, "_ws_connect_kwargs"): _ws_connect_kwargs,
    }
    for (owner, name), replacement in patches.items():
        _originals[name] = (owner, getattr(owner, name))
        setattr(owner, name, replacement)


def _uninstall() -> None:
    for name, (owner, original) in _originals.items():
        setattr(owner, name, original)
    _originals.clear()


def _original(name: str) -> Any:
    return _originals[name][1]


def _state(rpc: Any) -> _Connection | None:
    return getattr(rpc, "_hypha_arrow", None)


# -- 2. connections ---------------------------------------------------------------------


def _rpc_init(self: Any, *args: Any, **kwargs: Any) -> None:
    _original("__init__")(self, *args, **kwargs)
    config = _CONNECTING.get() or _default_config
    if config is not None:
        connection = args[0] if args else kwargs.get("connection")
        incoming = transfer.IncomingTransfers(self._object_store, config.transfer_idle_timeout)
        self._hypha_arrow = _Connection(config, pacer=transfer.pacer_for(connection), transfers=incoming)
        _live.add(self)


def _ws_connect_kwargs(self: Any) -> dict[str, Any]:
    kwargs = _original("_ws_connect_kwargs")(self)
    if _CONNECTING.get() or _default_config:
        self._hypha_arrow = True  # reconnections keep these settings
    if getattr(self, "_hypha_arrow", False):
        kwargs["compression"] = None
        kwargs["max_size"] = MAX_INBOUND_FRAME
    return kwargs


# -- 3, 4. sending ----------------------------------------------------------------------


def _remote_call(self: Any, *args: Any, **kwargs: Any) -> Any:
    connection = _state(self._rpc)
    if connection is None:
        return _original("__call__")(self, *args, **kwargs)
    capable = _is_capable(self._rpc, connection, self._encoded_method)
    encrypting = bool(self._rpc._encryption_enabled and self._target_encryption_pub)
    sending = _Sending(connection, capable, encrypting)
    token = _SENDING.set(sending)
    try:
        sending.call = _original("__call__")(self, *args, **kwargs)  # its send task starts later
        return sending.call
    finally:
        _SENDING.reset(token)


def _is_capable(rpc: Any, connection: _Connection, encoded_method: dict[str, Any]) -> bool:
    return bool(encoded_method.get(METHOD_TAG)) or _has_replied_hybrid(rpc, connection, encoded_method.get("_rtarget", ""))


def _has_replied_hybrid(rpc: Any, connection: _Connection, target: str) -> bool:
    """Whether ``target`` sent us a frame whose header marks a hypha_arrow client."""
    if "/" not in target and rpc._local_workspace:
        target = f"{rpc._local_workspace}/{target}"
    return target in connection.capable_peers


def _encode(self: Any, a_object: Any, session_id: str | None = None, local_workspace: str | None = None) -> Any:
    sending = _SENDING.get()
    if sending is not None and sending.capable:
        taken = _taken_by_codec(a_object, sending.connection.config)
        if taken is not None:
            sending.raw = True
            return taken
        if type(a_object) in (list, tuple):
            # hypha-rpc passes lists of primitive dicts through without visiting them;
            # visit every item so record lists inside ``args`` reach the codec
            return [self._encode(item, session_id=session_id, local_workspace=local_workspace) for item in a_object]
    encoded = _original("_encode")(self, a_object, session_id=session_id, local_workspace=local_workspace)
    if (
        _state(self) is not None
        and type(encoded) is dict
        and encoded.get("_rtype") in ("method", "generator")
        and str(encoded.get("_rtarget", "")).rsplit("/", 1)[-1] == self._client_id
    ):
        encoded[METHOD_TAG] = framing.FORMAT_VERSION
    return encoded


def _taken_by_codec(value: Any, config: Config) -> Any:
    """The value, or its ready column, when the codec sends it better than hypha-rpc's
    encoder would (typed data, plain and record lists); None to leave it to hypha-rpc."""
    if isinstance(value, _OWNED_TYPES):
        return value
    if type(value) is list and value:
        return next((column for family in LIST_FAMILIES if (column := family.encode(value, config)) is not None), None)
    return None


class _Tail:
    """The extra data of a hybrid frame, written behind the header in one allocation.

    rpc.py builds frames as ``packb(header) + packb(extra)``; returning this object from
    the second ``packb`` makes that ``+`` call ``__radd__``, so the Arrow section is
    written once, straight into the final frame.
    """

    def __init__(self, extra: dict[str, Any], config: Config) -> None:
        self.extra = extra
        self.config = config

    def __radd__(self, header: bytes) -> bytes:
        return framing.encode_after(header, self.extra, self.config)


class _MsgpackShim:
    """Stands in for the ``msgpack`` module inside ``hypha_rpc.rpc``."""

    exceptions = msgpack.exceptions

    @staticmethod
    def packb(value: Any, **kwargs: Any) -> Any:
        sending = _SENDING.get()
        if sending is None or kwargs:
            return msgpack.packb(value, **kwargs)
        if type(value) is dict and "type" in value:  # the routing header
            value[HEADER_KEY] = framing.FORMAT_VERSION
            return msgpack.packb(value)
        if not sending.raw:
            return msgpack.packb(value)
        if sending.encrypting:  # the plaintext to encrypt must be real bytes
            return framing.encode_after(b"", value, sending.connection.config)
        return _Tail(value, sending.connection.config)

    @staticmethod
    def unpackb(data: bytes, **kwargs: Any) -> Any:
        receiving = _RECEIVING.get()
        if receiving is None or kwargs:
            return msgpack.unpackb(data, **kwargs)
        (extra,), columns = framing.decode_objects(data, 1, receiving.connection.config)
        receiving.arrow_values.update(id(value) for value in columns)
        return extra

    @staticmethod
    def Unpacker(file_like: Any = None, **kwargs: Any) -> Any:  # noqa: N802 - msgpack's name
        receiving = _RECEIVING.get()
        if receiving is None or not isinstance(file_like, io.BytesIO):
            return msgpack.Unpacker(file_like, **kwargs)
        return _DecodedFrame(file_like.getvalue(), receiving)


class _DecodedFrame:
    """What rpc.py's ``Unpacker(...).unpack()`` calls get: header, then extra if any."""

    def __init__(self, data: bytes, receiving: _Receiving) -> None:
        (header, extra), columns = framing.decode_objects(data, 2, receiving.connection.config)
        receiving.arrow_values.update(id(value) for value in columns)
        sender = receiving.trusted_sender or (header.get("from") if type(header) is dict else None)
        if type(header) is dict and header.get(HEADER_KEY) and sender:
            receiving.connection.capable_peers.add(sender)
        self._objects = [header] if extra is None else [header, extra]

    def unpack(self) -> Any:
        if not self._objects:
            raise msgpack.exceptions.OutOfData()
        return self._objects.pop(0)


# -- 5, 6. receiving --------------------------------------------------------------------


def _on_message(self: Any, message: Any) -> Any:
    connection = _state(self)
    if connection is None or not isinstance(message, bytes):
        return _original("_on_message")(self, message)
    token = _RECEIVING.set(_Receiving(connection, trusted_sender=None))
    try:
        return _original("_on_message")(self, message)
    finally:
        _RECEIVING.reset(token)


def _process_message(self: Any, key: str, heartbeat: bool = False, context: dict[str, Any] | None = None) -> Any:
    connection = _state(self)
    if connection is None:
        return _original("_process_message")(self, key, heartbeat, context)
    connection.transfers.finished(key)
    _join_chunks(self._object_store.get("message_cache", {}), key)
    sender = context.get("from") if context else None
    token = _RECEIVING.set(_Receiving(connection, trusted_sender=sender))
    try:
        return _original("_process_message")(self, key, heartbeat, context)
    finally:
        _RECEIVING.reset(token)


def _join_chunks(cache: dict[str, Any], key: str) -> None:
    """Join a message's chunks into one frame, freeing each chunk once copied.

    hypha-rpc joins with ``b"".join`` and keeps the chunks until the message is handled:
    two copies of the payload at once. Left with one part, its join returns that part as is.
    """
    chunks = cache.get(key)
    if not isinstance(chunks, dict) or len(chunks) < 2 or set(chunks) != set(range(len(chunks))):
        return  # malformed or single-part: hypha-rpc's own handling applies
    frame, view = new_frame(sum(len(part) for part in chunks.values()))
    position = 0
    for index in range(len(chunks)):
        part = chunks.pop(index)
        view[position : position + len(part)] = part
        position += len(part)
    cache[key] = {0: frame}


def _decode(self: Any, a_object: Any, *args: Any, **kwargs: Any) -> Any:
    receiving = _RECEIVING.get()
    if receiving is not None and id(a_object) in receiving.arrow_values:
        return a_object
    if type(a_object) is dict and (a_object.get("_rscalar") or a_object.get("_rorder")) and a_object.get("_rtype") == "ndarray":
        return from_stock_form(a_object)
    return _original("_decode")(self, a_object, *args, **kwargs)


# -- 7, 8. large messages ---------------------------------------------------------------


async def _send_chunks(self: Any, package: bytes, target_id: str, session_id: str | None) -> None:
    connection = _state(self)
    if connection is None:
        return await _original("_send_chunks")(self, package, target_id, session_id)
    sending = _SENDING.get()  # the task sending this frame inherited its call's context
    capable = sending.capable if sending is not None else _is_capable(self, connection, {"_rtarget": target_id})
    confirmed = functools.partial(_has_replied_hybrid, self, connection, target_id)
    await transfer.send(
        self, connection.pacer, package, target_id, session_id, capable=capable, confirmed=confirmed, abandoned=functools.partial(_settled, sending)
    )


def _settled(sending: _Sending | None) -> bool:
    return sending is not None and sending.call is not None and sending.call.done()


def _create_message(self: Any, key: str, heartbeat: bool = False, overwrite: bool = False, context: dict[str, Any] | None = None) -> Any:
    result = _original("_create_message")(self, key, heartbeat, overwrite, context)
    connection = _state(self)
    if connection is not None and context and context.get("from"):
        connection.transfers.started(key, context["from"])
    return result


async def _handle_client_disconnected(self: Any, client_id: str) -> Any:
    connection = _state(self)
    if connection is not None:
        connection.capable_peers.discard(client_id)
        connection.transfers.drop_from(client_id)
    return await _original("_handle_client_disconnected")(self, client_id)
