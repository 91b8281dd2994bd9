"""pandas labels (column Index, index and Series names) as an exact JSON document.

pyarrow's pandas metadata stores column labels and names as strings and guesses
them back (``True`` and ``False`` both become ``True``, ``0`` becomes ``'0'``).
Labels are few, so they travel as JSON whose every scalar keeps its type; a
document that would not rebuild the very same Index is refused at the sender.
"""

from __future__ import annotations

import base64
import json
import math
import re
import zoneinfo
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from ..cells import NUMBER_KINDS, dtype_from_text
from ..errors import DecodeError, EncodeError

SAFE_INT = 1 << 53
"""Larger ints travel as text, so a JavaScript reader keeps every digit too."""
MAX_NESTED_RANGE = 1 << 20
"""Longest range a document may use as categories or a level: those are built in full."""
_TIME_ZONES = frozenset(zoneinfo.available_timezones()) | {"UTC"}
_FIXED_OFFSET = re.compile(r"(UTC)?[+-]\d{2}:\d{2}")
_UNITS = frozenset({"s", "ms", "us", "ns"})
_TZ_DTYPE = re.compile(r"datetime64\[(s|ms|us|ns), (.+)\]")


def scalar_to_json(value: Any) -> Any:
    """One label or name as JSON: str, null, bool and small ints as themselves, the rest tagged."""
    kind = type(value)
    if value is None or kind in (str, bool):
        return value
    if kind is int:
        return value if -SAFE_INT < value < SAFE_INT else {"int": str(value)}
    if kind is float:
        return {"float": repr(value)}
    if kind is complex:
        return {"complex": [repr(value.real), repr(value.imag)]}
    if kind is bytes:
        return {"bytes": base64.b64encode(value).decode()}
    if kind is tuple:
        return {"tuple": [scalar_to_json(item) for item in value]}
    if kind is Decimal:
        return {"decimal": str(value)}
    if value is pd.NA:
        return {"na": True}
    if value is pd.NaT:
        return {"nat": True}
    if kind is pd.Timestamp:
        return {"timestamp": [int(value.to_datetime64().astype(np.int64)), value.unit, None if value.tz is None else str(value.tz)]}
    if kind is pd.Timedelta:
        return {"timedelta": [int(value.to_timedelta64().astype(np.int64)), value.unit]}
    if kind is pd.Period:
        return {"period": [value.ordinal, value.freqstr]}
    if kind is pd.Interval:
        return {"interval": [scalar_to_json(value.left), scalar_to_json(value.right), value.closed]}
    if isinstance(value, np.generic) and value.dtype.kind in NUMBER_KINDS and kind is value.dtype.type:
        return {"numpy": [value.dtype.str, base64.b64encode(value.tobytes()).decode()]}
    if kind in (np.str_, np.bytes_):
        return {"numpy": [value.dtype.kind, scalar_to_json(value.item())]}
    raise EncodeError(f"label {value!r} of type {kind.__module__}.{kind.__qualname__} cannot be sent exactly")


_BAD_DOCUMENT = (KeyError, IndexError, TypeError, ValueError, OverflowError, AttributeError, ArithmeticError, NotImplementedError)
"""What pandas, numpy and the decimal module raise on a document no encoder wrote."""


def scalar_from_json(doc: Any) -> Any:
    """The label or name a ``scalar_to_json`` document stands for; DecodeError for anything else."""
    try:
        return _scalar(doc)
    except DecodeError:
        raise
    except _BAD_DOCUMENT as error:
        raise DecodeError(f"invalid label {doc!r:.100}: {type(error).__name__}: {error}") from None


def _scalar(doc: Any) -> Any:
    if doc is None or type(doc) in (str, bool, int):
        return doc
    if type(doc) is not dict or len(doc) != 1:
        raise DecodeError(f"invalid label {doc!r:.100}")
    ((tag, value),) = doc.items()
    parse = _TAGS.get(tag)
    if parse is None:
        raise DecodeError(f"unknown label tag {tag!r:.50}")
    return parse(value)


def time_zone(name: Any) -> str:
    """A time zone name a receiver may look up: UTC, a fixed offset, or an IANA name.

    pandas hands other strings (``dateutil//etc/passwd``) to dateutil, which opens them as files.
    """
    if isinstance(name, str) and (name in _TIME_ZONES or _FIXED_OFFSET.fullmatch(name)):
        return name
    raise DecodeError(f"time zone {name!r:.100} is not UTC, a fixed offset or an IANA name")


def _timestamp(value: list[Any]) -> pd.Timestamp:
    count, unit, tz = value
    stamp = pd.Timestamp(np.datetime64(_int(count), _unit(unit)))
    return stamp if tz is None else stamp.tz_localize("UTC").tz_convert(time_zone(tz))


