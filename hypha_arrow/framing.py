"""Frames: ``msgpack(header) + msgpack(skeleton) + Arrow section``, or plain msgpack when nothing is columnar.

The skeleton's descriptor (key ``__hypha_arrow__``) gives the section's exact
length and the path of every column, so the section is found from the end of
the skeleton wherever the server's header rewrite moved it.
"""

from __future__ import annotations

from typing import Any

import msgpack
import pyarrow as pa

from . import section
from .buffers import ARROW_ALIGNMENT, aligned, new_frame
from .config import DEFAULT_CONFIG, Config
from .errors import DecodeError, EncodeError
from .leaves import BY_KIND, Column, leaf_for
from .leaves.ndarray import from_stock_form
from .tree import STOCK_REFUSAL, Extraction, Path, format_path, plain_equivalent, restore

DESCRIPTOR_KEY = "__hypha_arrow__"
FORMAT_VERSION = 1
VALUE_KEY = "value"
FIRST_READ = 64 * 1024
Buffer = bytes | bytearray | memoryview


class _Columnar(Exception):
    """Raised inside msgpack's ``default`` hook: this value needs the full walk."""


_PACKER = msgpack.Packer()
_EXACT_PACKER = msgpack.Packer(strict_types=True)
"""Reused for speed. Safe across threads: with no Python ``default`` hook, ``pack``
runs in C under the GIL from start to end. The exact one refuses subclasses such
as ``numpy.float64`` (a ``float``), so numpy scalars are never packed as plain numbers."""


def encode_message(main_message: dict[str, Any], extra_data: dict[str, Any] | None = None, *, config: Config | None = None) -> bytes:
    """Encode a hypha-rpc message; byte-identical to stock unless something is columnar."""
    if config is None:
        config = DEFAULT_CONFIG
    try:
        header = _PACKER.pack(main_message)
    except (TypeError, ValueError, OverflowError) as error:
        raise EncodeError(f"header is not msgpack-serialisable: {error}") from None
    if not extra_data:
        return header
    return encode_after(header, extra_data, config)


def encode_after(prefix: bytes, extra_data: dict[str, Any], config: Config) -> bytes:
    """``prefix`` (a packed header, or nothing) followed by the encoded extra data, in one buffer."""
    if not isinstance(extra_data, dict):
        raise EncodeError(f"extra_data must be a dict, got {type(extra_data).__name__}")
    body = _pack_small(extra_data, config)
    if body is not None:
        return prefix + body
    return _encode_walked(prefix, extra_data, config)


def encode(obj: Any, *, config: Config | None = None) -> bytes:
    """Encode a standalone value with the same rules, without a routing header."""
    if config is None:
        config = DEFAULT_CONFIG
    body = _pack_small(obj, config)
    if body is not None:
        return body
    return _encode_walked(b"", {VALUE_KEY: obj}, config, unwrap=True)


def _pack_small(value: Any, config: Config) -> bytes | None:
    """Plain msgpack when nothing in ``value`` needs the walk; else None.

    Plain msgpack first (the common small call); small arrays' stock forms on a
    second try; anything columnar, too large, or unsupported goes to the walk.
    """
    try:
        packed = _EXACT_PACKER.pack(value)
    except (TypeError, ValueError, OverflowError):
        try:
            packed = msgpack.packb(value, default=_StockForms(config), strict_types=True)
        except (_Columnar, TypeError, ValueError, OverflowError):
            return None
    return packed if len(packed) < config.binary_threshold or not config.enable_binary_optimization else None


class _StockForms:
    """msgpack ``default`` hook: small numpy values in hypha-rpc's own form,
    subclasses and tuples as plain msgpack would pack them, anything else to the walk."""

    def __init__(self, config: Config) -> None:
        self.config = config

    def __call__(self, value: Any) -> Any:
        leaf = leaf_for(value)
        if leaf is None:
            plain = plain_equivalent(value)
            if plain is None:
                raise _Columnar
            return plain
        try:
            form = leaf.msgpack_form(value, self.config)
        except EncodeError:
            raise _Columnar from None
        if form is None:
            raise _Columnar
        return form


