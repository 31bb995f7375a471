"""The lab's GUI speed goal: a feature-map refresh, from the layer's tensor on the worker thread to the
mosaic on screen, ≤ 16 ms, for AlexNet conv1 (64×55×55), ResNet-50 layer1 (256×56×56) and layer4 (2048×7×7).

Timed per refresh (median of ``--repeat``):

* worker: tensor → numpy (``.cpu().numpy()``), scale to uint8 (per channel, or per layer) and tile into one
  image (``app.lab_jobs.make_mosaic``);
* GUI: ``MosaicView.set_data`` (one ``ImageItem.setImage`` with fixed levels and a 256-entry LUT) and a
  synchronous repaint of the view (offscreen platform unless a display is given).

Prints a table and a JSON line.

    QT_QPA_PLATFORM=offscreen uv run python benchmarks/lab_gui.py [--repeat 30] [--size 900]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import torch  # noqa: E402
from cnn_explorer.app.window.gui_thread import application  # noqa: E402

from cnn_explorer.app.lab.jobs import make_mosaic  # noqa: E402
from cnn_explorer.widgets.lab.mosaic import MosaicView  # noqa: E402

CASES = (("AlexNet conv1", (64, 55, 55)), ("ResNet-50 layer1", (256, 56, 56)), ("ResNet-50 layer4", (2048, 7, 7)))
GOAL_MS = 16.0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--size", type=int, default=900, help="the view's side in pixels")
    args = parser.parse_args(argv)
    app = application([])
    view = MosaicView()
    view.resize(args.size, args.size)
    view.show()
    app.processEvents()
    rows = []
    torch.manual_seed(0)
    for name, shape in CASES:
        for normalize in ("channel", "layer"):
            tensor = torch.relu(torch.randn(shape))  # a post-ReLU map, as the worker holds it
            worker, gui = [], []
            for i in range(args.repeat + 2):
                t0 = time.perf_counter()
                values = tensor.cpu().numpy()
                data = make_mosaic(values, name, name, normalize, "none")
                t1 = time.perf_counter()
                view.set_data(data)
                view.view.viewport().repaint()
                t2 = time.perf_counter()
                if i >= 2:  # the first two warm up (LUT, first paint)
                    worker.append((t1 - t0) * 1e3)
                    gui.append((t2 - t1) * 1e3)
            w, g = statistics.median(worker), statistics.median(gui)
            rows.append({"case": name, "shape": list(shape), "normalize": normalize,
                         "mosaic": list(data.image.shape), "worker_ms": round(w, 2), "gui_ms": round(g, 2),
                         "total_ms": round(w + g, 2), "goal_ms": GOAL_MS, "ok": w + g <= GOAL_MS})
            app.processEvents()
    print(f"feature-map refresh (numpy on the worker → mosaic on screen), view {args.size}×{args.size}, "
          f"median of {args.repeat}, torch threads {torch.get_num_threads()}")
    print(f"{'case':<18} {'C×H×W':<12} {'normalize':<9} {'mosaic':<11} {'worker':>8} {'GUI':>8} {'total':>8}  goal")
    for r in rows:
        print(f"{r['case']:<18} {'×'.join(map(str, r['shape'])):<12} {r['normalize']:<9} "
              f"{'×'.join(map(str, r['mosaic'])):<11} {r['worker_ms']:>6.1f}ms {r['gui_ms']:>6.1f}ms "
              f"{r['total_ms']:>6.1f}ms  {'ok' if r['ok'] else 'OVER'} (≤ {GOAL_MS:.0f} ms)")
    print(json.dumps({"benchmark": "lab_gui", "rows": rows}))
    view.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
