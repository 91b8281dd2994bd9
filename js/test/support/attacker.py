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
from pathlib import Path

import numpy as np
from hypha_rpc import connect_to_server

import hypha_arrow
from hypha_arrow.tools.local_server import LocalServer

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repository, for its tests.support
from tests.support.attackers import Attacker, bomb, last_line  # noqa: E402

def report(who: Attacker) -> dict:
    """What one attack saw, for the test: the ledger and the refusals' messages."""
    refusals = [last_line(text) for text in who.refusals]
    return {
        "held": who.holding,
        "messages": len(who.held),
        "peak": who.peak,
        "refusals": len(refusals),
        "first_refusal": refusals[0] if refusals else None,
        "other_refusals": sorted(set(refusals[1:]))[:5],
        "accepted_after_refusal": len(who.accepted_after_refusal),
        "refused_keys": sorted(who.refused_keys)[:5],
        "quiet_for": time.monotonic() - who.last_answer_at,
    }


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
        await who.fill(bytes(chunk), per_message=per_message, in_flight=in_flight, give_up=give_up, key_mark=key_mark)
        return report(who)

    async def persist(self, attacker: int, key: str, chunk: int, start: int, count: int, in_flight: int) -> dict:
        who = self.attackers[attacker]
        who.refusals, who.accepted_after_refusal = [], []
        await who.persist(key, bytes(chunk), range(start, start + count), in_flight)
        return report(who)

    async def open_many(self, attacker: int, count: int, chunk: int) -> dict:
        who = self.attackers[attacker]
        who.reset()
        await who.open_many(count, bytes(chunk))
        return report(who)

    async def flood(self, attacker: int, key_mark: bool, chunks: int, chunk: int, in_flight: int) -> dict:
        """One message, chunk after chunk (small ones), past the chunk limit."""
        who = self.attackers[attacker]
        who.reset()
        key = who.new_key(key_mark)
        await (await who.call("create", key))
        who.held[key] = 0
        await who.persist(key, bytes(chunk), range(chunks), in_flight)
        return {**report(who), "key": key}

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
        return await self.attackers[attacker].intrude(key, 5, reason="created by another client")

    async def raw(self, attacker: int, kind: str, count: int = 1, declared: int = 0) -> dict:
        """Raw frames to the victim (no promise: nobody to answer), then a ping on the same
        connection, answered after them: ``bomb`` (a zstd section declaring ``declared`` bytes)
        or ``malformed`` (garbage after a header, a truncated section, a flipped section, a
        lying msgpack length)."""
        who = self.attackers[attacker]
        frames = {"bomb": lambda: [bomb(who.id, who.target, declared, "services.built-in.no_such_method")], "malformed": lambda: malformed(who.id, who.target)}[kind]()
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
        frame, key = bomb(who.id, who.target, declared, "services.built-in.no_such_method"), who.new_key(True)
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
