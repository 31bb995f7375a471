"""Time the layer graph view on big networks, fully unfolded and folded, against Graphviz ``dot``, in one run.

For each model: recording its graph (``summarize`` with random weights), converting it (``graph_data_from``),
then the view's rebuild split into layout (folding, text measuring, igraph Sugiyama, edge routing) and scene
building (creating the Qt items), fully unfolded and with every outermost block folded. View times are the
median of --repeat runs after one warm-up run. ``dot -Tsvg`` gets the same unfolded nodes and edges, with
the same three-line labels, and --dot-timeout seconds.

    uv run python benchmarks/graph_layout.py [--models resnet152 ...] [--repeat 3] [--dot-timeout 60]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

MODELS = ("resnet152", "densenet121", "densenet201", "inception_v3", "efficientnet_b7")


def _median_build(view, data, folded, repeat: int) -> dict[str, float]:
    view.set_data(data, folded=folded)  # warm-up
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        view.set_data(data, folded=folded)
        total = time.perf_counter() - start
        runs.append({"total": total, **view.build_timings()})
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def _dot_source(data) -> str:
    from cnn_explorer.widgets.common import format as fmt
    def quoted(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = ["digraph G {", "  rankdir=TB;", '  node [shape=box, style="rounded,filled", fontname="DejaVu Sans"];']
    for node in data.nodes:
        label = f"{node.title}\\n{fmt.shape(node.shape, node.extra_outputs)}\\n{fmt.params(node.params)}"
        lines.append(f"  n{node.id} [label={quoted(label)}];")
    for edge in data.edges:
        lines.append(f"  n{edge.src} -> n{edge.dst} [label={quoted(fmt.shape(edge.shape))}];")
    lines.append("}")
    return "\n".join(lines)


def _time_dot(data, timeout: float) -> float | None:
    """Seconds ``dot -Tsvg`` takes on the graph; None when it ran past ``timeout``."""
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "graph.dot"
        source.write_text(_dot_source(data), encoding="utf-8")
        start = time.perf_counter()
        try:
            subprocess.run(["dot", "-Tsvg", "-o", str(Path(folder) / "graph.svg"), str(source)],
                           check=True, timeout=timeout, capture_output=True)
        except subprocess.TimeoutExpired:
            return None
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dot-timeout", type=float, default=60.0)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    import torch
    from cnn_explorer.app.core.view_data import graph_data_from
    from cnn_explorer.models.zoo.loader import load_model, summarize
    from cnn_explorer.widgets.graph.view import GraphView
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])  # noqa: F841
    view = GraphView()
    view.resize(1400, 900)
    dot = shutil.which("dot")
    dot_version = subprocess.run([dot, "-V"], capture_output=True, text=True, check=False).stderr.strip() if dot else ""
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs; "
          f"{dot_version or 'dot not installed'}")
    print("view times: median of", args.repeat, "after a warm-up; s = seconds")
    header = (f"{'model':<16} {'nodes':>5} {'edges':>5} {'record s':>8} {'layout s':>8} {'scene s':>7} "
              f"{'view s':>6} | {'folded':>6} {'layout s':>8} {'scene s':>7} {'view s':>6} | {'dot s':>7}")
    print(header)
    print("-" * len(header))
    rows = []
    for name in args.models:
        loaded = load_model(name, weights="random")
        start = time.perf_counter()
        summary = summarize(loaded)
        record = time.perf_counter() - start
        data = graph_data_from(summary)
        unfolded = _median_build(view, data, (), args.repeat)
        folded = _median_build(view, data, None, args.repeat)
        folded_nodes = len(view.visible_nodes())
        dot_seconds = _time_dot(data, args.dot_timeout) if dot else None
        if not dot:
            dot_text = "absent"
        elif dot_seconds is None:
            dot_text = f">{args.dot_timeout:.0f}"
        else:
            dot_text = f"{dot_seconds:.2f}"
        row = {"model": name, "nodes": len(data.nodes), "edges": len(data.edges), "record_s": record,
               "unfolded": unfolded, "folded_nodes": folded_nodes, "folded": folded,
               "dot_s": dot_seconds, "dot_timed_out": bool(dot) and dot_seconds is None,
               "dot_installed": bool(dot)}
        rows.append(row)
        print(f"{name:<16} {len(data.nodes):>5} {len(data.edges):>5} {record:>8.2f} {unfolded['layout']:>8.3f} "
              f"{unfolded['scene']:>7.3f} {unfolded['total']:>6.3f} | {folded_nodes:>6} {folded['layout']:>8.3f} "
              f"{folded['scene']:>7.3f} {folded['total']:>6.3f} | {dot_text:>7}", flush=True)
        del loaded, summary
    if not dot:
        print("dot not installed: install Graphviz (apt-get install graphviz) to compare")
    print(json.dumps({"benchmark": "graph_layout", "cpus": os.cpu_count(), "dot": dot_version or None,
                      "dot_timeout_s": args.dot_timeout, "rows": rows}))


if __name__ == "__main__":
    main()
