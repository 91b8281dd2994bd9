"""Build the conformance corpus: frames a hypha_arrow decoder in any language must read or refuse.

``python conformance/generate.py`` rewrites ``conformance/frames/*.bin``, ``cases.json`` and
``versions.json``. Valid frames are made by hypha_arrow's encoder; each expectation is
``to_neutral`` of the value that was encoded (or of an explicit expected value where the
decoder legitimately returns something else). Malformed frames are valid frames edited at
the msgpack or the Arrow level by hand, one fault each, so they do not depend on the encoder
being able to produce the fault. conformance/README.md defines the neutral JSON form.
"""

from __future__ import annotations

import base64
import io
import json
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgpack
import numpy as np
import pandas as pd
import pyarrow as pa

import hypha_arrow
from hypha_arrow import Config

HERE = Path(__file__).resolve().parent
FRAMES_DIR = HERE / "frames"
CASES_FILE = HERE / "cases.json"
VERSIONS_FILE = HERE / "versions.json"

DESCRIPTOR_KEY = "__hypha_arrow__"
META_KEY = b"hypha_arrow"
SAFE_INT = 1 << 53
_SAME = object()
"""``Case.expected`` default: the decoder returns the encoded value itself."""


# ---------------------------------------------------------------- the neutral JSON form


def to_neutral(value: Any) -> Any:
    """``value`` in the corpus' language-neutral JSON form (defined in conformance/README.md).

    Types are matched exactly, so ``numpy.float64`` (a ``float`` subclass) is a scalar, not a
    float, and a tuple is not a list: a decoder that loses a type fails the comparison.
    """
    kind = type(value)
    if value is None or kind in (bool, str):
        return value
    if kind is int:
        return value if -SAFE_INT < value < SAFE_INT else {"$int": str(value)}
    if kind is float:
        return {"$float": repr(value)}
    if kind is bytes:
        return {"$bytes": _b64(value)}
    if kind is list:
        return [to_neutral(item) for item in value]
    if kind is tuple:
        return {"$tuple": [to_neutral(item) for item in value]}
    if kind is dict:
        return _object([(key, to_neutral(item)) for key, item in value.items()])
    if kind is Decimal:
        return {"$decimal": str(value)}
    if value is pd.NA:
        return {"$na": True}
    if kind is np.ndarray:
        return {"$ndarray": _ndarray(value)}
    if isinstance(value, np.generic):
        return {"$scalar": {"dtype": value.dtype.str, "data": _b64(_element_bytes(np.asarray(value), "C"))}}
    if isinstance(value, (pd.DataFrame, pd.Series)):
        table = section_tables(hypha_arrow.encode(value))[0]
        table["pandas"] = _pandas_facts(value)
        return {"$table": table}
    if isinstance(value, pa.Table):
        return {"$table": _table("table", value.schema, [c.combine_chunks() for c in value.columns], value.schema.metadata)}
    if isinstance(value, pa.RecordBatch):
        return {"$table": _table("record_batch", value.schema, value.columns, value.schema.metadata)}
    if isinstance(value, pa.ChunkedArray):
        values = value.combine_chunks() if value.num_chunks else pa.array([], type=value.type)
        return {"$array": {"type": str(value.type), "values": arrow_values(values), "chunks": [len(c) for c in value.chunks]}}
    if isinstance(value, pa.Array):
        return {"$array": {"type": str(value.type), "values": arrow_values(value)}}
    raise TypeError(f"no neutral form for {kind.__module__}.{kind.__qualname__}")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _object(pairs: list[tuple[Any, Any]]) -> Any:
    """A JSON object when every key is a string not starting with ``$``, else ``$map`` (keys made neutral)."""
    if all(type(key) is str and not key.startswith("$") for key, _ in pairs):
        return dict(pairs)
    return {"$map": [[to_neutral(key), item] for key, item in pairs]}


def _order(array: np.ndarray) -> str:
    return "F" if array.flags.f_contiguous and not array.flags.c_contiguous else "C"


def _element_bytes(array: np.ndarray, order: str) -> bytes:
    """Elements in ``order``, each little-endian (structured records byte for byte, as they travel)."""
    if array.dtype.fields is None:
        array = array.astype(array.dtype.newbyteorder("<"), copy=False)
    return array.tobytes(order=order)


def _ndarray(array: np.ndarray) -> dict[str, Any]:
    order = _order(array)
    doc: dict[str, Any] = {"dtype": array.dtype.str, "shape": list(array.shape), "order": order}
    if array.dtype.fields is not None:
        doc["descr"] = json.loads(json.dumps(np.lib.format.dtype_to_descr(array.dtype)))
    if array.dtype.kind == "O":
        doc["values"] = [to_neutral(item) for item in array.ravel(order=order)]
    else:
        doc["data"] = _b64(_element_bytes(array, order))
    return doc


def _table(kind: str, fields: Any, columns: list[pa.Array], metadata: dict[bytes, bytes] | None) -> dict[str, Any]:
    """Fields, column values and schema metadata (pandas' own ``pandas`` key left out: it names library versions)."""
    fields = list(fields)
    return {
        "kind": kind,
        "fields": [{"name": f.name, "type": str(f.type), "nullable": f.nullable} for f in fields],
        "columns": {f.name: arrow_values(column) for f, column in zip(fields, columns)},
        "schema_metadata": {k.decode(): v.decode() for k, v in (metadata or {}).items() if k not in (b"pandas", META_KEY)},
    }


