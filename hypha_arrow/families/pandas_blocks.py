"""Wide DataFrames as their 2-D blocks: one Arrow child per numeric dtype instead of one per column.

Every column costs a field, its pandas metadata and its conversion on both sides (a 20,000
column frame took seconds where the same bytes as one array take milliseconds). pandas holds
the columns of one numpy dtype as one 2-D block, as pickle sends them; here each such dtype
travels as one ``fixed_size_list<T>[k]`` child: row ``r`` holds the ``k`` columns' values at
that row, in the order the JSON lists their positions. The decoder hands each block to pandas
as it lies in the section (a read-only view, like the column layout's numeric columns);
everything else (other dtypes, the index) travels in the column layout beside them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ..cells import dtype_from_text
from ..errors import DecodeError

BLOCK_COLUMNS = 100
"""Frames with at least this many numeric columns use blocks. Per column, the column layout costs
about 80 us to encode and decode (the 20,000-column frame took 1.66 s), 8 ms at this width, as
much as copying 30 MB, while a block costs the same at any width; narrower frames keep one Arrow
column per pandas column, which is what Arrow readers (JavaScript's Table) show as the frame."""
_KINDS = "biuf"
"""numpy kinds whose block is its Arrow values as they are (bool as its uint8 bytes)."""


@dataclass
class Block:
    """One dtype's columns: ``values`` has shape (rows, len(positions)), C order."""

    dtype: np.dtype
    positions: np.ndarray
    values: np.ndarray

    def doc(self) -> dict[str, Any]:
        return {"dtype": self.dtype.str, "columns": _runs(self.positions)}

    def arrow(self) -> pa.FixedSizeListArray:
        flat = self.values.reshape(-1)
        storage = flat.view(np.uint8) if self.dtype.kind == "b" else flat
        return pa.FixedSizeListArray.from_arrays(pa.array(storage), len(self.positions))


def split(frame: pd.DataFrame) -> tuple[list[Block], list[int]] | None:
    """The frame's numeric blocks and the positions of its other columns, or None when it is too narrow."""
    if frame.shape[0] == 0:  # a block's rows bound its width for the decoder
        return None
    by_dtype: dict[np.dtype, list[tuple[np.ndarray, np.ndarray]]] = {}
    for block in getattr(frame._mgr, "blocks", ()):  # pandas has no public view of its blocks; pickle and pyarrow use these
        values = block.values
        if isinstance(values, np.ndarray) and _blockable(values.dtype):
            by_dtype.setdefault(values.dtype, []).append((block.mgr_locs.as_array, values))
    if sum(len(positions) for parts in by_dtype.values() for positions, _ in parts) < BLOCK_COLUMNS:
        return None
    blocks = [_joined(dtype, parts) for dtype, parts in by_dtype.items()]
    taken = np.zeros(frame.shape[1], dtype=bool)
    for block in blocks:
        taken[block.positions] = True
    return blocks, np.flatnonzero(~taken).tolist()


def _blockable(dtype: np.dtype) -> bool:
    return dtype.kind in _KINDS and dtype.byteorder in "=|" and dtype.itemsize in (1, 2, 4, 8)


def _joined(dtype: np.dtype, parts: list[tuple[np.ndarray, np.ndarray]]) -> Block:
    """One block per dtype; row-major, so a (columns, rows) C-ordered pandas block is transposed once."""
    positions = np.concatenate([positions for positions, _ in parts])
    values = parts[0][1] if len(parts) == 1 else np.concatenate([values for _, values in parts])
    return Block(dtype, positions, np.ascontiguousarray(values.T))


def _runs(positions: np.ndarray) -> list[list[int]]:
    """Positions as ``[start, stop)`` runs of consecutive columns: one run for a frame of one dtype."""
    breaks = np.flatnonzero(np.diff(positions) != 1) + 1
    starts = np.concatenate(([0], breaks))
    stops = np.concatenate((breaks, [len(positions)]))
    return [[int(positions[a]), int(positions[b - 1]) + 1] for a, b in zip(starts, stops)]


def read(docs: Any, arrays: list[pa.Array], others: int) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[int]]:
    """Each block as pandas holds it, (columns, rows) with its positions, and the other columns' positions.

    ``others`` columns travel beside the blocks. A block has at least one row, so its width is
    bounded by its bytes, and so is everything built from the positions.
    """
    if not isinstance(docs, list) or len(docs) != len(arrays) or not docs:
        raise DecodeError(f"invalid frame blocks {docs!r:.100}")
    widths = [_width(array) for array in arrays]
    taken = np.zeros(others + sum(widths), dtype=bool)
    blocks = []
    for doc, array, width in zip(docs, arrays, widths):
        dtype, positions = _read_doc(doc, len(taken), width)
        taken[positions] = True
        blocks.append((_values(array, dtype, width).T, positions))
    if np.count_nonzero(taken) != sum(widths):
        raise DecodeError("frame blocks repeat a column")
    return blocks, np.flatnonzero(~taken).tolist()


