"""The performance targets hypha_arrow is held to, evaluated on a run's cells.

Each target is one ratio compared with a limit. A target whose cells were not run
(``--only``) is reported as SKIP rather than guessed.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Callable

from benchmarks.timing import Cell

Cells = dict[tuple[str, str], Cell]  # (payload, path) -> cell

_COMPARE = {">=": operator.ge, "<=": operator.le}


@dataclass(frozen=True)
class Target:
    """``measure(cells) op limit`` must hold; ``measure`` raises KeyError if a cell is missing."""

    name: str
    description: str
    measure: Callable[[Cells], float]
    op: str
    limit: float


@dataclass(frozen=True)
class Outcome:
    """A target's result: status is PASS, MISS or SKIP; measured is None when skipped."""

    target: Target
    measured: float | None
    status: str


def speedup(payload: str, path: str) -> Callable[[Cells], float]:
    """Stock encode+decode time over ``path``'s: how many times faster than stock."""
    return lambda cells: cells[payload, "stock"].total_s / cells[payload, path].total_s


def total_ratio(payload: str, path: str, reference: str) -> Callable[[Cells], float]:
    """``path``'s encode+decode time as a multiple of ``reference``'s."""
    return lambda cells: cells[payload, path].total_s / cells[payload, reference].total_s


def decode_ratio(payload: str, reference_payload: str, path: str) -> Callable[[Cells], float]:
    """``path``'s warm decode time on ``payload`` as a multiple of that on ``reference_payload``.

    Warm: the decoder's own work. Right after encoding 80 MB the caches are cold and any
    decode, of any size, pays for that (measured: a 1e3 decode after an 80 MB copy is as slow).
    """
    return lambda cells: cells[payload, path].warm_decode_s / cells[reference_payload, path].warm_decode_s


def worst_ratio(family: str, path: str, reference: str) -> Callable[[Cells], float]:
    """The largest of ``path``'s encode+decode time over ``reference``'s across every size of
    ``family`` that was run: "at every size"."""

    def measure(cells: Cells) -> float:
        ratios = [cell.total_s / cells[payload, reference].total_s for (payload, name), cell in cells.items()
                  if name == path and payload.startswith(f"{family}-")]
        if not ratios:
            raise KeyError(family)
        return max(ratios)

    return measure


def size_ratio(payload: str, path: str, reference: str) -> Callable[[Cells], float]:
    """``path``'s frame size as a fraction of ``reference``'s."""
    return lambda cells: cells[payload, path].size_bytes / cells[payload, reference].size_bytes


TARGETS: tuple[Target, ...] = (
    Target("float64-1e6 vs stock", "arrow-none >= 10x faster than stock", speedup("float64-1e6", "arrow-none"), ">=", 10),
    Target("float64-1e7 vs stock", "arrow-none >= 10x faster than stock", speedup("float64-1e7", "arrow-none"), ">=", 10),
    Target("float64-1e6 vs np.copy", "arrow-none <= 1.5x np.copy time", total_ratio("float64-1e6", "arrow-none", "np.copy"), "<=", 1.5),
    Target("float64-1e7 vs np.copy", "arrow-none <= 2x np.copy time", total_ratio("float64-1e7", "arrow-none", "np.copy"), "<=", 2),
    Target("float64 every size vs stock", "default config <= 1.1x stock time at every float64 size", worst_ratio("float64", "arrow-none", "stock"), "<=", 1.1),
    Target("float64 decode 1e7 vs 1e3", "arrow-none warm decode of 1e7 <= 3x that of 1e3", decode_ratio("float64-1e7", "float64-1e3", "arrow-none"), "<=", 3),
    Target("frame-1e6 vs stock", "arrow-none >= 50x faster than stock", speedup("frame-1e6", "arrow-none"), ">=", 50),
    Target("frame-1e6 vs pickle5", "arrow-none <= pickle5 time", total_ratio("frame-1e6", "arrow-none", "pickle5"), "<=", 1),
    Target("records-1e4 vs stock", "arrow-none (list of dicts) >= 20x faster than stock", speedup("records-1e4", "arrow-none"), ">=", 20),
    Target("records-1e4 pandas vs stock", "arrow-pandas >= 40x faster than stock", speedup("records-1e4", "arrow-pandas"), ">=", 40),
    Target("records-1e4 vs pickle5", "arrow-none (list of dicts) <= 2x pickle5 time", total_ratio("records-1e4", "arrow-none", "pickle5"), "<=", 2),
    Target("embeddings-2e3 vs stock", "arrow-none <= 1.1x stock time", total_ratio("embeddings-2e3", "arrow-none", "stock"), "<=", 1.1),
    Target("arrays-5e3 vs stock", "arrow-none <= 1.1x stock time", total_ratio("arrays-5e3", "arrow-none", "stock"), "<=", 1.1),
    Target("small-call vs msgpack", "arrow-none <= 1.10x plain msgpack time", total_ratio("small-call", "arrow-none", "msgpack"), "<=", 1.10),
    Target("auto on random float64-1e6", "arrow-auto <= 1.05x arrow-none time", total_ratio("float64-1e6", "arrow-auto", "arrow-none"), "<=", 1.05),
    Target("auto on categorical-1e5", "arrow-auto size <= 1/3 arrow-none size", size_ratio("categorical-1e5", "arrow-auto", "arrow-none"), "<=", 1 / 3),
    Target("auto on small-ints-1e6", "arrow-auto size <= 1/3 arrow-none size", size_ratio("small-ints-1e6", "arrow-auto", "arrow-none"), "<=", 1 / 3),
)


def evaluate(cells: Cells, targets: tuple[Target, ...] = TARGETS) -> list[Outcome]:
    """Evaluate every target against the cells that were run (another harness passes its own
    targets and measurements, keyed as its ``measure`` functions expect)."""
    return [_evaluate_one(target, cells) for target in targets]


def _evaluate_one(target: Target, cells: Cells) -> Outcome:
    try:
        measured = target.measure(cells)
    except KeyError:
        return Outcome(target, None, "SKIP")
    passed = _COMPARE[target.op](measured, target.limit)
    return Outcome(target, measured, "PASS" if passed else "MISS")
