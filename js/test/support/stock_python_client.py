"""A stock Python client (plain hypha_rpc, no hypha_arrow in this process) for the JavaScript tests.

Connects to the server at argv[1], serves `stock` (and on request a `swap` service under the
client id the hypha_arrow service gave up), and counts every frame it received that only a
hypha_arrow peer could read: bytes after the two msgpack objects, a column placeholder, or a
`~ha~` message key. Prints one JSON line with its service id once up.
"""

import asyncio
import io
import json
import signal
import sys

import msgpack
import numpy as np
from hypha_rpc import connect_to_server

from kinds import check, digest, make

PLACEHOLDER = b"hypha_arrow column"
SWAP_CLIENT = "swap-client"
seen = {"frames": 0, "hybrid": 0}
swap_seen = {"frames": 0, "hybrid": 0}


def hybrid(frame: bytes) -> bool:
    unpacker = msgpack.Unpacker(io.BytesIO(frame), max_buffer_size=len(frame) + 1)
    header, extra = unpacker.unpack(), {}
    try:
        extra = unpacker.unpack()
    except msgpack.OutOfData:
        pass
    key = extra.get("args", [""])[0] if "message_cache." in str(header.get("method")) else ""
    return unpacker.tell() != len(frame) or PLACEHOLDER in frame or "~ha~" in str(key)


def spy(server, counts: dict) -> None:
    """Count the frames reaching the client's connection in `counts`, then hand them on."""
    connection = server.rpc._connection
    handle = connection._handle_message

    def counted(data):
        if isinstance(data, bytes):
            counts["frames"] += 1
            counts["hybrid"] += hybrid(data)
        return handle(data)

    connection._handle_message = counted


def digest_of(value: object) -> dict:
    if not isinstance(value, np.ndarray):
        return {"type": type(value).__name__}
    return {"type": "ndarray", "dtype": value.dtype.str, "shape": list(value.shape), "sha256": digest(value)}


def steps(n: int) -> np.ndarray:
    return np.arange(n) / 3


async def main(url: str) -> None:
    server = await connect_to_server({"server_url": url})
    spy(server, seen)
    swap: dict = {}

    async def call_js(service_id: str, kind: str) -> dict:
        """Call a hypha-arrow JavaScript service's `echo` with a value of the table; check what comes back."""
        js = await server.get_service(service_id)
        return check(kind, await js.echo(make(kind)))

    async def call_js_large(service_id: str, n: int) -> dict:
        """Send `steps(n)` to a JavaScript service's `digest` and ask it for `steps(n)` back."""
        js = await server.get_service(service_id)
        sent = await js.digest(steps(n))
        back = await js.steps(n)
        return {"sent": sent, "expected": digest(steps(n)), "back": digest_of(back)}

    async def call_js_error(service_id: str, method: str) -> str:
        js = await server.get_service(service_id)
        try:
            await getattr(js, method)()
        except Exception as error:
            return str(error)
        return ""

    async def open_swap(workspace: str, token: str) -> str:
        swap["server"] = await connect_to_server({"server_url": url, "workspace": workspace, "token": token, "client_id": SWAP_CLIENT})
        swap_seen.update(frames=0, hybrid=0)
        spy(swap["server"], swap_seen)
        info = await swap["server"].register_service({"id": "swap", "config": {"visibility": "public"}, "describe": lambda value: {"reader": "stock", **digest_of(value)}})
        return info.id

    async def close_swap() -> None:
        await swap.pop("server").disconnect()

    info = await server.register_service(
        {
            "id": "stock",
            "config": {"visibility": "public"},
            "echo": lambda value: value,
            "digest_of": digest_of,
            "steps": steps,
            "steps_digest": lambda n: digest(steps(n)),
            "call_js": call_js,
            "call_js_large": call_js_large,
            "call_js_error": call_js_error,
            "seen": lambda: dict(seen),
            "swap_seen": lambda: dict(swap_seen),
            "open_swap": open_swap,
            "close_swap": close_swap,
        }
    )
    print(json.dumps({"service": info.id}), flush=True)
    await asyncio.Event().wait()


signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
asyncio.run(main(sys.argv[1]))
