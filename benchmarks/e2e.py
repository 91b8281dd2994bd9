"""End-to-end benchmark through a real local Hypha server: ``python -m benchmarks.e2e [--scale tiny|full]``.

Client B calls an echo service on client A (B -> server -> A -> server -> B), with stock
hypha-rpc clients and with hypha_arrow clients, in the same run against the same server,
their echoes interleaved; medians of repeated echoes. Stock cannot send DataFrames, so its DataFrame echo
sends dict-of-lists and rebuilds the frame on arrival (that work counts for stock).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

import hypha_arrow
from benchmarks.payloads import SCALES, data_frame, float_array, records, scaled
from benchmarks.report import machine_info
from hypha_arrow.rpc.client import disconnect_quietly
from hypha_arrow.tools.local_server import LocalServer
from hypha_arrow.tools.stock import columns_to_frame, frame_to_columns

DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "e2e.json"
REPEATS = {"tiny": 3, "full": 5}
SMALL_CALL_REPEATS = {"tiny": 50, "full": 300}
"""A small call takes about a millisecond: many more repeats for a stable median."""
STOCK_REPEATS_CAP_S = 20.0
"""Stock echoes of the largest payloads take seconds each: repeat them fewer times."""


@dataclass(frozen=True)
class EchoCase:
    name: str
    build: Callable[[], Any]


@dataclass
class EchoResult:
    case: str
    mode: str
    median_s: float
    repeats: int


def cases(scale: str) -> list[EchoCase]:
    """The issue's payloads; values are the bare arguments of the echo call."""
    def arg(builder: Callable[[int], Any], count: int) -> Callable[[], Any]:
        return lambda: builder(scaled(count, scale)).extra["args"][0]

    return [
        EchoCase("int", lambda: 42),
        EchoCase("float64-1e6", arg(float_array, 1_000_000)),
        EchoCase("float64-1e7", arg(float_array, 10_000_000)),
        EchoCase("frame-1e6", arg(data_frame, 1_000_000)),
        EchoCase("records-1e4", arg(records, 10_000)),
    ]


def _to_stock(value: Any) -> Any:
    return frame_to_columns(value) if isinstance(value, pd.DataFrame) else value


def _from_stock(sent: Any, received: Any) -> Any:
    return columns_to_frame(received) if isinstance(sent, pd.DataFrame) else received


async def _echo_once(service: Any, value: Any, stock: bool) -> tuple[float, Any]:
    started = time.perf_counter()
    if stock:
        result = _from_stock(value, await service.echo(_to_stock(value)))
    else:
        result = await service.echo(value)
    return time.perf_counter() - started, result


def _check(sent: Any, received: Any, where: str) -> None:
    if isinstance(sent, np.ndarray):
        ok = isinstance(received, np.ndarray) and np.array_equal(sent, received)
    elif isinstance(sent, pd.DataFrame):
        ok = isinstance(received, pd.DataFrame) and sent.equals(received)
    else:
        ok = sent == received
    if not ok:
        raise AssertionError(f"{where}: the echo differs from what was sent")


@dataclass
class _Side:
    """One mode's two clients and the echo service as its caller sees it."""

    mode: str
    clients: list[Any]
    service: Any

    @property
    def stock(self) -> bool:
        return self.mode == "stock"


async def _open(url: str, mode: str) -> _Side:
    from hypha_rpc import connect_to_server

    connect = connect_to_server if mode == "stock" else hypha_arrow.connect_to_server
    provider = await connect({"server_url": url})
    caller = await connect({"server_url": url})
    info = await provider.register_service({"id": f"echo-{mode}", "config": {"visibility": "public"}, "echo": lambda value: value})
    return _Side(mode, [caller, provider], await caller.get_service(info.id))


