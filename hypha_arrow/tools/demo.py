"""``hypha-arrow demo``: a DataFrame and numpy arrays through a real Hypha server, stock vs hypha_arrow.

A service client registers ``analysis``; a caller client sends it a DataFrame and arrays,
with a progress bar on stderr for that first, large call (``hypha_arrow.progress``). The same
calls then run between two stock hypha-rpc clients, for comparison.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from ..config import Config
from ..rpc import connect_to_server
from ..rpc.client import disconnect_quietly
from ..rpc.progress import progress
from .stock import columns_to_frame, frame_to_columns


def describe(value: Any) -> str:
    if isinstance(value, pd.DataFrame):
        dtypes = ", ".join(f"{c}: {t}" for c, t in value.dtypes.items())
        return f"pandas.DataFrame shape={value.shape} ({dtypes})"
    if isinstance(value, np.ndarray):
        return f"numpy.ndarray shape={value.shape} dtype={value.dtype}"
    return type(value).__name__


def run(server_url: str | None, rows: int, repeat: int) -> None:
    if server_url is not None:
        asyncio.run(_demo(server_url, rows, repeat))
        return
    from .local_server import LocalServer

    print("Starting a local Hypha server ...")
    with LocalServer() as server:
        print(f"  {server.url}\n")
        asyncio.run(_demo(server.url, rows, repeat))
    print("Server stopped.")


async def _demo(url: str, rows: int, repeat: int) -> None:
    from hypha_rpc import connect_to_server as connect_stock

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"id": np.arange(rows), "value": rng.random(rows), "label": [f"sample-{i % 1000}" for i in range(rows)]})
    signal = rng.random(rows)
    image = rng.integers(0, 255, size=(512, 512, 3), dtype=np.uint8)
    arrived: list[str] = []

    def analysis(table: Any, series: Any, picture: Any) -> Any:
        arrived.extend(describe(v) for v in (table, series, picture))
        return {"rows": len(table), "mean": float(np.mean(series)), "table": table}

    config = Config(compression_algorithm=None)
    service_side = await connect_to_server({"server_url": url}, arrow=config)
    caller = await connect_to_server({"server_url": url}, arrow=config)
    stock_service_side = await connect_stock({"server_url": url})
    stock_caller = await connect_stock({"server_url": url})
    try:
        info = await service_side.register_service({"id": "analysis", "config": {"visibility": "public"}, "run": analysis, "echo": lambda v: v})
        stock_info = await stock_service_side.register_service({"id": "analysis-stock", "config": {"visibility": "public"}, "echo": lambda v: v})
        service = await caller.get_service(info.id)
        stock_service = await stock_caller.get_service(stock_info.id)

        with _progress_bar("analysis.run, sent + received"):
            reply = await service.run(frame, signal, image)
        print("What the service received through hypha_arrow:")
        for line in arrived:
            print(f"  {line}")
        print(f"What came back: rows={reply['rows']}, mean={reply['mean']:.4f}, table: {describe(reply['table'])}\n")

        columns = frame_to_columns(frame)
        cases: list[tuple[str, Callable[[], Awaitable[Any]], Callable[[], Awaitable[Any]]]] = [
            ("small int call", lambda: stock_service.echo(7), lambda: service.echo(7)),
            (f"float64[{rows}]", lambda: stock_service.echo(signal), lambda: service.echo(signal)),
            (f"DataFrame {rows} rows", lambda: _frame_via_dict(stock_service, columns), lambda: service.echo(frame)),
        ]
        print(f"Echo round trips (caller -> server -> service -> server -> caller), medians of {repeat}:")
        print(f"  {'payload':<24}{'stock ms':>12}{'hypha_arrow ms':>16}{'speedup':>10}")
        for name, stock_call, arrow_call in cases:
            stock_s = await _median(stock_call, 1 if "DataFrame" in name else repeat)
            arrow_s = await _median(arrow_call, repeat)
            print(f"  {name:<24}{stock_s * 1e3:>12.1f}{arrow_s * 1e3:>16.1f}{stock_s / arrow_s:>9.1f}x")
        print("\n(stock hypha-rpc cannot send DataFrames: its row sends them as dict-of-lists and rebuilds the frame)")
    finally:
        for client in (caller, service_side, stock_caller, stock_service_side):
            await disconnect_quietly(client)


@contextlib.contextmanager
def _progress_bar(description: str) -> Iterator[None]:
    """A tqdm bar on stderr for the chunked transfers of the calls made inside; none without tqdm
    (it comes with the bench and test extras, not with hypha-rpc)."""
    try:
        from tqdm import tqdm
    except ImportError:
        yield
        return
    with tqdm(desc=description, unit="B", unit_scale=True, unit_divisor=1024) as bar, progress(bar):
        yield


async def _frame_via_dict(service: Any, columns: dict[str, list[Any]]) -> pd.DataFrame:
    return columns_to_frame(await service.echo(columns))


async def _median(call: Callable[[], Awaitable[Any]], repeat: int) -> float:
    await call()  # warm-up
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)
