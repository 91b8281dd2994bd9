"""The frame layout: byte-identical to stock when nothing is columnar, and robust to the server's rewrite."""

from __future__ import annotations

import asyncio
import io
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import msgpack
import numpy as np
import pytest
from hypha_rpc.rpc import RPC

import hypha_arrow
from hypha_arrow import framing
from hypha_arrow.framing import DESCRIPTOR_KEY
from hypha_arrow.rpc.stock_forms import STOCK_REFUSAL, placeholder
from tests.support.frames import join, server_rewrite, split

HEADER = {"type": "method", "from": "ws-user-a/client-1", "to": "ws-user-a/client-2:svc", "method": "svc.run", "session": "s1"}


@pytest.fixture(scope="module")
def stock_rpc() -> RPC:
    """A real hypha-rpc RPC object, used only for its _encode/_decode (no connection)."""
    loop = asyncio.new_event_loop()
    rpc = loop.run_until_complete(_make_rpc())
    yield rpc
    loop.close()


async def _make_rpc() -> RPC:
    return RPC(None, client_id="test", server_base_url="http://test")


def stock_frame(rpc: RPC, main: dict, extra: dict) -> bytes:
    """Exactly what hypha-rpc sends: packb(main) + packb(_encode(extra)) when extra is non-empty."""
    encoded = rpc._encode(extra, session_id="s1")
    return msgpack.packb(main) + (msgpack.packb(encoded) if encoded else b"")


SMALL_MESSAGES = [
    {},
    {"args": [], "with_kwargs": False},
    {"args": [1, -2.5, "text", True, None, b"raw", [1, [2, {"a": 3}]]], "with_kwargs": True, "promise": {"_rmethod": "x", "_rtype": "method"}},
    {"args": [np.arange(6, dtype="i4").reshape(2, 3), np.array(["a", "bc"]), np.zeros(3, dtype="M8[s]")]},
    {"args": [list(range(50)), ["s"] * 30, [{"id": 1, "v": 2.0}] * 5]},
    {"args": [(1, 2, (3, 4))]},
]


@pytest.mark.parametrize("extra", SMALL_MESSAGES)
def test_small_messages_are_byte_identical_to_hypha_rpc(stock_rpc: RPC, extra: dict) -> None:
    assert hypha_arrow.encode_message(HEADER, extra) == stock_frame(stock_rpc, HEADER, extra)


@pytest.mark.parametrize(
    "extra",
    [{"args": [np.random.default_rng(0).random(50_000)]}, {"args": [[f"s{i}" for i in range(5000)], [{"a": 1}] * 500]}],
)
def test_binary_optimization_off_is_byte_identical_to_hypha_rpc(stock_rpc: RPC, extra: dict) -> None:
    config = hypha_arrow.Config(enable_binary_optimization=False)
    assert hypha_arrow.encode_message(HEADER, extra, config=config) == stock_frame(stock_rpc, HEADER, extra)


def test_binary_optimization_off_refuses_values_only_arrow_can_carry() -> None:
    config = hypha_arrow.Config(enable_binary_optimization=False)
    with pytest.raises(hypha_arrow.EncodeError, match=r"args\[0\]: ndarray values need enable_binary_optimization"):
        hypha_arrow.encode_message(HEADER, {"args": [np.array(["a", None], dtype=object)]}, config=config)


@pytest.mark.parametrize("extra", SMALL_MESSAGES)
def test_stock_frames_decode_with_rtype_values_left_as_they_are(stock_rpc: RPC, extra: dict) -> None:
    frame = stock_frame(stock_rpc, HEADER, extra)
    unpacker = msgpack.Unpacker(io.BytesIO(frame))
    expected_header = unpacker.unpack()
    expected_extra = unpacker.unpack() if extra else None
    header, decoded = hypha_arrow.decode_message(frame)
    assert header == expected_header
    assert decoded == expected_extra


