"""Large frames between clients (hypha_arrow.rpc.transfer) against a fake connection.

``FakeRPC`` has the attributes of hypha-rpc's ``RPC`` that ``send`` uses; every remote call
(the peer's built-in ``message_cache``) is recorded with its arguments and returns a future
the test may leave pending, as a reply still on its way.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Callable

import pytest
from websockets.protocol import State

from hypha_arrow.rpc import transfer
from hypha_arrow.rpc.peers import HEADER_KEY, Peers
from hypha_arrow.rpc.stock_forms import STOCK_REFUSAL
from hypha_arrow.rpc.transfer import ACK_EVERY, CHUNK_MAX, CHUNK_MIN, KEY_MARK, MAX_CHUNKS, WINDOW
from tests.support.aio import run

TARGET = "ws/receiver"
SERVER = "http://server.test"
CACHE = "services.built-in.message_cache."


@dataclass
class Call:
    name: str
    args: tuple[Any, ...]
    reply: bool
    future: asyncio.Future


class FakeRPC:
    """What ``send`` touches of hypha-rpc's RPC: emit, remote methods, chunk size, connection."""

    def __init__(self, *, chunk_size: int = 256 << 10, hold_acks: bool = False, on_call: Callable[[Call], None] = lambda call: None) -> None:
        self._long_message_chunk_size = chunk_size
        self._server_base_url = SERVER
        self._connection = SimpleNamespace()  # no _websocket: as an HTTP connection
        self.emitted: list[bytes] = []
        self.calls: list[Call] = []
        self._hold_acks = hold_acks
        self._on_call = on_call

    async def _emit_message(self, data: bytes) -> None:
        self.emitted.append(bytes(data))

    def _generate_remote_method(self, encoded: dict[str, Any]) -> Callable[..., asyncio.Future]:
        assert (encoded["_rserver"], encoded["_rtarget"]) == (SERVER, TARGET)
        assert encoded["_rmethod"].startswith(CACHE), encoded["_rmethod"]

        def method(*args: Any) -> asyncio.Future:
            call = Call(encoded["_rmethod"].removeprefix(CACHE), args, encoded["_rpromise"], asyncio.get_running_loop().create_future())
            self.calls.append(call)
            self._on_call(call)
            if not (self._hold_acks and call.name == "set" and call.reply) and not call.future.done():
                call.future.set_result(None)
            return call.future

        return method

    def named(self, name: str) -> list[Call]:
        return [call for call in self.calls if call.name == name]

    def sent_chunks(self) -> bytes:
        return b"".join(call.args[2] for call in self.named("set"))


@dataclass
class FakeState:
    """What ``send`` asks of a connection's ArrowState."""

    peers: Peers = field(default_factory=Peers)
    pacer: transfer.Pacer = field(default_factory=lambda: transfer.Pacer(rate=1e9, burst=1e9))

    def reads_hybrid(self, target: str, *, tagged: bool) -> bool:
        return self.peers.reads_hybrid(target, tagged)

    def known_hybrid(self, target: str) -> bool:
        return self.peers.known_hybrid(target)


def hybrid_peer() -> FakeState:
    state = FakeState()
    state.peers.heard(TARGET, {HEADER_KEY: 1})
    return state


def payload(size: int) -> bytes:
    return bytes(index % 251 for index in range(size))


async def settle() -> None:
    """Let the sending task run until it waits for a future the test has not resolved."""
    for _ in range(10):
        await asyncio.sleep(0)


def test_a_frame_up_to_chunk_min_goes_to_a_hybrid_peer_whole() -> None:
    rpc, package = FakeRPC(), payload(CHUNK_MIN)
    run(lambda: transfer.send(rpc, hybrid_peer(), package, TARGET, "s1", None))
    assert rpc.emitted == [package] and rpc.calls == []


def test_a_hybrid_chunked_send_uses_a_key_of_its_own_per_message_and_no_heartbeat() -> None:
    rpc, package = FakeRPC(), payload(2 * CHUNK_MIN + 100)

    async def body() -> None:
        state = hybrid_peer()
        await transfer.send(rpc, state, package, TARGET, "s1", None)
        await transfer.send(rpc, state, package, TARGET, "s1", None)

    run(body)
    keys = [call.args[0] for call in rpc.named("create")]
    assert len(set(keys)) == 2 and all(key.startswith(f"s1{KEY_MARK}") and len(key) > len(f"s1{KEY_MARK}") for key in keys)
    first = [call for call in rpc.calls if call.args[0] == keys[0]]
    assert [call.name for call in first] == ["create", "set", "set", "set", "process"]
    assert [call.args[-1] for call in first] == [False] * 5, "no heartbeat: the session may be gone"
    assert transfer.declared_layout(keys[0]) == (len(package), transfer.chunk_size(len(package)))
    sets = [call for call in first if call.name == "set"]
    assert [call.args[1] for call in sets] == [0, 1, 2]
    assert [len(call.args[2]) for call in sets] == [transfer.chunk_size(len(package))] * 2 + [100]
    assert b"".join(call.args[2] for call in sets) == package
    assert first[-1].reply is False, "process: messages arrive in order, no reply is awaited"
    assert rpc.emitted == []


