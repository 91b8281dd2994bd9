"""Frames: ``msgpack(header) + msgpack(skeleton) + Arrow section``, or plain msgpack when nothing is columnar.

The skeleton's descriptor (key ``__hypha_arrow__``) gives the section's exact
length and the path of every column, so the section is found from the end of
the skeleton wherever the server's header rewrite moved it.
"""

from __future__ import annotations

import threading
from typing import Any

import msgpack
import pyarrow as pa

from . import ipc_guard, section
from .buffers import ARROW_ALIGNMENT, aligned, new_frame
from .config import DEFAULT_CONFIG, Config
from .deferred import DeferredFrame
from .errors import DecodeError, EncodeError
from .families import BY_KIND, Column, family_for
from .rpc.stock_forms import materialize
from .tree import MSGPACK_SCALARS, Extraction, Path, format_path, restore

DESCRIPTOR_KEY = "__hypha_arrow__"
FORMAT_VERSION = 1
VALUE_KEY = "value"
FIRST_READ = 64 * 1024
Buffer = bytes | bytearray | memoryview
_RESERVED = "reserved: at the top of a frame a decoder reads this key as the hybrid frame descriptor"
_PACK_ERRORS = (TypeError, ValueError, OverflowError, BufferError)
_UNPACK_ERRORS = (ValueError, TypeError, msgpack.UnpackException)
"""What msgpack raises on bad input; TypeError: a map key that unpacks as a list or map."""


class _Columnar(Exception):
    """Raised inside msgpack's ``default`` hook: this value needs the full walk."""


class _Packers(threading.local):
    """One reused packer per thread, for the plain-msgpack fast path.

    Strict types and no ``default`` hook: it packs only exact msgpack types, in C, and refuses
    subclasses (``numpy.float64`` is a ``float``), so numpy scalars never pass as plain numbers.
    Its buffer is still per-call state: refusing a type builds an exception, which may run the
    garbage collector and finalizers, letting another thread in mid-pack; hence one per thread.
    Everything that runs Python code while packing (hooks, subclasses' methods) gets a fresh packer.
    """

    def __init__(self) -> None:
        self.exact = msgpack.Packer(strict_types=True)


_PACKERS = _Packers()


def encode_message(main_message: dict[str, Any], extra_data: dict[str, Any] | None = None, *, config: Config | None = None) -> bytes:
    """Encode a hypha-rpc message; byte-identical to stock unless something is columnar."""
    if config is None:
        config = DEFAULT_CONFIG
    try:
        header = _PACKERS.exact.pack(main_message)
    except _PACK_ERRORS:  # subclasses, tuples, numpy scalars: packed as stock msgpack packs them
        header = _pack(main_message, "header")
        if not _keys_come_back(header):
            raise EncodeError("header has a map key that packs as an array or a map, which cannot be unpacked as a key")
    if not extra_data:
        return header
    return encode_after(header, extra_data, config)


def encode_after(
    prefix: bytes, extra_data: dict[str, Any], config: Config, *, columnar: bool = False, defer_from: int | None = None
) -> bytes | DeferredFrame:
    """``prefix`` (a packed header, or nothing) followed by the encoded extra data, in one
    buffer; or, for a hybrid frame of ``defer_from`` bytes or more, as a ``DeferredFrame``
    that a chunked send copies chunk by chunk. ``columnar``: the caller knows some value is
    columnar, so plain msgpack is not tried first."""
    if not isinstance(extra_data, dict):
        raise EncodeError(f"extra_data must be a dict, got {type(extra_data).__name__}")
    if DESCRIPTOR_KEY in extra_data:  # one lookup: deeper, the key is plain data
        raise EncodeError(_RESERVED, DESCRIPTOR_KEY)
    body = None if columnar else _pack_small(extra_data, config)
    if body is not None:
        return prefix + body
    return _encode_walked(prefix, extra_data, config, standalone=False, defer_from=defer_from)


def encode(obj: Any, *, config: Config | None = None) -> bytes:
    """Encode a standalone value with the same rules, without a routing header."""
    if config is None:
        config = DEFAULT_CONFIG
    if isinstance(obj, dict) and DESCRIPTOR_KEY in obj:
        raise EncodeError(_RESERVED, DESCRIPTOR_KEY)
    body = _pack_small(obj, config)
    if body is not None:
        return body
    return _encode_walked(b"", obj, config, standalone=True)


