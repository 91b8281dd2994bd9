"""Config: every invalid option is a ValueError at construction, never an error later at encode."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import hypha_arrow


@pytest.mark.parametrize("patterns", [None, 3, "arrays", [["arrays"]], {"arrays": 1, 2: 2}])
def test_optimization_patterns_that_are_not_a_collection_of_names_are_refused(patterns: object) -> None:
    with pytest.raises(ValueError, match="optimization_patterns"):
        hypha_arrow.Config(optimization_patterns=patterns)  # type: ignore[arg-type]


def test_optimization_patterns_accept_any_iterable_of_names() -> None:
    config = hypha_arrow.Config(optimization_patterns=(name for name in ["arrays", "strings"]))
    assert config.optimization_patterns == frozenset({"arrays", "strings"})


@pytest.mark.parametrize("algorithm", ["lz4", "zstd", "auto"])
def test_compression_levels_are_those_of_the_codec_in_use(algorithm: str) -> None:
    codec = "zstd" if algorithm == "auto" else algorithm
    low, high = pa.Codec.minimum_compression_level(codec), pa.Codec.maximum_compression_level(codec)
    frame_data = {"zeros": np.zeros(100_000)}
    for level in (low, high):
        config = hypha_arrow.Config(compression_algorithm=algorithm, compression_level=level)
        assert hypha_arrow.decode(hypha_arrow.encode(frame_data, config=config))["zeros"].sum() == 0
    for level in (low - 1, high + 1, 10**6, 10**30):
        with pytest.raises(ValueError, match="compression_level"):
            hypha_arrow.Config(compression_algorithm=algorithm, compression_level=level)


def test_compression_level_without_a_codec_must_fit_a_c_int() -> None:
    assert hypha_arrow.Config(compression_level=-(2**31)).compression_level == -(2**31)
    for level in (2**31, 10**30, 1.0, True):
        with pytest.raises(ValueError, match="compression_level"):
            hypha_arrow.Config(compression_level=level)  # type: ignore[arg-type]
