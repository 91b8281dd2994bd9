"""A local Hypha server and anonymous stock hypha-rpc attackers, for test/rpc_attacks.test.js.

Prints one JSON line (the server's URL) once the server is up, then runs the commands it reads
on stdin, one JSON object a line (``{"id": 1, "op": "fill", ...}``), and answers each with one
JSON line (``{"id": 1, "result": ...}`` or ``{"id": 1, "error": "..."}``). Each attacker is a
stock hypha-rpc client in an anonymous workspace of its own, calling the victim's built-in
message cache directly, paced under the server's rate limit, as tests/server/test_rpc_budgets.py
attacks a Python victim.
"""

import asyncio
import json
import signal
import sys
import time
from collections import deque

import numpy as np
import shortuuid
from hypha_rpc import connect_to_server

import hypha_arrow
from hypha_arrow.rpc.transfer import Pacer
from hypha_arrow.tools.local_server import LocalServer

ATTACK_RATE = (150.0, 300.0)
"""Messages per second and burst: under the server's 200 per second, since an attacker closed
for its rate would prove nothing."""
OPERATIONS = ("create", "append", "set", "process", "remove")


def last_line(text: str) -> str:
    """The message of a remote error (hypha-rpc sends the whole traceback)."""
    lines = str(text).strip().splitlines()
    return lines[-1] if lines else str(text)


class Attacker:
    """A stock client calling the victim's message cache, and its ledger of what the victim
    acknowledged holding for it (in the order the victim answered: exactly what it holds,
    provided a refused call frees that call's whole message and nothing else is dropped)."""

    def __init__(self, client, target: str) -> None:
        self.client = client
        self.id = f"{client.config.workspace}/{client.rpc._client_id}"
        self.target = target
        self.cache = {operation: self.method(f"services.built-in.message_cache.{operation}") for operation in OPERATIONS}
        self.pacer = Pacer(*ATTACK_RATE)
        self.reset()

    def reset(self) -> None:
        self.held: dict[str, int] = {}
        self.peak = 0
        self.refusals: list[str] = []
        self.refused_keys: set[str] = set()
        self.accepted_after_refusal: list[str] = []
        self.last_answer_at = time.monotonic()

    def method(self, name: str):
        """The victim's ``name`` as any client can call it, sent as one frame whatever its size."""
        method = self.client.rpc._generate_remote_method(
            {"_rserver": self.client.rpc._server_base_url, "_rtarget": self.target, "_rmethod": name, "_rpromise": True}
        )
        method.__no_chunk__ = True
        return method

    @property
    def holding(self) -> int:
        return sum(self.held.values())

    async def call(self, operation: str, *args):
        await self.pacer.acquire()
        return self.cache[operation](*args)

    async def fill(self, chunk: bytes, per_message: int, in_flight: int, give_up: int, key_mark: bool) -> None:
        """Open message after message of ``per_message`` chunks, ``in_flight`` calls deep, until
        a call is refused or ``give_up`` bytes are sent."""
        sent: deque = deque()

        def enough() -> bool:
            return bool(self.refusals) or self.holding + sum(size for _, size, _ in sent) >= give_up

        while not enough():
            key = new_key(key_mark)
            try:
                await (await self.call("create", key))
            except Exception as error:
                self.refused(key, error)
                break
            self.held[key] = 0
            for index in range(per_message):
                sent.append((key, len(chunk), await self.call("set", key, index, chunk)))
                while len(sent) >= in_flight:
                    await self.settle(sent)
                if enough():
                    break
        while sent:
            await self.settle(sent)

    async def persist(self, key: str, chunk: bytes, indices: range, in_flight: int) -> None:
        sent: deque = deque()
        for index in indices:
            sent.append((key, len(chunk), await self.call("set", key, index, chunk)))
            while len(sent) >= in_flight:
                await self.settle(sent)
        while sent:
            await self.settle(sent)

    async def open_many(self, count: int, chunk: bytes) -> None:
        sent: deque = deque()
        for key in [new_key(False) for _ in range(count)]:
            sent.append((key, 0, await self.call("create", key)))
        while sent:
            await self.settle(sent)
        for key in list(self.held):
            sent.append((key, len(chunk), await self.call("set", key, 0, chunk)))
        while sent:
            await self.settle(sent)

    async def settle(self, sent: deque) -> None:
        key, size, answer = sent.popleft()
        try:
            await answer
        except Exception as error:
            self.refused(key, error)
            return
        finally:
            self.last_answer_at = time.monotonic()
        if key in self.refused_keys:
            self.accepted_after_refusal.append(key)
            return
        self.held[key] = self.held.get(key, 0) + size
        self.peak = max(self.peak, self.holding)

    def refused(self, key: str, error: Exception) -> None:
        self.refusals.append(last_line(str(error)))
        self.refused_keys.add(key)
        self.held.pop(key, None)

    def report(self) -> dict:
        return {
            "held": self.holding,
            "messages": len(self.held),
            "peak": self.peak,
            "refusals": len(self.refusals),
            "first_refusal": self.refusals[0] if self.refusals else None,
            "other_refusals": sorted(set(self.refusals[1:]))[:5],
            "accepted_after_refusal": len(self.accepted_after_refusal),
            "refused_keys": sorted(self.refused_keys)[:5],
            "quiet_for": time.monotonic() - self.last_answer_at,
        }


