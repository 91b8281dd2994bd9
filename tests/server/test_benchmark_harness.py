"""The codec benchmark harness runs end to end at tiny scale and writes well-formed JSON and PNG plots.

Speed numbers are not asserted: they depend on the machine; this only guards the
harness itself (every payload and path measured, verified and recorded).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

REPO_ROOT = Path(__file__).resolve().parents[2]
PAYLOADS = {
    "float64-1e2",
    "float64-1e3",
    "float64-3e3",
    "float64-1e4",
    "float64-1e5",
    "float64-1e6",
    "float64-1e7",
    "frame-1e5",
    "frame-1e6",
    "strings-1e5",
    "records-1e4",
    "embeddings-2e3",
    "arrays-5e3",
    "wide-frame-2e4",
    "wide-array-2e4",
    "small-call",
    "categorical-1e5",
    "small-ints-1e6",
}
PATHS = {"stock", "pickle5", "arrow-none", "arrow-lz4", "arrow-zstd", "arrow-auto", "arrow-pandas", "np.copy", "msgpack"}
# Paths that run on every payload; the others are baselines for one kind of payload.
GENERAL_PATHS = {"stock", "pickle5", "arrow-none", "arrow-lz4", "arrow-zstd", "arrow-auto"}
SPECIAL_CELLS = {("records-1e4", "arrow-pandas"), ("small-call", "msgpack")} | {
    (name, "np.copy") for name in PAYLOADS if name.startswith("float64-")
}
PLOTS = ("times.png", "throughput.png", "sizes.png", "compression.png")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run_harness(module: str, out: Path, *options: str) -> subprocess.CompletedProcess:
    """Run ``python -m benchmarks.<module> --scale tiny`` from the repository root; it must succeed."""
    result = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{module}", "--scale", "tiny", "--json", str(out), *options],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def codec_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    """The folder holding codec.json and plots/, and the finished process."""
    folder = tmp_path_factory.mktemp("bench")
    return folder, run_harness("codec", folder / "codec.json", "--plots", str(folder / "plots"))


@pytest.fixture(scope="module")
def record(codec_run: tuple[Path, subprocess.CompletedProcess]) -> dict:
    return json.loads((codec_run[0] / "codec.json").read_text())


@pytest.mark.parametrize("name", PLOTS)
def test_plots_are_png_images(codec_run: tuple[Path, subprocess.CompletedProcess], name: str) -> None:
    path = codec_run[0] / "plots" / name
    assert path.read_bytes().startswith(PNG_SIGNATURE)
    assert path.stat().st_size > 10_000  # axes, lines and labels, not a blank canvas
    height, width, channels = imread(path).shape
    assert height > 200 and width > 200 and channels in (3, 4)


def test_progress_bar_on_stderr_table_on_stdout(codec_run: tuple[Path, subprocess.CompletedProcess]) -> None:
    result = codec_run[1]
    assert "100%" in result.stderr and "cell/s" in result.stderr
    assert "cell/s" not in result.stdout
    assert result.stdout.startswith("payload ")


def test_machine_info(record: dict) -> None:
    machine = record["machine"]
    assert record["scale"] == "tiny"
    assert isinstance(machine["cpu_count"], int) and machine["cpu_count"] > 0
    assert machine["python"] and machine["platform"]
    for package in ("numpy", "pyarrow", "pandas", "msgpack", "hypha-rpc"):
        assert machine["versions"][package]


def test_every_payload_and_path(record: dict) -> None:
    assert {p["name"] for p in record["payloads"]} == PAYLOADS
    assert set(record["paths"]) == PATHS
    measured = {(c["payload"], c["path"]) for c in record["cells"]}
    expected = {(payload, path) for payload in PAYLOADS for path in GENERAL_PATHS} | SPECIAL_CELLS
    assert measured == expected


def test_cells_are_positive_medians(record: dict) -> None:
    for cell in record["cells"]:
        for key in ("encode_ms", "decode_ms", "total_ms"):
            assert isinstance(cell[key], float) and cell[key] > 0, (cell, key)
        assert cell["total_ms"] == pytest.approx(cell["encode_ms"] + cell["decode_ms"])
        assert isinstance(cell["size_bytes"], int) and cell["size_bytes"] > 0
        assert cell["repeats"] >= 3
        assert cell["speedup_vs_stock"] > 0


def test_targets_are_all_evaluated(record: dict) -> None:
    targets = record["targets"]
    assert targets
    for target in targets:
        assert target["status"] in ("PASS", "MISS"), target
        assert isinstance(target["measured"], float) and target["measured"] > 0
        assert target["op"] in ("<=", ">=") and target["limit"] > 0


E2E_CASES = {"int", "float64-1e6", "float64-1e7", "frame-1e6", "records-1e4", "embeddings-2e3", "arrays-5e3", "wide-frame-2e4", "wide-array-2e4"}


def test_end_to_end_benchmark_runs_through_a_local_server(tmp_path: Path) -> None:
    out = tmp_path / "e2e.json"
    result = run_harness("e2e", out)
    (run,) = json.loads(out.read_text())["runs"]
    cells = {(r["case"], r["mode"]): r for r in run["results"]}
    assert set(cells) == {(case, mode) for case in E2E_CASES for mode in ("stock", "hypha_arrow", "floor")} - {("wide-frame-2e4", "stock")}
    assert all(r["median_s"] > 0 and r["repeats"] >= 1 for r in run["results"])
    assert all(r["frame_bytes"] == cells[r["case"], "floor"]["frame_bytes"] > 0 for r in run["results"])
    assert cells["float64-1e7", "floor"]["frame_bytes"] > 8 * 100_000  # tiny: 1e5 float64 and the header
    targets = {t["name"]: t for t in run["targets"]}
    assert {"float64-1e7 vs floor", "float64-1e7", "int", "embeddings-2e3", "arrays-5e3", "wide-frame-2e4"} <= set(targets)
    assert all(t["status"] in ("PASS", "MISS") and t["measured"] > 0 for t in targets.values())
    assert "1/" in result.stderr  # progress was shown while it ran


def test_end_to_end_runs_are_each_reported(tmp_path: Path) -> None:
    out = tmp_path / "e2e.json"
    result = run_harness("e2e", out, "--runs", "2", "--only", "int", "float64-1e7")
    runs = json.loads(out.read_text())["runs"]
    assert [{r["case"] for r in run["results"]} for run in runs] == [{"int", "float64-1e7"}] * 2
    assert result.stdout.count("float64-1e7 vs floor:") == 2 + 1  # each run's verdict, then the summary
    assert "(PASS in" in result.stdout


def test_end_to_end_floor_echo_is_checked() -> None:
    """The floor's echo comes back byte for byte through a real server, in hypha_arrow's chunks
    (a message under one chunk whole, a large one chunked with acknowledgements); a changed byte is caught."""
    from benchmarks.e2e import FloorMode, floor_package
    from benchmarks.floor import FloorEcho
    from hypha_arrow.rpc.transfer import ACK_EVERY, CHUNK_MIN
    from hypha_arrow.tools.local_server import LocalServer

    async def run(url: str) -> None:
        pair = await FloorEcho.connect(url)
        try:
            for size in (10, CHUNK_MIN, CHUNK_MIN * (ACK_EVERY + 1) + 7):
                package = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
                prepared = pair.prepare(package)
                assert prepared.count == -(-size // CHUNK_MIN)
                parts = await pair.echo(prepared)
                assert b"".join(parts) == package
            floor = FloorMode(pair)
            echo = floor.echo_of(np.arange(1000.0))
            assert await echo() > 0 and floor.frame_bytes == len(floor_package(np.arange(1000.0)))
            honest = pair.echoer.on_message
            pair.echoer.on_message = lambda sender, parts: honest(sender, [memoryview(b"y" + bytes(parts[0][1:]))])
            with pytest.raises(AssertionError, match="floor echo"):
                await echo()
        finally:
            await pair.close()

    with LocalServer() as server:
        asyncio.run(run(server.url))
