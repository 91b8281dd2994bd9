"""Which codec a message's Arrow section uses, and the rule for ``"auto"``.

``auto`` probes a few evenly spread slices of the data with fast LZ4 and, only
when they shrink to ``AUTO_RATIO`` or less, compresses the section with ZSTD
(two to four times smaller than LZ4 on repetitive data, two to five times slower).
Incompressible data (random floats) pays only for the probe, never for a pass.

Whether compressing pays depends on the link, which the codec does not know: it saves
``(1 - ratio) * size / link_speed`` and costs ``size / compress + size / decompress``.
Measured in process (2026-12, 2 shared cores): ZSTD compresses a mixed DataFrame (frame-1e5)
to 0.31 at 430 MB/s and inflates it at 1000 MB/s, so it pays on links below about 210 MB/s
(1.7 Gbit/s); small ints (small-ints-1e6) to 0.09 at 160-240 MB/s and 370-410 MB/s, below
105-130 MB/s (about 1 Gbit/s). Through a Hypha server the bytes cross two links, so roughly
twice that when both are that slow. ``auto`` is for links slower than about 1 Gbit/s.
"""

from __future__ import annotations

import pyarrow as pa

from .config import Config

AUTO_CODEC = "zstd"
PROBE_CODEC = "lz4"
AUTO_RATIO = 0.7
AUTO_MIN_BYTES = 64 * 1024
"""Below this a section's compression saves less than a message's fixed costs."""
SAMPLE_SLICES = 4
SAMPLE_BYTES = 4 * 1024
"""Probing 4 x 4 KiB costs a third of 4 x 16 KiB when warm (random float64 1e6: 12 against 33 us),
though within a message, cache-cold after the previous one's copy, both cost 20-25 us (about
5% of a 1e6 round trip). LZ4 ratios differ by 0.01-0.07 on the benchmark payloads (frames 0.63
against 0.56, small ints 0.36 against 0.35, categorical strings 0.74 against 0.71), every one
on the same side of ``AUTO_RATIO``."""
_PROBE = pa.Codec(PROBE_CODEC)


def choose(config: Config, arrays: list[pa.Array]) -> str | None:
    """The IPC body codec for a section holding ``arrays``, or None to send it plain."""
    algorithm = config.compression_algorithm
    if algorithm is None or not config.uses("compression"):
        return None
    if algorithm != "auto":
        return algorithm
    buffers = [b for array in arrays for b in array.buffers() if b is not None]  # children's included
    total = sum(b.size for b in buffers)
    if total < AUTO_MIN_BYTES:
        return None
    samples = _samples(buffers, total)
    raw = sum(s.size for s in samples)
    packed = sum(_PROBE.compress(s, asbytes=False).size for s in samples)
    return AUTO_CODEC if packed <= AUTO_RATIO * raw else None


def _samples(buffers: list[pa.Buffer], total: int) -> list[pa.Buffer]:
    """``SAMPLE_SLICES`` slices at evenly spaced points of the buffers laid end to end."""
    points = [total * (2 * i + 1) // (2 * SAMPLE_SLICES) for i in range(SAMPLE_SLICES)]
    samples, start = [], 0
    for buffer in buffers:
        end = start + buffer.size
        for point in points:
            if start <= point < end:
                offset = max(0, min(point - start - SAMPLE_BYTES // 2, buffer.size - SAMPLE_BYTES))
                samples.append(buffer.slice(offset, min(SAMPLE_BYTES, buffer.size)))
        start = end
    return samples
