"""The memory and responsiveness harnesses run end to end at a small size through a real server.

Their figures are not asserted (they depend on the machine and the size); this guards the
harnesses: both modes measured, every echo checked, verdicts printed, JSON well formed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def harness(*arguments: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", *arguments], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    return result


def test_the_memory_benchmark_reports_both_sides_against_their_targets() -> None:
    result = harness("benchmarks.memory", "--mib", "16")
    assert "caller: 16 MiB echo in" in result.stdout and "service peak RSS" in result.stdout
    verdicts = [line for line in result.stdout.splitlines() if line.startswith(("PASS", "MISS"))]
    assert [line.split()[1] for line in verdicts] == ["caller:", "service:"], result.stdout
    assert "100%" in result.stderr, "the caller's progress bar"


def test_the_responsiveness_benchmark_pings_both_modes_during_the_echo(tmp_path: Path) -> None:
    out = tmp_path / "responsiveness.json"
    result = harness("benchmarks.responsiveness", "--mib", "16", "--json", str(out))
    record = json.loads(out.read_text())
    assert [r["mode"] for r in record["results"]] == ["hypha_arrow", "stock"]
    for r in record["results"]:
        assert r["mib"] == 16 and r["echo_s"] > 0
        assert r["idle"]["count"] >= 10 and r["busy"]["count"] >= 1
        assert 0 < r["busy"]["p50_ms"] <= r["busy"]["p99_ms"] <= r["busy"]["max_ms"]
    assert sum(line.startswith(("PASS", "MISS")) for line in result.stdout.splitlines()) == 2
