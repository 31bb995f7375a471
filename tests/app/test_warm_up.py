"""The window's warm-up (app/window/warm_up.py): pyqtgraph is imported on the runner's thread only once the GUI
thread has made the Qt types it reads, because PySide6 making the same type on two threads at once corrupts its
table of types (a segmentation fault later); and a tab opened while the warm-up runs opens as before."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

TIMEOUT_MS = 120_000

# In a fresh process (pyqtgraph not imported yet): optionally the warm-up's QtTypes on the GUI thread, then
# warm_up.import_tab_modules on another thread; prints the names that import added to PySide6's modules.
PROBE = r"""
import json, sys, threading, types
from PySide6.QtCore import QEventLoop
from PySide6.QtWidgets import QApplication

app = QApplication([])
from cnn_explorer.app.window import warm_up

def names():
    return {m: set(vars(module)) for m, module in list(sys.modules.items())
            if m.startswith("PySide6.Qt") and module is not None}

if sys.argv[1] == "types first":
    loop = QEventLoop()
    made = warm_up.QtTypes(None, loop.quit)
    loop.exec()
    assert made.finished
assert not any(m in sys.modules for m in warm_up.TAB_MODULES)
before = names()
thread = threading.Thread(target=warm_up.import_tab_modules, args=(types.SimpleNamespace(check=lambda: None),))
thread.start()
thread.join()
assert all(m in sys.modules for m in warm_up.TAB_MODULES)
after = names()
print(json.dumps({m: sorted(after[m] - before.get(m, set())) for m in after if after[m] - before.get(m, set())}))
"""


def _added_by_background_import(mode: str) -> dict[str, list[str]]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_pyqtgraph_imported_after_the_warm_up_makes_no_qt_type_on_its_thread():
    """Once QtTypes is done, importing pyqtgraph and the tabs' modules on another thread adds no type to any
    PySide6 module (it only reads ones that exist) and imports no PySide6 module of its own; without QtTypes,
    that thread makes the types of QtWidgets itself (hundreds), which the GUI thread may be making meanwhile."""
    assert _added_by_background_import("types first") == {}
    cold = _added_by_background_import("cold")
    assert "QSplitter" in cold.get("PySide6.QtWidgets", []) and sum(map(len, cold.values())) > 100


@pytest.mark.parametrize("tab", ["lab", "charts"])
def test_a_tab_opened_while_the_warm_up_runs_opens_as_before(make_explorer, qtbot, tab):
    """The tab's first opening in the middle of the warm-up (types half made, pyqtgraph not imported yet) builds
    its panel and fills it; the warm-up then ends (pyqtgraph imported on the runner)."""
    window = make_explorer("lenet5_digits", weights="pretrained")
    host = window.host
    host.warm_imports()  # the window calls it 1.5 s after its first model is shown: here at once
    assert not host.warmed_up()
    window.action_map[f"{tab}_tab"].trigger()
    controller = host.built(tab)
    assert window.tabs.currentWidget() is controller.panel
    if tab == "lab":
        qtbot.waitUntil(lambda: controller.panel.view is not None, timeout=TIMEOUT_MS)
        assert controller.panel.mosaic_data.channels == 6
    else:
        from cnn_explorer.models.charts import timeline

        qtbot.waitUntil(lambda: len(controller.panel.timeline.points) == len(timeline()), timeout=TIMEOUT_MS)
        controller.show("accuracy")
        qtbot.waitUntil(lambda: "charts.accuracy" in controller.results, timeout=TIMEOUT_MS)
    qtbot.waitUntil(host.warmed_up, timeout=TIMEOUT_MS)
    assert "pyqtgraph" in sys.modules


def test_the_runners_models_leave_a_core_to_the_window(make_explorer, qtbot):
    """The runner's torch runs on every core but one (models/runtime/threads.py): on the 2-core machine, one, so
    that a model's pass in the lab neither starves the GUI thread of a core nor waits at OpenMP's barriers."""
    window = make_explorer("lenet5_digits", weights="pretrained")
    threads = []

    def count(_job):
        import torch

        return torch.get_num_threads()

    window.runner.submit(count, channel="warm-up", supersede=False, done=lambda _id, n: threads.append(n))
    qtbot.waitUntil(lambda: bool(threads), timeout=TIMEOUT_MS)
    assert threads == [max(1, (os.cpu_count() or 1) - 1)]
