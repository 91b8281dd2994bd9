"""The Arrow section: the columns of a message as one IPC stream holding one one-row batch."""

from __future__ import annotations

import json

import numpy as np
from typing import Any

import pyarrow as pa
import pytest

import hypha_arrow
from hypha_arrow import section
from hypha_arrow.families import Column

CONFIG = hypha_arrow.Config()
COLUMNS = [
    Column("ndarray", pa.array(np.arange(1000, dtype=np.int64)), {"shape": [1000]}),
    Column("list", pa.array(["a", "b", None]), {}, {b"owner": b"lab"}),
    Column("records", pa.array([{"x": 1.5}]), {"keys": ["x"]}),
]


def written(columns: list[Column], config: hypha_arrow.Config = CONFIG) -> tuple[section.EncodedSection, pa.Buffer]:
    encoded = section.encode(columns, config, [f"column {i}" for i in range(len(columns))])
    target = pa.allocate_buffer(encoded.size)
    encoded.write_into(target)
    return encoded, target


def test_columns_are_one_stream_of_one_one_row_batch_in_column_order() -> None:
    encoded, data = written(COLUMNS)
    reader = pa.ipc.open_stream(data)
    batches = list(reader)
    assert len(batches) == 1 and batches[0].num_rows == 1
    assert reader.schema.names == ["0", "1", "2"]
    assert all(pa.types.is_large_list(field.type) for field in reader.schema)
    assert [json.loads(field.metadata[section.META_KEY])["kind"] for field in reader.schema] == ["ndarray", "list", "records"]
    assert encoded.codec is None


def test_decode_gives_back_each_column_with_its_kind_meta_and_arrow_metadata() -> None:
    _, data = written(COLUMNS)
    decoded = section.decode(data, CONFIG)
    assert [(c.kind, c.meta, c.arrow_metadata) for c in decoded] == [(c.kind, c.meta, c.arrow_metadata) for c in COLUMNS]
    assert all(got.values.equals(sent.values) for got, sent in zip(decoded, COLUMNS))


@pytest.mark.parametrize("algorithm", ["lz4", "zstd"])
def test_a_compressed_section_names_its_codec_shrinks_and_reads_back(algorithm: str) -> None:
    columns = [Column("ndarray", pa.array(np.zeros(100_000, dtype=np.int64)), {})]
    plain, _ = written(columns)
    encoded, data = written(columns, hypha_arrow.Config(compression_algorithm=algorithm))
    assert encoded.codec == algorithm and encoded.size < plain.size / 10
    assert section.decode(data, CONFIG)[0].values.equals(columns[0].values)


def one_stream(batch: pa.RecordBatch) -> pa.Buffer:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return sink.getvalue()


META = {section.META_KEY: b'{"kind": "list"}'}


@pytest.mark.parametrize(
    ("batch", "reason"),
    [
        (pa.record_batch([pa.array([[1], [2]], pa.large_list(pa.int64()))], schema=pa.schema([pa.field("0", pa.large_list(pa.int64()), metadata=META)])), "must hold one row, found 2"),
        (pa.record_batch([pa.array([[1]], pa.large_list(pa.int64()))], schema=pa.schema([pa.field("a", pa.large_list(pa.int64()), metadata=META)])), "must be a large_list named 0"),
        (pa.record_batch([pa.array([1])], schema=pa.schema([pa.field("0", pa.int64(), metadata=META)])), "must be a large_list named 0"),
        (pa.record_batch([pa.array([[1]], pa.large_list(pa.int64()))], names=["0"]), "has no valid hypha_arrow metadata"),
    ],
    ids=["two-rows", "misnamed", "not-a-list", "no-metadata"],
)
def test_a_section_not_made_as_ours_is_refused(batch: pa.RecordBatch, reason: str) -> None:
    with pytest.raises(hypha_arrow.DecodeError, match=reason):
        section.decode(one_stream(batch), CONFIG)


def test_more_columns_than_max_columns_are_refused() -> None:
    _, data = written(COLUMNS)
    with pytest.raises(hypha_arrow.DecodeError, match="3 columns, over max_columns=2"):
        section.decode(data, hypha_arrow.Config(max_columns=2))


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        (pa.nulls(7), 7),
        (pa.array([{"a": None}, {"a": None}], pa.struct([("a", pa.null())])), 2),
        (pa.array([{}, {}, {}], pa.struct([])), 3),
        (pa.array([[None, None], [None]], pa.large_list(pa.null())), 3),
        (pa.DictionaryArray.from_arrays(pa.array([0, 0, 0]), pa.nulls(2)), 2),
        (pa.array(np.arange(10)), 0),
        (pa.array([{"x": 1, "n": None}], pa.struct([("x", pa.int64()), ("n", pa.null())])), 1),
    ],
    ids=["nulls", "struct-of-nulls", "empty-struct", "list-of-nulls", "dictionary-of-nulls", "ints", "mixed-struct"],
)
def test_byteless_elements_count_what_arrives_without_bytes(array: pa.Array, expected: int) -> None:
    assert section.byteless_elements(array) == expected


def _bad_text(kind: pa.DataType = pa.string()) -> pa.Array:
    """One string whose bytes are not UTF-8."""
    offsets = b"\0\0\0\0\2\0\0\0" if kind == pa.string() else b"\0" * 8 + b"\2" + b"\0" * 7
    return pa.Array.from_buffers(kind, 1, [None, pa.py_buffer(offsets), pa.py_buffer(b"\xff\xfe")])


@pytest.mark.parametrize(
    "wrap",
    [
        lambda text: text,
        lambda text: pa.StructArray.from_arrays([pa.array([1]), text], names=["n", "s"]),
        lambda text: pa.LargeListArray.from_arrays(pa.array([0, 1], pa.int64()), text),
        lambda text: pa.FixedSizeListArray.from_arrays(text, 1),
        lambda text: pa.DictionaryArray.from_arrays(pa.array([0], pa.int32()), text),
        lambda text: pa.MapArray.from_arrays(pa.array([0, 1], pa.int32()), text, pa.array([1])),
    ],
    ids=["plain", "struct", "large-list", "fixed-size-list", "dictionary", "map-keys"],
)
@pytest.mark.parametrize("kind", [pa.string(), pa.large_string()], ids=str)
def test_validation_still_refuses_text_that_is_not_utf8_wherever_it_sits(wrap: Any, kind: pa.DataType) -> None:
    with pytest.raises(hypha_arrow.DecodeError, match="UTF8"):
        section.decode(_section_of(wrap(_bad_text(kind))), hypha_arrow.Config())


def _section_of(values: pa.Array) -> pa.Buffer:
    """A section of one ``list`` column holding ``values`` as they are, unchecked."""
    encoded = section.encode([Column("list", values)], hypha_arrow.Config(), ["value"])
    target = pa.allocate_buffer(encoded.size)
    encoded.write_into(target)
    return target


def test_validation_accepts_utf8_text_and_still_checks_offsets_of_ascii_text() -> None:
    for text in (pa.array(["é", "a", None]), pa.array(["ascii", "only"] * 2)[1:]):
        (column,) = section.decode(_section_of(text), hypha_arrow.Config())
        assert column.values.equals(text)
    decreasing = b"".join(offset.to_bytes(4, "little") for offset in (0, 2, 1))  # only full validation looks
    wild = pa.Array.from_buffers(pa.string(), 2, [None, pa.py_buffer(decreasing), pa.py_buffer(b"ab")])
    with pytest.raises(hypha_arrow.DecodeError, match="offset"):
        section.decode(_section_of(wild), hypha_arrow.Config())