def new_key(key_mark: bool) -> str:
    return f"attack~ha~{shortuuid.uuid()}" if key_mark else f"attack-{shortuuid.uuid()}"


async def outcome(call) -> str:
    """"ok", or the last line of the error."""
    try:
        await call
        return "ok"
    except Exception as error:
        return last_line(str(error))


class Attacks:
    """The commands: each runs one attack (or one step of one) and returns what it saw."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.attackers: list[Attacker] = []
        self.clients: list = []

    async def connect(self, target: str, count: int) -> list[str]:
        for attacker in self.attackers:
            await attacker.client.disconnect()
        self.attackers = [Attacker(await connect_to_server({"server_url": self.url}), target) for _ in range(count)]
        return [attacker.id for attacker in self.attackers]

    async def fill(self, attacker: int, chunk: int, per_message: int, in_flight: int, give_up: int, key_mark: bool = False) -> dict:
        who = self.attackers[attacker]
        who.reset()
        await who.fill(bytes(chunk), per_message, in_flight, give_up, key_mark)
        return who.report()

    async def persist(self, attacker: int, key: str, chunk: int, start: int, count: int, in_flight: int) -> dict:
        who = self.attackers[attacker]
        who.refusals, who.accepted_after_refusal = [], []
        await who.persist(key, bytes(chunk), range(start, start + count), in_flight)
        return who.report()

    async def open_many(self, attacker: int, count: int, chunk: int) -> dict:
        who = self.attackers[attacker]
        who.reset()
        await who.open_many(count, bytes(chunk))
        return who.report()

    async def flood(self, attacker: int, key_mark: bool, chunks: int, chunk: int, in_flight: int) -> dict:
        """One message, chunk after chunk (small ones), past the chunk limit."""
        who = self.attackers[attacker]
        who.reset()
        key = new_key(key_mark)
        await (await who.call("create", key))
        who.held[key] = 0
        await who.persist(key, bytes(chunk), range(chunks), in_flight)
        return {**who.report(), "key": key}

    async def call(self, attacker: int, operation: str, args: list) -> str:
        """One message-cache call; an argument ``{"bytes": n}`` is n zero bytes."""
        args = [bytes(arg["bytes"]) if isinstance(arg, dict) else arg for arg in args]
        return await outcome(await self.attackers[attacker].call(operation, *args))

    async def trickle(self, attacker: int, key: str, every: float, until: float) -> dict:
        """Append a byte to ``key`` every ``every`` s for at most ``until`` s, or until refused."""
        who, appended, started = self.attackers[attacker], 0, time.monotonic()
        while time.monotonic() - started < until:
            result = await outcome(await who.call("append", key, b"x"))
            if result != "ok":
                return {"appended": appended, "failure": result, "after": time.monotonic() - started}
            appended += 1
            await asyncio.sleep(every)
        return {"appended": appended, "failure": None, "after": time.monotonic() - started}

    async def intrude(self, attacker: int, key: str) -> list[str]:
        """Every way of touching ``key`` as a client that did not create it: the outcomes that are no refusal."""
        who, wrong = self.attackers[attacker], []
        for name, (operation, *args) in {
            "append": ("append", key, b"intruder"),
            "set over chunk 0": ("set", key, 0, b"intruder"),
            "set a new chunk": ("set", key, 5, b"intruder"),
            "process": ("process", key),
            "remove": ("remove", key),
            "create with overwrite": ("create", key, False, True),
        }.items():
            result = await outcome(await who.call(operation, *args))
            if "refused" not in result or "created by another client" not in result:
                wrong.append(f"{name}: {result}")
        return wrong

    async def raw(self, attacker: int, kind: str, count: int = 1, declared: int = 0) -> dict:
        """Raw frames to the victim (no promise: nobody to answer), then a ping on the same
        connection, answered after them: ``bomb`` (a zstd section declaring ``declared`` bytes)
        or ``malformed`` (garbage after a header, a truncated section, a flipped section, a
        lying msgpack length)."""
        who = self.attackers[attacker]
        frames = {"bomb": lambda: [bomb(who.id, who.target, declared)], "malformed": lambda: malformed(who.id, who.target)}[kind]()
        for _ in range(count):
            for frame in frames:
                await who.pacer.acquire()
                await who.client.rpc._emit_message(frame)
        started = time.monotonic()
        await who.client.rpc.ping(who.target, timeout=20)
        return {"frames": count * len(frames), "bytes": count * sum(map(len, frames)), "ping_after": time.monotonic() - started}

    async def cached_bomb(self, attacker: int, declared: int) -> str:
        """A bomb as a hybrid sender's cached message: create, two chunks, process."""
        who = self.attackers[attacker]
        frame, key = bomb(who.id, who.target, declared), new_key(True)
        await (await who.call("create", key, False))
        half = len(frame) // 2
        for index, part in enumerate((frame[:half], frame[half:])):
            await (await who.call("set", key, index, part, False))
        return await outcome(await who.call("process", key, False))

    async def stock_call(self, service: str, nbytes: int) -> dict:
        """A legitimate stock client's call of ``service.size`` with ``nbytes`` random bytes
        (hypha-rpc chunks it through the victim's cache with its own key)."""
        client = await connect_to_server({"server_url": self.url, "method_timeout": 30})
        try:
            payload = np.random.default_rng(1).bytes(nbytes)
            started = time.monotonic()
            answer = await (await client.get_service(service)).size(payload)
            return {"answer": answer, "expected": {"nbytes": nbytes, "sum": int(np.frombuffer(payload, np.uint8).sum(dtype=np.uint64))}, "took": time.monotonic() - started}
        finally:
            await client.disconnect()

    async def compressed_call(self, service: str, nbytes: int) -> dict:
        """A legitimate hypha_arrow client's zstd-compressed call inflating to ``nbytes``: it
        must fail at once, naming the limit, if that is over the victim's."""
        client = await hypha_arrow.connect_to_server({"server_url": self.url, "method_timeout": 30}, arrow=hypha_arrow.Config(compression_algorithm="zstd"))
        try:
            started = time.monotonic()
            result = await outcome((await client.get_service(service)).size(np.zeros(nbytes, np.uint8)))
            return {"outcome": result, "took": time.monotonic() - started}
        finally:
            await client.disconnect()


