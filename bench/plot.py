#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Charts of the curve cases of bench/run, as SVG, from its `bench ...` lines.

    plot.py OUTDIR [RESULTS]     (RESULTS: a file of bench lines; standard input without it)

Writes, for the cases present:
  lock_contended.svg  ns per increment against the number of processes (lock_contended_<N>p)
  spawn_burst.svg     us per child against the children started at once (spawn_burst_<N>)
  segment_touch.svg   GiB/s against the segment size (segment_touch_<size>)
Each point is the median; its bar spans the rounds' min to max. Lines: interproc solid, the
OS floors dashed, Python dotted, other peers dash-dotted; in spawn_burst one colour per start
method. Exits 3 when matplotlib cannot be imported.
"""
import os
import re
import sys

try:
    import matplotlib
    matplotlib.use("svg")
    import matplotlib.pyplot as plt
except ImportError:
    print("plot.py: matplotlib not found (Debian: python3-matplotlib)", file=sys.stderr)
    sys.exit(3)

LINE = re.compile(r"^bench (\S+) (\S+) (\w+)=([\d.]+)(?: min=([\d.]+) max=([\d.]+))?")

# Each chart: file, title, case pattern (its group is the x value), x label, y label, log y.
CHARTS = [
    ("lock_contended.svg", "Contended lock: N processes adding 1 under one lock",
     r"lock_contended_(\d+)p", "processes", "ns per increment (log)", True),
    ("spawn_burst.svg", "Spawn burst: N children started at once, then joined",
     r"spawn_burst_(\d+)", "children in the burst", "µs per child (log)", True),
    ("segment_touch.svg", "Segment create + map + touch every page + unmap",
     r"segment_touch_(\d+[kmg])", "segment size (MiB)", "GiB/s", False),
]
UNIT = {"k": 1 / 1024, "m": 1, "g": 1024}


def x_value(text):
    """A case's x: a count, or a size such as 64m in MiB."""
    return float(text[:-1]) * UNIT[text[-1]] if text[-1] in UNIT else float(text)


def read_points(lines, pattern):
    """{impl: [(x, median, min, max)]} of the cases that match `pattern`, sorted by x."""
    points = {}
    for line in lines:
        m = LINE.match(line)
        if not m:
            continue
        case, impl, _, median, low, high = m.groups()
        x = re.fullmatch(pattern, case)
        if x:
            median = float(median)
            points.setdefault(impl, []).append(
                (x_value(x.group(1)), median, float(low or median), float(high or median)))
    return {impl: sorted(p) for impl, p in points.items()}


METHOD_COLOURS = {"spawn": "tab:blue", "fork": "tab:orange", "forkserver": "tab:green"}


def line_style(impl):
    if impl.startswith("interproc"):
        return "-"
    if impl.endswith("_floor"):
        return "--"
    return ":" if impl.startswith("python") else "-."


def colour(impl, index):
    """The start method's colour where the name says one (interproc_fork, python_fork), else the next."""
    method = impl.split("_", 1)[-1]
    if impl in ("posix_spawn_floor", "createprocess_floor"):
        method = "spawn"
    elif impl == "fork_floor":
        method = "fork"
    return METHOD_COLOURS.get(method, f"C{index + 3}")


def draw(points, title, xlabel, ylabel, log_y, path):
    fig, ax = plt.subplots(figsize=(7, 4.2))
    order = sorted(points, key=lambda impl: (not impl.startswith("interproc"), impl))
    for index, impl in enumerate(order):
        xs, medians, lows, highs = zip(*points[impl])
        spread = [[m - lo for m, lo in zip(medians, lows)], [hi - m for m, hi in zip(medians, highs)]]
        ax.errorbar(xs, medians, yerr=spread, label=impl, marker="o", markersize=4, capsize=3,
                    linestyle=line_style(impl), color=colour(impl, index))
    ax.set_xscale("log", base=2)
    xs = sorted({x for p in points.values() for x, *_ in p})
    ax.set_xticks(xs, [f"{x:g}" for x in xs])
    ax.minorticks_off()
    if log_y:
        ax.set_yscale("log")
    else:
        ax.set_ylim(bottom=0)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    fig.savefig(path, metadata={"Date": None})  # no date: the same numbers give the same file
    plt.close(fig)


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    out_dir = sys.argv[1]
    source = open(sys.argv[2], encoding="utf-8") if len(sys.argv) == 3 else sys.stdin
    lines = source.read().splitlines()
    os.makedirs(out_dir, exist_ok=True)
    # Text stays text (not glyph outlines), and ids are stable: smaller files, readable diffs.
    plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "interproc-bench"})
    for name, title, pattern, xlabel, ylabel, log_y in CHARTS:
        points = read_points(lines, pattern)
        if not points:
            print(f"plot.py: no {pattern} lines: {name} not written", file=sys.stderr)
            continue
        path = os.path.join(out_dir, name)
        draw(points, title, xlabel, ylabel, log_y, path)
        print(f"plot.py: wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
