"""pyarrow values come back as themselves: type, values, field and schema metadata."""

from __future__ import annotations

import decimal
import io
from collections.abc import Callable, Iterator

import msgpack
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import hypha_arrow
from hypha_arrow import ipc_guard
from hypha_arrow.ipc_guard import CANONICAL_EXTENSIONS
from hypha_arrow.testing import assert_same
from tests.support.codec import round_trip
from tests.support.extension_types import recording_type

TABLE = pa.table({"a": list(range(100)), "b": [str(i) for i in range(100)], "c": pa.array([1.5] * 100).dictionary_encode()})
GEO = {b"ARROW:extension:name": b"geoarrow.wkb", b"ARROW:extension:metadata": b'{"crs": null}'}
"""What GeoParquet puts on a binary field: an extension name no type is registered for."""


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
    assert_same(value, round_trip(value))


def test_chunked_array_keeps_its_chunks() -> None:
    value = pa.chunked_array([[1, 2], [], [3, 4, 5]])
    decoded = round_trip(value)
    assert type(decoded) is pa.ChunkedArray
    assert [len(c) for c in decoded.chunks] == [2, 0, 3]
    assert decoded.equals(value)


def test_reserved_schema_metadata_key_is_refused() -> None:
    with pytest.raises(hypha_arrow.EncodeError, match="reserved"):
        hypha_arrow.encode(TABLE.replace_schema_metadata({"hypha_arrow": "x"}))


def test_table_keeps_schema_and_field_metadata_exactly() -> None:
    schema = pa.schema(
        [
            pa.field("a", pa.int64(), metadata={"unit": "m"}),
            pa.field("s", pa.struct([pa.field("x", pa.string(), metadata={"k": "v"})])),
        ],
        metadata={"owner": "lab", "version": "3"},
    )
    table = pa.table([pa.array([1, 2]), pa.array([{"x": "p"}, None])], schema=schema)
    assert_same(table, round_trip(table))
    assert_same(table.to_batches()[0], round_trip(table.to_batches()[0]))


@pytest.mark.parametrize("rows", [0, 4])
def test_zero_column_table_and_batch_keep_their_rows_and_metadata(rows: int) -> None:
    batch = pa.RecordBatch.from_struct_array(pa.array([{}] * rows, type=pa.struct([]))).replace_schema_metadata({"k": "v"})
    table = pa.Table.from_batches([batch])
    for value in (batch, table):
        decoded = round_trip(value)
        assert_same(value, decoded)
        assert decoded.num_rows == rows


def read_back(storage: pa.Array, name: str, metadata: bytes = b"") -> pa.Array:
    """``storage`` as Arrow's IPC reader builds it from a field declaring extension ``name``
    (how a variable shape tensor arrives from another tool: pyarrow cannot construct one)."""
    field = pa.field("x", storage.type, metadata={b"ARROW:extension:name": name.encode(), b"ARROW:extension:metadata": metadata})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, pa.schema([field])) as writer:
        writer.write_batch(pa.record_batch([storage], schema=pa.schema([field])))
    return pa.ipc.open_stream(sink.getvalue()).read_all().column(0).combine_chunks()


def canonical_arrays() -> dict[str, pa.Array]:
    """One array of every canonical extension type Arrow C++ registers, nulls included where allowed."""
    tensor = pa.fixed_shape_tensor(pa.float32(), [2, 3], dim_names=["rows", "cols"], permutation=[1, 0])
    variable = pa.StructArray.from_arrays(
        [pa.array([[1.0, 2.0], [3.0]], pa.list_(pa.float32())), pa.array([[1, 2], [1, 1]], pa.list_(pa.int32(), 2))],
        names=["data", "shape"],
    )
    return {
        "arrow.uuid": pa.ExtensionArray.from_storage(pa.uuid(), pa.array([b"a" * 16, None, b"b" * 16], pa.binary(16))),
        "arrow.bool8": pa.ExtensionArray.from_storage(pa.bool8(), pa.array([1, 0, None, -3], pa.int8())),
        "arrow.json": pa.ExtensionArray.from_storage(pa.json_(), pa.array(['{"a": 1}', None, "[1]"])),
        "arrow.opaque": pa.ExtensionArray.from_storage(pa.opaque(pa.binary(), "geometry", "postgis"), pa.array([b"\x01", None])),
        "arrow.fixed_shape_tensor": pa.ExtensionArray.from_storage(
            tensor, pa.array([list(range(6)), None], pa.list_(pa.float32(), 6))
        ),
        "arrow.variable_shape_tensor": read_back(variable, "arrow.variable_shape_tensor", b'{"dim_names": ["y", "x"]}'),
    }


