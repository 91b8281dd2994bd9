"""Fresh virtual environments with one hypha-rpc release, and bounded pytest runs counted from JUnit XML.

Shared by ``compat.matrix`` and ``compat.upstream``: both must try a release in isolation
without touching the global environment, and must get counts even from a run that hangs.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from hypha_arrow.tools.local_server import SERVER_PYTHON

REPO = Path(__file__).resolve().parents[1]
INTERRUPT_GRACE = 60.0
"""After SIGINT pytest still tears down fixtures (servers) and writes its JUnit XML."""
MESSAGE_LINES = 3
VENV_TOOLS = ("pytest-timeout",)
"""In every venv: ``run_pytest`` bounds each test with it."""


@dataclass
class Outcome:
    status: str
    """passed, failed, error or skipped."""
    message: str = ""


@dataclass
class PytestRun:
    seconds: float
    timed_out: bool
    returncode: int
    outcomes: dict[str, Outcome] = field(default_factory=dict)

    def count(self, status: str) -> int:
        return sum(outcome.status == status for outcome in self.outcomes.values())

    def counts(self) -> dict[str, int]:
        return {status: self.count(status) for status in ("passed", "failed", "error", "skipped")}

    def row(self) -> dict[str, object]:
        """The counts, the seconds and why there may be no counts, for a table row."""
        note = "timed out" if self.timed_out else ("" if self.outcomes else f"no results (exit {self.returncode})")
        return {**self.counts(), "seconds": round(self.seconds, 1), "note": note}

    def problems(self) -> dict[str, str]:
        """Failed and erroring tests with the first lines of their errors."""
        return {name: o.message for name, o in self.outcomes.items() if o.status in ("failed", "error")}


def fresh_venv(path: Path, release: str, extra: tuple[str, ...] = ()) -> Path:
    """A venv over the global site-packages in which hypha-rpc ``release`` shadows the global copy.

    Other packages (the release's own dependencies the global env lacks, ``VENV_TOOLS``,
    ``extra``) may be added but never replace a global version, so the Hypha server keeps the
    dependencies it was installed with; a release that needs a different version fails here.
    """
    subprocess.run([sys.executable, "-m", "venv", "--clear", "--system-site-packages", str(path)], check=True)
    python = path / "bin" / "python"
    constraints = path / "global-constraints.txt"
    constraints.write_text(_global_versions(exclude="hypha-rpc"))
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    run_quietly([*pip, "--no-deps", "--ignore-installed", f"hypha-rpc=={release}"])
    run_quietly([*pip, "-c", str(constraints), f"hypha-rpc=={release}", *VENV_TOOLS, *extra])
    found = subprocess.run(
        [str(python), "-c", "import hypha_rpc; print(hypha_rpc.__version__, hypha_rpc.__file__)"],
        capture_output=True, text=True, check=True, cwd=path,
    ).stdout.split()
    if found[0] != release or not Path(found[1]).is_relative_to(path):
        raise RuntimeError(f"venv {path} imports hypha-rpc {found[0]} from {found[1]}, not {release} from the venv")
    return python


def _global_versions(*, exclude: str) -> str:
    frozen = subprocess.run(
        [sys.executable, "-m", "pip", "list", "--format=freeze", "--disable-pip-version-check"],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()
    return "\n".join(line for line in frozen if _normalized(line.split("==")[0]) != _normalized(exclude)) + "\n"


def _normalized(name: str) -> str:
    """PEP 503: pip freeze writes ``hypha_rpc``, users write ``hypha-rpc``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def run_quietly(command: list[str]) -> None:
    """Output only when the command fails (pip warns about its local indexes on every call)."""
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")


def run_pytest(python: Path, args: list[str], *, cwd: Path, junit: Path, timeout: float, test_timeout: float, log: Path) -> PytestRun:
    """``python -m pytest args`` with pytest-timeout per test and ``timeout`` for the whole run.

    The run is its own process group: on the deadline pytest gets SIGINT (it then stops its
    servers and still writes the XML), and whatever of the group is left is killed.
    """
    command = [
        str(python), "-m", "pytest", *args, "-p", "no:cacheprovider", f"--junitxml={junit}",
        f"--timeout={test_timeout:g}", "-o", "junit_logging=no",
    ]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        SERVER_PYTHON: sys.executable,  # the server keeps the hypha-rpc it was installed with
    }
    started = time.monotonic()
    with open(log, "wb") as output:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        timed_out = False
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=INTERRUPT_GRACE)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        finally:
            _kill_group(process.pid)
    return PytestRun(time.monotonic() - started, timed_out, process.returncode, _read_junit(junit))


def _kill_group(group: int) -> None:
    try:
        os.killpg(group, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _read_junit(path: Path) -> dict[str, Outcome]:
    if not path.exists():
        return {}
    outcomes: dict[str, Outcome] = {}
    for case in ElementTree.parse(path).iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        for status, tag in (("failed", "failure"), ("error", "error"), ("skipped", "skipped")):
            element = case.find(tag)
            if element is not None:
                outcomes[name] = Outcome(status, _first_lines(element))
                break
        else:
            outcomes[name] = Outcome("passed")
    return outcomes


def _first_lines(element: ElementTree.Element) -> str:
    """pytest's ``E`` lines (the exception as shown), else the element's message."""
    shown = [line[1:].strip() for line in (element.text or "").splitlines() if line.startswith("E ")]
    lines = shown or (element.get("message") or "").splitlines()
    return "\n".join(lines[:MESSAGE_LINES])


def add_run_options(parser: argparse.ArgumentParser, *, test_timeout: float) -> None:
    parser.add_argument("--timeout", type=float, default=3600, help="seconds for one whole pytest run")
    parser.add_argument("--test-timeout", type=float, default=test_timeout, help="seconds for one test (pytest-timeout)")
    parser.add_argument("--workdir", type=Path, help="keep venvs, logs and JUnit XML here (default: a temporary folder, removed)")


@contextlib.contextmanager
def workdir(options: argparse.Namespace, prefix: str) -> Iterator[Path]:
    if options.workdir:
        yield options.workdir
    else:
        with tempfile.TemporaryDirectory(prefix=prefix) as scratch:
            yield Path(scratch)


def print_table(rows: list[dict[str, object]], columns: tuple[str, ...]) -> None:
    widths = [max(len(column), *(len(str(row[column])) for row in rows)) for column in columns]
    for cells in (columns, *([row[column] for column in columns] for row in rows)):
        print("  ".join(str(cell).ljust(width) for cell, width in zip(cells, widths)))
