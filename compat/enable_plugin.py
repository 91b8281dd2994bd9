"""``pytest -p compat.enable_plugin``: ``hypha_arrow.enable()`` for the whole test process.

Loaded before collection, so every connection a foreign test suite makes goes through the
hypha_arrow integration without a line of that suite changing.
"""

from __future__ import annotations

import pytest

import hypha_arrow


def pytest_configure(config: pytest.Config) -> None:
    hypha_arrow.enable()


def pytest_report_header(config: pytest.Config) -> str:
    return "hypha_arrow.enable() is on for every connection"
