"""The object-tree walk: pull columnar leaves out on encode, put them back on decode.

Encoding copies the dict/list skeleton and swaps each columnar value for a
placeholder, recording its path; decoding follows those paths straight to the
placeholders, so it never walks the msgpack-only parts of a message.
"""

from __future__ import annotations

from typing import Any

from .config import Config
from .errors import DecodeError, EncodeError
from .leaves import LIST_FAMILIES, Column, leaf_for

STOCK_REFUSAL = "hypha_arrow column: this peer cannot read hybrid frames"
"""The placeholder's ``_rdtype``: a stock peer given a hybrid frame by mistake fails to decode
the placeholder as an ndarray with this text in its error, which reaches the caller."""
_PLAIN = frozenset({str, int, float, bool, type(None), bytes})
_INT_RANGE = (-(1 << 63), (1 << 64) - 1)

Path = list[str | int | bytes]


def plain_equivalent(value: Any) -> Any:
    """What msgpack packs a container or subclass of a msgpack type as; None if it packs nothing."""
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, (list, tuple)):
        return list(value)
    for base in (bool, int, float, str, bytes):
        if isinstance(value, base):
            return base(value)
    return None


def placeholder(index: int) -> dict[str, Any]:
    """What stands in the skeleton where column ``index`` was taken out.

    It has the shape of hypha-rpc's ndarray form with a dtype numpy refuses, so a stock peer
    rejects the call instead of handing its service a meaningless dict.
    """
    return {"_rtype": "ndarray", "_rvalue": b"", "_rdtype": STOCK_REFUSAL, "_rcolumn": index}


def format_path(path: Path, root: str = "") -> str:
    """``args[0]['table']['price']``: the first dict key bare, the rest subscripted."""
    text = root
    for i, key in enumerate(path):
        text += str(key) if i == 0 and not root and isinstance(key, str) else f"[{key!r}]"
    return text or "value"


class Extraction:
    """One encode walk: the skeleton it builds, and the columns and paths it takes out."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.columns: list[Column] = []
        self.paths: list[Path] = []
        self._path: Path = []

    def walk(self, value: Any) -> Any:
        """The skeleton of ``value``: a copy of its containers with columnar values swapped out."""
        kind = type(value)
        if kind in _PLAIN:
            if kind is int and not _INT_RANGE[0] <= value <= _INT_RANGE[1]:
                self._fail(f"int {value} does not fit in 64 bits")
            return value
        if len(self._path) >= self.config.max_depth:
            self._fail(f"nesting deeper than max_depth={self.config.max_depth} (or a reference cycle)")
        if isinstance(value, dict):
            return {key: self._child(key, item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            for family in LIST_FAMILIES:
                column = family.encode(value, self.config)
                if column is not None:
                    return self._take(column)
            return [self._child(index, item) for index, item in enumerate(value)]
        if kind is Column:  # built ahead by a caller that already had to inspect the value
            return self._take(value)
        leaf = leaf_for(value)
        if leaf is not None:
            try:
                result = leaf.encode(value, self.config)
            except EncodeError as error:
                raise EncodeError(error.reason, format_path(self._path) + error.path) from None
            return self._take(result) if isinstance(result, Column) else result
        if isinstance(value, (str, int, float, bytes, bytearray, memoryview)):
            return value
        self._fail(f"unsupported type {type(value).__module__}.{type(value).__qualname__}")

    def _child(self, key: str | int, value: Any) -> Any:
        self._path.append(key)
        try:
            return self.walk(value)
        finally:
            self._path.pop()

    def _take(self, column: Column) -> dict[str, Any]:
        self.paths.append(list(self._path))
        self.columns.append(column)
        return placeholder(len(self.columns) - 1)

    def _fail(self, message: str) -> None:
        raise EncodeError(message, format_path(self._path))


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
        except (KeyError, IndexError, TypeError):
            raise DecodeError(f"column {index}: no placeholder at {format_path(path)}") from None
