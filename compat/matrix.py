"""``python -m compat.matrix``: hypha_arrow's server-backed RPC tests against each hypha-rpc release.

``enable()`` reaches into hypha-rpc's internals, so every release a user may have installed is
tried for real, one fresh venv each, in sequence (the tests already load both cores).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .runner import REPO, add_run_options, fresh_venv, print_table, run_pytest, workdir

RPC_TESTS = (
    "tests/server/test_rpc_transport.py",
    "tests/server/test_rpc_values.py",
    "tests/server/test_rpc_polars.py",
    "tests/server/test_rpc_peers.py",
    "tests/server/test_rpc_faults.py",
    "tests/server/test_rpc_integration.py",
)
"""The RPC tests that start a real Hypha server; their paths move with the test layout."""
QUICK_TESTS = ("tests/server/test_rpc_integration.py",)
RELEASES = ("0.21.40", "0.21.42", "0.21.43", "0.21.44", "0.21.45", "0.21.46", "0.21.47")
"""Every hypha-rpc release on PyPI from 0.21.40 to 0.21.47 (0.21.41 was never published)."""
COLUMNS = ("release", "passed", "failed", "error", "skipped", "seconds", "note")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m compat.matrix", description=__doc__)
    parser.add_argument("--releases", default=",".join(RELEASES), help="comma-separated hypha-rpc versions")
    parser.add_argument("--tests", nargs="+", default=list(RPC_TESTS), help="test paths, relative to the repository")
    parser.add_argument("--quick", action="store_true", help=f"only {' '.join(QUICK_TESTS)}")
    parser.add_argument("--json", type=Path, help="also write the table, with every failing test, here")
    add_run_options(parser, test_timeout=600)
    options = parser.parse_args()
    tests = list(QUICK_TESTS) if options.quick else options.tests
    with workdir(options, "hypha-arrow-matrix-") as folder:
        rows = [_run_release(release, tests, folder, options) for release in options.releases.split(",")]
    print_table(rows, COLUMNS)
    if options.json:
        options.json.write_text(json.dumps({"tests": tests, "rows": rows}, indent=2) + "\n")


def _run_release(release: str, tests: list[str], root: Path, options: argparse.Namespace) -> dict[str, object]:
    folder = root / f"hypha-rpc-{release}"
    folder.mkdir(parents=True, exist_ok=True)
    python = fresh_venv(folder / "venv", release)
    print(f"hypha-rpc {release}: running {' '.join(tests)}", flush=True)
    run = run_pytest(
        python, tests, cwd=REPO, junit=folder / "junit.xml", timeout=options.timeout,
        test_timeout=options.test_timeout, log=folder / "pytest.log",
    )
    return {"release": release, **run.row(), "problems": run.problems()}


if __name__ == "__main__":
    main()
