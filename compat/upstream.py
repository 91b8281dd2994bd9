"""``python -m compat.upstream``: hypha-rpc's own test suite, stock and then under ``hypha_arrow.enable()``.

hypha-rpc's tests know its behaviour far better than ours do. Run unchanged from the release's
sdist, once stock and once with ``enable()`` process-wide: every test that passes stock but not
under ``enable()`` is something the integration changed for ordinary hypha-rpc users.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tarfile
from pathlib import Path, PurePosixPath

from .runner import PytestRun, add_run_options, fresh_venv, print_table, run_pytest, run_quietly, workdir

LEFT_OUT = {
    "tests/test_server_compatibility.py": "connects to the public server hypha.aicell.io",
    "tests/test_mcp.py": "needs fastmcp==2.11.2, which cannot be installed beside the global env (jsonschema-path conflict)",
    "tests/test_utils.py::test_launch_external_services": "runs tests/example_service_script.py, which the sdist does not ship",
}
"""Test files (``--ignore``) and test ids (``--deselect``) that cannot run here, with the reason."""
TEST_PACKAGES = ("pytest-asyncio", "openai", "simpervisor", "sse-starlette", "aiortc", "PyNaCl")
"""What their tests import beyond the global env: asyncio tests, test_utils (OpenAI client,
``hypha_rpc.utils.launch`` and ``serve``), WebRTC, encryption."""
TESTS_INIT = '''"""Written by compat.upstream: the sdist ships tests/ without this module."""

from compat.upstream_fixtures import WS_PORT, WS_SERVER_URL
'''
COLUMNS = ("run", "passed", "failed", "error", "skipped", "seconds", "note")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m compat.upstream", description=__doc__)
    parser.add_argument("--release", default="0.21.47", help="hypha-rpc version whose sdist tests to run")
    parser.add_argument("--json", type=Path, help="also write the counts and the regressions here")
    add_run_options(parser, test_timeout=60)
    options = parser.parse_args()
    with workdir(options, "hypha-arrow-upstream-") as root:
        folder = root / f"hypha-rpc-{options.release}"
        folder.mkdir(parents=True, exist_ok=True)
        _unpack_tests(options.release, folder)
        python = fresh_venv(folder / "venv", options.release, TEST_PACKAGES)
        runs = {
            "stock": _run(python, folder, "stock", (), options),
            "enable()": _run(python, folder, "enabled", ("compat.enable_plugin",), options),
        }
    report(runs, options.json)


def _unpack_tests(release: str, folder: Path) -> None:
    """Only ``tests/``: the sdist's ``hypha_rpc/`` next to them would shadow the venv's install."""
    run_quietly(
        [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-binary", ":all:",
         "--no-deps", f"hypha-rpc=={release}", "-d", str(folder)]
    )
    (sdist,) = folder.glob("hypha*rpc-*.tar.gz")
    shutil.rmtree(folder / "tests", ignore_errors=True)
    with tarfile.open(sdist) as archive:
        for member in archive.getmembers():
            parts = PurePosixPath(member.name).parts
            if len(parts) > 2 and parts[1] == "tests":
                member.name = str(PurePosixPath(*parts[1:]))
                archive.extract(member, folder, filter="data")
    init = folder / "tests" / "__init__.py"
    if init.exists():
        raise RuntimeError(f"hypha-rpc {release}'s sdist now ships {init.name}: its WS_PORT would not be our server's")
    init.write_text(TESTS_INIT)


def _run(python: Path, folder: Path, slug: str, plugins: tuple[str, ...], options: argparse.Namespace) -> PytestRun:
    args = ["tests", "--continue-on-collection-errors"]
    for plugin in ("compat.upstream_fixtures", *plugins):
        args += ["-p", plugin]
    for target in LEFT_OUT:
        args.append(f"--deselect={target}" if "::" in target else f"--ignore={target}")
    print(f"hypha-rpc {options.release} tests, {slug}", flush=True)
    return run_pytest(
        python, args, cwd=folder, junit=folder / f"junit-{slug}.xml", timeout=options.timeout,
        test_timeout=options.test_timeout, log=folder / f"pytest-{slug}.log",
    )


def report(runs: dict[str, PytestRun], json_path: Path | None) -> None:
    """Both runs' counts side by side, then every test that passed stock and did not under ``enable()``."""
    rows = [{"run": name, **run.row()} for name, run in runs.items()]
    print_table(rows, COLUMNS)
    stock, enabled = runs["stock"], runs["enable()"]
    regressions = {
        test: enabled.outcomes[test].message if test in enabled.outcomes else "not run under enable()"
        for test, outcome in stock.outcomes.items()
        if outcome.status == "passed" and (test not in enabled.outcomes or enabled.outcomes[test].status in ("failed", "error"))
    }
    print(f"\n{len(regressions)} passed stock but not under enable():")
    for test, message in regressions.items():
        print(f"- {test}\n    " + message.replace("\n", "\n    "))
    if json_path:
        json_path.write_text(json.dumps({"runs": rows, "passed_stock_failed_enabled": regressions}, indent=2) + "\n")


if __name__ == "__main__":
    main()