def arrow_values(array: pa.Array) -> list[Any]:
    """Neutral values of an Arrow array: temporal types as counts of their unit, dictionaries
    decoded, extension types as their storage, structs as objects, lists as arrays."""
    kind = array.type
    if isinstance(kind, pa.BaseExtensionType):
        return arrow_values(array.storage)
    if pa.types.is_dictionary(kind):
        return arrow_values(array.dictionary_decode())
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind) or pa.types.is_time(kind) or pa.types.is_duration(kind):
        return arrow_values(array.view(pa.int32() if kind.bit_width == 32 else pa.int64()))
    valid = array.is_valid().to_pylist()
    if pa.types.is_struct(kind):
        names = [kind.field(i).name for i in range(kind.num_fields)]
        children = [arrow_values(child) for child in array.flatten()]
        rows = [[child[i] for child in children] for i in range(len(array))]
        return [_object(list(zip(names, row))) if ok else None for ok, row in zip(valid, rows)]
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        return [arrow_values(array[i].values) if ok else None for i, ok in enumerate(valid)]
    return [to_neutral(item) for item in array.to_pylist()]


def _pandas_facts(value: pd.DataFrame | pd.Series) -> dict[str, Any]:
    """What a Python decoder restores beyond the Arrow data: labels, dtypes, index kind and names."""
    index = value.index
    described: dict[str, Any] = {
        "type": type(index).__name__,
        "names": [to_neutral(name) for name in index.names],
        "dtypes": [str(index.get_level_values(i).dtype) for i in range(index.nlevels)],
    }
    if type(index) is pd.RangeIndex:
        described["range"] = [index.start, index.stop, index.step]
    if getattr(index, "freqstr", None) is not None:
        described["freq"] = index.freqstr
    if isinstance(value, pd.Series):
        return {"name": to_neutral(value.name), "dtype": str(value.dtype), "index": described}
    return {"columns": [to_neutral(label) for label in value.columns.tolist()], "dtypes": [str(d) for d in value.dtypes], "index": described}


# ---------------------------------------------------------------- reading and writing frames by hand


def split(frame: bytes, objects: int) -> tuple[list[Any], bytes]:
    """The first ``objects`` msgpack objects of a frame and the bytes after them (the Arrow section)."""
    unpacker = msgpack.Unpacker(io.BytesIO(frame), raw=False, strict_map_key=False, max_buffer_size=len(frame))
    parts = [unpacker.unpack() for _ in range(objects)]
    return parts, frame[unpacker.tell() :]


def join(parts: list[Any], section: bytes) -> bytes:
    """A frame from its msgpack objects and a section; the descriptor's length follows the section."""
    parts[-1][DESCRIPTOR_KEY]["length"] = len(section)
    return b"".join(msgpack.packb(part) for part in parts) + section


def section_tables(frame: bytes, objects: int = 1) -> list[dict[str, Any]]:
    """The neutral ``$table`` body of each table-kind column, read from the section with plain pyarrow:
    what a decoder in another language sees (schema metadata = the field's metadata minus ``hypha_arrow``)."""
    _, section = split(frame, objects)
    batch = pa.ipc.open_stream(section).read_next_batch()
    tables = []
    for index, column_field in enumerate(batch.schema):
        kind = json.loads(column_field.metadata[META_KEY])["kind"]
        if kind in ("dataframe", "series", "table", "record_batch"):
            struct_values = batch.column(index)[0].values
            tables.append(_table(kind, struct_values.type, struct_values.flatten(), column_field.metadata))
    return tables


def _stream(schema: pa.Schema, batches: list[pa.RecordBatch], codec: str | None = None) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema, options=pa.ipc.IpcWriteOptions(compression=codec)) as writer:
        for batch in batches:
            writer.write_batch(batch)
    return sink.getvalue().to_pybytes()


def _read_batch(section: bytes) -> pa.RecordBatch:
    return pa.ipc.open_stream(section).read_next_batch()


def _one_row(values: pa.Array) -> pa.Array:
    """``values`` as the single row of a ``large_list`` column, as the wire format lays them out."""
    return pa.LargeListArray.from_arrays(pa.array([0, len(values)], type=pa.int64()), values)


def _replaced_column(batch: pa.RecordBatch, index: int, values: pa.Array | None = None, metadata: dict[bytes, bytes] | None = None) -> pa.RecordBatch:
    """``batch`` with column ``index``'s values and/or field metadata replaced."""
    old = batch.schema.field(index)
    column = _one_row(values) if values is not None else batch.column(index)
    fields, arrays = list(batch.schema), list(batch.columns)
    fields[index] = pa.field(old.name, column.type, nullable=False, metadata=metadata if metadata is not None else old.metadata)
    arrays[index] = column
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))


