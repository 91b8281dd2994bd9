"""The hypha-rpc layer: hybrid frames between hypha_arrow clients, stock frames to everyone else.

- ``client``: the ``RPC`` subclass (and remote-function and websocket subclasses) that does it;
- ``seams``: the few module-level names of hypha-rpc rebound so ``connect_to_server`` builds
  those subclasses, and the check that the installed hypha-rpc has what they need;
- ``frames`` (packing), ``peers`` (who reads hybrid frames), ``transfer`` (large messages),
  ``progress`` (their bytes reported to the user's hooks),
  ``stock_forms`` (hypha-rpc's own value forms, which the codec core also writes);
- receiving from anyone: ``budgets`` (what a sender may make this client hold, and whose a
  message is), ``inbox`` (per-sender order, large frames decoded off the event loop),
  ``heap`` (freed memory handed back to the OS).

The codec core never imports hypha-rpc; nothing here imports it before it is used.
"""

from __future__ import annotations

import contextvars
import importlib
import weakref
from typing import TYPE_CHECKING, Any

from ..config import DEFAULT_CONFIG, Config

if TYPE_CHECKING:
    from .progress import Hook

_CONNECTING: contextvars.ContextVar[Config | None] = contextvars.ContextVar("hypha_arrow_connecting", default=None)
_enabled: Config | None = None
_live: weakref.WeakSet[Any] = weakref.WeakSet()
"""hypha_arrow connections alive: the frame packing they rely on stays until the last one goes."""


def enable(config: Config | None = None) -> None:
    """Use hybrid frames on every hypha-rpc connection made from now on in this process."""
    global _enabled
    _install()
    _enabled = config or DEFAULT_CONFIG


def disable() -> None:
    """Connections made from now on are stock; hypha-rpc is restored once no hypha_arrow one is left."""
    global _enabled
    _enabled = None
    _release()


async def connect_to_server(config: dict[str, Any], *, arrow: Config | None = None, progress: Hook | None = None) -> Any:
    """``hypha_rpc.connect_to_server`` with hybrid frames on for this connection only.

    ``arrow`` sets the codec options (``Config``); hypha-rpc's own options go in ``config``.
    ``progress``: a hook told of every chunked message this connection sends or receives
    (a callable taking a ``TransferProgress``, or a tqdm bar; see ``progress``).
    """
    from hypha_rpc import connect_to_server as stock_connect

    from .progress import watch_connection

    _install()
    token = _CONNECTING.set(arrow or _enabled or DEFAULT_CONFIG)
    try:
        server = await stock_connect(config)
    finally:
        _CONNECTING.reset(token)
        _release()
    if progress is not None:
        watch_connection(server.rpc, progress)
    return server


def closed(rpc: Any) -> None:
    """A hypha_arrow connection was disconnected: it no longer keeps hypha-rpc rebound."""
    _live.discard(rpc)
    _release()


def _install() -> None:
    from . import seams

    seams.check()  # before the subclasses are defined: a missing base class is reported, not raised
    importlib.import_module(f"{__name__}.client")  # subclasses the stock classes: before they are rebound
    from .frames import MsgpackShim

    seams.install({"msgpack": MsgpackShim, "RPC": _new_rpc, "WebsocketRPCConnection": _new_websocket_connection})


def _release() -> None:
    from . import seams

    if _enabled is None and _CONNECTING.get() is None and not any(True for _ in _live):  # dead ones skipped
        seams.restore()


def _arrow_config() -> Config | None:
    return _CONNECTING.get() or _enabled


def _new_rpc(*args: Any, **kwargs: Any) -> Any:
    """What ``connect_to_server`` constructs: an ``ArrowRPC`` when hypha_arrow asked for one."""
    from hypha_rpc.rpc import RPC  # never rebound: the stock class itself

    from .client import ArrowRPC

    config = _arrow_config()
    if config is None:
        return RPC(*args, **kwargs)
    rpc = ArrowRPC(*args, arrow=config, **kwargs)
    _live.add(rpc)
    weakref.finalize(rpc, _release)
    return rpc


def _new_websocket_connection(*args: Any, **kwargs: Any) -> Any:
    from . import seams
    from .client import ArrowWebsocketConnection

    if _arrow_config() is None:
        return seams.original("hypha_rpc.websocket_client", "WebsocketRPCConnection")(*args, **kwargs)
    return ArrowWebsocketConnection(*args, **kwargs)
