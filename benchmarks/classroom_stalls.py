"""The heartbeat's DenseNet-201 classroom cases (unfold all, theme, text size, presentation, arrangement), each
stall measured twice: wall clock, as benchmarks/heartbeat.py does, and the GUI thread's own CPU time in the
same gap (``time.thread_time``), which leaves out what other processes on a busy machine take. The goal is a
wall-clock gap < 100 ms; on a loaded 2-core machine the CPU figure is the steadier one to compare changes by.

    uv run python benchmarks/classroom_stalls.py [--model densenet201]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("CNN_EXPLORER_OFFLINE", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from PySide6.QtCore import QSettings, QTimer  # noqa: E402
from cnn_explorer.app.window.gui_thread import application  # noqa: E402

from heartbeat import idle, spin  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="densenet201")
    args = parser.parse_args()
    app = application(sys.argv[:1])  # noqa: F841
    folder = tempfile.mkdtemp(prefix="classroom-")
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, folder)
    from cnn_explorer.app.window.main_window import MainWindow

    window = MainWindow("alexnet", weights="random", cache_dir=folder)
    window.resize(1400, 900)
    window.show()

    def settle(condition):
        while not condition():
            spin(0.05)

    settle(lambda: not window.is_loading() and window.current_model() == "alexnet")
    window.open_model(args.model)
    settle(lambda: not window.is_loading() and window.current_model() == args.model and idle(window))
    ticks: list[tuple[float, float]] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append((time.perf_counter(), time.thread_time())))

    def measure(action, done) -> tuple[float, float]:
        ticks.clear()
        timer.start()
        spin(0.1)
        action()
        while not done():
            spin(0.02)
        spin(0.1)
        timer.stop()
        gaps = list(zip(ticks, ticks[1:]))
        return 1000 * max(b[0] - a[0] for a, b in gaps), 1000 * max(b[1] - a[1] for a, b in gaps)

    c, graph = window.classroom, window.graph
    drawn_now = lambda: idle(window)  # noqa: E731
    drawn = lambda: graph.font_scale() == c.effective_font_scale() and not graph.is_rebuilding()  # noqa: E731
    cases = [("nothing, 3 s (noise)", lambda: spin(3), lambda: True), ("unfold all", graph.unfold_all, drawn_now),
             ("theme dark", lambda: c.apply_theme("dark"), drawn_now), ("Ctrl+plus", c.zoom_in, drawn),
             ("Ctrl+0", c.zoom_reset, drawn), ("presentation on", c.toggle_presentation, drawn),
             ("presentation off", c.toggle_presentation, drawn), ("compact", c.toggle_compact, drawn_now),
             ("compact back", c.toggle_compact, drawn_now), ("direction", c.toggle_direction, drawn_now),
             ("direction back", c.toggle_direction, drawn_now),
             ("theme high contrast", lambda: c.apply_theme("high_contrast"), drawn_now),
             ("theme light", lambda: c.apply_theme("light"), drawn_now), ("fold all", graph.fold_all, drawn_now)]
    print(f"{'case':<22} {'wall gap':>9} {'GUI-thread CPU':>15}")
    for name, action, done in cases:
        wall, cpu = measure(action, done)
        print(f"{name:<22} {wall:>6.0f} ms {cpu:>12.0f} ms", flush=True)
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