def _pack_small(value: Any, config: Config) -> bytes | None:
    """Plain msgpack when nothing in ``value`` needs the walk; else None.

    Plain msgpack first (the common small call); small arrays' stock forms on a second try;
    anything columnar, too large or unsupported goes to the walk, as does a map key that
    would not come back as itself (the walk names its path).
    """
    if _holds_a_long_list(value, config):
        return None
    try:
        packed = _PACKERS.exact.pack(value)
        keys_known = True  # exact types only: every map key is a msgpack scalar
    except _PACK_ERRORS:
        try:
            packed = msgpack.packb(value, default=_StockForms(config), strict_types=True)
        except (_Columnar, *_PACK_ERRORS):
            return None
        keys_known = False
    if len(packed) >= config.binary_threshold and config.enable_binary_optimization:
        return None
    return packed if keys_known or _keys_come_back(packed) else None


LONG_LIST = 128
"""Items of a list from which a list family may take it: no such list packs under the threshold
as plain msgpack only to be thrown away (1.3-1.6 ms of a 10,000-record message's ~8)."""
_SEQUENCES = (list, tuple)


def _holds_a_long_list(value: Any, config: Config) -> bool:
    """Whether the first argument of a call's extra data is a list of ``LONG_LIST`` items or
    more (one look, a few hundred nanoseconds less than a loop: the small call must stay as
    quick as plain msgpack). The walk gives the same bytes when nothing turns out columnar."""
    args = value.get("args") if type(value) is dict else None
    first = args[0] if type(args) is list and args else None
    return type(first) in _SEQUENCES and len(first) >= LONG_LIST and config.enable_binary_optimization


def _keys_come_back(packed: bytes) -> bool:
    """Whether every map key in ``packed`` unpacks as a key (msgpack packs a tuple or a numpy
    scalar key as an array or a map, which cannot be one)."""
    try:
        msgpack.unpackb(packed, strict_map_key=False)
    except TypeError:
        return False
    return True


class _StockForms:
    """msgpack ``default`` hook: small numpy values in hypha-rpc's own form, container
    subclasses and tuples as plain msgpack would pack them, anything else to the walk
    (scalar subclasses too: as map keys the walk must refuse them, as values it packs them)."""

    def __init__(self, config: Config) -> None:
        self.config = config

    def __call__(self, value: Any) -> Any:
        family = family_for(value)
        if family is None:
            if isinstance(value, dict):
                return dict(value)
            if isinstance(value, (list, tuple)):
                return list(value)
            raise _Columnar
        try:
            form = family.msgpack_form(value, self.config)
        except EncodeError:
            raise _Columnar from None
        if form is None:
            raise _Columnar
        return form


def _encode_walked(prefix: bytes, value: Any, config: Config, standalone: bool, defer_from: int | None = None) -> bytes | DeferredFrame:
    extraction = Extraction(config, [VALUE_KEY] if standalone else None)
    skeleton = extraction.walk(value)
    if not extraction.columns:
        return prefix + _pack(skeleton, "value")
    if not config.enable_binary_optimization:
        raise EncodeError(
            f"{extraction.columns[0].kind} values need enable_binary_optimization=True",
            format_path(extraction.paths[0]),
        )
    if standalone:
        skeleton = {VALUE_KEY: skeleton}
    encoded = section.encode(extraction.columns, config, [format_path(path) for path in extraction.paths])
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
    if defer_from is not None and start + encoded.size >= defer_from:
        deferred = DeferredFrame.written(prefix + packed, encoded.write_to)
        if len(deferred) != start + encoded.size:  # never ship a frame its descriptor misdescribes
            raise RuntimeError(f"Arrow section is {len(deferred) - start} bytes, {encoded.size} were computed")
        return deferred
    frame, target = new_frame(start + encoded.size)
    target[: len(prefix)] = prefix
    target[len(prefix) : start] = packed
    encoded.write_into(pa.py_buffer(target[start:]))
    return frame


def _pack(value: Any, what: str) -> bytes:
    """Stock msgpack, with a fresh packer: a subclass's methods may run Python code mid-pack."""
    try:
        return msgpack.packb(value)
    except _PACK_ERRORS as error:  # the caller's value, or a skeleton our walk got wrong: keep the traceback
        raise EncodeError(f"{what} is not msgpack-serialisable: {error}") from error


