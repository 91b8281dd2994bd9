"""A local Hypha server and Python hypha_arrow services for the JavaScript tests.

Prints one JSON line (the server's URL and the services' ids) once all are up, then serves
until it is terminated. Besides the values of the issue's table (`kinds.py`), the services call
JavaScript services back (`through_js*`: Python as the caller), send large payloads with their
digests, and can hand a client id over to a stock client (`open_swap`, `close_swap`).
"""

import asyncio
import json
import signal
import sys

import numpy as np
import pandas as pd

import hypha_arrow
from hypha_arrow.config import Config
from hypha_arrow.tools.local_server import LocalServer
from kinds import check, digest, frame_digests, make

FRAME = pd.DataFrame({"id": np.arange(5000), "x": np.arange(5000) / 8, "name": [f"n{i}" for i in range(5000)]})
PUBLIC = {"visibility": "public"}
SWAP_CLIENT = "swap-client"
_cache: dict = {}


def describe(value: object) -> dict:
    """What arrived, as Python sees it."""
    if isinstance(value, np.ndarray):
        return {"type": "ndarray", "dtype": value.dtype.str, "shape": list(value.shape), "fortran": bool(np.isfortran(value)) and value.ndim > 1, "sum": float(value.sum())}
    if isinstance(value, pd.DataFrame):
        return {"type": "DataFrame", "equal": bool(value.equals(FRAME)), "rows": len(value)}
    return {"type": type(value).__name__}


def digest_of(value: object) -> dict:
    """An array's type, dtype, shape and the sha256 of its bytes."""
    if not isinstance(value, np.ndarray):
        return {"type": type(value).__name__}
    return {"type": "ndarray", "dtype": value.dtype.str, "shape": list(value.shape), "sha256": digest(value)}


def big(n: int) -> np.ndarray:
    """n random float64 (seeded), kept for the digest asked next."""
    if _cache.get("big", np.empty(0)).size != n:
        _cache["big"] = np.random.default_rng(7).random(n)
    return _cache["big"]


def frame_1m() -> pd.DataFrame:
    if "frame" not in _cache:
        n = 1_000_000
        _cache["frame"] = pd.DataFrame({"id": np.arange(n), "x": np.arange(n) / 3, "name": [f"n{i}" for i in range(n)]})
    return _cache["frame"]


def frame_report(value: object) -> dict:
    """Per-column digests of a DataFrame or pyarrow Table, and whether it equals `frame_1m()`."""
    report = {"type": type(value).__name__, **frame_digests(value)}
    if isinstance(value, pd.DataFrame):
        report["equal"] = bool(value.equals(frame_1m()))
    return report


async def stream(kind: str, count: int):
    for _ in range(count):
        yield make(kind)


async def main(url: str) -> None:
    server = await hypha_arrow.connect_to_server({"server_url": url})
    swap: dict = {}

    async def call_back(kind: str, callback) -> dict:
        """Call a JavaScript callback with the value; what it returns, checked."""
        return check(kind, await callback(make(kind)))

    async def through_js(service_id: str, kind: str) -> dict:
        """Send the value to a JavaScript service's `echo` and check what comes back."""
        js = await server.get_service(service_id)
        return check(kind, await js.echo(make(kind)))

    async def through_js_callback(service_id: str, kind: str) -> dict:
        """A JavaScript service calls this Python callback with what it was given."""
        js = await server.get_service(service_id)
        arrived = {}

        def callback(value):
            arrived.update(check(kind, value))
            return value

        back = await js.apply(callback, make(kind))
        return {"callback": arrived, "back": check(kind, back)}

    async def through_js_stream(service_id: str, count: int) -> list:
        """Consume a JavaScript service's async generator of arrays."""
        js = await server.get_service(service_id)
        return [check("f8", item) async for item in await js.stream(count)]

    async def through_js_error(service_id: str, kind: str) -> str:
        """The error a call to a JavaScript service fails with."""
        js = await server.get_service(service_id)
        try:
            await js.echo(make(kind))
        except Exception as error:
            return str(error)
        return ""

    async def open_swap(workspace: str | None = None, token: str | None = None) -> dict:
        """A hypha_arrow client with the fixed id SWAP_CLIENT, serving `swap.describe`, in the
        given workspace or in this service's own (whose departures a JavaScript client in
        another workspace is not told of); its service id, workspace and a token for it."""
        if workspace is None:
            workspace, token = server.config.workspace, await server.generate_token()
        swap["server"] = await hypha_arrow.connect_to_server({"server_url": url, "workspace": workspace, "token": token, "client_id": SWAP_CLIENT})
        info = await swap["server"].register_service({"id": "swap", "config": PUBLIC, "describe": lambda value: {"reader": "hypha_arrow", **digest_of(value)}})
        return {"id": info.id, "workspace": workspace, "token": token}

    async def close_swap() -> None:
        await swap.pop("server").disconnect()

    info = await server.register_service(
        {
            "id": "data",
            "config": PUBLIC,
            "frame": lambda: FRAME,
            "array": lambda: np.arange(50000.0).reshape(250, 200),
            "small": lambda: np.arange(6, dtype=np.int32),
            "large": lambda: np.arange(2_500_000.0),
            "large_frame": lambda: pd.DataFrame({"id": np.arange(200_000), "x": np.arange(200_000) / 4}),
            "describe": describe,
            "make": make,
            "check": check,
            "stream": stream,
            "call_back": call_back,
            "through_js": through_js,
            "through_js_callback": through_js_callback,
            "through_js_stream": through_js_stream,
            "through_js_error": through_js_error,
            "big": big,
            "big_digest": lambda n: digest(big(n)),
            "digest_of": digest_of,
            "text_and_array": lambda text, array: {"text": len(text), **digest_of(array)},
            "frame_1m": frame_1m,
            "frame_1m_digests": lambda: frame_digests(frame_1m()),
            "frame_report": frame_report,
            "open_swap": open_swap,
            "close_swap": close_swap,
        }
    )
    ids = {"url": url, "service": info.id}
    for algorithm in ("lz4", "zstd"):
        compressing = await hypha_arrow.connect_to_server({"server_url": url}, arrow=Config(compression_algorithm=algorithm))
        ids[algorithm] = (await compressing.register_service({"id": f"data-{algorithm}", "config": PUBLIC, "steps": lambda: np.repeat(np.arange(500.0), 1000)})).id
    tight = await hypha_arrow.connect_to_server({"server_url": url}, arrow=Config(max_message_bytes=2 << 20))
    ids["tight"] = (await tight.register_service({"id": "tight", "config": PUBLIC, "digest_of": digest_of})).id
    print(json.dumps(ids), flush=True)
    await asyncio.Event().wait()


signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # so the server below is stopped too, not orphaned
with LocalServer() as local:
    asyncio.run(main(local.url))
