"""The JavaScript end-to-end benchmark runs at tiny scale: a local server, Python services, a Node client.

Speed is not asserted (it depends on the machine); this guards the harness: every case and
mode measured, every call's value checked against the payload's digest, the record written.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks.js_e2e import digest

REPO_ROOT = Path(__file__).resolve().parents[2]
PAYLOADS = ("float64-1e6", "float64-1e7", "frame-1e6", "records-1e4")
SMALL_CALL_MODES = ("stock", "hypha_arrow", "stock_no_deflate", "hypha_arrow_js_only")
EXPECTED = {("small-call", "call", mode) for mode in SMALL_CALL_MODES} | {
    (payload, direction, mode) for payload in PAYLOADS for direction in ("to_js", "to_python") for mode in ("stock", "hypha_arrow", "floor")
}

@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("js-bench") / "js_e2e.json"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.js_e2e", "--scale", "tiny", "--repeats", "3", "--json", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    return json.loads(out.read_text()), result


def test_every_case_and_mode_is_measured(run: tuple[dict, subprocess.CompletedProcess]) -> None:
    record = run[0]
    assert record["scale"] == "tiny"
    assert {(r["case"], r["direction"], r["mode"]) for r in record["results"]} == EXPECTED
    assert set(record["frame_bytes"]) == set(PAYLOADS)
    assert all(size > 0 for size in record["frame_bytes"].values())


def test_every_timed_call_was_verified(run: tuple[dict, subprocess.CompletedProcess]) -> None:
    for result in run[0]["results"]:
        assert result["median_ms"] > 0, result
        assert result["repeats"] == 3, result
        assert result["verified"] == result["repeats"] + 1, result  # the warm-up is checked too


def test_targets_are_evaluated(run: tuple[dict, subprocess.CompletedProcess]) -> None:
    targets = run[0]["targets"]
    assert {t["name"] for t in targets} == {"float64-1e7 to JS", "frame-1e6 to JS", "small-call", "small-call, JS side"}
    for target in targets:
        assert target["status"] in ("PASS", "MISS"), target
        assert target["measured"] > 0


def test_versions_and_table(run: tuple[dict, subprocess.CompletedProcess]) -> None:
    record, result = run
    assert record["machine"]["node"]["node"].startswith("v")
    assert record["machine"]["node"]["hypha-rpc"] and record["machine"]["node"]["apache-arrow"]
    table = [line for line in result.stdout.splitlines() if line.startswith("|")]
    assert len(table) == 2 + 1 + 2 * len(PAYLOADS)  # heading, rule, the small call, each payload both ways
    assert "JS side alone" in result.stdout
    assert "1/3" in result.stderr  # progress was shown while it ran


def test_the_digest_tells_values_apart() -> None:
    """The check every call relies on: equal content in the forms each side receives gives one
    digest, a change anywhere gives another."""
    frame = pd.DataFrame({"id": np.arange(4), "value": [0.5, 1.5, 2.5, 3.5], "name": list("abcd")})
    columns = {"id": [0, 1, 2, 3], "value": [0.5, 1.5, 2.5, 3.5], "name": list("abcd")}
    rows = [{"id": i, "value": v, "name": n} for i, v, n in zip(*columns.values())]
    assert digest(frame) == digest(columns) == digest(rows)
    assert digest(dict(columns, name=list("abce"))) != digest(columns)
    assert digest(np.arange(4.0)) != digest(np.arange(1.0, 5.0))
    assert digest(b"\x01\x02") != digest(b"\x01\x03")
