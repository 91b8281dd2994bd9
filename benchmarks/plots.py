"""Figures of benchmark cells: times, throughput and sizes against message size, and the
compression trade-off.

Built with matplotlib's object API, not pyplot: nothing global, and ``savefig`` renders
with the non-interactive Agg canvas, so the command works headless; a notebook shows the
returned figures as they are. The x axis of size plots is the message's size as stock
hypha-rpc sends it: what a user's message weighs today.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Callable, NamedTuple

from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, NullFormatter

import hypha_arrow
from benchmarks.paths import all_paths
from benchmarks.payloads import Payload
from benchmarks.sweep import COMPRESSED, UNCOMPRESSED, by_family, crossover
from benchmarks.targets import Cells
from benchmarks.timing import Cell

MB = 1e6
REFERENCE = "stock"
COLUMNS = 3
"""Panels per row in a figure of one panel per family."""
ALWAYS_COLUMNAR_KINDS = frozenset({"frame"})
"""Payload kinds ``binary_threshold`` does not apply to: DataFrames always go columnar."""

PLAIN = FuncFormatter(lambda value, _: f"{value:g}")
"""Ratio ticks as 0.5 and 2 rather than 5x10^-1."""


class Metric(NamedTuple):
    """A y value of a size plot, from a cell and the message's stock size in bytes."""

    label: str
    value: Callable[[Cell, int], float]
    yscale: str = "log"


ENCODE = Metric("encode ms", lambda cell, _: cell.encode_s * 1e3)
DECODE = Metric("decode ms", lambda cell, _: cell.decode_s * 1e3)
THROUGHPUT = Metric("throughput MB/s\n(stock size / encode+decode)", lambda cell, stock: stock / MB / cell.total_s)
SIZE_RATIO = Metric("frame size / stock size", lambda cell, stock: cell.size_bytes / stock, "linear")


@cache
def _colors() -> dict[str, str]:
    """One colour per path, the same in every figure."""
    return {path.name: f"C{index}" for index, path in enumerate(all_paths())}


def _paths(cells: Cells) -> list[str]:
    return list(dict.fromkeys(path for _, path in cells))


def stock_bytes(payload: Payload, cells: Cells) -> int:
    return cells[payload.name, REFERENCE].size_bytes


def plot_vs_size(ax: Axes, family: list[Payload], cells: Cells, metric: Metric, marks: bool = True) -> None:
    """One line per path: ``metric`` against the stock message size, log-log.

    ``marks`` adds the default ``binary_threshold`` (where small messages stop being plain
    msgpack) and the measured crossover (from where arrow-none is never slower than stock).
    """
    sizes = [stock_bytes(p, cells) for p in family]
    for path in _paths(cells):
        points = [(x, metric.value(cells[p.name, path], x)) for p, x in zip(family, sizes) if (p.name, path) in cells]
        if points:
            ax.plot(*zip(*points), marker="o", markersize=3, label=path, color=_colors().get(path))
    ax.set(xscale="log", yscale=metric.yscale, xlabel="message size as stock sends it (bytes)", ylabel=metric.label)
    if max(sizes) >= 10 * min(sizes):  # whole decades labelled; a narrower range keeps its in-between labels
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.grid(True, which="major", alpha=0.3)
    if marks:
        _mark_threshold(ax, family, cells)


def _mark_threshold(ax: Axes, family: list[Payload], cells: Cells) -> None:
    if family[0].kind not in ALWAYS_COLUMNAR_KINDS:
        threshold = hypha_arrow.Config().binary_threshold
        ax.axvline(threshold, linestyle="--", color="grey", label=f"binary_threshold ({threshold} B)")
    first = crossover(family, cells, UNCOMPRESSED, REFERENCE)
    if first is not None:
        ax.axvline(stock_bytes(first, cells), linestyle=":", color="black", label=f"{UNCOMPRESSED} never slower than stock from here")


def _legend(fig: Figure, ax: Axes) -> None:
    fig.legend(*ax.get_legend_handles_labels(), loc="outside right upper", fontsize="small")


def family_figure(family: list[Payload], cells: Cells) -> Figure:
    """Encode time, decode time and throughput of one family against size."""
    fig = Figure(figsize=(15, 4), layout="constrained")
    axes = fig.subplots(1, 3)
    for ax, metric in zip(axes, (ENCODE, DECODE, THROUGHPUT)):
        plot_vs_size(ax, family, cells, metric)
    fig.suptitle(f"{family[0].family}: time and throughput against size", x=0.02, horizontalalignment="left")
    _legend(fig, axes[0])
    return fig