def _edit_skeleton(change: Callable[[dict[str, Any]], None]) -> Callable[[bytes], bytes]:
    """A malformed-frame maker: change the standalone skeleton, keep the section byte for byte."""

    def make(frame: bytes) -> bytes:
        (skeleton,), section = split(frame, 1)
        change(skeleton)
        return msgpack.packb(skeleton) + section

    return make


def _edit_section(change: Callable[[pa.RecordBatch], bytes]) -> Callable[[bytes], bytes]:
    """A malformed-frame maker: rewrite the standalone section from its batch, fix the descriptor's length."""

    def make(frame: bytes) -> bytes:
        parts, section = split(frame, 1)
        return join(parts, change(_read_batch(section)))

    return make


def _with_meta(key: str, value: Any) -> Callable[[pa.RecordBatch], bytes]:
    """Column 0's ``hypha_arrow`` metadata with one key changed."""

    def change(batch: pa.RecordBatch) -> bytes:
        metadata = dict(batch.schema.field(0).metadata)
        metadata[META_KEY] = json.dumps({**json.loads(metadata[META_KEY]), key: value}).encode()
        new = _replaced_column(batch, 0, metadata=metadata)
        return _stream(new.schema, [new])

    return change


def _with_cell(index: int, cell: bytes) -> Callable[[pa.RecordBatch], bytes]:
    """Column 0 (msgpack cells) with cell ``index`` replaced."""

    def change(batch: pa.RecordBatch) -> bytes:
        cells = batch.column(0)[0].values.to_pylist()
        cells[index] = cell
        new = _replaced_column(batch, 0, pa.array(cells, type=pa.large_binary()))
        return _stream(new.schema, [new])

    return change


def _decompression_bomb(declared: int) -> Callable[[bytes], bytes]:
    """The lz4 section of ``ndarray_lz4`` with its 32000-byte values buffer declaring ``declared`` bytes.

    The buffer is found by its 8-byte little-endian length prefix, which must occur exactly once
    at an 8-aligned offset of the record batch body.
    """

    def make(frame: bytes) -> bytes:
        parts, section = split(frame, 1)
        body_start, body_end = _batch_body(section)
        prefix = struct.pack("<q", 4000 * 8)
        hits = [p for p in range(body_start, body_end - 7, 8) if section[p : p + 8] == prefix]
        if len(hits) != 1:
            raise RuntimeError(f"expected one compressed values buffer, found {len(hits)}")
        patched = bytearray(section)
        patched[hits[0] : hits[0] + 8] = struct.pack("<q", declared)
        return join(parts, bytes(patched))

    return make


def _batch_body(section: bytes) -> tuple[int, int]:
    """Start and end of the record batch message's body within an IPC stream (encapsulated format)."""
    position = 0
    reader = pa.ipc.MessageReader.open_stream(pa.py_buffer(section))
    for message in reader:
        (marker, length) = struct.unpack_from("<Ii", section, position)
        if marker != 0xFFFFFFFF:
            raise RuntimeError("not an encapsulated IPC stream")
        body = position + 8 + length
        size = message.body.size if message.body is not None else 0
        if message.type == "record batch":
            return body, body + size
        position = body + size
    raise RuntimeError("no record batch")


def server_rewrite(frame: bytes, changes: dict[str, Any]) -> bytes:
    """What the Hypha server does: unpack only the header, change it, re-pack, keep the rest byte for byte."""
    unpacker = msgpack.Unpacker(io.BytesIO(frame), raw=False, max_buffer_size=len(frame))
    header = unpacker.unpack()
    header.update(changes)
    return msgpack.packb(header) + frame[unpacker.tell() :]


# ---------------------------------------------------------------- the cases


@dataclass
class Case:
    """One valid frame: the value encoded, how, and what decoding it must give."""

    name: str
    value: Any
    encoded_with: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    kind: str = "standalone"
    expected: Any = _SAME
    note: str = ""
    make: Callable[[], bytes] | None = None

    def frame(self) -> bytes:
        if self.make is not None:
            return self.make()
        config = Config(**self.encoded_with) if self.encoded_with else None
        if self.kind == "message":
            header, extra = self.value
            return hypha_arrow.encode_message(header, extra, config=config)
        return hypha_arrow.encode(self.value, config=config)

    def expect(self) -> Any:
        value = self.value if self.expected is _SAME else self.expected
        if self.kind == "message":
            header, extra = value
            return {"header": to_neutral(header), "extra": to_neutral(extra or None)}
        return to_neutral(value)


@dataclass
class Malformed:
    """One frame a decoder must refuse: a valid case's frame with one fault put in."""

    name: str
    base: str
    edit: Callable[[bytes], bytes]
    error: str
    kind: str = "standalone"


COLUMNAR = {"binary_threshold": 0}
"""Small values go columnar too, so frames stay a few KB."""


