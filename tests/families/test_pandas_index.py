"""Label documents from a hostile sender: refused with DecodeError, never a file opened or memory pinned."""

from __future__ import annotations

from typing import Any

from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import hypha_arrow
from tests.support.frames import with_column_meta

HEADER = {"type": "method"}


def frame_of(value: Any) -> bytes:
    return hypha_arrow.encode_message(HEADER, {"v": value})


def categories(document: dict[str, Any]) -> dict[str, Any]:
    return {"categories": document, "codes": [0, 1], "ordered": False, "name": None}


LABELLED = frame_of(pd.DataFrame({0: [1, 2, 3], 1: ["a", "b", None]}))
NAMED = frame_of(pd.Series([1, 2, 3], name=5))


@pytest.mark.parametrize(
    ("frame", "key", "document"),
    [
        (LABELLED, "labels", categories({"range": [0, 10**18, 1], "name": None})),
        (LABELLED, "labels", categories({"range": [0, 10**8, 1], "name": None})),
        (LABELLED, "labels", {"levels": [{"range": [0, 10**18, 1], "name": None}], "codes": [[0, 1]], "names": [None]}),
        (LABELLED, "labels", {"dtype": "datetime64[ns, dateutil//etc/passwd]", "values": [1, 2], "name": None}),
        (LABELLED, "labels", {"dtype": "decimal128(5, 2)[pyarrow]", "values": [1, 2], "name": None}),
        (LABELLED, "labels", "levels"),
        (NAMED, "name", {"timestamp": [0, "ns", "dateutil//proc/self/mem"]}),
        (NAMED, "name", {"timestamp": [0, "ns", "Nowhere/Zone"]}),
        (NAMED, "name", {"decimal": "xyz"}),
        (NAMED, "name", {"int": 1.5}),
        (NAMED, "name", {"tuple": {"a": 1}}),
        (NAMED, "name", {"no such tag": 1}),
    ],
    ids=["category-range-1e18", "category-range-1e8", "level-range-1e18", "dateutil-file-dtype", "arrow-dtype-name",
         "document-not-a-map", "dateutil-file-timestamp", "unknown-zone", "bad-decimal", "float-as-int", "map-as-tuple", "unknown-tag"],
)
def test_hostile_label_documents_are_refused(frame: bytes, key: str, document: Any) -> None:
    hostile = with_column_meta(frame, lambda meta: meta.__setitem__(key, document))
    with pytest.raises(hypha_arrow.DecodeError):
        hypha_arrow.decode_message(hostile)


def test_duplicate_frame_notes_are_refused() -> None:
    frame = frame_of(pd.DataFrame({"c": pd.array([[1], [2]], dtype=pd.ArrowDtype(pa.list_(pa.int64())))}))
    hostile = with_column_meta(frame, lambda meta: meta.__setitem__("adapted_columns", [[0, "arrow"], [0, "arrow"]]))
    with pytest.raises(hypha_arrow.DecodeError, match="notes"):
        hypha_arrow.decode_message(hostile)


def test_labels_an_arrow_dtype_cannot_name_are_refused_at_the_sender() -> None:
    labels = pd.Index([Decimal("1.00"), Decimal("2.00")], dtype=pd.ArrowDtype(pa.decimal128(5, 2)))
    with pytest.raises(hypha_arrow.EncodeError, match="labels"):
        hypha_arrow.encode(pd.DataFrame([[1, 2]], columns=labels))


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/New_York"])
def test_labels_with_real_time_zones_round_trip(zone: str) -> None:
    labels = pd.date_range("2024-01-01", periods=2, tz=zone)
    decoded = hypha_arrow.decode(hypha_arrow.encode(pd.DataFrame(np.zeros((1, 2)), columns=labels)))
    assert decoded.columns.equals(labels) and str(decoded.columns.tz) == zone
