"""The hypha-arrow command: inspect prints a frame's anatomy (the demo, which starts a server,
is tests/server/test_demo.py)."""

from __future__ import annotations

import json

import numpy as np

import hypha_arrow
from tests.support.cli import run_cli


def test_inspect_prints_header_skeleton_schema_and_sizes(tmp_path) -> None:
    frame = hypha_arrow.encode_message({"type": "method", "to": "ws/c:s"}, {"args": [np.arange(10_000), ["a"] * 2000]},
                                       config=hypha_arrow.Config(compression_algorithm="lz4"))
    path = tmp_path / "frame.bin"
    path.write_bytes(frame)
    result = run_cli("inspect", str(path))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["header"] == {"type": "method", "to": "ws/c:s"}
    section = report["section"]
    assert section["compression"] == "lz4"
    assert [c["kind"] for c in section["columns"]] == ["ndarray", "list"]
    assert [c["path"] for c in section["columns"]] == [["args", 0], ["args", 1]]
    assert all(c["wire_bytes"] > 0 for c in section["columns"])


def test_inspect_reads_stdin_and_rejects_garbage() -> None:
    good = run_cli("inspect", "-", stdin=hypha_arrow.encode([1, 2, 3]))
    assert good.returncode == 0 and json.loads(good.stdout)["hybrid"] is False
    bad = run_cli("inspect", "-", stdin=b"\xc1\xc1")
    assert bad.returncode == 1 and "not a valid frame" in bad.stderr.decode()