def test_header_only_frame_decodes_to_none_extra() -> None:
    assert hypha_arrow.decode_message(msgpack.packb(HEADER)) == (HEADER, None)


def test_header_map_keys_come_back_as_themselves_or_are_refused() -> None:
    header = {**HEADER, 7: "int key", None: b"nil key"}
    assert hypha_arrow.decode_message(hypha_arrow.encode_message(header)) == (header, None)
    with pytest.raises(hypha_arrow.EncodeError, match="map key"):
        hypha_arrow.encode_message({**HEADER, (1, 2): "tuple key"})


@pytest.mark.parametrize("growth", range(0, 24, 1))
def test_frame_decodes_after_server_header_rewrite(growth: int) -> None:
    array = np.random.default_rng(growth).random(20_000)
    frame = hypha_arrow.encode_message(HEADER, {"args": [array], "with_kwargs": False})
    rewritten = server_rewrite(frame, {"ws": "ws-user-a", "user": {"id": "anonymous", "roles": ["x" * growth] * 20}})
    header, extra = hypha_arrow.decode_message(rewritten)
    assert header["ws"] == "ws-user-a"
    np.testing.assert_array_equal(extra["args"][0], array)
    assert extra["with_kwargs"] is False and DESCRIPTOR_KEY not in extra


def test_stock_reader_refuses_a_large_hybrid_frame_with_a_clear_error(stock_rpc: RPC) -> None:
    array = np.random.default_rng(3).random(2_000_000)  # 16 MB, far over the stock 512 KB buffer
    frame = hypha_arrow.encode_message(HEADER, {"args": [array, "note"], "with_kwargs": False})
    unpacker = msgpack.Unpacker(io.BytesIO(frame), max_buffer_size=max(512000, 256 * 1024 * 2))
    main = unpacker.unpack()
    extra = unpacker.unpack()
    main.update(extra)
    assert len(frame) - unpacker.tell() > 16_000_000
    assert stock_rpc._decode(main["args"][1]) == "note"
    with pytest.raises(TypeError, match=STOCK_REFUSAL):  # hypha-rpc turns this into a rejected call
        stock_rpc._decode(main["args"])


def test_section_starts_aligned_in_the_encoded_frame() -> None:
    for size in range(1000, 1064):
        frame = hypha_arrow.encode_message(HEADER, {"args": [np.ones(size)]})
        report = hypha_arrow.inspect(frame)
        assert report["section"]["aligned"], size


def test_skeleton_stays_small_whatever_the_payload() -> None:
    frame = hypha_arrow.encode_message(HEADER, {"args": [np.zeros(10_000_000, dtype="u1"), {"df": np.ones((1000, 1000))}]})
    _, skeleton, section = split(frame)
    assert len(msgpack.packb(skeleton)) < 1024 < len(section)


@pytest.mark.parametrize("payload", [1, np.ones(1000)], ids=["plain-frame", "hybrid-frame"])
def test_reserved_descriptor_key_at_the_top_is_refused(payload: object) -> None:
    with pytest.raises(hypha_arrow.EncodeError, match="reserved"):
        hypha_arrow.encode_message(HEADER, {DESCRIPTOR_KEY: 1, "args": [payload]})
    with pytest.raises(hypha_arrow.EncodeError, match="reserved"):
        hypha_arrow.encode({DESCRIPTOR_KEY: 1, "x": payload})


@pytest.mark.parametrize("payload", [1, np.ones(1000)], ids=["plain-frame", "hybrid-frame"])
def test_reserved_descriptor_key_deeper_is_plain_data(payload: object) -> None:
    value = {"args": [{DESCRIPTOR_KEY: 1}, payload], "kwargs": {DESCRIPTOR_KEY: {"version": 1}}}
    _, decoded = hypha_arrow.decode_message(hypha_arrow.encode_message(HEADER, value))
    assert decoded["args"][0] == {DESCRIPTOR_KEY: 1} and decoded["kwargs"] == value["kwargs"]
    standalone = hypha_arrow.decode(hypha_arrow.encode([{DESCRIPTOR_KEY: 1}, payload]))
    assert standalone[0] == {DESCRIPTOR_KEY: 1}
    np.testing.assert_array_equal(standalone[1], payload)


