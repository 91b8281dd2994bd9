"""JavaScript end-to-end benchmark: ``python -m benchmarks.js_e2e [--scale tiny|full] [--repeats N]``.

A Python process (this one) starts a local Hypha server and two services: one on a stock
hypha-rpc client, one on a hypha_arrow client. A Node process (``js/bench/e2e.mjs``) connects
a stock hypha-rpc JS client to the stock service (the path users have today: stock Python and
stock JS, ``ws`` with its default permessage-deflate) and a hypha-arrow JS client to the
hypha_arrow service, and times the calls, interleaved, medians after a warm-up:

- "to JS": a service method returns the payload (float64 arrays, a DataFrame, records);
- "to Python": JS sends back what it received, the service keeps it and returns a small int;
- a small call (``echo(42)``), and its JavaScript side alone: stock hypha-rpc JS with deflate off
  and hypha-arrow JS, both calling the stock service (the modes stock_no_deflate, hypha_arrow_js_only);
- the floor: raw bytes of the hypha_arrow frame's size through the same server, with no codec.

Every value that arrived (in JS and in Python) is checked against a digest of the payload,
outside the clock, for every timed call. Stock JS cannot receive a DataFrame: its service sends
dict-of-lists. Stock JS gets hypha-rpc's raw ndarray form; its time includes making a
Float64Array of it, what a user must do before reading it.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import statistics
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

import hypha_arrow
from benchmarks.e2e import REPEATS, SMALL_CALL_REPEATS, STOCK_REPEATS_CAP_S
from benchmarks.payloads import SCALES, data_frame, float_array, records, scaled
from benchmarks.report import format_outcome, machine_info, outcome_json, write_json
from benchmarks.targets import Target, evaluate
from hypha_arrow.rpc.client import disconnect_quietly
from hypha_arrow.tools.local_server import LocalServer
from hypha_arrow.tools.stock import frame_to_columns

REPO_ROOT = Path(__file__).resolve().parents[1]
CLIENT_SCRIPT = REPO_ROOT / "js" / "bench" / "e2e.mjs"
DEFAULT_JSON = REPO_ROOT / "docs" / "results" / "js_e2e.json"
NODE = os.environ.get("HYPHA_ARROW_NODE", "node")
MODES = ("stock", "hypha_arrow", "floor")
"""The table's columns; the small call also has stock_no_deflate and hypha_arrow_js_only."""
METHOD_TIMEOUT_S = 120
"""Stock's 1e6-row dict-of-lists takes seconds each way; hypha-rpc's default of 30 s is close."""


@dataclass(frozen=True)
class Case:
    """One timed call: ``payload`` names the value, ``direction`` is "to_js", "to_python" or "call"."""

    payload: str
    direction: str
    build: Callable[[], Any] | None = None


def cases(scale: str) -> list[Case]:
    """The issue's payloads, each to JS and then back (JS sends what it received)."""
    def arg(builder: Callable[[int], Any], count: int) -> Callable[[], Any]:
        return lambda: builder(scaled(count, scale)).extra["args"][0]

    chosen = [Case("small-call", "call")]
    for payload, build in (
        ("float64-1e6", arg(float_array, 1_000_000)),
        ("float64-1e7", arg(float_array, 10_000_000)),
        ("frame-1e6", arg(data_frame, 1_000_000)),
        ("records-1e4", arg(records, 10_000)),
    ):
        chosen += [Case(payload, "to_js", build), Case(payload, "to_python")]
    return chosen


# The digest both languages compute (js/bench/e2e.mjs has its twin in JS): sha256 over each
# column's name, then its numbers as float64 little-endian bytes or its strings joined by "\n".
# Numbers as float64 because JS sends integral floats as msgpack ints and int64 arrives as BigInt.


def columns_of(value: Any) -> list[tuple[str, Any]] | None:
    """The value as named columns, in order; None for raw bytes."""
    if isinstance(value, (bytes, bytearray, memoryview)) or (isinstance(value, np.ndarray) and value.dtype == np.uint8):
        return None
    if isinstance(value, np.ndarray):
        return [("", value)]
    if isinstance(value, pd.DataFrame):
        return [(str(name), value[name].to_numpy()) for name in value.columns]
    if isinstance(value, dict):
        return [(str(name), column) for name, column in value.items() if name != "_rtype"]
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return [(str(name), [row[name] for row in value]) for name in value[0]]
    raise TypeError(f"no digest for a {type(value).__name__}")


