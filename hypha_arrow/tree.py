"""The object-tree walk: pull columnar leaves out on encode, put them back on decode.

Encoding copies the dict/list skeleton and swaps each columnar value for a
placeholder, recording its path; decoding follows those paths straight to the
placeholders, so it never walks the msgpack-only parts of a message.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import Any, NoReturn

import msgpack

from .config import Config
from .errors import DecodeError, EncodeError
from .families import BY_KIND, LIST_FAMILIES, Column, family_for
from .rpc.stock_forms import placeholder

MSGPACK_SCALARS = frozenset({str, int, float, bool, type(None), bytes})
"""Exact types msgpack packs as one value and unpacks as the same type: the only map keys
that come back as themselves (a tuple key would come back as a list, which cannot be a key)."""
MSGPACK_EXTENSIONS = frozenset({msgpack.ExtType, msgpack.Timestamp})
_INT_MIN, _INT_MAX = -(1 << 63), (1 << 64) - 1

Path = list[Any]
"""Map keys (msgpack scalars) and list indices, from the skeleton's root."""


def format_path(path: Path, root: str = "") -> str:
    """``args[0]['table']['price']``: the first dict key bare, the rest subscripted."""
    text = root
    for i, key in enumerate(path):
        text += str(key) if i == 0 and not root and isinstance(key, str) else f"[{key!r}]"
    return text or "value"


def _fits_64_bits(value: int) -> bool:
    return _INT_MIN <= value <= _INT_MAX


class Extraction:
    """One encode walk: the skeleton it builds, and the columns and paths it takes out.

    ``root`` prefixes every path (a standalone value sits under the frame's ``"value"`` key)
    without counting towards ``max_depth``. Once ``max_columns`` columns are taken, values
    that have a msgpack form (numpy arrays in hypha-rpc's, lists as themselves) take it.
    """

    def __init__(self, config: Config, root: Path | None = None) -> None:
        self.config = config
        self.columns: list[Column] = []
        self.paths: list[Path] = []
        self._path: Path = list(root or [])
        self._deepest = config.max_depth + len(self._path)
        self._family_config = config

    def walk(self, value: Any) -> Any:
        """The skeleton of ``value``: a copy of its containers with columnar values swapped out."""
        try:
            return self._walk(value)
        except RecursionError:  # max_depth set above what the caller's stack has room for
            raise EncodeError(f"nesting too deep for Python's recursion limit ({sys.getrecursionlimit()})", format_path(self._path)) from None

    def _walk(self, value: Any) -> Any:
        # one Python frame per nesting level: the path is pushed and popped here, not in helpers
        kind = type(value)
        if kind in MSGPACK_SCALARS:
            if kind is int and not _fits_64_bits(value):
                self._fail(f"int {value} does not fit in 64 bits")
            return value
        if kind is Column:  # built ahead by a caller that already had to inspect the value
            if len(self.columns) < self.config.max_columns:
                return self._take(value)
            value = BY_KIND[value.kind].decode(value, self._family_config)  # its list again, walked below
        if kind in MSGPACK_EXTENSIONS:  # packed and unpacked as themselves (ExtType is a tuple)
            return value
        path = self._path
        if isinstance(value, (dict, list, tuple)) and len(path) >= self._deepest:
            self._fail(f"nesting deeper than max_depth={self.config.max_depth} (or a reference cycle)")
        if isinstance(value, dict):
            skeleton = {}
            path.append(None)
            for key, item in value.items():
                path[-1] = key
                if type(key) not in MSGPACK_SCALARS or type(key) is int and not _fits_64_bits(key):
                    self._fail(f"a map key of type {_type_name(key)} would not come back as itself: "
                               "keys must be str, bytes, int (64 bits), float, bool or None")
                skeleton[key] = self._walk(item)
            path.pop()
            return skeleton
        if isinstance(value, (list, tuple)):
            for family in LIST_FAMILIES:
                try:
                    column = family.encode(value, self._family_config)
                except EncodeError as error:  # add where; a cause the family kept stays attached
                    raise EncodeError(error.reason, format_path(path) + (error.path or "")) from error.__cause__
                if column is not None:
                    return self._take(column)
            items = []
            path.append(0)
            for index, item in enumerate(value):
                path[-1] = index
                items.append(self._walk(item))
            path.pop()
            return items
        family = family_for(value)
        if family is not None:
            try:
                result = family.encode(value, self._family_config)
            except EncodeError as error:  # add where; a cause the family kept stays attached
                raise EncodeError(error.reason, format_path(path) + (error.path or "")) from error.__cause__
            if not isinstance(result, Column):
                return result
            if len(self.columns) >= self.config.max_columns:
                self._fail(f"max_columns={self.config.max_columns} reached, and a {_type_name(value)} has no msgpack form to travel in")
            return self._take(result)
        if isinstance(value, memoryview) and not value.c_contiguous:
            self._fail("a memoryview that is not C-contiguous has no bytes to send: pass bytes(view)")
        if isinstance(value, (str, int, float, bytes, bytearray, memoryview)):
            # subclasses, bytearray, memoryview: msgpack packs them as their base type, or as bin
            if isinstance(value, int) and not _fits_64_bits(value):
                self._fail(f"int {value} does not fit in 64 bits")
            return value
        self._fail(f"unsupported type {_type_name(value)}")

    def _take(self, column: Column) -> dict[str, Any]:
        self.paths.append(list(self._path))
        self.columns.append(column)
        if len(self.columns) == self.config.max_columns:  # no room left: from here on values stay msgpack
            self._family_config = replace(self.config, enable_binary_optimization=False, records_as="list")
        return placeholder(len(self.columns) - 1)

    def _fail(self, message: str) -> NoReturn:
        raise EncodeError(message, format_path(self._path))


def _type_name(value: Any) -> str:
    return f"{type(value).__module__}.{type(value).__qualname__}"


def restore(skeleton: Any, paths: list[Path], values: list[Any]) -> None:
    """Put each decoded column back where its placeholder stands, in place."""
    for index, (path, value) in enumerate(zip(paths, values)):
        parent = skeleton
        try:
            for key in path[:-1]:
                parent = parent[key]
            current = parent[path[-1]]
            if type(current) is not dict or current != placeholder(index):
                raise KeyError(path[-1])
            parent[path[-1]] = value
        except (KeyError, IndexError, TypeError):  # only indexing the sender's skeleton runs here
            raise DecodeError(f"column {index} has no placeholder here", format_path(path)) from None
