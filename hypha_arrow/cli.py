"""The ``hypha-arrow`` command: ``demo`` shows what the codec does, ``inspect`` opens a frame."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from statistics import median
from typing import Any

import numpy as np
import pandas as pd

from . import Config, DecodeError, decode_message, encode_message, inspect

HEADER = {"type": "method", "from": "ws-demo/caller", "to": "ws-demo/service:analysis", "method": "analysis.run"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hypha-arrow", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="encode and decode a DataFrame and arrays, against stock hypha-rpc")
    demo.add_argument("--rows", type=int, default=1_000_000, help="DataFrame rows and array length (default 1e6)")
    demo.add_argument("--repeat", type=int, default=3, help="timed runs per path; medians are shown")
    opened = commands.add_parser("inspect", help="print a frame's header, skeleton, Arrow schema and sizes")
    opened.add_argument("file", help="a file holding one frame, or - for standard input")
    args = parser.parse_args(argv)
    return run_demo(args.rows, args.repeat) if args.command == "demo" else run_inspect(args.file)


def run_inspect(path: str) -> int:
    data = sys.stdin.buffer.read() if path == "-" else open(path, "rb").read()
    try:
        report = inspect(data)
    except DecodeError as error:
        print(f"hypha-arrow inspect: not a valid frame: {error}", file=sys.stderr)
        return 1
    print(json.dumps(report, indent=2, default=str))
    return 0


def run_demo(rows: int, repeat: int) -> int:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"id": np.arange(rows), "value": rng.random(rows), "label": [f"sample-{i % 1000}" for i in range(rows)]})
    extra = {
        "args": [frame, rng.random(rows), rng.integers(0, 255, size=(512, 512, 3), dtype=np.uint8)],
        "kwargs": {"note": "hello from the demo"},
        "with_kwargs": True,
    }
    print(f"Message: DataFrame {frame.shape} (int64, float64, str), float64[{rows}], uint8 image (512, 512, 3)\n")
    _, arrived = decode_message(encode_message(HEADER, extra))
    print("What arrived through hypha_arrow:")
    for index, value in enumerate(arrived["args"]):
        print(f"  args[{index}]: {_describe(value)}")
    print()
    rows_out = [("hypha_arrow", *_time_path(lambda: encode_message(HEADER, extra), decode_message, repeat))]
    for name, config in (("hypha_arrow lz4", Config(compression_algorithm="lz4")), ("hypha_arrow auto", Config(compression_algorithm="auto"))):
        rows_out.append((name, *_time_path(lambda c=config: encode_message(HEADER, extra, config=c), lambda d, c=config: decode_message(d, config=c), repeat)))
    stock = _stock_codec()
    if stock is not None:
        rows_out.insert(0, ("stock hypha-rpc", *_time_path(lambda: stock.encode_message(HEADER, extra), stock.decode_message, max(1, repeat // 2))))
    _print_table(rows_out)
    return 0


def _stock_codec() -> Any:
    try:
        from .stock import StockCodec

        return StockCodec()
    except ImportError:
        print("(hypha-rpc is not installed: no stock comparison; pip install 'hypha-arrow[rpc]')\n")
        return None


def _time_path(encode: Callable[[], bytes], decode: Callable[[bytes], Any], repeat: int) -> tuple[float, float, int]:
    encode_times, decode_times = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        data = encode()
        middle = time.perf_counter()
        decode(data)
        encode_times.append(middle - start)
        decode_times.append(time.perf_counter() - middle)
    return median(encode_times), median(decode_times), len(data)


def _print_table(rows: list[tuple[str, float, float, int]]) -> None:
    reference = rows[0][1] + rows[0][2]
    print(f"{'path':<18}{'encode ms':>11}{'decode ms':>11}{'size MB':>10}{'speedup':>9}")
    for name, encode_s, decode_s, size in rows:
        speedup = reference / (encode_s + decode_s)
        print(f"{name:<18}{encode_s * 1e3:>11.2f}{decode_s * 1e3:>11.2f}{size / 1e6:>10.2f}{speedup:>8.1f}x")
    print("\n(medians; speedup relative to the first row)")


def _describe(value: Any) -> str:
    if isinstance(value, pd.DataFrame):
        dtypes = ", ".join(f"{c}: {t}" for c, t in value.dtypes.items())
        return f"pandas.DataFrame shape={value.shape} dtypes=({dtypes})"
    if isinstance(value, np.ndarray):
        return f"numpy.ndarray shape={value.shape} dtype={value.dtype} read-only={not value.flags.writeable}"
    return f"{type(value).__name__}"


if __name__ == "__main__":
    sys.exit(main())