def decode_message(data: Buffer, *, config: Config | None = None) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Decode any frame hypha-rpc or hypha_arrow sends: (header, extra data or None)."""
    if config is None:
        config = DEFAULT_CONFIG
    frame = FrameReader(data, config)
    header = frame.read()
    extra = frame.read(optional=True)
    if is_skeleton(extra):
        _resolve(frame, extra, config)
    if type(header) is not dict:
        raise DecodeError(f"message header must be a map, got {type(header).__name__}")
    return header, extra


def decode_objects(data: Buffer, count: int, config: Config) -> tuple[list[Any], list[Any]]:
    """The first ``count`` msgpack objects (None for any missing after the first), the last
    one's Arrow section resolved into it, and the values taken from that section (for
    callers that must not walk them again)."""
    parts = FrameParts(data, count, config)
    return parts.objects, parts.resolve()


class FrameParts:
    """A frame read in two steps: its msgpack objects at once, its Arrow section on ``resolve``.

    Between the two, a receiver can see who sent the frame and what the section will cost
    (``section_work``), and decode a large one off its event loop.
    """

    __slots__ = ("objects", "_frame", "_config")

    def __init__(self, data: Buffer, count: int, config: Config) -> None:
        self._frame = FrameReader(data, config)
        self._config = config
        self.objects = [self._frame.read(optional=i > 0) for i in range(count)]

    @property
    def section_work(self) -> int:
        """Bytes the section's decoding touches: its length, or for a compressed one the most it
        may inflate to (checked against the limit before inflating)."""
        last = self.objects[-1]
        if not is_skeleton(last):
            return 0
        descriptor = last[DESCRIPTOR_KEY]
        section = self._frame.rest()
        declared = isinstance(descriptor, dict) and descriptor.get("compression") is not None
        compressed = declared or ipc_guard.declares_compression(pa.py_buffer(section))
        return self._config.max_decompressed_bytes if compressed else len(section)

    def resolve(self) -> list[Any]:
        """Decode the section into the last object in place; the values taken from it."""
        last = self.objects[-1]
        return _resolve(self._frame, last, self._config) if is_skeleton(last) else []


def decode(data: Buffer, *, config: Config | None = None) -> Any:
    """Decode a standalone value made by ``encode``."""
    if config is None:
        config = DEFAULT_CONFIG
    frame = FrameReader(data, config)
    value = frame.read()
    hybrid = is_skeleton(value)
    if not hybrid and frame.end != frame.size:
        raise DecodeError(f"{frame.size - frame.end} unexpected bytes after the value")
    value = materialize(value)
    if hybrid:
        _resolve(frame, value, config)
        if set(value) != {VALUE_KEY}:
            raise DecodeError(f"a standalone frame holds only {VALUE_KEY!r}, found {sorted(map(str, value))}")
        value = value[VALUE_KEY]
    return value


def is_skeleton(value: Any) -> bool:
    """Whether ``value`` is a hybrid frame's skeleton: an Arrow section follows it."""
    return type(value) is dict and DESCRIPTOR_KEY in value


class FrameReader:
    """One pass over a frame: its msgpack objects in order, read by one Unpacker.

    The Unpacker gets only as many bytes as the objects need (``FIRST_READ``, then four times
    more at a time), so a large Arrow section behind them is never copied. Its limits follow
    the frame's size, so a few bytes claiming a huge array cannot make msgpack preallocate it.
    Map keys may be any msgpack scalar.
    """

    __slots__ = ("data", "size", "end", "_fed", "_unpacker")  # built once per decoded message: keep it cheap

    def __init__(self, data: Buffer, config: Config) -> None:
        if type(data) is not bytes or len(data) > FIRST_READ:  # small bytes are fed as they are
            data = _view(data)
        self.data = data
        self.size = size = len(data)
        if size > config.max_frame_bytes:
            raise DecodeError(f"frame of {size} bytes is over max_frame_bytes={config.max_frame_bytes}")
        self.end = 0  # where the last object read ends: after a skeleton, its Arrow section starts there
        self._fed = size if size <= FIRST_READ else FIRST_READ
        self._unpacker = msgpack.Unpacker(max_buffer_size=size or 1, strict_map_key=False)
        self._unpacker.feed(data if size <= FIRST_READ else data[:FIRST_READ])

    def read(self, optional: bool = False) -> Any:
        """The next object; None if ``optional`` and the frame ends where the last one did."""
        unpacker = self._unpacker
        try:
            value = unpacker.unpack()
        except msgpack.OutOfData:
            return self._read_on(optional)
        except _UNPACK_ERRORS as error:
            raise self._invalid(error) from None
        self.end = unpacker.tell()
        return value

    def _read_on(self, optional: bool) -> Any:
        """``read`` once the bytes fed so far ran out: feed more, or the frame ends here."""
        unpacker = self._unpacker
        while self._fed < self.size:
            more = min(self.size, self._fed * 4)
            unpacker.feed(self.data[self._fed : more])
            self._fed = more
            try:
                value = unpacker.unpack()
            except msgpack.OutOfData:
                continue
            except _UNPACK_ERRORS as error:
                raise self._invalid(error) from None
            self.end = unpacker.tell()
            return value
        if optional and self.end == self.size:
            return None
        raise DecodeError(f"msgpack data truncated at byte {self.size}")

    def _invalid(self, error: Exception) -> DecodeError:
        # only msgpack's C code ran: the bytes are at fault, and the cause says nothing more
        return DecodeError(f"invalid msgpack at byte {self._unpacker.tell()}: {type(error).__name__} {error}".rstrip())

    def rest(self) -> memoryview:
        """The bytes after the last object read: the Arrow section when that was a skeleton."""
        return memoryview(self.data)[self.end :]