def _ints(dtype: str) -> np.ndarray:
    info = np.iinfo(dtype)
    return np.array([info.min, info.max, 0] + [k * (int(info.max) // 64) for k in range(45)], dtype=dtype)


def _floats(dtype: str) -> np.ndarray:
    info = np.finfo(dtype)
    special = [0.0, -0.0, np.nan, np.inf, -np.inf, 1.5, info.max, info.tiny, info.smallest_subnormal]
    return np.concatenate([np.array(special, dtype=dtype), np.linspace(-10, 10, 41, dtype=dtype)])


def _complex(dtype: str) -> np.ndarray:
    values = (np.arange(30) + 1j * np.arange(30)[::-1]) / 4
    values[3] = complex(np.nan, -0.0)
    return values.astype(dtype)


def _longdouble() -> np.ndarray:
    """70 long doubles (over the threshold) with their padding bytes zeroed, so the bytes are reproducible."""
    values = np.linspace(-3, 3, 70).astype(np.longdouble)
    raw = values.view(np.uint8).reshape(len(values), -1).copy()
    raw[:, 10:] = 0  # x87 80-bit extended precision: 6 padding bytes per element
    return raw.view(np.longdouble).ravel()


def _object_array(items: list[Any], shape: tuple[int, ...] | None = None, order: str = "C") -> np.ndarray:
    array = np.empty(len(items), dtype=object)
    array[:] = items
    return array.reshape(shape or (len(items),), order=order)


MIXED_CELLS = [1, -(2**70), 2**64, (1, "a", (None,)), Decimal("1.10"), Decimal("-Infinity"), 2.5, None, "text", b"\x00raw", True, pd.NA,
               np.float32(2.5), np.int16(-7), np.datetime64("2024-05-06T07:08", "m"), np.arange(4, dtype="<i2").reshape(2, 2),
               {"k": [1, 2]}, {1: "int key"}, [1, "two"]]
"""Values only exact msgpack cells carry (see hypha_arrow/cells.py)."""

HEADER = {"type": "method", "from": "ws-user-alice/client-1", "to": "ws-user-bob/svc-1", "method": "svc-1.process", "session": "s-1"}


def _frame(rows: int = 12) -> pd.DataFrame:
    return pd.DataFrame({"i": np.arange(rows, dtype="int64"), "x": np.linspace(0, 1, rows), "s": [f"row {i}" for i in range(rows)]})


def _wide_frame() -> pd.DataFrame:
    """100 int16 columns with a str and a float64 column among them: the block layout."""
    frame = pd.DataFrame({f"c{i}": np.arange(2, dtype="int16") + i for i in range(100)})
    frame.insert(3, "name", ["a", "b"])
    frame.insert(50, "x", np.array([0.5, -1.0]))
    return frame


def _message_extra() -> dict[str, Any]:
    return {
        "args": [np.linspace(0, 1, 200), _frame(), np.arange(3, dtype="<f8")],
        "with_kwargs": True,
        "promise": {"resolve": "cb-1", "reject": "cb-2"},
    }


def _stock(array: np.ndarray) -> dict[str, Any]:
    """hypha-rpc's form of a small array: what ``decode_message`` leaves for hypha-rpc to decode."""
    return {"_rtype": "ndarray", "_rvalue": array.tobytes(), "_rshape": list(array.shape), "_rdtype": str(array.dtype)}


def _expected_extra() -> dict[str, Any]:
    extra = _message_extra()
    extra["args"][2] = _stock(extra["args"][2])
    return extra


def _rewritten_header() -> dict[str, Any]:
    """The server's header for ``message_server_rewrite``, padded until the section lands misaligned."""
    changes: dict[str, Any] = {
        "from": "ws-user-alice/client-1@relay-7",
        "ws": "ws-user-bob",
        "user": {"id": "alice", "email": "alice@example.org", "role": "member"},
    }
    frame = hypha_arrow.encode_message(HEADER, _message_extra())
    (header, skeleton), _ = split(frame, 2)
    while (len(msgpack.packb({**header, **changes})) + len(msgpack.packb(skeleton))) % 8 == 0:
        changes["user"]["role"] += "+"
    return changes


def valid_cases() -> list[Case]:
    ndarrays = [
        Case("ndarray_bool", np.arange(50) % 3 == 0, COLUMNAR),
        *[Case(f"ndarray_{dtype}", _ints(dtype), COLUMNAR) for dtype in ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")],
        *[Case(f"ndarray_{dtype}", _floats(dtype), COLUMNAR) for dtype in ("float16", "float32", "float64")],
        *[Case(f"ndarray_{dtype}", _complex(dtype), COLUMNAR) for dtype in ("complex64", "complex128")],
        Case("ndarray_datetime64_ns", np.concatenate([
            np.array(["2024-01-02T03:04:05.123456789", "NaT", "1677-09-22", "2262-04-11"], "M8[ns]"),
            (np.arange(30) * 10**15).astype("M8[ns]"),
        ]), COLUMNAR),
        Case("ndarray_datetime64_D", np.concatenate([np.arange("2000-01-01", "2000-02-15", dtype="M8[D]"), np.array(["NaT"], "M8[D]")]), COLUMNAR),
        Case("ndarray_timedelta64_s", np.arange(-20, 20).astype("m8[s]"), COLUMNAR),
        Case("ndarray_timedelta64_us", np.concatenate([(np.arange(30) * 999).astype("m8[us]"), np.array(["NaT"], "m8[us]")]), COLUMNAR),
        Case("ndarray_unicode", np.array(["", "a", "héllo", "日本語", "🎉 party", "tail\x00", "x" * 8] * 5, dtype="U8"), COLUMNAR, note="trailing NULs are numpy's padding"),
        Case("ndarray_bytes", np.array([b"", b"a", b"\x00mid", b"ab\x00\x00", b"\xff\xfe\x00"] * 8, dtype="S6"), COLUMNAR, note="trailing NULs are numpy's padding"),
        Case("ndarray_object_str", _object_array(["a", None, "héllo", "", "日本"] * 8), COLUMNAR, note="large_string"),
        Case("ndarray_object_bytes", _object_array([b"\x00\x01", None, b"", b"xyz"] * 8), COLUMNAR, note="large_binary"),
        Case("ndarray_object_str_bytes", _object_array(["s", b"b", None, "", b""] * 8), COLUMNAR, note="dense union of large_string and large_binary"),
        Case("ndarray_object_cells", _object_array(MIXED_CELLS), COLUMNAR, note="msgpack cells with extension types"),
        Case("ndarray_object_fortran", _object_array([f"v{i}" for i in range(12)], (3, 4), order="F"), COLUMNAR),
        Case("ndarray_big_endian_int32", np.arange(-20, 20, dtype=">i4"), COLUMNAR, note="data travels little-endian, dtype asks for big-endian"),
        Case("ndarray_big_endian_float64_2d", np.linspace(-1, 1, 30, dtype=">f8").reshape(5, 6), COLUMNAR),
        Case("ndarray_fortran", np.asfortranarray(np.arange(24, dtype="<f4").reshape(4, 6)), COLUMNAR),
        Case("ndarray_3d", np.arange(60, dtype="<i2").reshape(3, 4, 5), COLUMNAR),
        Case("ndarray_0d", np.array(2.5), COLUMNAR),
        Case("ndarray_empty", np.zeros((0, 4), dtype="<i2"), COLUMNAR),
        Case("ndarray_structured", np.array(
            [(i, (i / 2, -i), b"t%d" % i, 500 + i) for i in range(20)],
            dtype=[("id", "<i4"), ("pos", "<f8", (2,)), ("tag", "S3"), ("be", ">u2")],
        ), COLUMNAR, note="descr in the metadata; records byte for byte"),
        Case("ndarray_small_stock", np.arange(6, dtype="<i2").reshape(2, 3), note="below the threshold: hypha-rpc's _rtype ndarray form"),
        Case("ndarray_stock_only_dtypes", {"longdouble": _longdouble(), "void": np.frombuffer(bytes(range(32)), dtype="V8")}, note="no Arrow type: hypha-rpc's form at any size"),
        Case("numpy_scalars", {
            "float64": np.float64(1.5), "float32": np.float32(-0.0), "float16": np.float16(np.inf), "int8": np.int8(-3), "uint64": np.uint64(2**64 - 1),
            "bool": np.bool_(True), "complex64": np.complex64(1 - 2j), "datetime": np.datetime64("2024-01-02T03:04:05", "s"),
            "timedelta": np.timedelta64("NaT", "ns"), "str": np.str_("hé"), "bytes": np.bytes_(b"ab"),
        }, note="hypha-rpc's form plus _rscalar"),
    ]
    frames = [
        Case("dataframe_numeric", pd.DataFrame({
            "i64": np.arange(20, dtype="int64") - 10,
            "f64": np.linspace(0, 1, 20),
            "b": np.arange(20) % 2 == 0,
            "i8": np.arange(20, dtype="int8"),
            "u32": np.arange(20, dtype="uint32"),
        })),
        Case("dataframe_strings", pd.DataFrame({
            "str": pd.array(["a", None, "héllo", ""] * 3, dtype="str"),
            "object": pd.Series(["a", None, "héllo", ""] * 3, dtype=object),
            "string_python": pd.array(["x", None, "y", "z"] * 3, dtype="string[python]"),
            "bytes": pd.Series([b"\x00", None, b"ab", b""] * 3, dtype=object),
        })),
        Case("dataframe_categorical", pd.DataFrame({
            "cat": pd.Categorical(["a", "b", None, "a"] * 3, categories=["a", "b", "c"]),
            "ordered": pd.Categorical(["lo", "hi", "mid"] * 4, categories=["lo", "mid", "hi"], ordered=True),
        })),
        Case("dataframe_datetimes", pd.DataFrame({
            "paris": pd.date_range("2024-03-31", periods=8, freq="h", tz="Europe/Paris"),
            "naive": pd.date_range("2024-01-01", periods=8, freq="37min"),
            "delta": pd.to_timedelta(np.arange(8), unit="s"),
        }, index=pd.date_range("2024-01-01", periods=8, freq="D", name="day")), note="the index's freq travels in the metadata"),
        Case("dataframe_nullable", pd.DataFrame({
            "Int64": pd.array([1, None, -3, 2**40] * 3, dtype="Int64"),
            "boolean": pd.array([True, None, False] * 4, dtype="boolean"),
            "Float64": pd.array([0.5, None, -1.0, 2.0] * 3, dtype="Float64"),
        })),
        Case("dataframe_multiindex", pd.DataFrame({"v": np.arange(6, dtype="int64")}, index=pd.MultiIndex.from_product([["a", "b"], [1, 2, 3]], names=["letter", "num"]))),
        Case("dataframe_object_cells", pd.DataFrame({
            "mixed": _object_array([1, "a", 2**70, (1, 2), Decimal("1.5"), None, b"x", 2.5]),
            "n": np.arange(8, dtype="int64"),
        }), note="object column of mixed values travels as msgpack cells"),
        Case("dataframe_labels", pd.DataFrame(np.arange(12, dtype="int64").reshape(3, 4), columns=pd.Index([0, 2.5, "c", True], dtype=object), index=pd.Index(["r0", "r1", "r2"], name=7)),
             note="non-str labels and index name travel in the labels document"),
        Case("dataframe_extension_types", pd.DataFrame({"period": pd.period_range("2024-01", periods=4, freq="M"), "interval": pd.interval_range(0, 4)}),
             note="pandas.period and pandas.interval: extension types on the allow-list"),
        Case("dataframe_blocks", _wide_frame(), note="100 numeric columns or more: one fixed_size_list child per dtype (the JSON's blocks), the labels in a document"),
        Case("series_float", pd.Series(np.linspace(-1, 1, 10), index=[f"k{i}" for i in range(10)], name="price")),
        Case("series_unnamed", pd.Series(np.arange(10, dtype="int32"))),
    ]
    arrow = [
        Case("arrow_table", pa.table({
            "id": pa.array(range(10), type=pa.int32()),
            "name": pa.array(["a", None, "héllo", ""] * 2 + ["x", "y"]),
            "score": pa.array([i / 4 for i in range(9)] + [None]),
            "tags": pa.array([[1, 2], [], None, [3]] * 2 + [[4], [5, 6]], type=pa.list_(pa.int64())),
            "when": pa.array(range(10), type=pa.timestamp("ms", tz="UTC")),
            "price": pa.array([Decimal("1.25"), None] * 5, type=pa.decimal128(10, 2)),
        }, metadata={"source": "conformance", "version": "1"})),
        Case("arrow_record_batch", pa.record_batch({
            "n": pa.array(range(8), type=pa.int64()),
            "blob": pa.array([b"\x00", b"", None, b"abc"] * 2),
            "flag": pa.array([True, False, None, True] * 2),
            "label": pa.array(["a", "b", "a", None] * 2).dictionary_encode(),
        })),
        Case("arrow_array", pa.array([1, None, -3, 32767], type=pa.int16())),
        Case("arrow_array_uuid", pa.array([bytes(range(16)), None, bytes(16)], type=pa.uuid()), note="a canonical extension type on the allow-list"),
        Case("arrow_chunked_array", pa.chunked_array([[1.5, 2.5], [], [None, -0.0]], type=pa.float64())),
    ]
    lists = [
        Case("list_int", list(range(-20, 20)) + [None, 2**62, -(2**63)], COLUMNAR),
        Case("list_float", [i * 0.25 for i in range(30)] + [None, float("nan"), float("inf"), -0.0], COLUMNAR),
        Case("list_bool", [True, False, None] * 10, COLUMNAR),
        Case("list_str", ["a", None, "héllo", "", "日本"] * 8, COLUMNAR),
        Case("list_bytes", [b"\x00\x01", None, b"", b"xyz"] * 8, COLUMNAR),
        Case("list_dictionary_lz4", [["red", "green", "blue", "red", None][i % 5] for i in range(1024)], {"compression_algorithm": "lz4"},
             note="repeated strings are dictionary-encoded when compression is on"),
        Case("list_arrays", [np.arange(i, i + 4, dtype="<f8") for i in range(6)] + [None], COLUMNAR,
             note="an array column: one fixed_size_binary value per array, a None is a null"),
        Case("list_arrays_fortran_big_endian", [np.asfortranarray((np.arange(6).reshape(2, 3) + i).astype(">i4")) for i in range(4)], COLUMNAR,
             note="an array column of Fortran-ordered >i4 arrays: each value holds its elements in F order, little-endian"),
        Case("list_arrays_text", [np.array(["ab", "c", ""], dtype="<U2"), np.array(["日本", "x", "y"], dtype="<U2")], COLUMNAR),
    ]
    records = [
        Case("records_one_layout", [{"id": i, "name": f"n{i}", "score": i / 8, "ok": i % 2 == 0} for i in range(16)], COLUMNAR),
        Case("records_layouts", [{"a": 1, "b": "x"}, {"b": "y", "a": 2}, {"a": 3}, {"c": True, "a": 4}, {}] * 3, COLUMNAR,
             note="rows keep their own keys and key order"),
        Case("records_cells", [{"id": i, "v": [1, "a", 2**70, [1, 2], None, 1.5, {"k": 1}][i % 7]} for i in range(14)], COLUMNAR, note="column v is msgpack cells"),
        Case("records_arrays", [{"id": 0, "e": None}, {"e": np.ones(3, dtype="|b1"), "id": 1}, {"id": 2}]
             + [{"id": i, "e": np.array([i, -i, 0], dtype="|b1")} for i in range(3, 8)], COLUMNAR,
             note="key e is an array column (JSON key arrays), with a None and a row without it"),
        Case("records_as_arrow", [{"id": i, "name": f"n{i}", "score": i / 8} for i in range(16)], COLUMNAR, config={"records_as": "arrow"},
             expected=pa.table({"id": pa.array(range(16), pa.int64()), "name": [f"n{i}" for i in range(16)], "score": [i / 8 for i in range(16)]}),
             note="decoded with records_as='arrow': a table"),
    ]
    plain = [
        Case("plain_scalar", "héllo"),
        Case("plain_nested", {
            "name": "conformance",
            "ints": [0, 1, -1, 127, 128, -32, -33, 255, 256, 65535, 65536, 2**31, 2**32, 2**53, -(2**53), 2**63 - 1, -(2**63), 2**64 - 1],
            "floats": [0.0, -0.0, 1.5, 1e300, 5e-324, float("nan"), float("inf"), float("-inf")],
            "flags": [True, False, None],
            "bytes": b"\x00\xff",
            "text": "héllo 日本 🎉",
            "$dollar": "keys starting with $ make a $map",
            "mixed": [1, "two", 3.0, None, b"4", [5], {"six": 6}],
            "nested": {"list": [[1, "a"], {"k": [None]}], "empty": {}, "empty_list": []},
            "matrix": [[i * j for j in range(10)] for i in range(20)],
            "rows": [{"i": i, "s": str(i)} for i in range(20)],
            "long": "x" * 300,
        }, note="plain msgpack: no value is columnar"),
        Case("nested_columns", {"a": [np.arange(30, dtype="<i8"), {"b": ["x", "y", None] * 10}], "c": pa.array([1, 2]), "d": "plain"}, COLUMNAR,
             note="columns at paths with keys and indices"),
    ]
    compression = [
        Case("ndarray_lz4", np.arange(4000, dtype="<i8") % 16, {"compression_algorithm": "lz4"}),
        Case("ndarray_zstd", (np.arange(2000) // 10).astype("<i4"), {"compression_algorithm": "zstd"}),
    ]
    messages = [
        Case("message_header_only", (HEADER, None), kind="message"),
        Case("message_plain", (HEADER, {"args": [1, "two", np.arange(3, dtype="<f8")], "with_kwargs": False}), kind="message",
             expected=(HEADER, {"args": [1, "two", _stock(np.arange(3, dtype="<f8"))], "with_kwargs": False}),
             note="stock hypha-rpc bytes; the small array stays in hypha-rpc's form"),
        Case("message_hybrid", (HEADER, _message_extra()), kind="message", expected=(HEADER, _expected_extra())),
    ]
    changes = _rewritten_header()
    messages.append(Case(
        "message_server_rewrite", (HEADER, _message_extra()), kind="message", expected=({**HEADER, **changes}, _expected_extra()),
        make=lambda: server_rewrite(hypha_arrow.encode_message(HEADER, _message_extra()), changes),
        note="message_hybrid after the server re-packed its header: the section starts at a misaligned offset",
    ))
    return ndarrays + frames + arrow + lists + records + plain + compression + messages


def malformed_cases() -> list[Malformed]:
    def set_descriptor(key: str, value: Callable[[Any], Any]) -> Callable[[bytes], bytes]:
        return _edit_skeleton(lambda s: s[DESCRIPTOR_KEY].__setitem__(key, value(s[DESCRIPTOR_KEY][key])))

    def same_path_twice(skeleton: dict[str, Any]) -> None:
        skeleton[DESCRIPTOR_KEY]["columns"][1] = skeleton[DESCRIPTOR_KEY]["columns"][0]

    def two_batches(batch: pa.RecordBatch) -> bytes:
        return _stream(batch.schema, [batch, batch])

    def no_batch(batch: pa.RecordBatch) -> bytes:
        return _stream(batch.schema, [])

    def two_rows(batch: pa.RecordBatch) -> bytes:
        return _stream(batch.schema, [pa.concat_batches([batch, batch])])

    def evil_extension(batch: pa.RecordBatch) -> bytes:
        metadata = {**batch.schema.field(0).metadata, b"ARROW:extension:name": b"evil.pickle", b"ARROW:extension:metadata": b""}
        new = _replaced_column(batch, 0, metadata=metadata)
        return _stream(new.schema, [new])

    def nulls_without_bytes(batch: pa.RecordBatch) -> bytes:
        keys, rows = 200, 60_000
        values = pa.StructArray.from_arrays([pa.nulls(rows)] * keys, names=[f"k{i}" for i in range(keys)])
        meta = json.loads(batch.schema.field(0).metadata[b"hypha_arrow"])
        metadata = {b"hypha_arrow": json.dumps({"kind": "records", "columns": keys, **{k: v for k, v in meta.items() if k not in ("kind", "columns", "layouts")}}).encode()}
        new = _replaced_column(batch, 0, values, metadata)
        return _stream(new.schema, [new])

    return [
        Malformed("records_nulls_without_bytes", "records_one_layout", _edit_section(nulls_without_bytes),
                  "records of 200 null-type keys x 60,000 rows: 12 million values from a few KB (section 6's bound on elements without bytes)"),
        Malformed("truncated_section", "ndarray_int32", lambda f: f[:-16], "the frame ends 16 bytes before the section the descriptor announces"),
        Malformed("truncated_skeleton", "ndarray_int32", lambda f: f[:40], "the frame ends inside the skeleton's msgpack"),
        Malformed("truncated_message", "message_hybrid", lambda f: f[:-16], "a message frame cut 16 bytes short", kind="message"),
        Malformed("trailing_bytes", "ndarray_int32", lambda f: f + bytes(8), "8 bytes after the end of the section"),
        Malformed("descriptor_version_99", "ndarray_int32", set_descriptor("version", lambda v: 99), "descriptor version 99"),
        Malformed("descriptor_length_wrong", "ndarray_int32", set_descriptor("length", lambda v: v + 8), "descriptor length 8 more than the section"),
        Malformed("path_to_nothing", "ndarray_int32", set_descriptor("columns", lambda v: [["missing"]]), "column 0's path leads to no placeholder"),
        Malformed("two_paths_one_placeholder", "nested_columns", _edit_skeleton(same_path_twice), "columns 0 and 1 have the same path"),
        Malformed("section_two_batches", "ndarray_int32", _edit_section(two_batches), "the section holds two record batches"),
        Malformed("section_no_batch", "ndarray_int32", _edit_section(no_batch), "the section is a schema and no record batch"),
        Malformed("batch_two_rows", "ndarray_int32", _edit_section(two_rows), "the record batch has 2 rows"),
        Malformed("ndarray_dtype_mismatch", "ndarray_int32", _edit_section(_with_meta("dtype", "<f8")), "ndarray metadata says <f8, the data is int32"),
        Malformed("extension_not_allowed", "ndarray_int32", _edit_section(evil_extension), "field metadata names the Arrow extension type evil.pickle"),
        Malformed("decompression_bomb", "ndarray_lz4", _decompression_bomb(1 << 40), "an lz4 buffer declares 1 TiB decompressed"),
        Malformed("cell_unknown_extension", "ndarray_object_cells", _edit_section(_with_cell(0, msgpack.packb(msgpack.ExtType(99, b"x")))), "a cell holds msgpack extension type 99"),
        Malformed("cell_bad_big_int", "ndarray_object_cells", _edit_section(_with_cell(1, msgpack.packb(msgpack.ExtType(1, b"12x4")))), "a big int cell holds b'12x4'"),
        Malformed("list_arrays_width_mismatch", "list_arrays", _edit_section(_with_meta("shape", [5])), "array column metadata shape [5] for 32-byte values"),
        Malformed("records_arrays_bad_index", "records_arrays", _edit_section(_with_meta("arrays", {"2": {"dtype": "|b1", "shape": [3], "order": "C"}})),
                  "JSON key arrays names key column 2 of 2"),
        Malformed("ndarray_shape_mismatch", "ndarray_int32", _edit_section(_with_meta("shape", [7, 7])), "ndarray metadata shape [7, 7] for 48 elements"),
        Malformed("dataframe_blocks_overlap", "dataframe_blocks", _edit_section(_with_meta("blocks", [{"dtype": "<i2", "columns": [[0, 100]]}, {"dtype": "<f8", "columns": [[50, 51]]}])),
                  "the int16 block's 100 columns include column 50, which the float64 block also claims"),
    ]


# ---------------------------------------------------------------- building and writing


def build() -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    """Every case's entry for cases.json and every frame's bytes, by file name (relative to conformance/)."""
    entries: list[dict[str, Any]] = []
    frames: dict[str, bytes] = {}
    for case in valid_cases():
        file = f"frames/{case.name}.bin"
        frames[file] = case.frame()
        entry = {"name": case.name, "file": file, "kind": case.kind, "config": case.config, "encoded_with": case.encoded_with}
        if case.note:
            entry["note"] = case.note
        entry["expect"] = case.expect()
        entries.append(entry)
    for bad in malformed_cases():
        file = f"frames/{bad.name}.bin"
        frames[file] = bad.edit(frames[f"frames/{bad.base}.bin"])
        entries.append({"name": bad.name, "file": file, "kind": bad.kind, "config": {}, "derived_from": bad.base, "error": bad.error})
    return entries, frames


def versions() -> dict[str, str]:
    """The libraries the frames were written with (byte identity is only expected with the same ones)."""
    return {
        "python": ".".join(map(str, sys.version_info[:3])),
        "pyarrow": pa.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "msgpack": ".".join(map(str, msgpack.version)),
    }


def dumps(entries: list[dict[str, Any]]) -> str:
    return json.dumps(entries, indent=1, ensure_ascii=False, allow_nan=False) + "\n"


def main() -> None:
    entries, frames = build()
    FRAMES_DIR.mkdir(exist_ok=True)
    for stale in FRAMES_DIR.glob("*.bin"):
        if f"frames/{stale.name}" not in frames:
            stale.unlink()
    for file, data in frames.items():
        (HERE / file).write_bytes(data)
    CASES_FILE.write_text(dumps(entries), encoding="utf-8")
    VERSIONS_FILE.write_text(json.dumps(versions(), indent=1) + "\n", encoding="utf-8")
    total = sum(map(len, frames.values())) + CASES_FILE.stat().st_size
    print(f"{len(entries)} cases, {len(frames)} frames, {total} bytes with cases.json")


if __name__ == "__main__":
    main()