CANONICAL = canonical_arrays()
CONTAINERS: dict[str, Callable[[pa.Array], object]] = {
    "array": lambda values: values,
    "chunked_array": lambda values: pa.chunked_array([values, values.slice(1)]),
    "table": lambda values: pa.table({"e": values, "n": pa.array(range(len(values)))}),
    "record_batch": lambda values: pa.record_batch({"e": values}),
    "struct": lambda values: pa.StructArray.from_arrays([values], names=["e"]),
    "list": lambda values: pa.ListArray.from_arrays(pa.array([0, 1, len(values)], pa.int32()), values),
    "large_list_in_struct": lambda values: pa.StructArray.from_arrays(
        [pa.LargeListArray.from_arrays(pa.array([0, len(values)], pa.int64()), values)], names=["l"]
    ),
}


def test_the_samples_cover_every_canonical_name_the_decoder_accepts() -> None:
    assert set(CANONICAL) == CANONICAL_EXTENSIONS


SERIALIZED = {
    "arrow.opaque": b'{"type_name": "geometry", "vendor_name": "postgis"}',
    "arrow.fixed_shape_tensor": b'{"shape": [2, 3], "dim_names": ["rows", "cols"], "permutation": [1, 0]}',
    "arrow.variable_shape_tensor": b'{"dim_names": ["y", "x"]}',
}
"""The samples' extension metadata as the canonical specification writes it (the others have none)."""


@pytest.mark.parametrize("name", sorted(CANONICAL))
def test_every_accepted_canonical_name_is_rebuilt_by_arrow_cpp_without_python(name: str) -> None:
    """Arrow's own reader turns name and JSON into the type; no Python registration is involved."""
    rebuilt = read_back(CANONICAL[name].storage, name, SERIALIZED.get(name, b""))
    assert rebuilt.type == CANONICAL[name].type
    assert not isinstance(rebuilt.type, pa.ExtensionType)  # the base of every Python-defined type


@pytest.mark.parametrize("container", sorted(CONTAINERS))
@pytest.mark.parametrize("name", sorted(CANONICAL))
def test_canonical_extension_types_round_trip_exactly_in_every_container(name: str, container: str) -> None:
    value = CONTAINERS[container](CANONICAL[name])
    decoded = round_trip(value)
    assert_same(value, decoded)
    if container == "chunked_array":
        assert [len(chunk) for chunk in decoded.chunks] == [len(chunk) for chunk in value.chunks]


def test_extension_type_over_dictionary_storage_round_trips() -> None:
    storage = pa.DictionaryArray.from_arrays(pa.array([0, 1, 0], pa.int8()), pa.array(["a", "b"]))
    value = pa.ExtensionArray.from_storage(pa.opaque(storage.type, "labels", "lab"), storage)
    assert_same(value, round_trip(value))


class PointType(pa.ExtensionType):
    """A user's Python extension type: reading it back would run ``__arrow_ext_deserialize__``."""

    def __init__(self, name: str = "test.point") -> None:
        super().__init__(pa.struct([("x", pa.float64()), ("y", pa.float64())]), name)

    def __arrow_ext_serialize__(self) -> bytes:
        return b""

    @classmethod
    def __arrow_ext_deserialize__(cls, storage_type: pa.DataType, serialized: bytes) -> PointType:
        raise AssertionError("never called in these tests")


@pytest.fixture
def points() -> Iterator[pa.ExtensionArray]:
    pa.register_extension_type(PointType())
    try:
        yield pa.ExtensionArray.from_storage(PointType(), pa.array([{"x": 1.0, "y": 2.0}, None], PointType().storage_type))
    finally:
        pa.unregister_extension_type("test.point")


@pytest.mark.parametrize(
    "wrap, path",
    [
        (lambda a: a, "value"),
        (lambda a: pa.chunked_array([a, a]), "value"),
        (lambda a: pa.table({"where": a}), r"value\['where'\]"),
        (lambda a: pa.record_batch({"where": a}), r"value\['where'\]"),
        (lambda a: pa.StructArray.from_arrays([a], names=["p"]), r"value\['p'\]"),
        (lambda a: pa.table({"t": pa.ListArray.from_arrays(pa.array([0, 2], pa.int32()), a)}), r"value\['t'\]\['item'\]"),
        (lambda a: [pd.DataFrame({"where": pd.arrays.ArrowExtensionArray(a)})], r"value\[0\]\['where'\]"),
    ],
    ids=["array", "chunked_array", "table", "record_batch", "struct_child", "list_in_table", "dataframe_arrow_dtype"],
)
def test_python_extension_type_is_refused_at_the_sender_naming_path_and_name(
    points: pa.ExtensionArray, wrap: Callable[[pa.Array], object], path: str
) -> None:
    with pytest.raises(hypha_arrow.EncodeError, match=rf"^{path}: Arrow extension type 'test.point' is defined in Python.*\.storage"):
        hypha_arrow.encode(wrap(points))


