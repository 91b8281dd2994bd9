"""End-to-end benchmark through a real local Hypha server: ``python -m benchmarks.e2e [--scale tiny|full] [--runs N]``.

Client B calls an echo service on client A (B -> server -> A -> server -> B), with stock
hypha-rpc clients, with hypha_arrow clients, and with the floor (``benchmarks.floor``: the
hypha_arrow frame's bytes, in hypha_arrow's chunks and pacing, between minimal clients that do
no encoding), in the same run against the same server, their echoes interleaved; medians of
repeated echoes, each echo checked outside the clock. Stock cannot send DataFrames, so its
DataFrame echo sends dict-of-lists and rebuilds the frame on arrival (that work counts for stock);
it skips the 20,000-column frame, whose target holds hypha_arrow against itself on one array.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable

import pandas as pd

import hypha_arrow
from benchmarks.floor import FloorEcho, joined
from benchmarks.payloads import (
    ROUTING_HEADER,
    SCALES,
    data_frame,
    embedding_records,
    float_array,
    records,
    scaled,
    small_arrays,
    wide_array,
    wide_frame,
)
from benchmarks.report import format_outcome, machine_info, outcome_json, write_json
from benchmarks.targets import Outcome, Target
from benchmarks.targets import evaluate as evaluate_targets
from hypha_arrow.framing import encode_message
from hypha_arrow.rpc.client import disconnect_quietly
from hypha_arrow.testing import assert_same
from hypha_arrow.tools.local_server import LocalServer
from hypha_arrow.tools.stock import columns_to_frame, frame_to_columns

DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "e2e.json"
MODES = ("stock", "hypha_arrow", "floor")
REPEATS = {"tiny": 3, "full": 5}
SMALL_CALL_REPEATS = {"tiny": 50, "full": 300}
"""A small call takes about a millisecond: many more repeats for a stable median."""
STOCK_REPEATS_CAP_S = 20.0
"""Stock echoes of the largest payloads take seconds each: repeat them fewer times."""


@dataclass(frozen=True)
class EchoCase:
    name: str
    build: Callable[[], Any]
    stock: bool = True
    """Whether stock runs it: not where one stock echo takes most of a minute and no target needs it."""


@dataclass
class EchoResult:
    case: str
    mode: str
    median_s: float
    repeats: int
    frame_bytes: int
    """The hypha_arrow frame's size for this case (what the floor moves each way), in every mode."""


TimedEcho = Callable[[], Awaitable[float]]
"""One echo of a prepared value: its time in seconds, the echo checked outside the clock."""


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
        EchoCase("embeddings-2e3", arg(embedding_records, 2_000)),
        EchoCase("arrays-5e3", arg(small_arrays, 5_000)),
        # stock's 20,000 dict-of-lists columns: 40.5 s an echo (2026-12-01), against 7.5 s for hypha_arrow
        EchoCase("wide-frame-2e4", arg(wide_frame, 20_000), stock=False),
        EchoCase("wide-array-2e4", arg(wide_array, 20_000)),
    ]


class RpcEcho:
    """A caller and an echo service on two hypha-rpc clients, stock or hypha_arrow."""

    def __init__(self, mode: str, clients: list[Any], service: Any) -> None:
        self.mode = mode
        self._clients = clients
        self._service = service

    @classmethod
    async def open(cls, url: str, mode: str) -> RpcEcho:
        from hypha_rpc import connect_to_server

        connect = connect_to_server if mode == "stock" else hypha_arrow.connect_to_server
        provider = await connect({"server_url": url})
        caller = await connect({"server_url": url})
        info = await provider.register_service({"id": f"echo-{mode}", "config": {"visibility": "public"}, "echo": lambda value: value})
        return cls(mode, [caller, provider], await caller.get_service(info.id))

    def echo_of(self, value: Any) -> TimedEcho:
        """A timed echo of ``value`` (stock's DataFrame conversions included), checked after the clock stops."""
        stock = self.mode == "stock"

        async def echo() -> float:
            started = time.perf_counter()
            if stock and isinstance(value, pd.DataFrame):
                received = columns_to_frame(await self._service.echo(frame_to_columns(value)))
            else:
                received = await self._service.echo(value)
            took = time.perf_counter() - started
            assert_same(value, received, f"{self.mode} echo")
            return took

        return echo

    async def close(self) -> None:
        for client in self._clients:
            await disconnect_quietly(client)


