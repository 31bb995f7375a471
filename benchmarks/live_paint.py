"""How long the Live view's GUI thread spends painting one frame crowded with findings: 300 labelled boxes,
what a detector with random weights finds at threshold 0 (torchvision keeps at most 300), drawn into a
1200×900 view. Compared in the same run with the plain label placement (every candidate place of a label
against every label placed so far, a loop over the pairs), the rule that the fast placement must equal
(tests/qt_free/test_placement.py). The goal (issue 22 §3) is a paint under 100 ms.

    uv run python benchmarks/live_paint.py [--boxes 300] [--repeat 15]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path
from unittest import mock

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from cnn_explorer.app.window.gui_thread import application  # noqa: E402

from cnn_explorer.widgets.live import camera_view  # noqa: E402
from cnn_explorer.widgets.live.camera_view import CameraView, Detection, LiveFrame  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "qt_free"))
from test_placement import _place_plainly  # noqa: E402


class PlainPlacer:
    """The plain rule behind the placer's face."""

    def __init__(self, bounds):
        self.bounds, self.placed = bounds, []

    def place(self, box, size):
        self.placed.append(_place_plainly(box, size, self.placed, self.bounds))
        return self.placed[-1]


def paint_ms(view: CameraView, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        view.grab()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boxes", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    app = application([])  # noqa: F841
    chance = random.Random(3)
    detections = []
    for i in range(args.boxes):
        x, y = chance.uniform(0, 560), chance.uniform(0, 400)
        box = (x, y, x + chance.uniform(40, 300), y + chance.uniform(40, 300))
        detections.append(Detection(box, f"class {i % 3} 1%", (200, 80, 40)))
    view = CameraView()
    view.resize(1200, 900)
    view.show_frame(LiveFrame(np.zeros((480, 640, 3), np.uint8), detections))
    view.show()
    fast = paint_ms(view, args.repeat)
    with mock.patch.object(camera_view, "LabelPlacer", PlainPlacer):
        plain = paint_ms(view, max(3, args.repeat // 5))
    print(f"{args.boxes} labelled boxes, median of the paints: {fast:.0f} ms; with the plain placement "
          f"{plain:.0f} ms; ratio {fast / plain:.2f}× (goal: a paint under 100 ms)")


if __name__ == "__main__":
    main()
