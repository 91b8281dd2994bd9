"""Small calls to a client busy with a large echo: ``python -m benchmarks.responsiveness [--mib N]``.

A service process echoes one payload of N MiB for a caller process, through a local Hypha
server, while this process calls a ``ping`` method of the same service every ``--interval-ms``
and times each round trip: idle first, then for as long as the echo runs. Stock hypha-rpc
clients are measured the same way, in the same run. What is reported is the p50, p99 and
largest round trip of the pings during the echo: a client moving a large message must keep
serving everyone else.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.report import machine_info
from hypha_arrow.tools.local_server import LocalServer

MODES = ("hypha_arrow", "stock")
ECHO_MARK = "echo seconds "
IDLE_S = 2.0
TARGET_P99_MS = 100.0
DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "responsiveness.json"


def _connect(mode: str) -> Any:
    if mode == "stock":
        from hypha_rpc import connect_to_server

        return connect_to_server
    import hypha_arrow

    return hypha_arrow.connect_to_server


async def serve(url: str, mode: str) -> None:
    client = await _connect(mode)({"server_url": url})
    info = await client.register_service(
        {"id": f"busy-{mode}", "config": {"visibility": "public"}, "echo": lambda value: value, "ping": lambda: 1}
    )
    print(info.id, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # until told to stop
    await client.disconnect()


async def call(url: str, service_id: str, mode: str, size: int) -> None:
    client = await _connect(mode)({"server_url": url})
    service = await client.get_service(service_id)
    payload = np.zeros(size, dtype=np.uint8)
    payload[::4096] = 1  # resident before the clock starts
    print("ready", flush=True)
    started = time.perf_counter()
    echoed = await service.echo(payload)
    took = time.perf_counter() - started
    if not np.array_equal(echoed, payload):
        raise SystemExit("the echo differs from what was sent")
    print(f"{ECHO_MARK}{took:.3f}", flush=True)
    await client.disconnect()


@dataclass
class Pings:
    count: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    timeouts: int
    """Pings that got no answer within the client's method timeout (counted at the time they waited)."""

    @classmethod
    def of(cls, times: list[float], timeouts: int) -> Pings:
        ordered = sorted(times)
        p99 = ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]
        return cls(len(ordered), statistics.median(ordered) * 1e3, p99 * 1e3, ordered[-1] * 1e3, timeouts)


@dataclass
class ModeResult:
    mode: str
    mib: int
    echo_s: float
    idle: Pings
    busy: Pings
    failed: bool = False
    """The echo did not complete (the pings are those made while it was tried)."""


async def _echo_seconds(output: asyncio.StreamReader) -> float | None:
    """The caller's echo time, from the line it prints when done; None if it ended without one
    (stock hypha-rpc lost its connection: its unpaced chunks exceed the server's rate limit)."""
    while line := (await output.readline()).decode():
        if line.startswith(ECHO_MARK):
            return float(line[len(ECHO_MARK) :])
    return None


async def _ping_until(service: Any, interval: float, done: asyncio.Future | None, until: float | None = None) -> Pings:
    """Ping on a fixed schedule (a late ping is not made up for) until ``done`` or ``until``."""
    times: list[float] = []
    timeouts = 0
    next_at = time.perf_counter()
    while not (done is not None and done.done()) and not (until is not None and time.perf_counter() >= until):
        started = time.perf_counter()
        try:
            if await service.ping() != 1:
                raise AssertionError("ping answered wrongly")
        except TimeoutError:  # a stock client busy with a large message may not answer at all
            timeouts += 1
        times.append(time.perf_counter() - started)
        next_at = max(next_at + interval, time.perf_counter())
        await asyncio.sleep(next_at - time.perf_counter())
    return Pings.of(times, timeouts)


async def _measure(url: str, mode: str, mib: int, interval: float) -> ModeResult:
    me = [sys.executable, "-m", "benchmarks.responsiveness", "--url", url, "--mode", mode, "--mib", str(mib)]
    service = subprocess.Popen([*me, "--role", "serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    caller = None
    pinger = await _connect(mode)({"server_url": url})
    try:
        service_id = await asyncio.to_thread(service.stdout.readline)
        remote = await pinger.get_service(service_id.strip())
        idle = await _ping_until(remote, interval, None, time.perf_counter() + IDLE_S)
        caller = await asyncio.create_subprocess_exec(*me, "--role", "call", "--service", service_id.strip(), stdout=asyncio.subprocess.PIPE)
        if (await caller.stdout.readline()).strip() != b"ready":
            raise RuntimeError(f"the {mode} caller did not start")
        echo_done = asyncio.ensure_future(_echo_seconds(caller.stdout))
        busy = await _ping_until(remote, interval, echo_done)
        echo_s = await echo_done
        failed = await caller.wait() != 0 or echo_s is None
        return ModeResult(mode, mib, float("nan") if echo_s is None else echo_s, idle, busy, failed)
    finally:
        await pinger.disconnect()
        if caller is not None and caller.returncode is None:
            caller.kill()
        service.stdin.write("done\n")
        service.stdin.flush()
        try:
            service.wait(timeout=30)
        except subprocess.TimeoutExpired:
            service.kill()


def format_results(results: list[ModeResult]) -> str:
    lines = [f"{'mode':<12}{'MiB':>6}{'echo s':>9}{'idle p50':>10}{'idle p99':>10}{'busy p50':>10}{'busy p99':>10}{'busy max':>10}{'pings':>7}{'timeouts':>9}", "-" * 93]
    for r in results:
        lines.append(
            f"{r.mode + (' (failed)' if r.failed else ''):<12}{r.mib:>6}{r.echo_s:>9.2f}{r.idle.p50_ms:>10.1f}{r.idle.p99_ms:>10.1f}"
            f"{r.busy.p50_ms:>10.1f}{r.busy.p99_ms:>10.1f}{r.busy.max_ms:>10.1f}{r.busy.count:>7}{r.busy.timeouts:>9}"
        )
    return "\n".join(lines)


def verdict(result: ModeResult) -> str:
    status = "PASS" if result.busy.p99_ms <= TARGET_P99_MS and not result.failed else "MISS"
    if result.failed:
        return f"{status}  {result.mode}: the {result.mib} MiB echo failed; p99 of pings while it was tried {result.busy.p99_ms:.1f} ms"
    return f"{status}  {result.mode}: p99 of pings during a {result.mib} MiB echo <= {TARGET_P99_MS:g} ms  (measured {result.busy.p99_ms:.1f} ms)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.responsiveness", description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024, help="payload of the echo in MiB (default 1024)")
    parser.add_argument("--stock-mib", type=int, help="payload for stock clients (default: --mib)")
    parser.add_argument("--interval-ms", type=float, default=10.0, help="time between pings (default 10)")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    parser.add_argument("--role", choices=("serve", "call"), help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--service", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.role == "serve":
        asyncio.run(serve(args.url, args.mode))
        return 0
    if args.role == "call":
        asyncio.run(call(args.url, args.service, args.mode, args.mib << 20))
        return 0
    results = []
    with LocalServer() as server:
        for mode in args.modes:
            mib = args.stock_mib or args.mib if mode == "stock" else args.mib
            results.append(asyncio.run(_measure(server.url, mode, mib, args.interval_ms / 1e3)))
            print(f"  {mode}: {mib} MiB echo in {results[-1].echo_s:.2f} s", file=sys.stderr, flush=True)
    print(format_results(results))
    print()
    for result in results:
        print(verdict(result))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"machine": machine_info(), "interval_ms": args.interval_ms, "results": [asdict(r) for r in results]}, indent=2))
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
