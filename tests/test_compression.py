"""Arrow IPC body compression: lz4 and zstd on request, auto only where a sample shrinks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hypha_arrow
from hypha_arrow.testing import assert_same

REPETITIVE = {"labels": [["alpha", "beta", "gamma"][i % 3] for i in range(50_000)], "counts": np.arange(200_000) % 7}
RANDOM = {"noise": np.random.default_rng(0).random(200_000)}


def section(frame: bytes) -> dict:
    return hypha_arrow.inspect(frame)["section"]


@pytest.mark.parametrize("algorithm", [None, "lz4", "zstd", "auto"])
def test_every_compression_mode_round_trips(algorithm: str | None) -> None:
    config = hypha_arrow.Config(compression_algorithm=algorithm)
    frame = pd.DataFrame({"x": np.arange(50_000) % 11, "s": ["abc"] * 50_000})
    value = {**REPETITIVE, **RANDOM, "frame": frame}
    decoded = hypha_arrow.decode(hypha_arrow.encode(value, config=config), config=config)
    assert decoded["labels"] == REPETITIVE["labels"]
    assert_same(REPETITIVE["counts"], decoded["counts"])
    assert_same(RANDOM["noise"], decoded["noise"])
    pd.testing.assert_frame_equal(frame, decoded["frame"], check_exact=True)


@pytest.mark.parametrize("algorithm", ["lz4", "zstd"])
def test_requested_codec_is_used_and_shrinks_repetitive_data(algorithm: str) -> None:
    plain = hypha_arrow.encode(REPETITIVE)
    packed = hypha_arrow.encode(REPETITIVE, config=hypha_arrow.Config(compression_algorithm=algorithm))
    assert section(packed)["compression"] == algorithm and section(plain)["compression"] is None
    assert len(packed) < len(plain) / 3


def test_compression_level_changes_the_output() -> None:
    fast = hypha_arrow.encode(REPETITIVE, config=hypha_arrow.Config(compression_algorithm="zstd", compression_level=1))
    small = hypha_arrow.encode(REPETITIVE, config=hypha_arrow.Config(compression_algorithm="zstd", compression_level=19))
    assert len(small) < len(fast)


def test_auto_skips_incompressible_data() -> None:
    frame = hypha_arrow.encode(RANDOM, config=hypha_arrow.Config(compression_algorithm="auto"))
    assert section(frame)["compression"] is None


def test_auto_compresses_repetitive_data_to_under_a_third() -> None:
    plain = hypha_arrow.encode(REPETITIVE)
    auto = hypha_arrow.encode(REPETITIVE, config=hypha_arrow.Config(compression_algorithm="auto"))
    assert section(auto)["compression"] is not None
    assert len(auto) <= len(plain) / 3


def test_auto_leaves_small_sections_alone() -> None:
    frame = hypha_arrow.encode({"z": np.zeros(2000)}, config=hypha_arrow.Config(compression_algorithm="auto"))
    assert section(frame)["compression"] is None


def test_compression_pattern_off_disables_compression() -> None:
    config = hypha_arrow.Config(compression_algorithm="zstd", optimization_patterns={"arrays", "strings", "records"})
    assert section(hypha_arrow.encode(REPETITIVE, config=config))["compression"] is None
