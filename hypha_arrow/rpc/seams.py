"""The module-level names of hypha-rpc that hypha_arrow rebinds, why, and the check that they still fit.

No attribute of any hypha-rpc class is replaced: ``ArrowRPC`` and friends are subclasses.
What a subclass cannot reach is which class ``connect_to_server`` constructs and the
``msgpack`` module rpc.py packs every frame through; those are module globals, listed in
``REBINDS`` with the reason for each. Each stand-in is stock unless a hypha_arrow connection
asked for it, so stock clients in the same process stay stock; ``restore()`` puts the
originals back.

``check()`` runs once per process, before the first rebind: it looks for every internal
hypha_arrow relies on (names, parameters, the ndarray form of ``_encode``) on the installed
hypha-rpc, so a release that moved one fails at ``enable()`` / ``connect_to_server()`` with
the list of what is missing, never mid-call or half-installed.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import IncompatibleHyphaRPC

TESTED_RELEASES = ("0.21.40", "0.21.47")
"""The oldest and newest hypha-rpc release the test matrix ran (docs/compatibility.md)."""


@dataclass(frozen=True)
class Rebind:
    module: str
    name: str
    reason: str


REBINDS = (
    Rebind("hypha_rpc.rpc", "msgpack", "rpc.py packs and unpacks every frame through this module global, at six call sites with no method around them"),
    Rebind("hypha_rpc.websocket_client", "RPC", "`_connect_to_server` constructs its RPC by this name"),
    Rebind("hypha_rpc.http_client", "RPC", "`_connect_to_server_http` constructs its RPC by this name"),
    Rebind("hypha_rpc.websocket_client", "WebsocketRPCConnection", "`_connect_to_server` constructs its connection by this name"),
)

_METHODS: dict[str, dict[str, tuple[str, ...]]] = {
    "hypha_rpc.rpc:RPC": {
        "__init__": ("connection", "client_id"),
        "_generate_remote_method": ("encoded_method",),
        "emit": ("main_message", "extra_data"),
        "_encode": ("a_object", "session_id", "local_workspace"),
        "_decode": ("a_object",),
        "_send_chunks": ("package", "target_id", "session_id"),
        "_on_message": ("message",),
        "_handle_client_disconnected": ("client_id",),
        "_create_message": ("key", "heartbeat", "overwrite", "context"),
        "_append_message": ("key", "data", "heartbeat", "context"),
        "_set_message": ("key", "index", "data", "heartbeat", "context"),
        "_process_message": ("key", "heartbeat", "context"),
    },
    "hypha_rpc.rpc:RemoteFunction": {"__call__": ()},
    "hypha_rpc.websocket_client:WebsocketRPCConnection": {"_ws_connect_kwargs": ()},
}
_INSTANCE_ATTRIBUTES = ("_object_store", "_long_message_chunk_size", "_local_workspace", "_client_id", "_server_base_url", "_encryption_enabled", "_emit_message")
_REMOTE_FUNCTION_ATTRIBUTES = ("_rpc", "_encoded_method", "_target_encryption_pub")

_checked: list[str] | None = None
_originals: dict[Rebind, Any] = {}


def check() -> None:
    """Raise ``IncompatibleHyphaRPC`` naming every missing internal; warn once outside the tested range."""
    global _checked
    if _checked is None:
        _checked = _problems()
        if not _checked:
            _warn_if_untested()
    if _checked:
        import hypha_rpc

        raise IncompatibleHyphaRPC(f"hypha-rpc {hypha_rpc.__version__} lacks what hypha_arrow needs: " + "; ".join(_checked))


def install(stand_ins: dict[str, Any]) -> None:
    """Rebind every name of ``REBINDS`` to ``stand_ins[name]`` (after ``check()``)."""
    check()
    if _originals:
        return
    for rebind in REBINDS:
        module = importlib.import_module(rebind.module)
        _originals[rebind] = getattr(module, rebind.name)
        setattr(module, rebind.name, stand_ins[rebind.name])


def restore() -> None:
    for rebind, original in _originals.items():
        setattr(importlib.import_module(rebind.module), rebind.name, original)
    _originals.clear()


def original(module: str, name: str) -> Any:
    """The stock object behind a rebound name (stand-ins construct it for stock connections)."""
    for rebind, value in _originals.items():
        if (rebind.module, rebind.name) == (module, name):
            return value
    return getattr(importlib.import_module(module), name)


def installed() -> bool:
    return bool(_originals)


def _problems() -> list[str]:
    problems: list[str] = []
    try:
        for rebind in REBINDS:
            if not hasattr(importlib.import_module(rebind.module), rebind.name):
                problems.append(f"{rebind.module}.{rebind.name} (needed because {rebind.reason})")
        for owner, methods in _METHODS.items():
            problems += _missing_methods(_resolve(owner), owner, methods)
    except ImportError as error:
        return [f"a module is missing: {error}"]
    return problems or _behaviour_problems()


def _resolve(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name, None)


def _missing_methods(owner: Any, owner_name: str, methods: dict[str, tuple[str, ...]]) -> list[str]:
    if owner is None:
        return [owner_name]
    problems = []
    for name, parameters in methods.items():
        method = getattr(owner, name, None)
        if not callable(method):
            problems.append(f"{owner_name}.{name}")
            continue
        present = list(inspect.signature(method).parameters)[1:]
        if present[: len(parameters)] != list(parameters):
            problems.append(f"{owner_name}.{name}{tuple(parameters)} (found {tuple(present)})")
    return problems


def _behaviour_problems() -> list[str]:
    """Build an offline RPC on a loop of its own and check the internals hypha_arrow reads."""
    from hypha_rpc.rpc import RPC, RemoteFunction

    loop = asyncio.new_event_loop()
    try:
        rpc = RPC(None, client_id="hypha-arrow-check", server_base_url="http://check", loop=loop, silent=True)
        problems = [f"RPC instance attribute {name}" for name in _INSTANCE_ATTRIBUTES if not hasattr(rpc, name)]
        method = rpc._generate_remote_method({"_rtarget": "ws/peer", "_rmethod": "services.s.m", "_rpromise": True})
        if not isinstance(method, RemoteFunction):
            problems.append("RPC._generate_remote_method returning a RemoteFunction")
        problems += [f"RemoteFunction attribute {name}" for name in _REMOTE_FUNCTION_ATTRIBUTES if not hasattr(method, name)]
        array = np.arange(3, dtype="<i4")
        form = rpc._encode(array)
        if not (isinstance(form, dict) and form.get("_rtype") == "ndarray" and form.get("_rvalue") == array.tobytes()):
            problems.append("RPC._encode's ndarray form {_rtype: 'ndarray', _rvalue, _rshape, _rdtype}")
        elif not np.array_equal(rpc._decode(form), array):
            problems.append("RPC._decode of the ndarray form")
        return problems
    except Exception as error:  # any failure here means the internals moved
        return [f"an offline RPC could not be checked ({type(error).__name__}: {error})"]
    finally:
        loop.close()


def _warn_if_untested() -> None:
    import hypha_rpc

    version = _release(hypha_rpc.__version__)
    if version is None or not (_release(TESTED_RELEASES[0]) <= version <= _release(TESTED_RELEASES[1])):
        warnings.warn(
            f"hypha_arrow was tested with hypha-rpc {TESTED_RELEASES[0]} to {TESTED_RELEASES[1]}; "
            f"{hypha_rpc.__version__} has every internal it needs, so it is used as is",
            stacklevel=5,  # the caller of enable()
        )


def _release(version: str) -> tuple[int, ...] | None:
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return None

