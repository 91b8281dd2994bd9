"""Record lists go columnar; each row keeps exactly its own keys and key order."""

from __future__ import annotations

import io

import msgpack
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import hypha_arrow
from hypha_arrow.testing import assert_same
from tests.support.codec import round_trip

RECORDS = [{"id": i, "name": f"n{i}", "score": i / 3} for i in range(2000)]


def test_uniform_records_round_trip_columnar() -> None:
    frame = hypha_arrow.encode(RECORDS)
    report = hypha_arrow.inspect(frame)
    assert report["hybrid"] and report["section"]["columns"][0]["kind"] == "records"
    assert_same(RECORDS, hypha_arrow.decode(frame))


def test_rows_with_missing_keys_and_other_key_orders_stay_exact() -> None:
    rows = []
    for i in range(1500):
        if i % 3 == 0:
            rows.append({"id": i, "name": f"n{i}"})
        elif i % 3 == 1:
            rows.append({"name": f"n{i}", "id": i, "extra": None})
        else:
            rows.append({"extra": i * 2, "id": i})
    assert_same(rows, round_trip(rows))


def test_columns_of_mixed_or_nested_values_are_kept_exactly() -> None:
    rows = [{"v": i if i % 2 else str(i), "tags": ["a", {"b": i}], "big": 2**64 - 1 - i} for i in range(600)]
    assert_same(rows, round_trip(rows))


def test_records_as_pandas_gives_a_dataframe() -> None:
    decoded = round_trip(RECORDS, records_as="pandas")
    pd.testing.assert_frame_equal(decoded, pd.DataFrame(RECORDS), check_exact=True)


def test_records_as_arrow_gives_a_table() -> None:
    decoded = round_trip(RECORDS, records_as="arrow")
    assert isinstance(decoded, pa.Table)
    assert decoded.equals(pa.Table.from_pylist(RECORDS, schema=pa.schema([("id", pa.int64()), ("name", pa.string()), ("score", pa.float64())])))


def test_records_as_pandas_with_mixed_column_holds_python_objects() -> None:
    rows = [{"v": i if i % 2 else str(i), "w": float(i)} for i in range(600)]
    decoded = round_trip(rows, records_as="pandas")
    assert decoded["v"].tolist() == [r["v"] for r in rows] and decoded["v"].dtype == object


@pytest.mark.parametrize(
    "rows",
    [
        [{"a": 1}] * 10,
        [{"a": i, b"bytes key": "x"} for i in range(500)],
        [{"a": i} if i % 2 else [i] for i in range(500)],
        [{f"k{i}": i} for i in range(100)],
    ],
)
def test_non_record_lists_stay_msgpack_and_round_trip(rows: list) -> None:
    frame = hypha_arrow.encode(rows)
    decoded = hypha_arrow.decode(frame)
    assert decoded == rows


def test_records_holding_arrays_are_walked_row_by_row() -> None:
    import numpy as np

    rows = [{"id": i, "data": np.arange(2000.0) + i} for i in range(3)]
    decoded = round_trip(rows)
    assert [r["id"] for r in decoded] == [0, 1, 2]
    assert all(np.array_equal(r["data"], np.arange(2000.0) + i) for i, r in enumerate(decoded))


def test_rows_with_int_keys_round_trip() -> None:
    rows = [{1: "a", "b": i} for i in range(600)]
    assert round_trip(rows) == rows


def test_records_as_pandas_with_only_mixed_columns() -> None:
    rows = [{"v": i if i % 2 else str(i)} for i in range(600)]
    decoded = round_trip(rows, records_as="pandas")
    assert decoded.shape == (600, 1) and decoded["v"].tolist() == [r["v"] for r in rows]


