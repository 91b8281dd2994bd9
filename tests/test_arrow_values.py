"""pyarrow values come back as themselves."""

from __future__ import annotations

import pyarrow as pa
import pytest

import hypha_arrow
from conftest import round_trip

TABLE = pa.table({"a": list(range(100)), "b": [str(i) for i in range(100)], "c": pa.array([1.5] * 100).dictionary_encode()})


@pytest.mark.parametrize(
    "value",
    [
        TABLE,
        TABLE.replace_schema_metadata({"owner": "lab"}),
        pa.concat_tables([TABLE, TABLE]),
        TABLE.slice(10, 20),
        pa.table({}),
        TABLE.to_batches()[0],
        pa.array([1, None, 3]),
        pa.array([{"x": 1, "y": [1.0, 2.0]}, None]),
        pa.array(["a", "b", "a"]).dictionary_encode(),
        pa.array(list(range(50))).slice(5, 10),
    ],
)
def test_arrow_value_round_trips_as_itself(value: object) -> None:
    decoded = round_trip(value)
    assert type(decoded) is type(value)
    assert decoded.equals(value, check_metadata=True) if isinstance(value, pa.Table) else decoded.equals(value)


def test_chunked_array_keeps_its_chunks() -> None:
    value = pa.chunked_array([[1, 2], [], [3, 4, 5]])
    decoded = round_trip(value)
    assert type(decoded) is pa.ChunkedArray
    assert [len(c) for c in decoded.chunks] == [2, 0, 3]
    assert decoded.equals(value)


def test_reserved_schema_metadata_key_is_refused() -> None:
    with pytest.raises(hypha_arrow.EncodeError, match="reserved"):
        hypha_arrow.encode(TABLE.replace_schema_metadata({"hypha_arrow": "x"}))
