"""Hostile and broken frames: every input decodes or raises DecodeError, quickly and within the limits."""

from __future__ import annotations

import resource

from tests.support.frame_fuzzer import TIME_BOUND_S, campaign

CI_INPUTS = 20_000
CI_SEED = 20261126
RSS_GROWTH_BOUND_MB = 256
"""The decoder's limits are 64 MiB; a campaign whose peak memory grows past this allocated beyond them."""


def test_twenty_thousand_mutated_frames_decode_or_raise_decode_error() -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outcome = campaign(CI_SEED, CI_INPUTS)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert outcome.failures == [], outcome.failures[:10]
    assert outcome.decoded + outcome.refused == CI_INPUTS
    assert outcome.refused > CI_INPUTS // 2  # the mutations reach the checks, not only harmless bytes
    assert outcome.slowest_s < TIME_BOUND_S
    assert grown_mb < RSS_GROWTH_BOUND_MB
