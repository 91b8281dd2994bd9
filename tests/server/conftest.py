"""The Hypha server every server-backed test talks to."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="session")
def hypha_server() -> Any:
    """The URL of one real Hypha server on 127.0.0.1, shared by the whole test session."""
    from hypha_arrow.tools.local_server import LocalServer

    with LocalServer() as server:
        yield server.url
