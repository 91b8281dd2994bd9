"""The ``hypha-arrow`` command run as a user runs it: a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys


def run_cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hypha_arrow.tools.cli", *args], input=stdin, capture_output=True, timeout=300)
