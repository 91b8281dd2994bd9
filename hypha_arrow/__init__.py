"""hypha_arrow: hypha-rpc messages with their bulky values as an Arrow IPC section.

One obvious API: ``encode_message``/``decode_message`` for hypha-rpc frames,
``encode``/``decode`` for standalone values, ``Config`` for options,
``inspect`` for debugging, one error family (``HyphaArrowError``, subclassed by
``DecodeError`` and ``EncodeError``), and for hypha-rpc itself
``connect_to_server`` (one connection) or ``enable``/``disable`` (process-wide), with
``progress`` (a hook told of large transfers' bytes, each a ``TransferProgress``).
"""

from typing import Any

from .config import Config
from .errors import DecodeError, EncodeError, HyphaArrowError, IncompatibleHyphaRPC, TransferRefused
from .framing import decode, decode_message, encode, encode_message
from .inspection import inspect

_RPC_API = ("connect_to_server", "enable", "disable")
_PROGRESS_API = ("progress", "TransferProgress")

__all__ = ["Config", "DecodeError", "EncodeError", "HyphaArrowError", "IncompatibleHyphaRPC", "TransferRefused", "decode", "decode_message", "encode", "encode_message", "inspect", *_RPC_API, *_PROGRESS_API]


def __getattr__(name: str) -> Any:
    """The hypha-rpc layer loads on first use, so the codec alone never imports hypha-rpc."""
    if name in _RPC_API:
        from . import rpc

        return getattr(rpc, name)
    if name in _PROGRESS_API:
        from .rpc import progress  # the module: the package binds no name of its own over it

        return getattr(progress, name)
    raise AttributeError(f"module 'hypha_arrow' has no attribute {name!r}")