def test_a_stock_send_uses_the_session_as_key_with_heartbeat_and_hypha_rpcs_chunk_size() -> None:
    rpc, package = FakeRPC(chunk_size=1000), payload(3500)
    run(lambda: transfer.send(rpc, FakeState(), package, TARGET, "s1", None))
    assert [call.name for call in rpc.calls] == ["create"] + ["set"] * 4 + ["process"]
    assert all(call.args[0] == "s1" and call.args[-1] is True for call in rpc.calls)
    assert [len(call.args[2]) for call in rpc.named("set")] == [1000, 1000, 1000, 500]
    assert rpc.sent_chunks() == package


def test_a_stock_send_without_a_session_gets_a_key_of_its_own_and_no_heartbeat() -> None:
    rpc = FakeRPC(chunk_size=1000)
    run(lambda: transfer.send(rpc, FakeState(), payload(1500), TARGET, None, None))
    assert len({call.args[0] for call in rpc.calls}) == 1 and all(call.args[-1] is False for call in rpc.calls)


def test_every_ack_every_th_chunk_and_the_last_are_acknowledged_and_never_more_than_window_are_unacknowledged() -> None:
    chunks = 4 * WINDOW + 3
    package = payload(chunks * 10 - 5)
    unacknowledged: list[int] = []

    def acknowledged_so_far() -> int:
        return max((call.args[1] + 1 for call in rpc.named("set") if call.reply and call.future.done()), default=0)

    def on_call(call: Call) -> None:
        if call.name == "set":
            unacknowledged.append(len(rpc.named("set")) - acknowledged_so_far())

    rpc = FakeRPC(chunk_size=10, hold_acks=True, on_call=on_call)

    async def body() -> None:
        sending = asyncio.ensure_future(transfer.send(rpc, FakeState(), package, TARGET, "s1", None))
        await settle()
        assert len(rpc.named("set")) == WINDOW, "the sender waits for an acknowledgement"
        released = 0
        while not sending.done():
            next(call for call in rpc.named("set") if call.reply and not call.future.done()).future.set_result(None)
            released += 1
            await settle()
            if released == 1:
                assert len(rpc.named("set")) == WINDOW + ACK_EVERY, "one acknowledgement lets ACK_EVERY more chunks go"
        await sending

    run(body)
    sets = rpc.named("set")
    assert [call.args[1] for call in sets] == list(range(chunks))
    assert [call.args[1] for call in sets if call.reply] == sorted({*range(ACK_EVERY - 1, chunks, ACK_EVERY), chunks - 1})
    assert max(unacknowledged) == WINDOW
    assert rpc.sent_chunks() == package and rpc.calls[-1].name == "process"


def test_a_peer_that_answers_create_as_a_stock_client_gets_no_chunk_and_the_call_fails_with_the_stock_refusal() -> None:
    state = hybrid_peer()

    def on_call(call: Call) -> None:
        if call.name == "create":  # the reply came from a stock client that took the id over
            state.peers.heard(TARGET, {"type": "method"})

    rpc = FakeRPC(on_call=on_call)
    with pytest.raises(ConnectionError, match=STOCK_REFUSAL):
        run(lambda: transfer.send(rpc, state, payload(CHUNK_MIN + 1), TARGET, "s1", None))
    create, remove = rpc.calls
    assert (create.name, remove.name) == ("create", "remove") and remove.args == (create.args[0],)


def test_an_abandoned_call_stops_sending_and_removes_its_partial_message() -> None:
    sending = SimpleNamespace(hybrid=False, call=None)

    def on_call(call: Call) -> None:
        if call.name == "set" and call.args[1] == 2:
            sending.call.set_result(None)  # the call ended (the target left, the caller gave up)

    rpc = FakeRPC(chunk_size=10, on_call=on_call)

    async def body() -> None:
        sending.call = asyncio.get_running_loop().create_future()
        await transfer.send(rpc, FakeState(), payload(100), TARGET, "s1", sending)

    with pytest.raises(ConnectionError, match="the call ended before its chunked payload was sent"):
        run(body)
    assert [call.name for call in rpc.calls] == ["create", "set", "set", "set", "remove"]


