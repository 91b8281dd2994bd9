"""What every value family provides: a value becomes one Arrow array plus a little metadata."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import pyarrow as pa

from ..config import Config


@dataclass
class Column:
    """One columnar value, ready for the Arrow section.

    ``values`` is the value's data as a single Arrow array; ``meta`` (JSON-able)
    tells the same family how to rebuild the Python value; ``arrow_metadata``
    carries metadata the data needs verbatim (pandas' own, a table's schema metadata).
    """

    kind: str
    values: pa.Array
    meta: dict[str, Any] = field(default_factory=dict)
    arrow_metadata: dict[bytes, bytes] = field(default_factory=dict)


class Family(Protocol):
    """A family of values that travel as Arrow columns, found by the value's type.

    It declares everything the rest of the package needs to know about it; the registry
    (``hypha_arrow.families``) derives its tables from these declarations.
    """

    types: tuple[type, ...]
    """The Python types it owns (``isinstance``, so subclasses too: the family refuses the ones it cannot keep)."""
    kinds: tuple[str, ...]
    """The ``kind`` names it writes in the section's field metadata and reads back."""
    patterns: frozenset[str]
    """The ``optimization_patterns`` switches it answers to; empty when it is always columnar."""
    extensions: frozenset[str]
    """The Arrow extension type names its data may hold; the receiver's guard accepts their union."""

    def msgpack_form(self, value: Any, config: Config) -> Any | None:
        """The value's msgpack stand-in when it stays out of the Arrow section, else None."""

    def encode(self, value: Any, config: Config) -> Column | Any:
        """A ``Column``, or the msgpack stand-in when the value stays msgpack."""

    def decode(self, column: Column, config: Config) -> Any:
        """The Python value back from what ``encode`` produced (already validated by Arrow)."""


class ListFamily(Protocol):
    """A shape of Python list that can travel as one Arrow column; tried on every list.

    Its msgpack form is the list itself: it declines, and the walk goes inside.
    """

    kinds: tuple[str, ...]
    patterns: frozenset[str]
    """The ``optimization_patterns`` switches it answers to."""

    def encode(self, value: list[Any] | tuple[Any, ...], config: Config) -> Column | None:
        """A ``Column``, or None to decline (the walk then goes inside the list)."""

    def decode(self, column: Column, config: Config) -> Any:
        """The Python value back from what ``encode`` produced."""
