"""hypha_arrow: hypha-rpc messages with their bulky values as an Arrow IPC section.

One obvious API: ``encode_message``/``decode_message`` for hypha-rpc frames,
``encode``/``decode`` for standalone values, ``Config`` for options,
``inspect`` for debugging, and two error types.
"""

from .config import Config
from .errors import DecodeError, EncodeError
from .framing import decode, decode_message, encode, encode_message
from .inspection import inspect

__all__ = ["Config", "DecodeError", "EncodeError", "decode", "decode_message", "encode", "encode_message", "inspect"]
