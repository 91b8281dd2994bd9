"""Size sweeps: payload families measured over a range of sizes, for plots against size.

A family is one payload shape (float64 arrays, numeric or string-heavy DataFrames,
string lists, record lists) built at 10, 30, 100, ... elements; every size is timed with
the same runner, paths and checks as ``python -m benchmarks.codec``. The scale knob
``HYPHA_ARROW_BENCH_SCALE`` (tiny|full) keeps the same notebook quick in CI.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

import pandas as pd

from benchmarks.paths import CodecPath, all_paths
from benchmarks.payloads import (
    SCALES,
    Message,
    Payload,
    float_array,
    numeric_frame,
    records,
    sized,
    string_frame,
    string_list,
)
from benchmarks.runner import run
from benchmarks.targets import Cells

SCALE_ENV = "HYPHA_ARROW_BENCH_SCALE"
# Wall time per cell: tiny runs the notebook's whole sweep in seconds.
BUDGET_S = {"tiny": 0.01, "full": 0.2}
UNCOMPRESSED = "arrow-none"
COMPRESSED = ("arrow-lz4", "arrow-zstd", "arrow-auto")
COMPARED = ("stock", "pickle5", UNCOMPRESSED, *COMPRESSED)
SMALLEST = 10


@dataclass(frozen=True)
class Family:
    """A payload shape and the largest element/row count it is swept to at each scale."""

    name: str
    kind: str
    build: Callable[[int], Message]
    largest: dict[str, int]


FAMILIES: tuple[Family, ...] = (
    Family("float64", "float-array", float_array, {"tiny": 10_000, "full": 10_000_000}),
    Family("frame-numeric", "frame", numeric_frame, {"tiny": 1_000, "full": 1_000_000}),
    Family("frame-strings", "frame", string_frame, {"tiny": 1_000, "full": 300_000}),
    Family("strings", "strings", string_list, {"tiny": 10_000, "full": 1_000_000}),
    Family("records", "records", records, {"tiny": 3_000, "full": 100_000}),
)


def scale_from_env(default: str = "full") -> str:
    """The scale named by ``HYPHA_ARROW_BENCH_SCALE``; ``default`` when it is unset or empty."""
    scale = os.environ.get(SCALE_ENV) or default
    if scale not in SCALES:
        raise ValueError(f"{SCALE_ENV} must be one of {SCALES}, got {scale!r}")
    return scale


def steps(smallest: int, largest: int) -> list[int]:
    """1-3-10 steps: 10, 30, 100, 300, ... up to ``largest``, which is always included."""
    counts, decade = [], smallest
    while decade <= largest:
        counts += [c for c in (decade, 3 * decade) if c <= largest]
        decade *= 10
    return counts if counts and counts[-1] == largest else counts + [largest]


def family_payloads(family: Family, scale: str) -> list[Payload]:
    """The family's payloads at ``scale``, smallest first."""
    return [sized(family.name, family.kind, count, family.build) for count in steps(SMALLEST, family.largest[scale])]


def compared_paths(names: tuple[str, ...] = COMPARED) -> list[CodecPath]:
    """Stock hypha-rpc, pickle 5 and hypha_arrow under each compression setting."""
    return [path for path in all_paths() if path.name in names]


@dataclass(frozen=True)
class Sweep:
    """Measured cells and the payloads they were measured on, in sweep order."""

    payloads: list[Payload]
    cells: Cells

    def families(self) -> dict[str, list[Payload]]:
        return by_family(self.payloads)

    def table(self) -> pd.DataFrame:
        """One row per cell, times in ms and sizes in bytes, for looking at the numbers."""
        payloads = {payload.name: payload for payload in self.payloads}
        return pd.DataFrame(
            {
                "family": payloads[name].family,
                "count": payloads[name].count,
                "path": path,
                "encode_ms": cell.encode_s * 1e3,
                "decode_ms": cell.decode_s * 1e3,
                "total_ms": cell.total_s * 1e3,
                "size_bytes": cell.size_bytes,
                "stock_bytes": self.cells[name, "stock"].size_bytes,
            }
            for (name, path), cell in self.cells.items()
        )

    def break_even(self) -> pd.DataFrame:
        """Each compressed path on each family's largest payload, against arrow-none.

        ``link_MB_s`` is the link speed below which compression pays: bytes saved over
        the extra encode + decode time (inf: smaller and no slower; NaN: saves nothing).
        """
        rows = []
        for family in self.families().values():
            largest = family[-1].name
            base = self.cells[largest, UNCOMPRESSED]
            for path in COMPRESSED:
                cell = self.cells[largest, path]
                saved, extra_s = base.size_bytes - cell.size_bytes, cell.total_s - base.total_s
                link = float("nan") if saved <= 0 else float("inf") if extra_s <= 0 else saved / extra_s / 1e6
                rows.append(
                    {
                        "payload": largest,
                        "path": path,
                        "size_ratio": cell.size_bytes / base.size_bytes,
                        "time_ratio": cell.total_s / base.total_s,
                        "link_MB_s": link,
                    }
                )
        return pd.DataFrame(rows)


def sweep(families: tuple[Family, ...] = FAMILIES, scale: str | None = None, progress: bool = True) -> Sweep:
    """Measure every family at every size on the compared paths (scale: the env knob if None)."""
    scale = scale or scale_from_env()
    chosen = [payload for family in families for payload in family_payloads(family, scale)]
    return Sweep(chosen, run(chosen, compared_paths(), BUDGET_S[scale], progress))


def by_family(payloads: list[Payload]) -> dict[str, list[Payload]]:
    """Payloads grouped by family, each group in its given order."""
    groups: dict[str, list[Payload]] = {}
    for payload in payloads:
        groups.setdefault(payload.family, []).append(payload)
    return groups


def crossover(family: list[Payload], cells: Cells, path: str = "arrow-none", reference: str = "stock") -> Payload | None:
    """The smallest payload from which ``path`` is never slower than ``reference`` (encode + decode).

    None when ``path`` is slower on the largest payload, or either path is missing there.
    """
    first = None
    for payload in reversed(family):
        mine, theirs = cells.get((payload.name, path)), cells.get((payload.name, reference))
        if mine is None or theirs is None or mine.total_s > theirs.total_s:
            break
        first = payload
    return first