def _int(value: Any) -> int:
    if type(value) is not int:
        raise DecodeError(f"expected an int, got {value!r:.50}")
    return value


def _unit(value: Any) -> str:
    if value not in _UNITS:
        raise DecodeError(f"invalid time unit {value!r:.50}")
    return value


def _numpy(value: list[Any]) -> np.generic:
    if value[0] in ("U", "S"):
        text = _scalar(value[1])
        if type(text) is not (str if value[0] == "U" else bytes):
            raise ValueError("invalid numpy text label")
        return np.str_(text) if value[0] == "U" else np.bytes_(text)
    dtype = dtype_from_text(value[0])
    raw = base64.b64decode(_text(value[1]), validate=True)
    if dtype is None or dtype.kind not in NUMBER_KINDS or len(raw) != dtype.itemsize:
        raise ValueError("invalid numpy label")
    return np.frombuffer(raw, dtype=dtype)[0]


def _text(value: Any) -> str:
    if type(value) is not str:
        raise DecodeError(f"expected a string, got {value!r:.50}")
    return value


def _items(value: Any) -> list[Any]:
    if type(value) is not list:
        raise DecodeError(f"expected a list, got {value!r:.50}")
    return value


_TAGS = {
    "int": lambda v: int(_text(v)),
    "float": lambda v: float(_text(v)),
    "complex": lambda v: complex(float(_text(v[0])), float(_text(v[1]))),
    "bytes": lambda v: base64.b64decode(_text(v), validate=True),
    "tuple": lambda v: tuple(_scalar(item) for item in _items(v)),
    "decimal": lambda v: Decimal(_text(v)),
    "na": lambda v: pd.NA,
    "nat": lambda v: pd.NaT,
    "timestamp": _timestamp,
    "timedelta": lambda v: pd.Timedelta(np.timedelta64(_int(v[0]), _unit(v[1]))),
    "period": lambda v: pd.Period(ordinal=_int(v[0]), freq=_text(v[1])),
    "interval": lambda v: pd.Interval(_scalar(v[0]), _scalar(v[1]), closed=_text(v[2])),
    "numpy": _numpy,
}


def index_to_json(index: pd.Index) -> dict[str, Any]:
    """An Index as JSON, checked to rebuild the very same Index (else EncodeError)."""
    doc = _index_doc(index)
    if _plain_strings(index):
        return doc  # its strings and dtype are the document: nothing to check (7 ms for 20,000 labels)
    try:
        rebuilt = index_from_json(json.loads(json.dumps(doc)))
    except (DecodeError, *_BAD_DOCUMENT) as error:
        raise EncodeError(f"labels {index!r:.200} cannot be sent exactly: {error}") from None
    if not identical(index, rebuilt):
        raise EncodeError(f"labels {index!r:.200} cannot be sent exactly")
    return doc


def _plain_strings(index: pd.Index) -> bool:
    """A plain Index of a string dtype, every element a str, and a str or no name."""
    return (
        type(index) is pd.Index
        and isinstance(index.dtype, pd.StringDtype)
        and (index.name is None or type(index.name) is str)
        and not index.hasnans
    )


def _index_doc(index: pd.Index) -> dict[str, Any]:
    if isinstance(index, pd.MultiIndex):
        return {
            "levels": [_index_doc(level) for level in index.levels],
            "codes": [codes.tolist() for codes in index.codes],
            "names": [scalar_to_json(name) for name in index.names],
        }
    name = scalar_to_json(index.name)
    if type(index) is pd.RangeIndex:
        return {"range": [index.start, index.stop, index.step], "name": name}
    if isinstance(index, pd.CategoricalIndex):
        return {
            "categories": _index_doc(index.categories),
            "codes": index.codes.tolist(),
            "ordered": bool(index.ordered),
            "name": name,
        }
    values = [v if type(v) is str else scalar_to_json(v) for v in index.tolist()]  # str inline: wide frames have many
    doc = {"dtype": _dtype_doc(index.dtype), "values": values, "name": name}
    if getattr(index, "freqstr", None) is not None and not isinstance(index, pd.PeriodIndex):
        doc["freq"] = index.freqstr
    return doc


def index_from_json(doc: Any) -> pd.Index:
    """The Index a document made by ``index_to_json`` describes."""
    try:
        return _index(doc, nested=False)
    except DecodeError:
        raise
    except _BAD_DOCUMENT as error:
        raise DecodeError(f"invalid labels document: {type(error).__name__}: {error}") from None