def per_family_figure(payloads: list[Payload], cells: Cells, metric: Metric, title: str) -> Figure:
    """One panel per family with at least two sizes (every family if none has): ``metric`` against size."""
    groups = list(by_family(payloads).values())
    families = [group for group in groups if len(group) > 1] or groups
    columns = min(COLUMNS, len(families))
    rows = -(-len(families) // columns)
    fig = Figure(figsize=(5 * columns + 3, 4 * rows), layout="constrained")
    axes = list(fig.subplots(rows, columns, squeeze=False).flat)
    for ax in axes[len(families):]:
        ax.remove()
    axes = axes[: len(families)]
    for ax, family in zip(axes, families):
        plot_vs_size(ax, family, cells, metric, marks=metric is not SIZE_RATIO)
        ax.set_title(family[0].family)
    fig.suptitle(title, x=0.02, horizontalalignment="left")
    _legend(fig, max(axes, key=lambda ax: len(ax.get_legend_handles_labels()[1])))
    return fig


def tradeoff_figure(payloads: list[Payload], cells: Cells) -> Figure:
    """Compression trade-off: each compressed path's time and size relative to arrow-none.

    Below 1 on y the frame is smaller; left of 1 on x it is also faster.
    """
    fig = Figure(figsize=(9, 6), layout="constrained")
    ax = fig.add_subplot()
    markers = dict(zip(COMPRESSED, "o^s"))
    palette = colormaps["tab10" if len(payloads) <= 10 else "tab20"]
    colors = [palette(index % palette.N) for index in range(len(payloads))]
    for payload, color in zip(payloads, colors):
        base = cells.get((payload.name, UNCOMPRESSED))
        for path in COMPRESSED:
            cell = cells.get((payload.name, path))
            if base is not None and cell is not None:
                ax.scatter(cell.total_s / base.total_s, cell.size_bytes / base.size_bytes, marker=markers[path], color=color)
    ax.axhline(1, color="grey", linewidth=0.8)
    ax.axvline(1, color="grey", linewidth=0.8)
    ax.set(xscale="log", yscale="log", xlabel=f"encode + decode time / {UNCOMPRESSED}'s", ylabel=f"frame size / {UNCOMPRESSED}'s")
    ax.set_title("compression trade-off (lower: smaller; left: faster)")
    ax.grid(True, which="major", alpha=0.3)
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(PLAIN)
        axis.set_minor_formatter(PLAIN)
    handles = [Patch(color=color, label=payload.name) for payload, color in zip(payloads, colors)]
    handles += [Line2D([], [], marker=marker, color="grey", linestyle="", label=path) for path, marker in markers.items()]
    fig.legend(handles=handles, loc="outside right upper", fontsize="small")
    return fig


def times_figure(payloads: list[Payload], cells: Cells) -> Figure:
    """Encode + decode time of every path on every payload, grouped by payload."""
    paths = _paths(cells)
    height = 0.8 / len(paths)
    fig = Figure(figsize=(10, 1.5 + 0.08 * len(payloads) * len(paths)), layout="constrained")
    ax = fig.add_subplot()
    for offset, path in enumerate(paths):
        rows = [(index, cells[p.name, path].total_s * 1e3) for index, p in enumerate(payloads) if (p.name, path) in cells]
        ax.barh([index + offset * height for index, _ in rows], [ms for _, ms in rows], height=height, label=path, color=_colors().get(path))
    ax.set_yticks([index + 0.4 - height / 2 for index in range(len(payloads))], [p.name for p in payloads])
    ax.invert_yaxis()
    ax.set(xscale="log", xlabel="encode + decode, ms (median; log scale, shorter is faster)")
    ax.set_title("time per message, every path on every payload")
    ax.grid(True, axis="x", which="major", alpha=0.3)
    _legend(fig, ax)
    return fig


def save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    return path


def codec_plots(payloads: list[Payload], cells: Cells, folder: Path) -> list[Path]:
    """The codec command's PNGs: time bars, throughput and size ratio against size, compression trade-off."""
    return [
        save(times_figure(payloads, cells), folder / "times.png"),
        save(per_family_figure(payloads, cells, THROUGHPUT, "throughput against size"), folder / "throughput.png"),
        save(per_family_figure(payloads, cells, SIZE_RATIO, "frame size relative to stock"), folder / "sizes.png"),
        save(tradeoff_figure(payloads, cells), folder / "compression.png"),
    ]
