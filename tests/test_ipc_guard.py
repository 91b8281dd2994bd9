"""Crafted frames: extension names are judged before Arrow reads the schema, and what Arrow C++
then rebuilds is checked by Arrow, so hostile declarations end as DecodeError and run no Python."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pytest

import hypha_arrow
from tests.support.extension_types import recording_type
from tests.support.frames import crafted_frame


def extension(name: str, metadata: bytes = b"") -> dict[bytes, bytes]:
    return {b"ARROW:extension:name": name.encode(), b"ARROW:extension:metadata": metadata}


def struct_with(field: pa.Field, values: pa.Array) -> pa.StructArray:
    return pa.StructArray.from_arrays([values], fields=[field])


@pytest.fixture
def recorder() -> Iterator[type[pa.ExtensionType]]:
    """A registered Python extension type; its deserialiser must never run on a frame."""
    with recording_type("test.recorder") as (recording, calls):
        yield recording
    assert calls == []


INTS = pa.array([1, 2, 3])


@pytest.mark.parametrize(
    "values, item_metadata, kind",
    [
        (INTS, extension("test.recorder", b"\x80\x05pickled"), "array"),
        (struct_with(pa.field("inner", pa.int64(), metadata=extension("test.recorder")), INTS), None, "table"),
        (
            struct_with(
                pa.field("l", pa.list_(pa.field("item", pa.int64(), metadata=extension("test.recorder")))),
                pa.array([[1], [2], [3]]),
            ),
            None,
            "table",
        ),
    ],
    ids=["top", "table_column", "list_item_in_a_table"],
)
def test_registered_python_extension_type_is_refused_without_running_its_deserialiser(
    recorder: type[pa.ExtensionType], values: pa.Array, item_metadata: dict[bytes, bytes] | None, kind: str
) -> None:
    with pytest.raises(hypha_arrow.DecodeError, match="'test.recorder' is not accepted"):
        hypha_arrow.decode(crafted_frame(values, item_metadata, kind))


def test_raw_extension_name_outside_the_allow_list_is_refused() -> None:
    """What a sender that does not rename GeoParquet's field metadata would send."""
    wkb = pa.array([b"\x01"])
    for frame in (
        crafted_frame(wkb, extension("geoarrow.wkb")),
        crafted_frame(struct_with(pa.field("g", pa.binary(), metadata=extension("geoarrow.wkb")), wkb), kind="table"),
    ):
        with pytest.raises(hypha_arrow.DecodeError, match="'geoarrow.wkb' is not accepted"):
            hypha_arrow.decode(frame)


def test_our_extension_keys_arrive_as_plain_field_metadata_and_build_nothing(recorder: type[pa.ExtensionType]) -> None:
    field = pa.field("r", pa.int64(), metadata={b"hypha_arrow:extension:name": b"test.recorder"})
    table = hypha_arrow.decode(crafted_frame(struct_with(field, INTS), kind="table"))
    assert table.schema.field("r").type == pa.int64()
    assert table.schema.field("r").metadata == {b"ARROW:extension:name": b"test.recorder"}


FIXED = pa.array([[1, 2, 3]], pa.list_(pa.int32(), 3))
TENSORS = pa.StructArray.from_arrays(
    [pa.array([[1.0, 2.0]], pa.list_(pa.float32())), pa.array([[1, 2]], pa.list_(pa.int32(), 2))], names=["data", "shape"]
)
DEEP_JSON = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(
    "values, name, metadata, error",
    [
        (INTS, "arrow.uuid", b"", "Invalid storage type"),
        (pa.array([b"a" * 16], pa.binary(16)), "arrow.uuid", b"garbage", "Unexpected serialized metadata"),
        (pa.array(["x"]), "arrow.bool8", b"", "Expected INT8 storage"),
        (INTS, "arrow.json", b"", "Invalid storage type"),
        (pa.array([b"x"]), "arrow.opaque", b"", "JSON"),
        (pa.array([b"x"]), "arrow.opaque", b'{"type_name": 5}', "not a string"),
        (pa.array([b"x"]), "arrow.opaque", DEEP_JSON, "JSON"),
        (FIXED, "arrow.fixed_shape_tensor", b'{"shape": [2, 2]}', "does not match"),
        (FIXED, "arrow.fixed_shape_tensor", b'{"shape": [-3]}', "non-negative"),
        (FIXED, "arrow.fixed_shape_tensor", b'{"shape": [3, 100000000000000000000]}', "64 bits"),
        (FIXED, "arrow.fixed_shape_tensor", b'{"shape": [3], "permutation": [7]}', "Permutation"),
        (FIXED, "arrow.fixed_shape_tensor", DEEP_JSON, "too deep"),
        (INTS, "arrow.fixed_shape_tensor", b'{"shape": [1]}', "Expected FixedSizeList"),
        (TENSORS, "arrow.variable_shape_tensor", b"", "JSON"),
        (TENSORS, "arrow.variable_shape_tensor", b'{"uniform_shape": [1, 2, 3]}', "uniform_shape"),
        (INTS, "arrow.variable_shape_tensor", b"{}", "Expected Struct"),
    ],
)
def test_canonical_type_with_wrong_storage_or_parameters_is_refused_by_arrow(
    values: pa.Array, name: str, metadata: bytes, error: str
) -> None:
    with pytest.raises(hypha_arrow.DecodeError, match=error):
        hypha_arrow.decode(crafted_frame(values, extension(name, metadata)))


def test_canonical_name_on_the_section_field_itself_is_refused() -> None:
    with pytest.raises(hypha_arrow.DecodeError, match="Invalid storage type"):
        hypha_arrow.decode(crafted_frame(INTS, section_field_metadata=extension("arrow.uuid")))


def test_canonical_type_declared_on_valid_storage_is_accepted() -> None:
    value = hypha_arrow.decode(crafted_frame(FIXED, extension("arrow.fixed_shape_tensor", b'{"shape": [3]}')))
    assert value.type == pa.fixed_shape_tensor(pa.int32(), [3])
