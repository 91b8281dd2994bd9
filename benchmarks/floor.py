"""The floor of an end-to-end echo: what the server and the sockets carry, with no codec and no RPC layer.

Two minimal clients authenticate as hypha-rpc does (a websocket to ``/ws``, the JSON auth
message, the ``connection_info`` answer) and move a message of pre-encoded bytes between them
through the server the way hypha_arrow's ``transfer`` moves a large one: ``chunk_size`` chunks,
a ``create`` whose answer is awaited first, then the chunks in its ``pipeline`` (every
``ack_every``-th chunk and the last acknowledged, at most ``window`` unacknowledged, at most
``in_flight`` queued on the socket), every frame through the same ``Pacer``, then ``process``.
A message hypha-rpc would send whole (up to its chunk size + 1 KiB) goes as one unpaced frame;
one up to ``CHUNK_MIN`` as one paced frame, as hypha_arrow sends it.

The websockets are set up as hypha_arrow's (no permessage-deflate, its inbound frame limit and
queue). Each frame is a msgpack routing header like hypha-rpc's followed by the chunk's raw
bytes; the caller builds its frames before the clock starts, the echoing client keeps the chunks
it receives and sends them back behind its own headers (one copy per chunk, as any relay must)
once ``process`` comes. Nobody joins the chunks: that is the receiver's work, not the transport's.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import json
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import msgpack
import shortuuid
import websockets
from hypha_rpc.rpc import CHUNK_SIZE as STOCK_CHUNK_SIZE

from hypha_arrow.rpc.client import INBOUND_QUEUE, MAX_INBOUND_FRAME
from hypha_arrow.rpc.transfer import CHUNK_MIN, WEBSOCKET_RATE, Pacer, chunk_size, pipeline

WHOLE_UNPACED = STOCK_CHUNK_SIZE + 1024
"""hypha-rpc emits a message up to this size as one frame itself, without hypha_arrow's pacer."""
CONNECT_TIMEOUT_S = 30.0

WHOLE, CREATE, CHUNK, PROCESS, ACK = "floor.whole", "floor.create", "floor.chunk", "floor.process", "floor.ack"
"""The ``method`` of each kind of frame; only the two floor clients read them (the server routes by ``to``)."""

Parts = list[memoryview]
"""A message as its chunks (one part for a message sent whole), each a view of the frame it came in."""

Frame = tuple[bytes, bool]
"""A frame as sent, and whether it asks for an acknowledgement."""


@dataclass(frozen=True)
class Prepared:
    """A message's ``count`` frames, in order: a list built before timing, or built as sent."""

    key: str
    size: int
    chunk: int
    count: int
    frames: Iterable[Frame]

    @property
    def whole(self) -> bool:
        """Sent as one frame: it fits in one chunk."""
        return self.size <= CHUNK_MIN