def _encode_walked(prefix: bytes, root: dict[str, Any], config: Config, unwrap: bool = False) -> bytes:
    extraction = Extraction(config)
    skeleton = extraction.walk(root)
    if not extraction.columns:
        return prefix + _pack(skeleton[VALUE_KEY] if unwrap else skeleton, "value")
    if not config.enable_binary_optimization:
        raise EncodeError(
            f"{extraction.columns[0].kind} values need enable_binary_optimization=True",
            format_path(extraction.paths[0]),
        )
    if DESCRIPTOR_KEY in root and not unwrap:
        raise EncodeError(f"the key {DESCRIPTOR_KEY!r} is reserved")
    encoded = section.encode(extraction.columns, config)
    descriptor = {
        "version": FORMAT_VERSION,
        "length": encoded.size,
        "compression": encoded.codec,
        "columns": extraction.paths,
        "pad": b"",
    }
    skeleton[DESCRIPTOR_KEY] = descriptor
    packed = _pack(skeleton, "value")
    pad = -(len(prefix) + len(packed)) % ARROW_ALIGNMENT
    if pad:
        descriptor["pad"] = bytes(pad)
        packed = _pack(skeleton, "value")
    start = len(prefix) + len(packed)
    frame, target = new_frame(start + encoded.size)
    target[: len(prefix)] = prefix
    target[len(prefix) : start] = packed
    encoded.write_into(pa.py_buffer(target[start:]))
    return frame


def _pack(value: Any, what: str) -> bytes:
    try:
        return _PACKER.pack(value)
    except (TypeError, ValueError, OverflowError) as error:
        raise EncodeError(f"{what} is not msgpack-serialisable: {error}") from None