def test_python_extension_type_travels_as_its_storage(points: pa.ExtensionArray) -> None:
    assert_same(points.storage, round_trip(points.storage))


def test_unregistered_python_extension_type_is_refused_too() -> None:
    value = pa.ExtensionArray.from_storage(PointType("test.unregistered"), pa.array([None], PointType().storage_type))
    with pytest.raises(hypha_arrow.EncodeError, match="'test.unregistered' is defined in Python"):
        hypha_arrow.encode(pa.table({"p": value}))


def test_pandas_period_and_interval_types_still_travel() -> None:
    frame = pd.DataFrame({"p": pd.period_range("2024-01", periods=3, freq="M"), "i": pd.interval_range(0, 3)})
    table = pa.Table.from_pandas(frame)
    assert {field.type.extension_name for field in table.schema} == {"pandas.period", "pandas.interval"}
    assert_same(table, round_trip(table))


@pytest.mark.parametrize(
    "values",
    [
        CANONICAL["arrow.uuid"],
        pa.Table.from_pandas(pd.DataFrame({"p": pd.period_range("2024-01", periods=2, freq="M")})).column(0).combine_chunks(),
    ],
    ids=["uuid", "pandas.period"],
)
def test_dictionary_of_an_extension_type_is_refused_at_the_sender(values: pa.Array) -> None:
    """Arrow IPC cannot carry it: readers apply the name to the dictionary (an error for uuid,
    periods read from the int64 indices for pandas.period)."""
    dictionary = pa.DictionaryArray.from_arrays(pa.array([1, 1, 0], pa.int64()), values)
    with pytest.raises(hypha_arrow.EncodeError, match=r"value\['d'\]: Arrow IPC cannot carry a dictionary of extension type"):
        hypha_arrow.encode(pa.table({"d": dictionary}))


def test_categorical_of_periods_is_refused_naming_its_column() -> None:
    frame = pd.DataFrame({"c": pd.Categorical(pd.period_range("2024-01", periods=3, freq="M"))})
    with pytest.raises(hypha_arrow.EncodeError, match=r"value\['c'\]: Arrow IPC cannot carry a dictionary"):
        hypha_arrow.encode(frame)


def test_extension_type_stored_as_another_extension_type_is_refused() -> None:
    uuids = CANONICAL["arrow.uuid"]
    value = pa.ExtensionArray.from_storage(pa.opaque(uuids.type, "id", "lab"), uuids)
    with pytest.raises(hypha_arrow.EncodeError, match="stored as extension type"):
        hypha_arrow.encode(value)


def geo_field(name: str = "g") -> pa.Field:
    return pa.field(name, pa.binary(), metadata=GEO)


WKB = pa.array([b"\x01\x01\x00\x00\x00", None])


@pytest.mark.parametrize(
    "value",
    [
        pa.table([WKB], schema=pa.schema([geo_field()])),
        pa.record_batch([WKB], schema=pa.schema([geo_field()], metadata={"geo": "{}"})),
        pa.table({"a": [1]}).replace_schema_metadata(GEO),
        pa.StructArray.from_arrays([WKB], fields=[geo_field()]),
        pa.chunked_array([pa.StructArray.from_arrays([WKB], fields=[geo_field()])] * 2),
        pa.ListArray.from_arrays(pa.array([0, 2], pa.int32()), WKB).view(pa.list_(geo_field("item"))),
        pa.array([[("k", b"\x01")]], pa.map_(pa.string(), pa.binary())).view(
            pa.map_(pa.field("key", pa.string(), nullable=False), geo_field("value"))
        ),
        pa.DictionaryArray.from_arrays(pa.array([0, 0], pa.int8()), pa.StructArray.from_arrays([WKB], fields=[geo_field()])),
        pa.UnionArray.from_dense(pa.array([0, 1], pa.int8()), pa.array([0, 0], pa.int32()), [pa.array([1]), WKB.slice(0, 1)]).view(
            pa.dense_union([pa.field("0", pa.int64()), geo_field("1")])
        ),
        pa.RunEndEncodedArray.from_arrays(
            pa.array([2], pa.int32()), pa.StructArray.from_arrays([WKB.slice(0, 1)], fields=[geo_field()])
        ),
        pa.StructArray.from_arrays([CANONICAL["arrow.uuid"]], fields=[pa.field("u", pa.uuid(), metadata=GEO)]),
    ],
    ids=[
        "table", "record_batch", "schema_metadata", "struct", "chunked", "list", "map",
        "dictionary", "union", "run_end_encoded", "on_an_extension_field",
    ],
)
def test_extension_name_field_metadata_travels_exactly_under_our_own_keys(value: object) -> None:
    frame = hypha_arrow.encode(value)
    ipc_guard.scan(section_of(frame), 1 << 30, frozenset({"arrow.uuid"}))  # no geoarrow.wkb for a reader to act on
    assert_same(value, hypha_arrow.decode(frame))


