"""Presentation of a run: the fixed-width table, the target lines and the JSON record."""

from __future__ import annotations

import json
import math
import os
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.payloads import Payload
from benchmarks.targets import Cells, Outcome
from benchmarks.timing import Cell

MB = 1_000_000
VERSIONED = ("numpy", "pyarrow", "pandas", "msgpack", "hypha-rpc", "hypha-arrow")
COLUMNS = ("payload", "path", "encode ms", "decode ms", "total ms", "size MB", "vs stock")
WIDTHS = (16, 12, 11, 11, 11, 10, 9)


def machine_info() -> dict[str, Any]:
    """Enough about the machine and library versions to tell whether two runs compare."""
    return {
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "versions": {name: _version(name) for name in VERSIONED},
    }


def _version(distribution: str) -> str | None:
    """Installed version, None when the distribution is not installed (a source checkout)."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def speedup_vs_stock(cell: Cell, cells: Cells) -> float | None:
    """Stock total over this cell's total; None if stock did not run on this payload."""
    stock = cells.get((cell.payload, "stock"))
    return None if stock is None else stock.total_s / cell.total_s


def format_table(cells: Cells) -> str:
    """Readable fixed-width table, one row per cell, in run order."""
    rows = [_row(COLUMNS)]
    rows.append("-" * len(rows[0]))
    for cell in cells.values():
        speedup = speedup_vs_stock(cell, cells)
        rows.append(
            _row(
                (
                    cell.payload,
                    cell.path,
                    _significant(cell.encode_s * 1e3),
                    _significant(cell.decode_s * 1e3),
                    _significant(cell.total_s * 1e3),
                    _significant(cell.size_bytes / MB),
                    "-" if speedup is None else f"{speedup:.1f}x",
                )
            )
        )
    return "\n".join(rows)


def _significant(value: float) -> str:
    """Four significant digits without exponents: 0.002134, 12.34, 1554."""
    decimals = 3 - math.floor(math.log10(value)) if value > 0 else 0
    return f"{value:.{max(0, decimals)}f}"


def _row(values: tuple[str, ...]) -> str:
    head = [f"{values[0]:<{WIDTHS[0]}}", f"{values[1]:<{WIDTHS[1]}}"]
    tail = [f"{value:>{width}}" for value, width in zip(values[2:], WIDTHS[2:])]
    return " ".join(head + tail)


def format_outcome(outcome: Outcome) -> str:
    """One PASS/MISS/SKIP line with the measured ratio and its limit."""
    target = outcome.target
    measured = "not run" if outcome.measured is None else f"measured {outcome.measured:.3g}"
    return f"{outcome.status:<4}  {target.name}: {target.description}  ({measured}; need {target.op} {target.limit:.3g})"


def to_json(scale: str, payloads: list[Payload], paths: list[str], cells: Cells, outcomes: list[Outcome]) -> dict[str, Any]:
    """The whole run as plain data; times in milliseconds (medians)."""
    return {
        "scale": scale,
        "machine": machine_info(),
        "payloads": [{"name": p.name, "kind": p.kind, "count": p.count} for p in payloads],
        "paths": paths,
        "cells": [_cell_json(cell, cells) for cell in cells.values()],
        "targets": [outcome_json(outcome) for outcome in outcomes],
    }


def _cell_json(cell: Cell, cells: Cells) -> dict[str, Any]:
    return {
        "payload": cell.payload,
        "path": cell.path,
        "encode_ms": cell.encode_s * 1e3,
        "decode_ms": cell.decode_s * 1e3,
        "warm_decode_ms": cell.warm_decode_s * 1e3,
        "total_ms": cell.total_s * 1e3,
        "size_bytes": cell.size_bytes,
        "repeats": cell.repeats,
        "speedup_vs_stock": speedup_vs_stock(cell, cells),
    }


def outcome_json(outcome: Outcome) -> dict[str, Any]:
    """A target's outcome as plain data (every harness's JSON record uses it)."""
    target = outcome.target
    return {
        "name": target.name,
        "description": target.description,
        "op": target.op,
        "limit": target.limit,
        "measured": outcome.measured,
        "status": outcome.status,
    }


def write_json(record: dict[str, Any], path: Path) -> None:
    """Write the record, creating the results folder on first use."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")
