"""A DataFrame as the Arrow table ``Table.from_pandas`` makes, without its passes over every value.

``from_pandas`` scans each float column for NaN to write it as a null (2 ms per million values;
``to_pandas`` turns either back into the same NaN) and converts columns on a thread pool (a few
ms to start on two busy cores). Here pyarrow still decides everything that is not data: the
schema and its pandas metadata come from ``from_pandas`` run on the frame's first zero rows.
The data is then taken as it is: numpy numbers zero-copy with their NaN, Arrow-backed columns
(pandas 3's ``str``) as their Arrow arrays, anything else through pyarrow's own conversion.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

_AS_IS = "iuf"
"""numpy kinds whose Arrow array is the very same buffer (bool is bit-packed, dates map NaT to null)."""


def frame_to_table(frame: pd.DataFrame) -> pa.Table:
    """``pa.Table.from_pandas(frame, preserve_index=None)``, the same schema and metadata.

    Object columns get their Arrow type from their values, which a zero-row frame has not:
    those frames (and frames without columns, whose row count lives in the index) go through
    ``from_pandas`` whole.
    """
    index = frame.index
    levels = [index.get_level_values(i) for i in range(index.nlevels)]
    if frame.shape[1] == 0 or any(dtype == object for dtype in frame.dtypes) or any(level.dtype == object for level in levels):
        return pa.Table.from_pandas(frame, preserve_index=None, nthreads=1)
    schema = pa.Table.from_pandas(frame.iloc[:0], preserve_index=None, nthreads=1).schema
    sources: list[Any] = [frame.iloc[:, i] for i in range(frame.shape[1])]
    if type(index) is not pd.RangeIndex:  # a RangeIndex is metadata only
        sources += levels
    arrays = [_arrow(values, field.type) for values, field in zip(sources, schema)]
    return pa.Table.from_arrays(arrays, schema=schema.with_metadata(_with_range(schema, index)))


def _arrow(values: pd.Series | pd.Index, kind: pa.DataType) -> pa.Array | pa.ChunkedArray:
    if isinstance(values.dtype, np.dtype) and values.dtype.kind in _AS_IS:
        return pa.array(values.to_numpy(), type=kind)
    return pa.array(values, type=kind, from_pandas=True)


def _with_range(schema: pa.Schema, index: pd.Index) -> dict[bytes, bytes]:
    """The schema's metadata with the real extent of a RangeIndex (the zero-row frame's ends where it starts)."""
    metadata = dict(schema.metadata)
    if type(index) is pd.RangeIndex:
        pandas_metadata = json.loads(metadata[b"pandas"])
        (descriptor,) = pandas_metadata["index_columns"]
        descriptor.update(start=index.start, stop=index.stop, step=index.step)
        metadata[b"pandas"] = json.dumps(pandas_metadata).encode()
    return metadata
