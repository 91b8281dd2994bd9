"""A real Hypha server on 127.0.0.1 for the demo, the end-to-end benchmark and the tests.

It runs ``python -m hypha.server`` (the ``server`` extra installs it) in a child process,
with its scratch files (SQLite) in a temporary folder removed on stop.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from types import TracebackType

READY_TIMEOUT = 60.0

SERVER_PYTHON = "HYPHA_ARROW_SERVER_PYTHON"
"""An interpreter to run the server with instead of this one: the release matrix runs the
clients on an old hypha-rpc in a venv, and the server on the one it was installed with."""


class LocalServer:
    """``with LocalServer() as server: server.url``: started, ready, then stopped by PID."""

    def __init__(self, *, port: int | None = None, extra_args: tuple[str, ...] = (), env: dict[str, str] | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._args = extra_args
        self._env = env or {}
        self._process: subprocess.Popen | None = None
        self._scratch: str | None = None

    def start(self) -> "LocalServer":
        self._scratch = tempfile.mkdtemp(prefix="hypha-server-")
        log = open(os.path.join(self._scratch, "server.log"), "wb")
        self._process = subprocess.Popen(
            [os.environ.get(SERVER_PYTHON, sys.executable), "-m", "hypha.server", "--host", "127.0.0.1", f"--port={self.port}", *self._args],
            env={**os.environ, "TMPDIR": self._scratch, **self._env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"hypha server exited with {self._process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/health/readiness", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"hypha server not ready after {READY_TIMEOUT} s")

    def log_tail(self, lines: int = 40) -> str:
        if not self._scratch:
            return ""
        with open(os.path.join(self._scratch, "server.log"), "rb") as log:
            return b"\n".join(log.read().splitlines()[-lines:]).decode(errors="replace")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
        if self._scratch:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    def __enter__(self) -> "LocalServer":
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