def test_a_lost_connection_stops_sending_and_leaves_the_cleanup_to_the_receiver() -> None:
    rpc = FakeRPC(chunk_size=10)
    rpc._connection = SimpleNamespace(_websocket=SimpleNamespace(state=State.CLOSED))
    with pytest.raises(ConnectionError, match="lost during a chunked send"):
        run(lambda: transfer.send(rpc, FakeState(), payload(100), TARGET, "s1", None))
    assert [call.name for call in rpc.calls] == ["create"]


def test_chunks_are_about_chunk_min_and_larger_only_to_stay_under_max_chunks() -> None:
    assert transfer.chunk_size(1) == transfer.chunk_size(MAX_CHUNKS * CHUNK_MIN) == CHUNK_MIN
    assert transfer.chunk_size(MAX_CHUNKS * (2 << 20)) == 2 << 20
    assert transfer.chunk_size(MAX_CHUNKS * CHUNK_MAX * 2) == CHUNK_MAX


def test_join_chunks_joins_them_in_order_and_frees_each_chunk() -> None:
    chunks = {1: b"cd", 0: b"ab", 2: b"e"}
    assert transfer.join_chunks(chunks) == b"abcde"
    assert chunks == {}, "each chunk is let go once copied"


def test_join_chunks_returns_a_single_part_as_it_is_and_refuses_gaps() -> None:
    only = b"only"
    assert transfer.join_chunks({0: only}) is only
    with pytest.raises(ValueError, match=r"chunks \[1\] are missing"):
        transfer.join_chunks({0: b"a", 2: b"b"})


def test_session_of_a_key_send_made_unique_or_of_hypha_rpcs_own_key() -> None:
    assert transfer.session_of(f"s1{KEY_MARK}abc") == "s1"
    assert transfer.session_of("s1") == "s1"
    assert transfer.session_of(f"{KEY_MARK}abc") == ""




def test_declared_layout_reads_what_message_key_wrote_and_nothing_else() -> None:
    key = transfer.message_key("s1", 5 * CHUNK_MIN + 7, CHUNK_MIN)
    assert transfer.session_of(key) == "s1"
    assert transfer.declared_layout(key) == (5 * CHUNK_MIN + 7, CHUNK_MIN)
    assert transfer.declared_total(key) == 5 * CHUNK_MIN + 7
    unique = key.partition(KEY_MARK)[2].split(".")[0]
    refused = [
        "s1",  # hypha-rpc's own key
        f"s1{KEY_MARK}{unique}",  # a JavaScript sender's: no layout
        f"s1{KEY_MARK}{unique}.100.{CHUNK_MIN - 1}",  # chunks smaller than any hypha_arrow sender makes
        f"s1{KEY_MARK}{unique}.100.{CHUNK_MAX + 1}",
        f"s1{KEY_MARK}{unique}.{MAX_CHUNKS * CHUNK_MIN + 1}.{CHUNK_MIN}",  # more than MAX_CHUNKS chunks
        f"s1{KEY_MARK}{unique}.0.{CHUNK_MIN}",
        f"s1{KEY_MARK}{unique}.-5.{CHUNK_MIN}",
        f"s1{KEY_MARK}{unique}.\u0661\u0662.{CHUNK_MIN}",  # digits, but not ASCII ones
        f"s1{KEY_MARK}{unique}.{'9' * 13}.{CHUNK_MIN}",
        42,
    ]
    assert [transfer.declared_total(bad) for bad in refused] == [None] * len(refused)


@pytest.mark.parametrize("size", [256 << 10, CHUNK_MIN, 3 << 20, CHUNK_MAX])
def test_the_pipeline_keeps_unacknowledged_bytes_under_window_bytes_and_acknowledges_within_the_window(size: int) -> None:
    plan = transfer.pipeline(size)
    assert plan.window <= WINDOW and (plan.window * size <= transfer.WINDOW_BYTES or plan.window == 2)
    assert 1 <= plan.ack_every <= plan.window // 2 and plan.ack_every <= ACK_EVERY, "an acknowledgement is due before the window is full"
    assert 1 <= plan.in_flight and (plan.in_flight * size <= transfer.IN_FLIGHT_BYTES or plan.in_flight == 1)
