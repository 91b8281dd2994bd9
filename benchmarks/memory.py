"""Peak memory of a large echo between two processes: ``python -m benchmarks.memory [--mib N]``.

A service process and a caller process (both hypha_arrow clients) echo one payload of N MiB
through a local Hypha server; each reports its peak resident memory (``ru_maxrss``),
interpreter and libraries included, as a multiple of the payload against the targets, and
the caller how long the echo took. The caller shows the
echo's progress on stderr (``hypha_arrow.progress`` driving a tqdm bar).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import resource
import subprocess
import sys
import time

import numpy as np
from tqdm import tqdm

import hypha_arrow
from hypha_arrow.tools.local_server import LocalServer


CHECK_BLOCK = 64 << 20
"""Bytes compared at a time: ``np.array_equal`` on the whole payload would build a boolean
array as large as it, and that would be the peak measured."""


def same_bytes(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    x, y = a.reshape(-1), b.reshape(-1)
    return all(np.array_equal(x[i : i + CHECK_BLOCK], y[i : i + CHECK_BLOCK]) for i in range(0, x.size, CHECK_BLOCK))


TARGETS = {"caller": 2.5, "service": 2.0}
"""Peak RSS at most this many times the payload (issue 14)."""


def reported_peak(line: str) -> float:
    return float(re.search(r"peak RSS (\d+) MB", line).group(1))


def verdict(role: str, peak: float, mib: int) -> str:
    ratio, limit = peak / mib, TARGETS[role]
    return f"{'PASS' if ratio <= limit else 'MISS'}  {role}: peak RSS {ratio:.2f}x the payload, at most {limit:g}x"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def serve(url: str) -> None:
    client = await hypha_arrow.connect_to_server({"server_url": url})
    info = await client.register_service({"id": "echo", "config": {"visibility": "public"}, "echo": lambda value: value})
    print(info.id, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # until the caller is done
    print(f"service peak RSS {peak_mb():.0f} MB", flush=True)
    await client.disconnect()


async def call(url: str, service_id: str, size: int) -> None:
    client = await hypha_arrow.connect_to_server({"server_url": url})
    service = await client.get_service(service_id)
    payload = np.zeros(size, dtype=np.uint8)
    payload[::4096] = 1  # touch every page: the payload is resident before measuring
    before = peak_mb()
    started = time.perf_counter()
    with tqdm(desc="echo, sent + received", unit="B", unit_scale=True, unit_divisor=1024) as bar, hypha_arrow.progress(bar):
        echoed = await service.echo(payload)
    took = time.perf_counter() - started
    assert same_bytes(echoed, payload), "the echo differs from what was sent"
    del echoed
    assert await service.echo(1) == 1, "the connection did not survive"
    print(f"caller: {size / 2**20:.0f} MiB echo in {took:.2f} s; peak RSS {peak_mb():.0f} MB (before the echo {before:.0f} MB)", flush=True)
    await client.disconnect()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory", description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024, help="payload size in MiB (default 1024)")
    parser.add_argument("--role", choices=("serve", "call"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--service", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.role == "serve":
        asyncio.run(serve(args.url))
        return 0
    if args.role == "call":
        asyncio.run(call(args.url, args.service, args.mib * 2**20))
        return 0
    with LocalServer() as server:
        me = [sys.executable, "-m", "benchmarks.memory", "--url", server.url, "--mib", str(args.mib)]
        service = subprocess.Popen([*me, "--role", "serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            service_id = service.stdout.readline().strip()
            caller = subprocess.run([*me, "--role", "call", "--service", service_id], stdout=subprocess.PIPE, text=True, timeout=1800)  # its bar and errors: on stderr
            print(caller.stdout.strip())
            service.stdin.write("done\n")
            service.stdin.flush()
            service_line = service.stdout.readline().strip()
            print(service_line)
            service.wait(timeout=60)
            if caller.returncode == 0:
                for role, line in (("caller", caller.stdout), ("service", service_line)):
                    print(verdict(role, reported_peak(line), args.mib))
            return caller.returncode
        finally:
            if service.poll() is None:
                service.kill()


if __name__ == "__main__":
    sys.exit(main())