def _width(array: pa.Array) -> int:
    if not pa.types.is_fixed_size_list(array.type) or len(array) == 0:
        raise DecodeError(f"a frame block must be a fixed_size_list with rows, got {array.type} x {len(array)}")
    return array.type.list_size


def _read_doc(doc: Any, columns: int, width: int) -> tuple[np.dtype, np.ndarray]:
    runs = doc.get("columns") if isinstance(doc, dict) else None
    dtype = dtype_from_text(doc.get("dtype")) if isinstance(doc, dict) else None
    if dtype is None or not _blockable(dtype) or dtype.str != doc["dtype"] or not isinstance(runs, list):
        raise DecodeError(f"invalid frame block {doc!r:.100}")
    if not all(isinstance(run, list) and len(run) == 2 and all(type(n) is int for n in run) and 0 <= run[0] < run[1] <= columns for run in runs):
        raise DecodeError(f"invalid frame block columns {runs!r:.100}")
    if sum(stop - start for start, stop in runs) != width:
        raise DecodeError(f"frame block columns {runs!r:.100} are not its {width} columns")
    return dtype, np.concatenate([np.arange(start, stop) for start, stop in runs])


def _values(array: pa.Array, dtype: np.dtype, width: int) -> np.ndarray:
    """The block's (rows, width) values, a view of the section."""
    storage = pa.uint8() if dtype.kind == "b" else pa.from_numpy_dtype(dtype)
    if array.type.value_type != storage or array.null_count or array.values.null_count:
        raise DecodeError(f"frame block of {dtype} cannot be {array.type} with nulls {array.null_count}")
    flat = array.flatten().to_numpy()
    if dtype.kind == "b":
        if flat.max() > 1:
            raise DecodeError("frame block of bool holds a byte other than 0 and 1")
        flat = flat.view(np.bool_)
    return flat.reshape(len(array), width)


def assembled(blocks: list[tuple[Any, np.ndarray]], index: pd.Index, columns: pd.Index) -> pd.DataFrame:
    """The frame of these blocks, each placed at its positions as it is (no copy)."""
    try:
        from pandas.api.internals import create_dataframe_from_blocks
    except ImportError:  # pandas before 3: the internals pyarrow's to_pandas uses there
        from pandas.core.internals import BlockManager
        from pandas.core.internals.api import make_block

        manager = BlockManager([make_block(values, placement=positions) for values, positions in blocks], [columns, index])
        return pd.DataFrame._from_mgr(manager, manager.axes)
    return create_dataframe_from_blocks(blocks, index=index, columns=columns)


def rest_blocks(frame: pd.DataFrame, positions: list[int]) -> list[tuple[Any, np.ndarray]]:
    """The blocks of ``frame`` (the columns not sent as blocks), placed at their positions in the whole frame."""
    where = np.asarray(positions, dtype=np.intp)
    return [(block.values, where[block.mgr_locs.as_array]) for block in frame._mgr.blocks]