def _index(doc: Any, nested: bool) -> pd.Index:
    if type(doc) is not dict:
        raise DecodeError(f"invalid labels document {doc!r:.100}")
    if "levels" in doc:
        levels = [_index(level, nested=True) for level in _items(doc["levels"])]
        names = [_scalar(name) for name in _items(doc["names"])]
        return pd.MultiIndex(levels=levels, codes=doc["codes"], names=names, verify_integrity=True)
    name = _scalar(doc["name"])
    if "range" in doc:
        start, stop, step = (_int(n) for n in _items(doc["range"]))
        index = pd.RangeIndex(start, stop, step, name=name)
        if nested and len(index) > MAX_NESTED_RANGE:
            raise DecodeError(f"a range of {len(index)} categories or level values is over {MAX_NESTED_RANGE}")
        return index
    if "categories" in doc:
        categories = _index(doc["categories"], nested=True)
        values = pd.Categorical.from_codes(doc["codes"], categories=categories, ordered=bool(doc["ordered"]))
        return pd.CategoricalIndex(values, name=name)
    values = [v if type(v) is str else _scalar(v) for v in _items(doc["values"])]
    dtype = _dtype_from_doc(doc["dtype"])
    if dtype == object:
        array = np.empty(len(values), dtype=object)
        array[:] = values
        index = pd.Index(array, dtype=object, name=name, tupleize_cols=False)
    else:
        index = pd.Index(values, dtype=dtype, name=name, tupleize_cols=False)
    if "freq" in doc:
        index = type(index)(index, freq=doc["freq"])
    return index


def _dtype_doc(dtype: Any) -> Any:
    """pandas' dtype name, or for strings ``{"string": [storage, "NA"|"nan"]}``: the name
    ``"string"`` does not say which storage and missing-value flavour it was."""
    if isinstance(dtype, pd.StringDtype):
        return {"string": [dtype.storage, "NA" if dtype.na_value is pd.NA else "nan"]}
    return str(dtype)


def _dtype_from_doc(doc: Any) -> Any:
    if isinstance(doc, dict):
        storage, missing = doc["string"]
        if storage not in ("python", "pyarrow") or missing not in ("NA", "nan"):
            raise ValueError(f"invalid string dtype {doc!r:.100}")
        return pd.StringDtype(storage, na_value=pd.NA if missing == "NA" else np.nan)
    zoned = _TZ_DTYPE.fullmatch(_text(doc))
    if zoned:
        time_zone(zoned.group(2))
    return pd.api.types.pandas_dtype(doc)


def identical(expected: pd.Index, actual: pd.Index) -> bool:
    """Same Index class, dtype, names and elements, element types included (``True`` is not ``1``)."""
    if type(expected) is not type(actual) or expected.dtype != actual.dtype or len(expected) != len(actual):
        return False
    if not _same_scalars(list(expected.names), list(actual.names)):
        return False
    if isinstance(expected, pd.MultiIndex):
        return all(identical(e, a) for e, a in zip(expected.levels, actual.levels)) and all(
            np.array_equal(e, a) for e, a in zip(expected.codes, actual.codes)
        )
    if isinstance(expected, pd.CategoricalIndex):
        return (
            expected.ordered == actual.ordered
            and identical(expected.categories, actual.categories)
            and np.array_equal(expected.codes, actual.codes)
        )
    if getattr(expected, "freq", None) != getattr(actual, "freq", None):
        return False
    if type(expected) is pd.RangeIndex or isinstance(expected.dtype, pd.StringDtype):
        return expected.equals(actual)  # their dtype says what each element is: compared in C, thousands of labels
    return _same_scalars(expected.tolist(), actual.tolist())


_PLAIN_SCALARS = frozenset({str, int, bool, type(None)})
"""Types whose equal values of one type are the same label (unlike floats, tuples and Decimals)."""


def _same_scalars(expected: list[Any], actual: list[Any]) -> bool:
    types = list(map(type, expected))
    if expected == actual and types == list(map(type, actual)) and _PLAIN_SCALARS.issuperset(types):
        return True  # the common case, thousands of str labels, compared in C
    return all(_same_scalar(e, a) for e, a in zip(expected, actual, strict=True))


def _same_scalar(expected: Any, actual: Any) -> bool:
    if type(expected) is not type(actual):
        return False
    if type(expected) is tuple:
        return len(expected) == len(actual) and _same_scalars(list(expected), list(actual))
    if type(expected) is float and math.isnan(expected):
        return math.isnan(actual)
    if type(expected) is Decimal:
        return str(expected) == str(actual)
    if expected is pd.NA or expected is pd.NaT:
        return actual is expected
    try:
        same = expected == actual
        return bool(same) or (expected != expected and actual != actual)
    except (TypeError, ValueError):
        return False