async def run_modes(url: str, chosen: list[EchoCase], scale: str) -> list[EchoResult]:
    """Stock and hypha_arrow clients against the same server, their echoes interleaved so
    that drift in the machine's load hits both alike."""
    sides = [await _open(url, mode) for mode in ("stock", "hypha_arrow")]
    try:
        results = []
        for case in chosen:
            value = case.build()
            counts = {}
            for side in sides:
                took, received = await _echo_once(side.service, value, side.stock)  # warm-up and correctness check
                _check(value, received, f"{side.mode}/{case.name}")
                repeats = SMALL_CALL_REPEATS[scale] if case.name == "int" else REPEATS[scale]
                counts[side.mode] = repeats if took * repeats < STOCK_REPEATS_CAP_S else max(1, int(STOCK_REPEATS_CAP_S // max(took, 1e-9)))
                del received
            times: dict[str, list[float]] = {side.mode: [] for side in sides}
            for index in range(max(counts.values())):
                for side in sides:
                    if index < counts[side.mode]:
                        times[side.mode].append((await _echo_once(side.service, value, side.stock))[0])
                        if counts[side.mode] <= 20 or (index + 1) % 50 == 0:
                            print(f"  {side.mode:<12} {case.name:<12} {index + 1}/{counts[side.mode]}  {times[side.mode][-1] * 1e3:10.2f} ms", file=sys.stderr, flush=True)
            results += [EchoResult(case.name, mode, statistics.median(times[mode]), counts[mode]) for mode in counts]
            del value
        return results
    finally:
        for side in sides:
            for client in side.clients:
                await disconnect_quietly(client)


TARGETS = (
    ("float64-1e7", ">=", 20.0, "80 MB echo at least 20x faster than stock"),
    ("float64-1e6", ">=", 15.0, "8 MB echo at least 15x faster than stock"),
    ("frame-1e6", ">=", 30.0, "DataFrame 1e6 rows at least 30x faster than stock dict-of-lists"),
    ("records-1e4", ">=", 5.0, "list of 1e4 records at least 5x faster than stock"),
    ("int", ">=", 1 / 1.05, "small int call at most 5% slower than stock"),
)


def evaluate(results: list[EchoResult]) -> list[dict[str, Any]]:
    by = {(r.case, r.mode): r.median_s for r in results}
    outcomes = []
    for case, _, limit, text in TARGETS:
        if (case, "stock") not in by or (case, "hypha_arrow") not in by:
            continue
        speedup = by[case, "stock"] / by[case, "hypha_arrow"]
        outcomes.append({"case": case, "target": text, "speedup": speedup, "limit": limit, "status": "PASS" if speedup >= limit else "MISS"})
    return outcomes


def format_table(results: list[EchoResult]) -> str:
    by = {(r.case, r.mode): r for r in results}
    lines = [f"{'payload':<14}{'stock ms':>12}{'hypha_arrow ms':>16}{'speedup':>10}", "-" * 52]
    for case in dict.fromkeys(r.case for r in results):
        stock, arrow = by.get((case, "stock")), by.get((case, "hypha_arrow"))
        if stock and arrow:
            lines.append(f"{case:<14}{stock.median_s * 1e3:>12.2f}{arrow.median_s * 1e3:>16.2f}{stock.median_s / arrow.median_s:>9.1f}x")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.e2e", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=SCALES, default="full")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    parser.add_argument("--server-url", help="use this server instead of starting a local one")
    args = parser.parse_args(argv)
    chosen = cases(args.scale)
    if args.server_url:
        results = asyncio.run(run_modes(args.server_url, chosen, args.scale))
    else:
        with LocalServer() as server:
            results = asyncio.run(run_modes(server.url, chosen, args.scale))
    outcomes = evaluate(results)
    print(format_table(results))
    print()
    for outcome in outcomes:
        print(f"{outcome['status']}  {outcome['case']}: {outcome['target']}  (measured {outcome['speedup']:.3g}x)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"scale": args.scale, "machine": machine_info(), "results": [asdict(r) for r in results], "targets": outcomes}, indent=2))
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
