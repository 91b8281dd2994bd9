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


@pytest.mark.parametrize(
    "name", ["max_message_bytes", "max_pending_bytes_per_sender", "max_pending_bytes", "max_partial_messages_per_sender", "max_partial_messages", "max_chunks"]
)
@pytest.mark.parametrize("value", [0, -1, 1.5, True, "1"])
def test_receive_budgets_must_be_positive_ints(name: str, value: object) -> None:
    with pytest.raises(ValueError, match=name):
        hypha_arrow.Config(**{name: value})


@pytest.mark.parametrize("name", ["transfer_deadline", "transfer_idle_timeout"])
@pytest.mark.parametrize("value", [0, -1, float("nan"), True, "60"])
def test_transfer_timeouts_must_be_positive_seconds(name: str, value: object) -> None:
    with pytest.raises(ValueError, match=name):
        hypha_arrow.Config(**{name: value})


def test_default_budgets_let_a_gigabyte_through_and_bound_inflation_far_below_it() -> None:
    config = hypha_arrow.Config()
    assert config.max_message_bytes > (1 << 30) and config.max_pending_bytes >= config.max_pending_bytes_per_sender >= config.max_message_bytes
    assert config.max_decompressed_bytes <= (256 << 20)
    assert config.transfer_idle_timeout < config.transfer_deadline
