"""A victim service in a Python process of its own, so that its memory is its own to measure.

``python -m tests.support.service_process URL '{"max_pending_bytes": 268435456}' [--stock]``
connects one client (hypha_arrow with those ``Config`` overrides, or with ``--stock`` a stock
hypha-rpc one, for comparison), registers the public service ``victim`` and prints one JSON
line, ``{"client": "ws/id", "service": "ws/id:victim", "pid": ...}``; then it serves until it
is killed. ``victim(url, overrides)`` runs one for the length of a ``with`` block.

The memory figures it reports are honest: ``rss`` reads ``/proc/self/status`` as it is (a
collection or a trim there would hide the peak being measured); only ``settled_rss`` collects
and trims first, for "what is still alive" comparisons.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import os
import selectors
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypha_arrow.rpc.heap import release_free_memory

SERVICE_ID = "victim"
READY_TIMEOUT = 60.0
"""Seconds for the process to import, connect and register (about 2 s on the CI machine)."""
ROOT = Path(__file__).resolve().parents[2]
"""The repository root: the process runs there so that ``tests`` imports."""


# -- inside the victim process ----------------------------------------------------------------


def _status(*names: str) -> dict[str, int]:
    """Fields of ``/proc/self/status`` in bytes (the kernel writes them in kB)."""
    values: dict[str, int] = {}
    with open("/proc/self/status") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in names:
                values[name] = int(rest.split()[0]) * 1024
    return values


def rss() -> dict[str, int]:
    """Resident bytes now and at the peak since the last ``reset_peak``, untouched."""
    status = _status("VmRSS", "VmHWM")
    return {"rss": status["VmRSS"], "peak": status["VmHWM"]}


def settled_rss() -> int:
    """Resident bytes of what is alive: after a full collection, with the free memory glibc's
    malloc and Arrow's pool keep cached handed back first."""
    gc.collect()
    release_free_memory()
    return _status("VmRSS")["VmRSS"]


def reset_peak() -> int:
    """Restart the peak (VmHWM) from the current RSS; returns it."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")
    return rss()["peak"]


def _size(value: Any) -> dict[str, int]:
    """What a large call delivered: its byte count and a checksum of its contents."""
    data = memoryview(value).cast("B") if not isinstance(value, bytes) else value
    return {"nbytes": len(data), "crc32": zlib.crc32(data)}


def _methods(client: Any) -> dict[str, Any]:
    cache = lambda: client.rpc._object_store.get("message_cache", {})  # noqa: E731 - created on first use
    arrow = getattr(client.rpc, "arrow", None)  # None for a stock victim

    def pending() -> dict[str, Any]:
        """What the receiving side holds: the library's bookkeeping and hypha-rpc's cache itself."""
        held = cache()
        return {
            "messages": None if arrow is None else len(arrow.transfers),
            "bytes": None if arrow is None else arrow.transfers.pending_bytes,
            "cache_keys": len(held),
            "cache_bytes": sum(len(part) for chunks in held.values() for part in chunks.values()),
            "keys": sorted(held),
        }

    def message(key: str) -> dict[str, int] | None:
        """One cached message's chunk count, bytes and checksum (chunks in index order)."""
        chunks = cache().get(key)
        if chunks is None:
            return None
        checksum = 0
        for index in sorted(chunks):
            checksum = zlib.crc32(chunks[index], checksum)
        return {"chunks": len(chunks), "bytes": sum(len(part) for part in chunks.values()), "crc32": checksum}

    return {
        "ping": lambda: "pong",
        "echo": lambda value: value,
        "rss": rss,
        "settled_rss": settled_rss,
        "reset_peak": reset_peak,
        "pending": pending,
        "message": message,
        "size": _size,
    }


async def _serve(url: str, overrides: dict[str, Any], stock: bool) -> None:
    if stock:
        from hypha_rpc import connect_to_server

        client = await connect_to_server({"server_url": url})
    else:
        import hypha_arrow

        client = await hypha_arrow.connect_to_server({"server_url": url}, arrow=hypha_arrow.Config(**overrides))
    info = await client.register_service({"id": SERVICE_ID, "config": {"visibility": "public"}, **_methods(client)})
    ready = {"client": f"{client.rpc._local_workspace}/{client.rpc._client_id}", "service": info.id, "pid": os.getpid()}
    print(json.dumps(ready), flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("overrides", help="Config overrides as a JSON object")
    parser.add_argument("--stock", action="store_true", help="a stock hypha-rpc client instead")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)  # refusals and drops go to the log file
    asyncio.run(_serve(args.url, json.loads(args.overrides), args.stock))


# -- in the test process ---------------------------------------------------------------------


@dataclass(frozen=True)
class Victim:
    client: str
    """``workspace/client_id``: the target of message-cache calls and raw frames."""
    service: str
    pid: int
    log_path: Path

    @property
    def workspace(self) -> str:
        return self.client.split("/")[0]

    def log(self) -> str:
        """What the process wrote to stderr so far (its warnings and errors)."""
        return self.log_path.read_text(errors="replace")


@contextlib.contextmanager
def victim(url: str, overrides: dict[str, Any] | None = None, *, stock: bool = False) -> Iterator[Victim]:
    """A victim process serving through ``url``, killed when the block ends."""
    with tempfile.TemporaryDirectory(prefix="victim-") as scratch:
        log_path = Path(scratch) / "stderr.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", __name__, url, json.dumps(overrides or {}), *(["--stock"] if stock else [])],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=log,
            )
        try:
            ready = json.loads(_first_line(process, READY_TIMEOUT, log_path))
            yield Victim(ready["client"], ready["service"], ready["pid"], log_path)
        finally:
            process.kill()
            process.wait()
            process.stdout.close()


def _first_line(process: subprocess.Popen, timeout: float, log_path: Path) -> str:
    """The process's first line on stdout, within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if selector.select(timeout=0.1):
                line = process.stdout.readline()
                if line:
                    return line.decode()
            if process.poll() is not None:
                break
    raise RuntimeError(f"the victim process printed no ready line (exit code {process.poll()}):\n{log_path.read_text(errors='replace')[-4000:]}")


if __name__ == "__main__":
    main()
