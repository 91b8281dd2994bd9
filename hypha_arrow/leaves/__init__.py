"""The registry of leaf families: which Python types travel as Arrow columns, and how.

Adding a family means adding a module here and one line in ``_FAMILIES``;
the tree walk and the framing never change.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .arrow import ArrowLeaf
from .base import Column, Leaf, ListFamily
from .lists import ListLeaf
from .ndarray import NdarrayLeaf
from .pandas import PandasLeaf
from .records import RecordsLeaf

_FAMILIES: list[tuple[tuple[type, ...], Leaf]] = [
    ((np.ndarray, np.generic), NdarrayLeaf()),
    ((pd.DataFrame, pd.Series), PandasLeaf()),
    ((pa.Table, pa.RecordBatch, pa.Array, pa.ChunkedArray), ArrowLeaf()),
]

LIST_FAMILIES: tuple[ListFamily, ...] = (ListLeaf(), RecordsLeaf())
"""Tried in order on every list or tuple; each may decline, and the walk then goes inside."""

_BY_TYPE: dict[type, Leaf] = {}
BY_KIND: dict[str, Leaf | ListFamily] = {
    kind: leaf for _, leaf in _FAMILIES for kind in leaf.kinds
} | {kind: leaf for leaf in LIST_FAMILIES for kind in leaf.kinds}


def leaf_for(value: Any) -> Leaf | None:
    """The family owning ``value``'s type (cached per concrete type), or None."""
    kind = type(value)
    try:
        return _BY_TYPE[kind]
    except KeyError:
        pass
    found = next((leaf for types, leaf in _FAMILIES if isinstance(value, types)), None)
    _BY_TYPE[kind] = found
    return found


__all__ = ["BY_KIND", "LIST_FAMILIES", "Column", "Leaf", "ListFamily", "leaf_for"]
