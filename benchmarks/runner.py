"""Measure every applicable (payload, path) cell, with a progress bar on stderr.

Shared by the codec command and the size sweeps, so both time cells the same way.
"""

from __future__ import annotations

import sys

from tqdm import tqdm

from benchmarks.paths import CodecPath
from benchmarks.payloads import Payload
from benchmarks.targets import Cells
from benchmarks.timing import measure


def applies(path: CodecPath, payload: Payload) -> bool:
    return path.kinds is None or payload.kind in path.kinds


def run(payloads: list[Payload], paths: list[CodecPath], budget_s: float, progress: bool = True) -> Cells:
    """Measure every applicable cell; one payload is built and alive at a time.

    The bar goes to stderr so a table printed on stdout stays clean.
    """
    cells: Cells = {}
    total = sum(applies(path, payload) for payload in payloads for path in paths)
    with tqdm(total=total, unit="cell", file=sys.stderr, disable=not progress, dynamic_ncols=True) as bar:
        for payload in payloads:
            message = payload.build()
            for path in paths:
                if applies(path, payload):
                    bar.set_postfix_str(f"{payload.name} {path.name}", refresh=False)
                    cells[payload.name, path.name] = measure(payload.name, path, message, budget_s)
                    bar.update()
            del message
    return cells