def section_of(frame: bytes) -> pa.Buffer:
    unpacker = msgpack.Unpacker(io.BytesIO(frame))
    unpacker.unpack()
    return pa.py_buffer(frame[unpacker.tell() :])


def test_extension_name_field_metadata_never_builds_the_type_registered_for_it() -> None:
    table = pa.table([WKB], schema=pa.schema([geo_field()]))
    with recording_type("geoarrow.wkb", pa.binary()) as (_, calls):
        decoded = round_trip(table)
    assert calls == []
    assert decoded.schema.field("g").type == pa.binary()
    assert_same(table, decoded)


@pytest.mark.parametrize("key", [b"hypha_arrow:extension:name", b"hypha_arrow:extension:metadata"])
def test_our_extension_metadata_keys_are_reserved(key: bytes) -> None:
    with pytest.raises(hypha_arrow.EncodeError, match=r"value\['g'\]: field metadata keys .* are reserved"):
        hypha_arrow.encode(pa.table([WKB], schema=pa.schema([pa.field("g", pa.binary(), metadata={key: b"x"})])))
    with pytest.raises(hypha_arrow.EncodeError, match="reserved"):
        hypha_arrow.encode(TABLE.replace_schema_metadata({key: b"x"}))


def extension_in_storage() -> pa.Array:
    storage = pa.StructArray.from_arrays([WKB], fields=[geo_field()])
    return pa.ExtensionArray.from_storage(pa.opaque(storage.type, "shape", "lab"), storage)


def test_extension_name_metadata_inside_extension_storage_is_refused() -> None:
    with pytest.raises(hypha_arrow.EncodeError, match="inside the storage of Arrow extension type 'arrow.opaque'"):
        hypha_arrow.encode(extension_in_storage())


ARROW_DTYPE_COLUMNS = {
    "int64": pa.array([1, None, 3]),
    "timestamp_tz": pa.array([0, None, 10**9], pa.timestamp("ns", tz="Europe/Paris")),
    "duration": pa.array([1, None, 3], pa.duration("ms")),
    "large_string": pa.array(["a", None, "b"], pa.large_string()),
    "string_view": pa.array(["a", None, "c" * 20], pa.string_view()),
    "binary_view": pa.array([b"a", None, b"c" * 20], pa.binary_view()),
    "list": pa.array([[1, 2], None, []], pa.list_(pa.int64())),
    "large_list": pa.array([[1, 2], None, []], pa.large_list(pa.int64())),
    "fixed_size_list": pa.array([[1, 2], None, [3, 4]], pa.list_(pa.int64(), 2)),
    "list_view": pa.array([[1], None, [2, 3]], pa.list_view(pa.int64())),
    "struct": pa.array([{"a": 1, "b": "x"}, None, {"a": 2, "b": None}]),
    "map": pa.array([[("a", 1)], None, []], pa.map_(pa.string(), pa.int64())),
    "dictionary": pa.array(["a", "b", None]).dictionary_encode(),
    "decimal128": pa.array([decimal.Decimal("1.23"), None, decimal.Decimal("-4.56")], pa.decimal128(10, 2)),
    "run_end_encoded": pa.RunEndEncodedArray.from_arrays(pa.array([2, 3], pa.int32()), pa.array([1, 2])),
    "uuid": CANONICAL["arrow.uuid"],
}


@pytest.mark.parametrize("name", list(ARROW_DTYPE_COLUMNS))
def test_dataframe_arrow_dtype_column_round_trips_exactly(name: str) -> None:
    values = ARROW_DTYPE_COLUMNS[name]
    frame = pd.DataFrame({"c": pd.arrays.ArrowExtensionArray(values), "n": np.arange(3)})
    decoded = round_trip(frame)
    assert decoded.dtypes.equals(frame.dtypes)
    assert pa.array(decoded["c"].array).equals(values)  # assert_frame_equal cannot compare view types
    pd.testing.assert_series_equal(decoded["n"], frame["n"])