class FloorClient:
    """One websocket to the server, sending and receiving messages of raw bytes."""

    def __init__(self, websocket: Any, client_id: str, rate: tuple[float, float]) -> None:
        self.websocket = websocket
        self.id = client_id
        self.pacer = Pacer(*rate)
        self.on_message: Callable[[str, Parts], None] = lambda sender, parts: None
        self._acks: dict[tuple[str, int], asyncio.Future] = {}
        self._incoming: dict[str, dict[int, memoryview]] = {}
        self._keys = itertools.count()
        self.listening = asyncio.create_task(self._listen())

    @classmethod
    async def connect(cls, server_url: str, rate: tuple[float, float] = WEBSOCKET_RATE) -> FloorClient:
        """Connect anonymously, as ``hypha_rpc.connect_to_server`` does; ``rate`` is the pacer's
        messages per second and burst (hypha_arrow's by default)."""
        url = server_url.replace("http://", "ws://").replace("https://", "wss://").rstrip("/") + "/ws"
        websocket = await websockets.connect(url, compression=None, max_size=MAX_INBOUND_FRAME, max_queue=INBOUND_QUEUE)
        client_id = f"floor-{shortuuid.uuid()}"
        await websocket.send(json.dumps({"client_id": client_id, "workspace": None, "token": None, "reconnection_token": None}))
        while True:
            answer = await asyncio.wait_for(websocket.recv(), CONNECT_TIMEOUT_S)
            if isinstance(answer, str):
                break
        info = json.loads(answer)
        if info.get("type") != "connection_info":
            await websocket.close()
            raise ConnectionError(f"the server refused the floor client: {info}")
        return cls(websocket, f"{info['workspace']}/{client_id}", rate)

    async def close(self) -> None:
        self.listening.cancel()
        await self.websocket.close()

    def prepare(self, target: str, package: bytes) -> Prepared:
        """``package``'s frames to ``target``, built now so that sending them is all the timed work."""
        view, size = memoryview(package), chunk_size(len(package))
        return self._frames(target, [view[start : start + size] for start in range(0, len(view), size)], lazy=False)

    async def send(self, target: str, message: Prepared | Parts) -> None:
        """Send a prepared message, or parts received (echoed: their frames are built as they go)."""
        prepared = message if isinstance(message, Prepared) else self._frames(target, message, lazy=True)
        if prepared.whole:
            if prepared.size > WHOLE_UNPACED:
                await self.pacer.acquire()
            await self.websocket.send(next(iter(prepared.frames))[0])
            return
        await self._send_chunked(target, prepared)

    def _frames(self, target: str, parts: Parts, *, lazy: bool) -> Prepared:
        key = f"{self.id}-{next(self._keys)}"
        size = sum(part.nbytes for part in parts)
        if size <= CHUNK_MIN:  # one part: chunks are at least CHUNK_MIN
            return Prepared(key, size, size, 1, [(_frame({"method": WHOLE, "to": target}, *parts), False)])
        last, every = len(parts) - 1, pipeline(parts[0].nbytes).ack_every

        def frame(index: int, part: memoryview) -> Frame:
            acknowledged = index % every == every - 1 or index == last
            return _frame({"method": CHUNK, "to": target, "key": key, "index": index, "ack": acknowledged}, part), acknowledged

        frames = (frame(index, part) for index, part in enumerate(parts))
        return Prepared(key, size, parts[0].nbytes, len(parts), frames if lazy else list(frames))

    async def _send_chunked(self, target: str, prepared: Prepared) -> None:
        """``transfer._send_chunks``'s cadence: awaited create, the chunks pipelined, process.

        Each frame is handed to the websocket on a task of its own, as hypha-rpc emits them: a
        send writes its frame at once and then waits for the socket to drain, so up to
        ``in_flight`` frames are queued while the oldest drains. Tasks start in the order they
        were made, so the frames go in order."""
        key, plan = prepared.key, pipeline(prepared.chunk)
        await self.pacer.acquire()
        created = self._expect(key, -1)
        await self.websocket.send(_frame({"method": CREATE, "to": target, "key": key}))
        await created
        queued: deque[asyncio.Future] = deque()
        acks: deque[tuple[int, asyncio.Future]] = deque()
        acknowledged = 0
        for index, (frame, wants_ack) in enumerate(prepared.frames):
            while acks and index - acknowledged >= plan.window:
                await acks[0][1]
                acknowledged = acks.popleft()[0] + 1
            await self.pacer.acquire()
            sending = self._queue(frame)
            if wants_ack:
                acks.append((index, asyncio.gather(sending, self._expect(key, index))))
            else:
                queued.append(sending)
                if len(queued) >= plan.in_flight:
                    await queued.popleft()
        for sending in queued:
            await sending
        await self.pacer.acquire()
        await self._queue(_frame({"method": PROCESS, "to": target, "key": key}))
        for _, ack in acks:
            await ack

    def _queue(self, frame: bytes) -> asyncio.Future:
        return asyncio.ensure_future(self.websocket.send(frame))

    def _expect(self, key: str, index: int) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self._acks[key, index] = future
        return future

    async def _listen(self) -> None:
        async for data in self.websocket:
            if isinstance(data, str):  # the server's own notices (reconnection tokens)
                continue
            reader = msgpack.Unpacker(io.BytesIO(data))
            header = reader.unpack()
            body = memoryview(data)[reader.tell() :]
            method, key, sender = header.get("method"), header.get("key"), header["from"]
            if method == ACK:
                self._acks.pop((key, header["index"])).set_result(None)
            elif method == WHOLE:
                self.on_message(sender, [body])
            elif method == CREATE:
                self._incoming[key] = {}
                await self.websocket.send(_frame({"method": ACK, "to": sender, "key": key, "index": -1}))
            elif method == CHUNK:
                self._incoming[key][header["index"]] = body
                if header["ack"]:
                    await self.websocket.send(_frame({"method": ACK, "to": sender, "key": key, "index": header["index"]}))
            elif method == PROCESS:
                chunks = self._incoming.pop(key)
                self.on_message(sender, [chunks[index] for index in range(len(chunks))])


def _frame(header: dict[str, Any], body: memoryview | bytes = b"") -> bytes:
    return b"".join((msgpack.packb({"type": "method", **header}), body))


class FloorEcho:
    """A caller and an echoing client: ``echo`` sends one message there and back."""

    def __init__(self, caller: FloorClient, echoer: FloorClient) -> None:
        self.caller, self.echoer = caller, echoer
        self._replies: asyncio.Queue[Parts | BaseException] = asyncio.Queue()
        caller.on_message = lambda sender, parts: self._replies.put_nowait(parts)
        echoer.on_message = lambda sender, parts: self._echo_back(sender, parts)
        self._echoing: set[asyncio.Task] = set()

    def _echo_back(self, sender: str, parts: Parts) -> None:
        """Send the parts back on a task of their own (their acknowledgements come through the
        listening loop); a failure goes to the waiting caller instead of leaving it waiting."""
        task = asyncio.ensure_future(self.echoer.send(sender, parts))
        self._echoing.add(task)
        task.add_done_callback(self._echoed)

    def _echoed(self, task: asyncio.Task) -> None:
        self._echoing.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._replies.put_nowait(task.exception())

    @classmethod
    async def connect(cls, server_url: str, rate: tuple[float, float] = WEBSOCKET_RATE) -> FloorEcho:
        return cls(await FloorClient.connect(server_url, rate), await FloorClient.connect(server_url, rate))

    def prepare(self, package: bytes) -> Prepared:
        return self.caller.prepare(self.echoer.id, package)

    async def echo(self, prepared: Prepared) -> Parts:
        """Send ``prepared`` to the echoing client; the parts it sent back, once all arrived.
        Raises if either client's connection ends first."""
        round_trip = asyncio.ensure_future(self._round_trip(prepared))
        listening = {self.caller.listening, self.echoer.listening}
        await asyncio.wait({round_trip, *listening}, return_when=asyncio.FIRST_COMPLETED)
        if not round_trip.done():
            round_trip.cancel()
            ended = next(task for task in listening if task.done())
            raise ConnectionError("a floor client's connection ended during an echo") from (None if ended.cancelled() else ended.exception())
        return round_trip.result()

    async def _round_trip(self, prepared: Prepared) -> Parts:
        await self.caller.send(self.echoer.id, prepared)
        reply = await self._replies.get()
        if isinstance(reply, BaseException):
            raise reply
        return reply

    async def close(self) -> None:
        for client in (self.caller, self.echoer):
            await client.close()


def joined(parts: Parts) -> bytes:
    """The message the parts make, for checking an echo outside the clock."""
    return b"".join(parts)