class FloorMode:
    """The floor: the bytes of the hypha_arrow frame of the echo call, moved by ``benchmarks.floor``."""

    mode = "floor"

    def __init__(self, pair: FloorEcho) -> None:
        self._pair = pair
        self.frame_bytes = 0
        """The size of the last message prepared: what the floor moves each way."""

    @classmethod
    async def open(cls, url: str) -> FloorMode:
        return cls(await FloorEcho.connect(url))

    def echo_of(self, value: Any) -> TimedEcho:
        """A timed echo of ``value``'s frame, built (and chunked) before."""
        package = floor_package(value)
        prepared = self._pair.prepare(package)
        self.frame_bytes = len(package)

        async def echo() -> float:
            started = time.perf_counter()
            parts = await self._pair.echo(prepared)
            took = time.perf_counter() - started
            if joined(parts) != package:
                raise AssertionError("floor echo: the bytes that came back differ from those sent")
            return took

        return echo

    async def close(self) -> None:
        await self._pair.close()


def floor_package(value: Any) -> bytes:
    """The frame hypha_arrow sends for an echo call of ``value``, less its real header's ids and
    promise (80 MB: 80,000,816 bytes against the call's 80,000,952 and the reply's 80,000,944)."""
    return encode_message(dict(ROUTING_HEADER), {"args": [value], "with_kwargs": False})


async def run_modes(url: str, chosen: list[EchoCase], scale: str) -> list[EchoResult]:
    """Stock, hypha_arrow and the floor against the same server, their echoes interleaved so
    that drift in the machine's load hits all alike."""
    echoes: list[RpcEcho | FloorMode] = [await RpcEcho.open(url, "stock"), await RpcEcho.open(url, "hypha_arrow"), await FloorMode.open(url)]
    try:
        results = []
        for case in chosen:
            results += await _run_case(case, echoes, scale)
        return results
    finally:
        for echo in echoes:
            await echo.close()


