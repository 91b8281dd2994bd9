"""The JavaScript package's suites (`js/test/*.test.js`), one `node --test` run per file.

So the README's one test command, `python -m pytest`, runs both languages. The JS suites
start their Python services with this interpreter (`HYPHA_ARROW_PYTHON`), so they test the
hypha_arrow this run imports.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

JS = Path(__file__).resolve().parents[2] / "js"
SUITES = sorted((JS / "test").glob("*.test.js"))
SUITE_TIMEOUT_SECONDS = 600
OUTPUT_SHOWN_ON_FAILURE = 12_000


def test_the_javascript_suites_are_found() -> None:
    assert SUITES, f"no *.test.js under {JS / 'test'}"


@pytest.mark.parametrize("suite", SUITES, ids=lambda path: path.name)
def test_javascript_suite_passes(suite: Path) -> None:
    node = shutil.which("node")
    assert node, "node (>= 20) is not on PATH: the JavaScript suites need it"
    assert (JS / "node_modules").is_dir(), "js/node_modules is missing: run `npm ci` in js/ (the README's install step)"
    environment = {**os.environ, "HYPHA_ARROW_PYTHON": sys.executable}
    result = subprocess.run(
        [node, "--test", "--test-reporter=tap", str(suite.relative_to(JS))],
        cwd=JS,
        env=environment,
        capture_output=True,
        text=True,
        timeout=SUITE_TIMEOUT_SECONDS,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{suite.name} failed (exit {result.returncode}):\n{output[-OUTPUT_SHOWN_ON_FAILURE:]}"
