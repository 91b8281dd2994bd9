"""The section's schema, built and parsed once per distinct description, in bounded caches."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

import hypha_arrow
from hypha_arrow import schemas

FLOATS = pa.float64()


def schema_metadata(*metas: dict) -> bytes:
    fields = [
        pa.field(str(i), pa.large_list(FLOATS), nullable=False, metadata={schemas.META_KEY: json.dumps(meta).encode()})
        for i, meta in enumerate(metas)
    ]
    return pa.ipc.read_message(pa.schema(fields).serialize()).metadata.to_pybytes()


def test_one_description_is_built_once_and_its_field_metadata_is_the_json_meta() -> None:
    first = schemas.field_plan("ndarray", {"dtype": "<f8", "shape": [3]}, FLOATS, {b"owner": b"lab"})
    again = schemas.field_plan("ndarray", {"dtype": "<f8", "shape": [3]}, FLOATS, {b"owner": b"lab"})
    assert again is first
    assert first.type == pa.large_list(FLOATS) and not first.has_dictionary and not first.may_be_byteless
    assert json.loads(first.metadata[schemas.META_KEY]) == {"kind": "ndarray", "dtype": "<f8", "shape": [3]}
    assert first.metadata[b"owner"] == b"lab"


@pytest.mark.parametrize("other", [{"dtype": "<f8", "shape": [4]}, {"dtype": "<f4", "shape": [3]}, {"shape": [3], "dtype": "<f8"}])
def test_a_different_description_gets_its_own_field(other: dict) -> None:
    plan = schemas.field_plan("ndarray", other, FLOATS, {})
    assert json.loads(plan.metadata[schemas.META_KEY]) == {"kind": "ndarray", **other}
    assert list(json.loads(plan.metadata[schemas.META_KEY])) == ["kind", *other]


def test_meta_json_cannot_hold_is_refused_every_time() -> None:
    for _ in range(2):
        with pytest.raises(TypeError):
            schemas.field_plan("ndarray", {"raw": b"\x00"}, FLOATS, {})


def test_a_large_description_is_built_but_not_kept() -> None:
    before = schemas._cached_field_plan.cache_info().currsize
    labels = [f"feature-{i}" for i in range(5000)]
    plan = schemas.field_plan("dataframe", {"labels": labels}, FLOATS, {})
    assert json.loads(plan.metadata[schemas.META_KEY])["labels"] == labels
    assert schemas._cached_field_plan.cache_info().currsize == before


@pytest.mark.parametrize(("kind", "byteless", "dictionary"), [
    (pa.null(), True, False),
    (pa.struct([]), True, False),
    (pa.large_list(pa.struct([("a", pa.int8()), ("n", pa.null())])), True, False),
    (pa.dictionary(pa.int32(), pa.null()), True, True),
    (pa.large_list(pa.dictionary(pa.int32(), pa.string())), False, True),
    (pa.struct([("a", pa.int8())]), False, False),
])
def test_a_field_says_whether_its_type_can_be_byteless_or_hold_dictionaries(kind: pa.DataType, byteless: bool, dictionary: bool) -> None:
    plan = schemas.field_plan("arrow", {}, kind, {})
    assert (plan.may_be_byteless, plan.has_dictionary) == (byteless, dictionary)


def test_one_schema_message_is_parsed_once_and_each_decode_gets_fresh_meta() -> None:
    message = schema_metadata({"kind": "ndarray", "shape": [3]})
    parsed = schemas.parse(message)
    assert schemas.parse(bytes(message)) is parsed
    kind, meta, arrow_metadata = parsed.column(0)
    assert (kind, meta, arrow_metadata) == ("ndarray", {"shape": [3]}, {})
    meta["shape"].append(4)
    assert parsed.column(0)[1] == {"shape": [3]}


def test_a_bad_schema_is_refused_every_time_and_not_kept() -> None:
    message = schema_metadata({"shape": [3]})
    before = schemas._cached_parse.cache_info().currsize
    for _ in range(2):
        with pytest.raises(hypha_arrow.DecodeError, match="has no valid hypha_arrow metadata"):
            schemas.parse(message)
    assert schemas._cached_parse.cache_info().currsize == before


def test_the_caches_stay_bounded_whatever_arrives() -> None:
    for n in range(schemas.CACHE_ENTRIES + 20):
        schemas.parse(schema_metadata({"kind": "ndarray", "shape": [n]}))
        schemas.field_plan("ndarray", {"shape": [n]}, FLOATS, {})
    assert schemas._cached_parse.cache_info().currsize == schemas.CACHE_ENTRIES
    assert schemas._cached_field_plan.cache_info().currsize == schemas.CACHE_ENTRIES


def test_a_large_schema_message_is_parsed_but_not_kept() -> None:
    message = schema_metadata({"kind": "dataframe", "labels": ["x" * 100] * 200})
    assert len(message) > schemas.CACHE_KEY_MAX_BYTES
    before = schemas._cached_parse.cache_info().currsize
    assert schemas.parse(message).columns[0].kind == "dataframe"
    assert schemas._cached_parse.cache_info().currsize == before


def test_a_schema_of_cached_fields_is_built_once_and_sized_as_pyarrow_serializes_it() -> None:
    plans = [schemas.field_plan("ndarray", {"shape": [i]}, FLOATS, {}) for i in range(3)]
    schema, size = schemas.schema_of(plans)
    assert schemas.schema_of(list(plans)) == (schema, size) and schemas.schema_of(list(plans))[0] is schema
    assert schema.names == ["0", "1", "2"] and size == schema.serialize().size
    assert [field.metadata for field in schema] == [plan.metadata for plan in plans]


def test_a_schema_with_a_field_not_kept_is_not_kept_either() -> None:
    large = schemas.field_plan("dataframe", {"labels": ["x" * 100] * 200}, FLOATS, {})
    before = schemas._cached_schema_of.cache_info().currsize
    schema, _ = schemas.schema_of([large])
    assert schema.field(0).metadata == large.metadata
    assert schemas._cached_schema_of.cache_info().currsize == before


@pytest.mark.parametrize("make", [
    lambda metadata: pa.struct([pa.field("a", pa.int8(), metadata=metadata)]),
    lambda metadata: pa.large_list(pa.field("item", pa.int8(), metadata=metadata)),
])
def test_types_equal_but_for_their_childrens_metadata_keep_their_own_children(make) -> None:
    """pyarrow compares nested types without their children's field metadata."""
    plain, tagged = make(None), make({b"unit": b"m"})
    assert plain == tagged
    schemas.field_plan("arrow", {}, plain, {})
    assert schemas.field_plan("arrow", {}, tagged, {}).type.value_type.equals(tagged, check_metadata=True)
