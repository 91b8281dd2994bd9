"""Codec benchmark runner: ``python -m benchmarks.codec [--scale tiny|full] [--json PATH] [--plots DIR] [--only NAME ...]``.

Times every path on every payload it applies to (a progress bar on stderr), prints the
table and the target verdicts, and writes the run as JSON and PNG plots. Exits non-zero
only if a path decodes something other than its input; a MISS is a finding, not a
harness failure.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.paths import CodecPath, all_paths
from benchmarks.payloads import SCALES, Payload, payloads
from benchmarks.plots import codec_plots
from benchmarks.report import format_outcome, format_table, to_json, write_json
from benchmarks.runner import run
from benchmarks.targets import evaluate

# Wall time per cell: full aims for 0.3-1 s per cell; tiny keeps a CI run well under 30 s.
BUDGET_S = {"tiny": 0.05, "full": 0.5}
DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "codec.json"
DEFAULT_PLOTS = DEFAULT_JSON.parent / "plots"
REFERENCE_PATH = "stock"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.codec", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=SCALES, default="full", help="tiny: sizes /100 for CI; full: real sizes")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"where to write results (default {DEFAULT_JSON})")
    parser.add_argument("--plots", type=Path, default=DEFAULT_PLOTS, help=f"folder for the PNG plots (default {DEFAULT_PLOTS})")
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help="payload and/or path names to run; stock always runs as the reference",
    )
    return parser.parse_args(argv)


def select(
    all_payloads: list[Payload], paths: list[CodecPath], only: list[str] | None
) -> tuple[list[Payload], list[CodecPath]]:
    """Filter by --only: payload names narrow payloads, path names narrow paths."""
    if not only:
        return all_payloads, paths
    payload_names = {p.name for p in all_payloads}
    path_names = {p.name for p in paths}
    unknown = set(only) - payload_names - path_names
    if unknown:
        raise SystemExit(f"--only: unknown {sorted(unknown)}; payloads {sorted(payload_names)}, paths {sorted(path_names)}")
    wanted_payloads = set(only) & payload_names
    wanted_paths = set(only) & path_names
    chosen_payloads = [p for p in all_payloads if not wanted_payloads or p.name in wanted_payloads]
    chosen_paths = [p for p in paths if not wanted_paths or p.name in wanted_paths | {REFERENCE_PATH}]
    return chosen_payloads, chosen_paths


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    chosen_payloads, paths = select(payloads(args.scale), all_paths(), args.only)
    cells = run(chosen_payloads, paths, BUDGET_S[args.scale])
    outcomes = evaluate(cells)
    print(format_table(cells))
    print()
    for outcome in outcomes:
        print(format_outcome(outcome))
    write_json(to_json(args.scale, chosen_payloads, [p.name for p in paths], cells, outcomes), args.json)
    print(f"\nwrote {args.json}")
    for plot in codec_plots(chosen_payloads, cells, args.plots):
        print(f"wrote {plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
