"""``hypha-arrow demo``: end to end through the local server it starts."""

from __future__ import annotations

from tests.support.cli import run_cli


def test_demo_runs_through_a_local_server_and_shows_what_arrived() -> None:
    result = run_cli("demo", "--rows", "20000", "--repeat", "1")
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert "pandas.DataFrame shape=(20000, 3)" in out
    assert "numpy.ndarray shape=(512, 512, 3) dtype=uint8" in out
    assert "DataFrame 20000 rows" in out and "Server stopped." in out