def buffers_holding(frame: bytes) -> list[bytes | bytearray | memoryview]:
    """The frame's bytes as every buffer type, memoryviews of several formats and shapes among them."""
    assert len(frame) % 8 == 0  # hybrid frames are: so they can be viewed as float64 items
    return [frame, bytearray(frame), memoryview(frame), memoryview(frame).cast("c"),
            memoryview(np.frombuffer(frame, dtype="<f8")), memoryview(frame).cast("B", [8, len(frame) // 8])]


def test_decode_accepts_bytes_bytearray_and_contiguous_memoryviews_of_any_format() -> None:
    for data in buffers_holding(hypha_arrow.encode({"a": np.arange(1000), "b": [1, 2]})):
        np.testing.assert_array_equal(hypha_arrow.decode(data)["a"], np.arange(1000))
    for data in buffers_holding(hypha_arrow.encode_message(HEADER, {"args": [np.arange(1000)]})):
        np.testing.assert_array_equal(hypha_arrow.decode_message(data)[1]["args"][0], np.arange(1000))


def test_decode_refuses_memoryviews_whose_bytes_are_not_contiguous() -> None:
    frame = hypha_arrow.encode({"a": np.arange(1000)})
    doubled = np.repeat(np.frombuffer(frame, dtype=np.uint8), 2)
    for data in (memoryview(doubled)[::2], memoryview(np.asfortranarray(doubled.reshape(2, -1)))):
        with pytest.raises(hypha_arrow.DecodeError, match="contiguous"):
            hypha_arrow.decode(data)
        with pytest.raises(hypha_arrow.DecodeError, match="contiguous"):
            hypha_arrow.decode_message(data)


def test_values_the_codec_does_not_own_stay_untouched() -> None:
    method = {"_rtype": "method", "_rtarget": "ws/client", "_rmethod": "svc.cb", "_rpromise": "*"}
    extra = {"args": [np.ones(5000), method, "s", 7, placeholder(0)], "with_kwargs": False}
    _, decoded = hypha_arrow.decode_message(hypha_arrow.encode_message(HEADER, extra))
    assert decoded["args"][1:] == [method, "s", 7, placeholder(0)]


class YieldingDict(dict):
    """A dict subclass whose ``items()`` lets other threads run, as any Python method may."""

    def items(self):  # type: ignore[override]
        for item in super().items():
            time.sleep(0)
            yield item


def test_encoding_from_many_threads_never_mixes_their_frames() -> None:
    threads = 8
    start = threading.Barrier(threads)

    def send(n: int) -> tuple[list[bytes], dict, dict]:
        header = YieldingDict(HEADER, session=f"session-{n}")
        extra = {"args": [n, YieldingDict(caller=n)], "with_kwargs": False}
        start.wait()
        return [hypha_arrow.encode_message(header, extra) for _ in range(100)], header, extra

    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(send, range(threads)))
    for frames, header, extra in results:
        for frame in frames:
            assert hypha_arrow.decode_message(frame) == (header, extra)


def test_a_dict_that_only_looks_like_an_ndarray_form_stays_a_dict() -> None:
    lookalikes = [{"_rtype": "ndarray", "_rvalue": b"\x01"}, {"_rtype": "ndarray", "_rvalue": b"\x01", "_rshape": [1], "_rdtype": "|O"}]
    assert hypha_arrow.decode(hypha_arrow.encode(lookalikes)) == lookalikes



ONE_PASS_VALUES = {
    "plain": {"args": [1, "two"], "with_kwargs": False},
    "plain-past-the-first-read": {"args": [1], "note": "x" * 200_000},
    "hybrid": {"args": [np.arange(5000.0)], "with_kwargs": False},
    "hybrid-skeleton-past-the-first-read": {"args": [np.arange(5000.0)], "note": "x" * 200_000},
}
"""A str outside a list stays in the skeleton, so ``note`` makes it longer than ``framing.FIRST_READ``."""


def frames_of_every_shape(standalone: bool) -> dict[str, tuple[bytes, bool]]:
    """name: (frame, whether decoding refuses it), as messages or as standalone values."""
    frames = {name: (hypha_arrow.encode(value) if standalone else hypha_arrow.encode_message(HEADER, value), False)
              for name, value in ONE_PASS_VALUES.items()}
    frames["header-only" if not standalone else "scalar"] = (msgpack.packb(HEADER if not standalone else 7), False)
    frames["truncated"] = (frames["plain"][0][:-2], True)
    frames["truncated-past-the-first-read"] = (frames["plain-past-the-first-read"][0][:-2], True)
    frames["invalid-byte"] = (frames["plain"][0][:1] + b"\xc1", True)
    frames["other-descriptor-version"] = (frames["hybrid"][0].replace(b"\xa7version\x01", b"\xa7version\x02", 1), True)
    return frames


MESSAGE_READERS = {
    "decode_message": hypha_arrow.decode_message,
    "decode_objects": lambda data: framing.decode_objects(data, 2, hypha_arrow.Config()),
    "inspect": hypha_arrow.inspect,
}
STANDALONE_READERS = {"decode": hypha_arrow.decode, "inspect": hypha_arrow.inspect}
ONE_PASS_CASES = [
    pytest.param(read, frame, refused, id=f"{reader}-{name}")
    for readers, standalone in ((MESSAGE_READERS, False), (STANDALONE_READERS, True))
    for reader, read in readers.items()
    for name, (frame, refused) in frames_of_every_shape(standalone).items()
]


@pytest.fixture
def unpackers_made(monkeypatch: pytest.MonkeyPatch) -> list[None]:
    """One entry per ``msgpack.Unpacker`` constructed while the test runs."""
    made: list[None] = []
    real = msgpack.Unpacker

    def counting(*args: object, **kwargs: object) -> msgpack.Unpacker:
        made.append(None)
        return real(*args, **kwargs)

    monkeypatch.setattr(msgpack, "Unpacker", counting)
    return made


@pytest.mark.parametrize(("read", "frame", "refused"), ONE_PASS_CASES)
def test_every_frame_is_read_in_one_pass_by_one_unpacker(unpackers_made: list[None], read: Callable[[bytes], object], frame: bytes, refused: bool) -> None:
    try:
        read(frame)
    except hypha_arrow.DecodeError:
        assert refused, "a valid frame was refused"
    else:
        assert not refused, "a malformed frame was accepted"
    assert len(unpackers_made) == 1


def test_a_compressed_section_is_costly_whatever_its_descriptor_says() -> None:
    """The descriptor's ``compression`` is informational: a sender may leave it out and still
    compress, and the RPC layer must still decode that frame off the event loop."""
    config = hypha_arrow.Config()
    plain = hypha_arrow.encode_message(HEADER, {"args": [np.zeros(100_000)]})
    honest = hypha_arrow.encode_message(HEADER, {"args": [np.zeros(100_000)]}, config=hypha_arrow.Config(compression_algorithm="zstd"))
    header, skeleton, section_bytes = split(honest)
    skeleton[DESCRIPTOR_KEY]["compression"] = None
    quiet = join(header, skeleton, section_bytes)
    assert framing.FrameParts(plain, 2, config).section_work == len(split(plain)[2])
    assert framing.FrameParts(honest, 2, config).section_work == config.max_decompressed_bytes
    assert framing.FrameParts(quiet, 2, config).section_work == config.max_decompressed_bytes
    assert hypha_arrow.decode_message(quiet)[1]["args"][0].shape == (100_000,)