def digest(value: Any) -> str:
    hasher = hashlib.sha256()
    columns = columns_of(value)
    if columns is None:
        hasher.update(memoryview(value).cast("B"))
        return hasher.hexdigest()
    for name, column in columns:
        hasher.update(name.encode() + b"\0")
        first = column[0] if len(column) else 0
        if isinstance(first, str):
            hasher.update("\n".join(column).encode())
        else:
            hasher.update(np.asarray(column, dtype="<f8").tobytes())
        hasher.update(b"\0")
    return hasher.hexdigest()


class Bench:
    """The payload of the case being run, in each service's form, and what JS last sent."""

    def __init__(self, chosen: list[Case]) -> None:
        self._builders = {case.payload: case.build for case in chosen if case.build}
        self.values: dict[str, Any] = {}
        self.received: Any = None

    def prepare(self, payload: str) -> dict[str, Any]:
        """Build ``payload`` (dropping the previous one); what JS must check what it gets against."""
        self.values = {}
        value = self._builders[payload]()
        self.values = {"hypha_arrow": value, "stock": frame_to_columns(value) if isinstance(value, pd.DataFrame) else value}
        size = len(hypha_arrow.encode(value))
        self.values["floor"] = np.random.default_rng(size).bytes(size)
        return {"digest": digest(value), "floor_digest": digest(self.values["floor"]), "frame_bytes": size}

    def take(self, value: Any) -> int:
        """Keep what JS sent; the digest waits for ``received_digest`` so it is not timed."""
        self.received = value
        return 1

    def received_digest(self) -> str:
        received, self.received = self.received, None
        return digest(received)

    def service(self, mode: str) -> dict[str, Any]:
        return {
            "id": f"js-bench-{mode.replace('_', '-')}",
            "config": {"visibility": "public"},
            "prepare": self.prepare,
            "get": lambda: self.values["stock" if mode == "stock" else "hypha_arrow"],
            "get_floor": lambda: self.values["floor"],
            "take": self.take,
            "received_digest": self.received_digest,
            "echo": lambda value: value,
        }


@dataclass
class Result:
    case: str
    direction: str
    mode: str
    median_ms: float
    repeats: int
    verified: int
    """Calls whose value was checked against the payload's digest (warm-up included)."""


async def run(url: str, chosen: list[Case], scale: str, repeats: int | None) -> tuple[list[Result], dict[str, Any]]:
    """The Node client's results, and its report (``node``: versions; ``frame_bytes``: by payload)."""
    from hypha_rpc import connect_to_server

    bench = Bench(chosen)
    stock = await connect_to_server({"server_url": url, "method_timeout": METHOD_TIMEOUT_S})
    arrow = await hypha_arrow.connect_to_server({"server_url": url, "method_timeout": METHOD_TIMEOUT_S})
    try:
        services = {
            "stock": (await stock.register_service(bench.service("stock"))).id,
            "hypha_arrow": (await arrow.register_service(bench.service("hypha_arrow"))).id,
        }
        plan = {
            "url": url,
            "services": services,
            "method_timeout": METHOD_TIMEOUT_S,
            "cases": [{"payload": c.payload, "direction": c.direction} for c in chosen],
            "repeats": repeats or REPEATS[scale],
            "small_call_repeats": repeats or SMALL_CALL_REPEATS[scale],
            "repeats_cap_s": STOCK_REPEATS_CAP_S,
        }
        report = await _run_client(plan)
    finally:
        await disconnect_quietly(stock)
        await disconnect_quietly(arrow)
    results = [
        Result(r["payload"], r["direction"], r["mode"], statistics.median(r["times_ms"]), len(r["times_ms"]), r["verified"])
        for r in report["results"]
    ]
    return results, report