async def _run_case(case: EchoCase, echoes: list[RpcEcho | FloorMode], scale: str) -> list[EchoResult]:
    value = case.build()
    timed = {echo.mode: echo.echo_of(value) for echo in echoes if case.stock or echo.mode != "stock"}
    del value
    frame_bytes = next(echo.frame_bytes for echo in echoes if isinstance(echo, FloorMode))
    counts = {}
    for mode, echo in timed.items():
        took = await echo()  # the warm-up
        repeats = SMALL_CALL_REPEATS[scale] if case.name == "int" else REPEATS[scale]
        counts[mode] = repeats if took * repeats < STOCK_REPEATS_CAP_S else max(1, int(STOCK_REPEATS_CAP_S // took))
    times: dict[str, list[float]] = {mode: [] for mode in timed}
    for index in range(max(counts.values())):
        for mode, echo in timed.items():
            if index < counts[mode]:
                times[mode].append(await echo())
                if counts[mode] <= 20 or (index + 1) % 50 == 0:
                    print(f"  {mode:<12} {case.name:<15} {index + 1}/{counts[mode]}  {times[mode][-1] * 1e3:10.2f} ms", file=sys.stderr, flush=True)
    return [EchoResult(case.name, mode, statistics.median(times[mode]), counts[mode], frame_bytes) for mode in timed]


Medians = dict[tuple[str, str], float]
"""(case, mode) -> median echo time in seconds."""


def _ratio(case: str, mode: str, reference_case: str, reference_mode: str) -> Callable[[Medians], float]:
    """Median echo time of ``reference`` over that of (``case``, ``mode``): above 1 when it is faster."""
    return lambda medians: medians[reference_case, reference_mode] / medians[case, mode]


def _time_ratio(case: str, mode: str, reference_case: str, reference_mode: str) -> Callable[[Medians], float]:
    """Median echo time of (``case``, ``mode``) as a multiple of ``reference``'s."""
    return lambda medians: medians[case, mode] / medians[reference_case, reference_mode]


TARGETS = (
    Target("float64-1e7 vs floor", "80 MB echo within 1.3x of the floor's time", _time_ratio("float64-1e7", "hypha_arrow", "float64-1e7", "floor"), "<=", 1.3),
    Target("float64-1e7", "80 MB echo at least 20x faster than stock", _ratio("float64-1e7", "hypha_arrow", "float64-1e7", "stock"), ">=", 20),
    Target("float64-1e6", "8 MB echo at least 15x faster than stock", _ratio("float64-1e6", "hypha_arrow", "float64-1e6", "stock"), ">=", 15),
    Target("frame-1e6", "DataFrame 1e6 rows at least 30x faster than stock dict-of-lists", _ratio("frame-1e6", "hypha_arrow", "frame-1e6", "stock"), ">=", 30),
    Target("records-1e4", "list of 1e4 records at least 5x faster than stock", _ratio("records-1e4", "hypha_arrow", "records-1e4", "stock"), ">=", 5),
    Target("int", "small int call at most 5% slower than stock (time ratio)", _time_ratio("int", "hypha_arrow", "int", "stock"), "<=", 1.05),
    Target("embeddings-2e3", "2000 records with a 128-float embedding at most 1.1x stock's time", _time_ratio("embeddings-2e3", "hypha_arrow", "embeddings-2e3", "stock"), "<=", 1.1),
    Target("arrays-5e3", "5000 arrays of 1 KB at most 1.1x stock's time", _time_ratio("arrays-5e3", "hypha_arrow", "arrays-5e3", "stock"), "<=", 1.1),
    Target("wide-frame-2e4", "200 x 20,000 DataFrame within 3x of the same bytes as one array", _time_ratio("wide-frame-2e4", "hypha_arrow", "wide-array-2e4", "hypha_arrow"), "<=", 3),
)


def outcomes(results: list[EchoResult]) -> list[Outcome]:
    return evaluate_targets({(r.case, r.mode): r.median_s for r in results}, TARGETS)


def evaluate(results: list[EchoResult]) -> list[dict[str, Any]]:
    """Each target's outcome as plain data; ``case``, ``target`` and ``speedup`` (the measured
    figure) are the keys the benchmarks notebook reads."""
    return [{**outcome_json(o), "case": o.target.name, "target": o.target.description, "speedup": o.measured} for o in outcomes(results) if o.measured is not None]


def format_table(results: list[EchoResult]) -> str:
    """One row per case: each mode's median, hypha_arrow against stock, each against the floor."""
    by = {(r.case, r.mode): r.median_s for r in results}
    frame_bytes = {r.case: r.frame_bytes for r in results}
    lines = [f"{'payload':<16}{'MB':>8}{'stock ms':>12}{'hypha_arrow ms':>16}{'floor ms':>10}{'vs stock':>10}{'arrow/floor':>13}{'stock/floor':>13}", "-" * 98]
    for case in dict.fromkeys(r.case for r in results):
        stock, arrow, floor = (by.get((case, mode)) for mode in MODES)
        size = f"{frame_bytes[case] / 1e6:.3g}"
        cells = [_ms(stock), _ms(arrow), _ms(floor), _x(stock, arrow), _x(arrow, floor), _x(stock, floor)]
        lines.append(f"{case:<16}{size:>8}" + "".join(f"{cell:>{width}}" for cell, width in zip(cells, (12, 16, 10, 10, 13, 13))))
    return "\n".join(lines)


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e3:.2f}"


def _x(numerator: float | None, denominator: float | None) -> str:
    return "-" if numerator is None or denominator is None else f"{numerator / denominator:.2f}x"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.e2e", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=SCALES, default="full")
    parser.add_argument("--runs", type=int, default=1, help="whole runs one after another, each with its own verdicts (default 1)")
    parser.add_argument("--only", nargs="+", metavar="CASE", help="run these cases only")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    parser.add_argument("--server-url", help="use this server instead of starting a local one")
    args = parser.parse_args(argv)
    chosen = [case for case in cases(args.scale) if not args.only or case.name in args.only]
    if args.server_url:
        runs = [asyncio.run(run_modes(args.server_url, chosen, args.scale)) for _ in range(args.runs)]
    else:
        with LocalServer() as server:
            runs = [asyncio.run(run_modes(server.url, chosen, args.scale)) for _ in range(args.runs)]
    record_runs = []
    for number, results in enumerate(runs, 1):
        run_outcomes = outcomes(results)
        print(f"run {number} of {len(runs)}\n{format_table(results)}\n")
        print("\n".join(format_outcome(outcome) for outcome in run_outcomes) + "\n")
        record_runs.append({"results": [asdict(r) for r in results], "targets": [outcome_json(o) for o in run_outcomes]})
    if len(runs) > 1:
        print(summary([outcomes(results) for results in runs]))
    record = {"scale": args.scale, "machine": machine_info(), "floor": FloorMode.__doc__, "runs": record_runs}
    write_json(record, args.json)
    print(f"\nwrote {args.json}")
    return 0


def summary(per_run: list[list[Outcome]]) -> str:
    """Each target's figure in every run, and in how many it passed (targets never run left out)."""
    lines = ["every run:"]
    for index, outcome in enumerate(per_run[0]):
        row = [run[index] for run in per_run]
        if all(o.measured is None for o in row):
            continue
        figures = ", ".join("-" if o.measured is None else f"{o.measured:.3g}" for o in row)
        passed = sum(o.status == "PASS" for o in row)
        lines.append(f"  {outcome.target.name}: {outcome.target.op} {outcome.target.limit:.3g}: {figures}  (PASS in {passed} of {len(row)})")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