def _view(data: Buffer) -> memoryview:
    """``data`` as a flat byte view (a memoryview may arrive with another shape or item format)."""
    if isinstance(data, memoryview):
        if not data.c_contiguous:
            raise DecodeError("a memoryview frame must be C-contiguous")
        return data.cast("B")
    if not isinstance(data, (bytes, bytearray)):
        raise DecodeError(f"expected bytes, bytearray or memoryview, got {type(data).__name__}")
    return memoryview(data)


def _resolve(frame: FrameReader, skeleton: dict[str, Any], config: Config) -> list[Any]:
    """Decode the Arrow section after ``skeleton``, put its columns into it in place, return them."""
    length, paths = read_descriptor(skeleton.pop(DESCRIPTOR_KEY), config)
    if frame.end + length != frame.size:
        raise DecodeError(f"descriptor says the Arrow section is {length} bytes, the frame holds {frame.size - frame.end}")
    columns = section.decode(aligned(frame.rest()), config)
    if len(columns) != len(paths):
        raise DecodeError(f"descriptor lists {len(paths)} columns, the Arrow section has {len(columns)}")
    values = [_decode_column(i, column, paths[i], config) for i, column in enumerate(columns)]
    restore(skeleton, paths, values)
    return values


def read_descriptor(value: Any, config: Config) -> tuple[int, list[Path]]:
    """The Arrow section's length and the column paths, checked against ``config``'s limits."""
    if not isinstance(value, dict) or value.get("version") != FORMAT_VERSION:
        raise DecodeError(f"unsupported hybrid frame descriptor {value!r:.200}")
    length, paths = value.get("length"), value.get("columns")
    if not isinstance(length, int) or not 0 <= length <= config.max_section_bytes:
        raise DecodeError(f"Arrow section length {length!r} is invalid or over max_section_bytes={config.max_section_bytes}")
    if not isinstance(paths, list) or len(paths) > config.max_columns:
        raise DecodeError(f"descriptor columns must be a list of at most max_columns={config.max_columns} paths")
    for path in paths:  # one step more than max_depth: a standalone value sits under VALUE_KEY
        if not isinstance(path, list) or not 0 < len(path) <= config.max_depth + 1 or not all(type(k) in MSGPACK_SCALARS for k in path):
            raise DecodeError(f"invalid column path {path!r:.200}")
    return length, paths


def _decode_column(index: int, column: Column, path: Path, config: Config) -> Any:
    family = BY_KIND.get(column.kind)
    if family is None:
        raise DecodeError(f"column {index}: unknown kind {column.kind!r}", format_path(path))
    try:
        return family.decode(column, config)
    except DecodeError as error:  # add where; a cause the family kept stays attached
        raise DecodeError(f"column {index} ({column.kind}): {error.reason}", format_path(path) + (error.path or "")) from error.__cause__
    except (pa.ArrowException, ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError, RecursionError,
            ArithmeticError, NotImplementedError, OSError) as error:
        # what pyarrow, pandas, numpy and json raise on metadata no encoder wrote; a bug in a
        # family raises the same types, so its traceback stays attached as the cause
        raise DecodeError(f"column {index} ({column.kind}): {type(error).__name__}: {error}", format_path(path)) from error
