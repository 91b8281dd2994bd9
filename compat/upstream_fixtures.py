"""``pytest -p compat.upstream_fixtures``: what hypha-rpc's tests expect from their repository's conftest.

The sdist ships ``tests/`` without its ``__init__.py`` (``WS_PORT``, ``WS_SERVER_URL``) and
without the conftest that starts the server. ``compat.upstream`` writes an ``__init__.py``
importing the two names from here, and these fixtures provide the server through
``hypha_arrow.tools.local_server``. Upstream's conftest starts its session server and its
restartable one on the same port (a restartable test after the session server started
restarts nothing); here both share one server, so a restart is a real restart.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import hypha_rpc
import pytest

from hypha_arrow.tools.local_server import LocalServer, free_port

WS_PORT = free_port()
WS_SERVER_URL = f"http://127.0.0.1:{WS_PORT}"


class SharedServer:
    """One server for every test, with the interface upstream's restartable tests use."""

    port = WS_PORT

    def __init__(self) -> None:
        self._server = LocalServer(port=WS_PORT, env={"JWT_SECRET": str(uuid.uuid4())})  # tokens survive restarts
        self._running = False

    def ensure_running(self) -> None:
        if not self._running:
            self._server.start()
            self._running = True

    def stop(self) -> None:
        self._server.stop()
        self._running = False

    def restart(self, stop_delay: float = 0.1, start_timeout: float = 10) -> None:
        """``start_timeout`` is accepted for upstream's calls; LocalServer has its own readiness limit."""
        self.stop()
        time.sleep(stop_delay)
        self.ensure_running()


_SERVER = SharedServer()


@pytest.fixture
def websocket_server() -> Iterator[None]:
    _SERVER.ensure_running()
    yield


@pytest.fixture
def restartable_server() -> Iterator[SharedServer]:
    _SERVER.ensure_running()
    yield _SERVER


def pytest_unconfigure(config: pytest.Config) -> None:
    _SERVER.stop()


def pytest_report_header(config: pytest.Config) -> str:
    return f"hypha-rpc {hypha_rpc.__version__} from {hypha_rpc.__file__}; server {WS_SERVER_URL}"
