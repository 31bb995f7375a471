"""Painting with and without Qt's thread pool for the raster engine (``QT_NO_GUI_THREADPOOL``, which
``app/window/gui_thread.application`` sets): the Charts tab's first page (the ImageNet timeline: lines, points,
labels, axes with a grid) and the layer graph of a 300-node chain, each drawn again from scratch (the axes' and
the scene's pictures made anew, as after a change), median of --repeat, in two processes (Qt reads the
variable once). Prints each time and the ratio without / with the pool, measured in the same run.

    uv run python benchmarks/paint.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

PROBE = r"""
import json, statistics, sys, time
from PySide6.QtWidgets import QApplication
app = QApplication([])
from cnn_explorer.models.charts import human_top5_error, timeline
from cnn_explorer.widgets.charts.plots import TimelineChart
from cnn_explorer.widgets.graph.data import GraphData, GraphEdge, GraphNode
from cnn_explorer.widgets.graph.view import GraphView

repeat = int(sys.argv[1])
chart = TimelineChart()
chart.resize(1100, 800)
chart.set_points(timeline(), human_top5_error())
chart.grab()

def chart_paint():
    for name in ("left", "bottom"):
        chart.getPlotItem().getAxis(name).picture = None
    start = time.perf_counter()
    chart.grab()
    return 1000 * (time.perf_counter() - start)

kinds = ("conv", "norm", "activation")
nodes = [GraphNode(id=i, name=f"layer{i}", title="Conv 3×3", shape=(64, 56, 56), params=36928, kind=kinds[i % 3],
                   scope="") for i in range(300)]
view = GraphView()
view.resize(1100, 800)
view.set_data(GraphData("chain", nodes, [GraphEdge(i, i + 1, (64, 56, 56)) for i in range(299)]), folded=())
view.grab()

def graph_paint():
    view.set_theme("dark" if view.theme() == "light" else "light")  # every item drawn anew
    start = time.perf_counter()
    view.grab()
    return 1000 * (time.perf_counter() - start)

print(json.dumps({"chart_ms": statistics.median(chart_paint() for _ in range(repeat)),
                  "graph_ms": statistics.median(graph_paint() for _ in range(repeat))}))
"""


def probe(pool: bool, repeat: int) -> dict:
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    env.pop("QT_NO_GUI_THREADPOOL", None)
    if not pool:
        env["QT_NO_GUI_THREADPOOL"] = "1"
    out = subprocess.run([sys.executable, "-c", PROBE, str(repeat)], env=env, capture_output=True, text=True,
                         timeout=600, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with_pool, without = probe(True, args.repeat), probe(False, args.repeat)
    print(f"{'case':<40} {'pool on':>9} {'pool off':>9} {'off/on':>7}")
    for key, name in (("chart_ms", "Charts page (timeline), axes anew"), ("graph_ms", "layer graph, 300 nodes, anew")):
        print(f"{name:<40} {with_pool[key]:>7.1f}ms {without[key]:>7.1f}ms {without[key] / with_pool[key]:>6.2f}×")
    print(json.dumps({"pool_on": with_pool, "pool_off": without}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