def test_repeated_strings_are_dictionary_encoded_only_when_compressing() -> None:
    rows = [{"id": i, "tag": ["red", "green", None][i % 3]} for i in range(3000)]
    plain = hypha_arrow.encode(rows)
    packed = hypha_arrow.encode(rows, config=hypha_arrow.Config(compression_algorithm="zstd"))
    assert "dictionary" not in str(hypha_arrow.inspect(plain)["section"]["columns"][0]["type"])
    assert "dictionary" in str(hypha_arrow.inspect(packed)["section"]["columns"][0]["type"])
    assert_same(rows, hypha_arrow.decode(packed))
    for records_as in ("pandas", "arrow"):
        config = hypha_arrow.Config(records_as=records_as)
        assert str(hypha_arrow.decode(packed, config=config)["tag"].dtype if records_as == "pandas" else hypha_arrow.decode(packed, config=config).schema.field("tag").type) in ("str", "string")


def test_numpy_scalars_in_records_keep_their_types() -> None:
    rows = [{"score": np.float32(i / 3), "label": np.str_(f"r{i}" if i % 7 else ""), "raw": np.bytes_(b"x" * (i % 3)), "n": np.int16(i)} for i in range(500)]
    decoded = round_trip(rows)
    assert decoded == rows
    assert [type(v) for row in decoded for v in row.values()] == [type(v) for row in rows for v in row.values()]


def test_records_holding_embeddings_travel_as_one_column() -> None:
    rows = [{"id": i, "embedding": np.full(128, i, dtype="f4")} for i in range(12_000)]
    frame = hypha_arrow.encode(rows)
    assert len(hypha_arrow.inspect(frame)["section"]["columns"]) == 1
    decoded = hypha_arrow.decode(frame)
    assert [row["id"] for row in decoded] == list(range(12_000))
    for sent, got in zip(rows[::997], decoded[::997]):
        np.testing.assert_array_equal(got["embedding"], sent["embedding"], strict=True)


def test_record_cell_with_a_lone_surrogate_is_refused_naming_row_and_key() -> None:
    rows = [{"a": i, "text": "ok" if i != 7 else "bad\ud800"} for i in range(300)]
    with pytest.raises(hypha_arrow.EncodeError) as error:
        hypha_arrow.encode({"rows": rows})
    assert error.value.path.endswith("[7]['text']") and "UTF-8" in error.value.reason


def test_tuples_in_rows_arrive_as_lists_as_in_the_rest_of_a_message() -> None:
    rows = [{"pair": (i, "x"), "n": i} for i in range(600)]
    assert round_trip(rows) == [{"pair": [i, "x"], "n": i} for i in range(600)]
    assert round_trip(rows[:2]) == [{"pair": [i, "x"], "n": i} for i in range(2)]


def test_null_slots_of_a_cells_column_are_read_as_the_spec_allows() -> None:
    """4.5: the slots of keys a row lacks are null and ignored, and a null a row lists is None;
    another writer (JavaScript's, say) may leave them null instead of packing nil cells."""
    rows = [{"id": i, "v": [i]} if i % 2 else {"id": i} for i in range(600)]
    rows[1]["v"] = None
    frame = hypha_arrow.encode(rows)
    unpacker = msgpack.Unpacker(io.BytesIO(frame), max_buffer_size=len(frame))
    skeleton = unpacker.unpack()
    batch = pa.ipc.open_stream(pa.py_buffer(frame[unpacker.tell() :])).read_next_batch()
    column = batch.column(0)
    records = column.values
    cells = records.field(1).to_pylist()
    nulled = pa.array([cell if row % 2 and row != 1 else None for row, cell in enumerate(cells)], pa.large_binary())
    children = [records.field(0), nulled, records.field(2)]
    rebuilt = pa.LargeListArray.from_arrays(column.offsets, pa.StructArray.from_arrays(children, fields=list(records.type)))
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(pa.record_batch([rebuilt.cast(batch.schema.field(0).type)], schema=batch.schema))
    section = sink.getvalue().to_pybytes()
    skeleton["__hypha_arrow__"]["length"] = len(section)
    assert_same(rows, hypha_arrow.decode(msgpack.packb(skeleton) + section))


def test_a_key_with_a_lone_surrogate_is_refused_naming_its_row() -> None:
    rows = [{"a": i} for i in range(500)]
    rows[7] = {"a": 7, "\ud800": 1}
    with pytest.raises(hypha_arrow.EncodeError, match="not valid UTF-8") as refused:
        hypha_arrow.encode(rows)
    assert refused.value.path == "value[7]"


