"""The ``hypha-arrow`` command: ``demo`` runs the main job through a real server, ``inspect`` opens a frame."""

from __future__ import annotations

import argparse
import json
import sys

from .. import DecodeError, inspect


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hypha-arrow", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="a DataFrame and arrays through a Hypha server, stock vs hypha_arrow")
    demo.add_argument("--server-url", help="use this Hypha server instead of starting a local one")
    demo.add_argument("--rows", type=int, default=1_000_000, help="DataFrame rows and array length (default 1e6)")
    demo.add_argument("--repeat", type=int, default=3, help="timed echoes per payload; medians are shown")
    opened = commands.add_parser("inspect", help="print a frame's header, skeleton, Arrow schema and sizes")
    opened.add_argument("file", help="a file holding one frame, or - for standard input")
    args = parser.parse_args(argv)
    if args.command == "inspect":
        return run_inspect(args.file)
    from .demo import run

    run(args.server_url, args.rows, args.repeat)
    return 0


def run_inspect(path: str) -> int:
    data = sys.stdin.buffer.read() if path == "-" else open(path, "rb").read()
    try:
        report = inspect(data)
    except DecodeError as error:
        print(f"hypha-arrow inspect: not a valid frame: {error}", file=sys.stderr)
        return 1
    print(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