def decode_message(data: Buffer, *, config: Config | None = None) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Decode any frame hypha-rpc or hypha_arrow sends: (header, extra data or None)."""
    if config is None:
        config = DEFAULT_CONFIG
    unpacker = _unpacker(data, config)
    try:
        header = unpacker.unpack()
        extra = unpacker.unpack()
    except (msgpack.OutOfData, ValueError, msgpack.UnpackException):
        # a header-only frame, a skeleton longer than the first read, or bad input:
        # the general path reads on or reports the error
        (header, extra), _ = decode_objects(data, 2, config)
    else:
        if type(extra) is dict and DESCRIPTOR_KEY in extra:
            _resolve(_view(data), extra, unpacker.tell(), config)
    if type(header) is not dict:
        raise DecodeError(f"message header must be a map, got {type(header).__name__}")
    return header, extra


def decode_objects(data: Buffer, count: int, config: Config) -> tuple[list[Any], list[Any]]:
    """The first ``count`` msgpack objects, the last one's Arrow section resolved into it,
    and the values taken from that section (for callers that must not walk them again)."""
    unpacker = _unpacker(data, config)
    try:
        objects = [unpacker.unpack() for _ in range(count)]
        end = unpacker.tell()
    except msgpack.OutOfData:  # a header-only frame, or a skeleton longer than the first read
        objects, end = _unpack(data, count, config)
    except (ValueError, msgpack.UnpackException) as error:
        raise DecodeError(f"invalid msgpack at byte {unpacker.tell()}: {type(error).__name__} {error}".rstrip()) from None
    last = objects[-1]
    if type(last) is dict and DESCRIPTOR_KEY in last:
        return objects, _resolve(_view(data), last, end, config)
    return objects, []


def decode(data: Buffer, *, config: Config | None = None) -> Any:
    """Decode a standalone value made by ``encode``."""
    if config is None:
        config = DEFAULT_CONFIG
    (value,), end = _unpack(data, 1, config)
    hybrid = type(value) is dict and DESCRIPTOR_KEY in value
    if not hybrid and end != len(data):
        raise DecodeError(f"{len(data) - end} unexpected bytes after the value")
    value = _materialize(value, config.max_depth)
    if hybrid:
        _resolve(_view(data), value, end, config)
        if set(value) != {VALUE_KEY}:
            raise DecodeError(f"a standalone frame holds only {VALUE_KEY!r}, found {sorted(map(str, value))}")
        value = value[VALUE_KEY]
    return value


def _view(data: Buffer) -> memoryview:
    """Bytes of ``data`` as a flat memoryview (a memoryview may arrive with another item format)."""
    return memoryview(data).cast("B") if isinstance(data, memoryview) else memoryview(data)


def _unpacker(data: Buffer, config: Config) -> msgpack.Unpacker:
    """An unpacker fed with the frame, or with its first ``FIRST_READ`` bytes if it is larger.

    Its limits follow the frame's size, so a few bytes claiming a huge array
    cannot make msgpack preallocate it.
    """
    if type(data) is bytes:
        size = len(data)
    elif isinstance(data, (bytes, bytearray, memoryview)):
        size = data.nbytes if isinstance(data, memoryview) else len(data)
    else:
        raise DecodeError(f"expected bytes, bytearray or memoryview, got {type(data).__name__}")
    if size > config.max_frame_bytes:
        raise DecodeError(f"frame of {size} bytes is over max_frame_bytes={config.max_frame_bytes}")
    unpacker = msgpack.Unpacker(max_buffer_size=size or 1)
    unpacker.feed(data if size <= FIRST_READ and not isinstance(data, memoryview) else _view(data)[:FIRST_READ])
    return unpacker


def _unpack(data: Buffer, count: int, config: Config) -> tuple[list[Any], int]:
    """The first ``count`` msgpack objects (None for any missing after the first) and where they end.

    Only as many bytes as the objects need are fed to msgpack, so a large
    Arrow section behind them is never copied.
    """
    unpacker = _unpacker(data, config)
    view = _view(data)
    fed = min(len(view), FIRST_READ)
    objects: list[Any] = []
    while len(objects) < count:
        start = unpacker.tell()
        try:
            objects.append(unpacker.unpack())
        except msgpack.OutOfData:
            if fed < len(view):
                more = min(len(view), fed * 4)
                unpacker.feed(view[fed:more])
                fed = more
                continue
            if not objects or start != len(view):
                raise DecodeError(f"msgpack data truncated at byte {len(view)}") from None
            objects.append(None)
        except (ValueError, msgpack.UnpackException) as error:
            raise DecodeError(f"invalid msgpack at byte {unpacker.tell()}: {type(error).__name__} {error}".rstrip()) from None
    return objects, unpacker.tell()


def _resolve(view: memoryview, skeleton: dict[str, Any], end: int, config: Config) -> list[Any]:
    """Decode the Arrow section after ``end``, put its columns into ``skeleton`` in place, return them."""
    length, paths = _descriptor(skeleton.pop(DESCRIPTOR_KEY), config)
    if end + length != len(view):
        raise DecodeError(f"descriptor says the Arrow section is {length} bytes, the frame holds {len(view) - end}")
    buffer = aligned(view[end:])
    columns = section.decode(buffer, config)
    if len(columns) != len(paths):
        raise DecodeError(f"descriptor lists {len(paths)} columns, the Arrow section has {len(columns)}")
    values = [_decode_column(i, column, paths[i], config) for i, column in enumerate(columns)]
    restore(skeleton, paths, values)
    return values


def _descriptor(descriptor: Any, config: Config) -> tuple[int, list[Path]]:
    if not isinstance(descriptor, dict) or descriptor.get("version") != FORMAT_VERSION:
        raise DecodeError(f"unsupported hybrid frame descriptor {descriptor!r:.200}")
    length, paths = descriptor.get("length"), descriptor.get("columns")
    if not isinstance(length, int) or not 0 <= length <= config.max_section_bytes:
        raise DecodeError(f"Arrow section length {length!r} is invalid or over max_section_bytes={config.max_section_bytes}")
    if not isinstance(paths, list) or len(paths) > config.max_columns:
        raise DecodeError(f"descriptor columns must be a list of at most max_columns={config.max_columns} paths")
    for path in paths:
        if not isinstance(path, list) or not 0 < len(path) <= config.max_depth or not all(isinstance(k, (str, int, bytes)) for k in path):
            raise DecodeError(f"invalid column path {path!r:.200}")
    return length, paths


def _decode_column(index: int, column: Column, path: Path, config: Config) -> Any:
    leaf = BY_KIND.get(column.kind)
    if leaf is None:
        raise DecodeError(f"column {index} at {format_path(path)}: unknown kind {column.kind!r}")
    try:
        return leaf.decode(column, config)
    except DecodeError as error:
        raise DecodeError(f"column {index} at {format_path(path)}: {error}") from None
    except (pa.ArrowException, ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError) as error:
        raise DecodeError(f"column {index} ({column.kind}) at {format_path(path)}: {type(error).__name__}: {error}") from None


def _materialize(value: Any, depth: int) -> Any:
    """Turn hypha-rpc's ndarray forms into arrays, in place, as hypha-rpc's own decoder would
    (placeholders, which share that form, are left for ``_resolve``)."""
    if depth < 0:
        raise DecodeError("value nested deeper than max_depth")
    if isinstance(value, dict):
        if value.get("_rtype") == "ndarray":
            return value if value.get("_rdtype") == STOCK_REFUSAL else from_stock_form(value)
        for key, item in value.items():
            if isinstance(item, (dict, list)):
                value[key] = _materialize(item, depth - 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, (dict, list)):
                value[index] = _materialize(item, depth - 1)
    return value