def _embeddings(count: int, dtype: str = "<f8") -> list[dict]:
    return [{"id": i, "embedding": np.arange(i, i + 16).astype(dtype)} for i in range(count)]


def _key_column(rows: list, key: str) -> dict:
    report = hypha_arrow.inspect(hypha_arrow.encode(rows))
    [column] = report["section"]["columns"]
    return column


@pytest.mark.parametrize("dtype", ["<f8", ">f4", "|b1", "<U2", "<M8[us]"])
def test_a_key_of_same_shaped_arrays_is_one_column_and_each_row_gets_its_own_array(dtype: str) -> None:
    rows = _embeddings(300, dtype)
    assert "fixed_size_binary[" in _key_column(rows, "embedding")["type"]
    decoded = round_trip(rows)
    assert_same(rows, decoded)
    assert not decoded[0]["embedding"].flags.writeable


def test_arrays_under_missing_keys_and_none_stay_exact() -> None:
    rows = _embeddings(300)
    rows[3]["embedding"] = None
    del rows[7]["embedding"]
    rows[9] = {"embedding": rows[9]["embedding"], "id": 9}
    assert "fixed_size_binary[" in _key_column(rows, "embedding")["type"]
    assert_same(rows, round_trip(rows))


def test_arrays_that_differ_in_dtype_or_shape_are_cells_as_before() -> None:
    rows = _embeddings(300)
    rows[5]["embedding"] = rows[5]["embedding"].astype("<f4")
    assert "large_binary" in _key_column(rows, "embedding")["type"]
    assert_same(rows, round_trip(rows))


def test_a_record_array_that_is_not_a_plain_ndarray_is_refused_as_before() -> None:
    rows = _embeddings(300)
    rows[4]["embedding"] = np.ma.masked_array(rows[4]["embedding"])
    with pytest.raises(hypha_arrow.EncodeError, match=r"\[4\]\['embedding'\]"):
        hypha_arrow.encode(rows)


def test_array_keys_as_pandas_are_object_columns_and_as_arrow_lists() -> None:
    rows = _embeddings(300)
    frame = round_trip(rows, records_as="pandas")
    assert frame["embedding"].dtype == object
    assert_same([r["embedding"] for r in rows], frame["embedding"].tolist())
    table = round_trip(rows, records_as="arrow")
    assert table.column("embedding").to_pylist() == [r["embedding"].tolist() for r in rows]


def test_rows_of_many_keys_round_trip() -> None:
    rows = [{f"k{k}": i * k for k in range(100)} for i in range(20)]  # past the compiled row displays
    assert_same(rows, round_trip(rows))


def test_a_malformed_array_key_column_is_a_decode_error() -> None:
    rows = _embeddings(300)
    frame = hypha_arrow.encode(rows)
    bad = frame.replace(b'"shape": [16]', b'"shape": [15]')
    assert bad != frame
    with pytest.raises(hypha_arrow.DecodeError, match="record column 1"):
        hypha_arrow.decode(bad)


def test_rows_of_many_layouts_keep_their_order_and_keys() -> None:
    keys = ["a", "b", "c", "d"]
    rows = [{key: i for key in (keys[i % 4:] + keys[:i % 4])[: 1 + i % 3]} for i in range(2000)]  # 12 layouts, interleaved
    assert_same(rows, round_trip(rows))


def test_number_columns_with_nulls_keep_them() -> None:
    rows = [{"i": None if i % 3 == 0 else i, "f": None if i % 4 == 0 else i / 2, "b": None if i % 5 == 0 else i % 2 == 0} for i in range(600)]
    assert_same(rows, round_trip(rows))


@pytest.mark.parametrize("odd", [{"b": 1, "a": 2}, {"a": 1}, {"a": 1, "b": 2, "c": 3}, {"a": 1, "c": 2}])
def test_one_row_unlike_the_others_past_the_first_slice_of_rows_keeps_its_keys(odd: dict) -> None:
    rows = [{"a": i, "b": i} for i in range(9000)]
    rows[8999 if len(odd) > 2 else 4500] = odd
    assert_same(rows, round_trip(rows))
