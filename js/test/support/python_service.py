"""A local Hypha server and a Python hypha_arrow service for the JavaScript tests.

Prints one JSON line (the server's URL and the service id) once both are up, then serves
until it is terminated.
"""

import asyncio
import json
import signal
import sys

import numpy as np
import pandas as pd

import hypha_arrow
from hypha_arrow.tools.local_server import LocalServer

FRAME = pd.DataFrame({"id": np.arange(5000), "x": np.arange(5000) / 8, "name": [f"n{i}" for i in range(5000)]})


def describe(value: object) -> dict:
    """What arrived, as Python sees it."""
    if isinstance(value, np.ndarray):
        return {"type": "ndarray", "dtype": value.dtype.str, "shape": list(value.shape), "fortran": bool(np.isfortran(value)) and value.ndim > 1, "sum": float(value.sum())}
    if isinstance(value, pd.DataFrame):
        return {"type": "DataFrame", "equal": bool(value.equals(FRAME)), "rows": len(value)}
    return {"type": type(value).__name__}


async def main(url: str) -> None:
    service = await hypha_arrow.connect_to_server({"server_url": url})
    info = await service.register_service(
        {
            "id": "data",
            "config": {"visibility": "public"},
            "frame": lambda: FRAME,
            "array": lambda: np.arange(50000.0).reshape(250, 200),
            "small": lambda: np.arange(6, dtype=np.int32),
            "large": lambda: np.arange(2_500_000.0),
            "large_frame": lambda: pd.DataFrame({"id": np.arange(200_000), "x": np.arange(200_000) / 4}),
            "describe": describe,
        }
    )
    print(json.dumps({"url": url, "service": info.id}), flush=True)
    await asyncio.Event().wait()


signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # so the server below is stopped too, not orphaned
with LocalServer() as server:
    asyncio.run(main(server.url))
