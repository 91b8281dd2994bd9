"""The one place frames are packed and unpacked: the ``msgpack`` name inside ``hypha_rpc.rpc``.

rpc.py packs every frame as ``msgpack.packb(header) + msgpack.packb(extra)`` and reads every
frame through ``msgpack.Unpacker`` / ``msgpack.unpackb``, at six call sites and with no method
around them to override (docs/hypha-rpc-proposal.md proposes one). So ``MsgpackShim`` stands
in for that module global. It is plain msgpack unless a hypha_arrow connection is sending or
receiving on the current task, which its ``RPC`` subclass says through the two context
variables below: stock ``RPC`` objects in the same process pack and unpack exactly as stock.
"""

from __future__ import annotations

import contextvars
import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgpack

from .. import framing
from ..deferred import DeferredFrame
from .peers import HEADER_KEY

if TYPE_CHECKING:
    import asyncio

    from .client import ArrowState


@dataclass
class Sending:
    """The frame a hypha_arrow connection is building on this task."""

    state: ArrowState
    hybrid: bool
    """The target reads hybrid frames, so values may go to the Arrow section."""
    encrypting: bool = False
    columns: bool = False
    """Some value was handed to the codec as is: the extra must be packed by it."""
    call: asyncio.Future | None = None
    """The call's future once it exists: settled before its chunks are all sent (the target
    left, the caller disconnected), the rest of them would go nowhere."""


@dataclass
class Receiving:
    """The frame a hypha_arrow connection is reading on this task."""

    state: ArrowState
    trusted_sender: str | None
    """The sender as the server stated it: the chunked message's context, or the header's ``from``."""
    arrow_values: set[int] = field(default_factory=set)
    """ids of the values that came out of the Arrow section: hypha-rpc's decoder leaves them be."""
    parts: framing.FrameParts | None = None
    """The frame, already decoded by the connection (off the event loop if large), for the
    ``Unpacker`` hypha-rpc builds next."""


SENDING: contextvars.ContextVar[Sending | None] = contextvars.ContextVar("hypha_arrow_sending", default=None)
RECEIVING: contextvars.ContextVar[Receiving | None] = contextvars.ContextVar("hypha_arrow_receiving", default=None)


class _Tail:
    """The extra data of a hybrid frame, written behind the header in one allocation.

    Returned from the second ``packb``, it makes rpc.py's ``header + extra`` call
    ``__radd__``, so the Arrow section is written once, straight into the final frame; a
    frame hypha-rpc will send in chunks (through ``ArrowRPC._send_chunks``) is returned as a
    ``DeferredFrame``, copied chunk by chunk as it is sent.
    """

    def __init__(self, extra: dict[str, Any], sending: Sending) -> None:
        self.extra = extra
        self.sending = sending

    def __radd__(self, header: bytes) -> bytes | DeferredFrame:
        state = self.sending.state
        return framing.encode_after(header, self.extra, state.config, columnar=True, defer_from=state.defer_from)


class MsgpackShim:
    """Stands in for the ``msgpack`` module inside ``hypha_rpc.rpc``."""

    exceptions = msgpack.exceptions

    @staticmethod
    def packb(value: Any, **kwargs: Any) -> Any:
        sending = SENDING.get()
        if sending is None or kwargs:
            return msgpack.packb(value, **kwargs)
        if type(value) is dict and "type" in value:  # the routing header
            value[HEADER_KEY] = framing.FORMAT_VERSION
            return msgpack.packb(value)
        if not sending.columns:
            return msgpack.packb(value)
        if sending.encrypting:  # the plaintext to encrypt must be real bytes
            return framing.encode_after(b"", value, sending.state.config)
        return _Tail(value, sending)

    @staticmethod
    def unpackb(data: bytes, **kwargs: Any) -> Any:
        receiving = RECEIVING.get()
        if receiving is None or kwargs:
            return msgpack.unpackb(data, **kwargs)
        (extra,), columns = framing.decode_objects(data, 1, receiving.state.config)
        receiving.arrow_values.update(id(value) for value in columns)
        return extra

    @staticmethod
    def Unpacker(file_like: Any = None, **kwargs: Any) -> Any:  # noqa: N802 - msgpack's name
        receiving = RECEIVING.get()
        if receiving is None or not isinstance(file_like, io.BytesIO):
            return msgpack.Unpacker(file_like, **kwargs)
        return _DecodedFrame(file_like.getvalue(), receiving)


class _DecodedFrame:
    """What rpc.py's ``Unpacker(...).unpack()`` calls get: the header, then the extra if any."""

    def __init__(self, data: bytes, receiving: Receiving) -> None:
        parts, receiving.parts = receiving.parts, None
        if parts is None:  # not read ahead by the connection
            parts = framing.FrameParts(data, 2, receiving.state.config)
            receiving.arrow_values.update(id(value) for value in parts.resolve())
        header, extra = parts.objects
        self._objects = [header] if extra is None else [header, extra]

    def unpack(self) -> Any:
        if not self._objects:
            raise msgpack.exceptions.OutOfData()
        return self._objects.pop(0)
