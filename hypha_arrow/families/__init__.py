"""The registry of value families: which Python values travel as Arrow columns, and how.

Each family declares itself in its own module (``base.Family``, ``base.ListFamily``): the
types it owns, the kinds it writes, the ``optimization_patterns`` switches it answers to,
the Arrow extension types its data may hold, and its msgpack form. Everything here is
derived from those declarations, so adding a family is one module and one line below; the
tree walk, the framing, the guard and the RPC layer ask the registry and never change.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from ..config import PATTERNS, Config
from ..errors import DecodeError
from .arrow import ArrowFamily
from .base import Column, Family, ListFamily
from .lists import ScalarListFamily
from .ndarray import NdarrayFamily
from .pandas import PandasFamily
from .records import RecordsFamily

_FAMILIES: list[Family] = [NdarrayFamily(), PandasFamily(), ArrowFamily()]
"""Families of the libraries hypha_arrow depends on; a value belongs to the first that owns its type."""
_LAZY_FAMILIES: dict[str, str] = {
    "polars": "PolarsFamily",
}
"""Families of optional libraries: library -> its family class, in the module of the same name
here. ``import hypha_arrow`` never imports them. One is imported once its library is in use: a
value of one of its types is sent (only then can such values exist), ``owned_types`` is asked
while the library is imported, or a frame holds one of its kinds, named ``"<library>.<name>"``.
Their data may hold only extension types an eager family declares: the receiver's guard reads
a frame's schema before it knows the frame's kinds."""
LIST_FAMILIES: tuple[ListFamily, ...] = (ScalarListFamily(), RecordsFamily())
"""Tried in order on every list or tuple; each may decline, and the walk then goes inside."""

EXTENSIONS: frozenset[str] = frozenset().union(*(family.extensions for family in _FAMILIES))
"""The Arrow extension names some family's data may hold: the only ones a receiver accepts."""


class _Kinds(Mapping[str, "Family | ListFamily"]):
    """kind -> family. Looking up a lazy family's kind imports the family."""

    def __init__(self) -> None:
        self._families: dict[str, Family | ListFamily] = {}

    def add(self, family: Family | ListFamily) -> None:
        self._families.update(dict.fromkeys(family.kinds, family))

    def __getitem__(self, kind: str) -> Family | ListFamily:
        if kind not in self._families:
            library = kind.partition(".")[0]
            if library in _LAZY_FAMILIES and _load(library) is None:
                return _Unavailable(library)
        return self._families[kind]

    def __iter__(self) -> Iterator[str]:
        return iter(self._families)

    def __len__(self) -> int:
        return len(self._families)


class _Unavailable:
    """Stands in for the family of a library this process lacks, so decoding its value names the library."""

    def __init__(self, library: str) -> None:
        self.library = library

    def decode(self, column: Column, config: Config) -> Any:
        raise DecodeError(f"a {column.kind} value needs the {self.library} package, which is not installed here")


BY_KIND = _Kinds()
_BY_TYPE: dict[type, Family | None] = {}
_LOADED: dict[str, Family | None] = {}
_LOADING = threading.Lock()


def _register(family: Family | ListFamily) -> None:
    unknown = family.patterns - PATTERNS
    if unknown:
        raise TypeError(f"{type(family).__name__} answers to {sorted(unknown)}, which are not optimization_patterns ({sorted(PATTERNS)})")
    BY_KIND.add(family)


def _load(library: str) -> Family | None:
    """The lazy family of ``library``, imported and registered on first use; None if the library is not installed."""
    with _LOADING:
        if library not in _LOADED:
            family = None
            if importlib.util.find_spec(library) is not None:
                family = getattr(importlib.import_module(f".{library}", __name__), _LAZY_FAMILIES[library])()
                if not family.extensions <= EXTENSIONS:
                    raise TypeError(f"{type(family).__name__} declares extension types no receiver would accept: {sorted(family.extensions - EXTENSIONS)}")
                _register(family)
                _FAMILIES.append(family)
            _LOADED[library] = family
        return _LOADED[library]


for _family in (*_FAMILIES, *LIST_FAMILIES):
    _register(_family)


def family_for(value: Any) -> Family | None:
    """The family owning ``value``'s type (cached per concrete type), or None."""
    kind = type(value)
    try:
        return _BY_TYPE[kind]
    except KeyError:
        pass
    for base in kind.__mro__:
        library = base.__module__.partition(".")[0]
        if library in _LAZY_FAMILIES:
            _load(library)
    found = next((family for family in _FAMILIES if isinstance(value, family.types)), None)
    _BY_TYPE[kind] = found
    return found


def owned_types() -> tuple[type, ...]:
    """Every type a family owns, for dispatching on values before the walk (the RPC layer).

    An optional library's types are included once that library is imported, which is when
    its values can first exist: ask each time rather than keep the answer.
    """
    for library in _LAZY_FAMILIES:
        if library in sys.modules:
            _load(library)
    return tuple(kind for family in _FAMILIES for kind in family.types)


__all__ = ["BY_KIND", "EXTENSIONS", "LIST_FAMILIES", "Column", "Family", "ListFamily", "family_for", "owned_types"]