def bomb(sender: str, target: str, declared: int) -> bytes:
    """A hybrid frame calling a method that does not exist with one zstd-compressed array of ``declared`` zero bytes."""
    header = {"type": "method", "from": sender, "to": target, "method": "services.built-in.no_such_method"}
    extra = {"args": [np.zeros(declared, np.uint8)], "with_kwargs": False}
    return hypha_arrow.encode_message(header, extra, config=hypha_arrow.Config(compression_algorithm="zstd"))


def malformed(sender: str, target: str) -> list[bytes]:
    import msgpack

    header = msgpack.packb({"type": "method", "from": sender, "to": target, "method": "services.built-in.ping"})
    good = hypha_arrow.encode_message(
        {"type": "method", "from": sender, "to": target, "method": "services.built-in.no_such_method"}, {"args": [np.arange(4096.0)], "with_kwargs": False}
    )
    flipped = bytearray(good)
    for position in range(len(good) - 2000, len(good), 97):
        flipped[position] ^= 0xFF
    return [
        header + b"\xc1" * 64,  # never-used msgpack byte where the extra should be
        good[: len(good) - 5000],  # the section cut short
        bytes(flipped),  # the section's bytes flipped
        header + b"\xdd\xff\xff\xff\xff",  # an array claiming 4 billion items
        header + b"\xc6\x7f\xff\xff\xff",  # a bin claiming 2 GiB
    ]


async def serve(url: str) -> None:
    attacks = Attacks(url)
    commands = asyncio.StreamReader(limit=1 << 20)
    await asyncio.get_running_loop().connect_read_pipe(lambda: asyncio.StreamReaderProtocol(commands), sys.stdin)
    while line := await commands.readline():  # no reader thread: SIGTERM ends this at once
        command = json.loads(line)
        ident, op = command.pop("id"), command.pop("op")
        try:
            reply = {"id": ident, "result": await getattr(attacks, op)(**command)}
        except Exception as error:
            reply = {"id": ident, "error": f"{type(error).__name__}: {last_line(str(error))}"}
        print(json.dumps(reply), flush=True)


signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # so the server below is stopped too, not orphaned
with LocalServer() as server:
    print(json.dumps({"url": server.url}), flush=True)
    asyncio.run(serve(server.url))