async def _run_client(plan: dict[str, Any]) -> dict[str, Any]:
    """Run the Node client with ``plan`` on its stdin; it writes its report to a file we name."""
    with tempfile.TemporaryDirectory(prefix="js-bench-") as folder:
        report = Path(folder) / "report.json"
        process = await asyncio.create_subprocess_exec(NODE, str(CLIENT_SCRIPT), stdin=asyncio.subprocess.PIPE, cwd=CLIENT_SCRIPT.parent)
        await process.communicate(json.dumps({**plan, "report": str(report)}).encode())
        if process.returncode != 0:
            raise RuntimeError(f"the Node client exited with {process.returncode}")
        return json.loads(report.read_text())


def _ratio(payload: str, direction: str, numerator: str, denominator: str) -> Callable[[dict], float]:
    return lambda medians: medians[payload, direction, numerator] / medians[payload, direction, denominator]


TARGETS = (
    Target("float64-1e7 to JS", "80 MB array to JS at least 10x faster than stock", _ratio("float64-1e7", "to_js", "stock", "hypha_arrow"), ">=", 10),
    Target("frame-1e6 to JS", "DataFrame 1e6 rows to JS at least 20x faster than stock dict-of-lists", _ratio("frame-1e6", "to_js", "stock", "hypha_arrow"), ">=", 20),
    Target("small-call", "small call at most 5% slower than stock", _ratio("small-call", "call", "hypha_arrow", "stock"), "<=", 1.05),
    Target(
        "small-call, JS side",
        "the same, JS side alone: both clients calling the stock service, deflate off",
        _ratio("small-call", "call", "hypha_arrow_js_only", "stock_no_deflate"),
        "<=",
        1.05,
    ),
)


def format_table(results: list[Result], sizes: dict[str, int]) -> str:
    """Markdown: one row per case, medians in ms, speedup = stock / hypha-arrow."""
    by = {(r.case, r.direction, r.mode): r for r in results}
    lines = [
        "| case | MB | stock JS + stock Python ms | hypha-arrow JS + Python ms | speedup | floor (raw bytes) ms |",
        "|---|---|---|---|---|---|",
    ]
    for case, direction in dict.fromkeys((r.case, r.direction) for r in results):
        stock, arrow, floor = (by.get((case, direction, mode)) for mode in MODES)
        size = f"{sizes[case] / 1e6:.3g}" if case in sizes else "-"
        name = case if direction == "call" else f"{case} {direction.replace('_', ' ')}"
        lines.append(
            f"| {name} | {size} | {stock.median_ms:.2f} | {arrow.median_ms:.2f} | {stock.median_ms / arrow.median_ms:.1f}x | "
            f"{'-' if floor is None else f'{floor.median_ms:.2f}'} |"
        )
    stock, arrow = by.get(("small-call", "call", "stock_no_deflate")), by.get(("small-call", "call", "hypha_arrow_js_only"))
    if stock and arrow:
        lines.append(
            f"\nSmall call, JS side alone (both to the stock Python service, deflate off): stock {stock.median_ms:.3f} ms, "
            f"hypha-arrow {arrow.median_ms:.3f} ms ({arrow.median_ms / stock.median_ms:.3f}x)"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.js_e2e", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=SCALES, default="full", help="tiny: 1/100 of the sizes, for CI (seconds)")
    parser.add_argument("--repeats", type=int, help="timed calls per case and mode (default: 5, 300 for the small call; 3 and 50 at tiny)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args(argv)
    chosen = cases(args.scale)
    with LocalServer() as server:
        results, report = asyncio.run(run(server.url, chosen, args.scale, args.repeats))
    medians = {(r.case, r.direction, r.mode): r.median_ms for r in results}
    outcomes = evaluate(medians, TARGETS)
    sizes = report["frame_bytes"]
    print(format_table(results, sizes))
    print()
    for outcome in outcomes:
        print(format_outcome(outcome))
    record = {
        "scale": args.scale,
        "machine": {**machine_info(), "node": report["node"]},
        "stock": "stock hypha-rpc JS (ws, permessage-deflate on as by default) to a stock hypha-rpc Python service",
        "hypha_arrow": "hypha-arrow JS connectToServer to a hypha_arrow Python service",
        "floor": "hypha-arrow JS and Python, raw bytes of the hypha_arrow frame's size (no codec work)",
        "frame_bytes": sizes,
        "results": [asdict(r) for r in results],
        "targets": [outcome_json(outcome) for outcome in outcomes],
    }
    write_json(record, args.json)
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
