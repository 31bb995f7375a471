"""The lab's detection grid, driven as a teacher drives it: the tool run on the trained shapes YOLO (its
strongest object's cell), another cell chosen from the list of cells holding a detected box; the window's pixels
are those of ``cnn-explorer visualize --method grid``."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtWidgets import QApplication

TIMEOUT_MS = 180_000


@pytest.fixture
def make_window(make_explorer, qtbot):
    """A window on the Lab tab at 1024×768, its first view shown and settled (as test_lab_explain.py's)."""
    def make(model: str):
        window = make_explorer(model, weights="pretrained", view="lab", size=(1024, 768))
        qtbot.waitUntil(lambda: window.feature("lab").panel.view is not None, timeout=TIMEOUT_MS)
        qtbot.waitUntil(lambda: not window.runner.is_busy(), timeout=TIMEOUT_MS)
        QApplication.processEvents()
        return window
    return make


def _run(qtbot, window, action) -> None:
    """``action()``, then wait for the tool's result; a failure fails the test with its message."""
    lab = window.feature("lab")
    done: list[str] = []
    failures: list[str] = []
    lab.tool_done.connect(done.append)
    lab.failed.connect(failures.append)
    try:
        action()
        qtbot.waitUntil(lambda: bool(done or failures), timeout=TIMEOUT_MS)
    finally:
        lab.tool_done.disconnect(done.append)
        lab.failed.disconnect(failures.append)
    assert not failures, failures


def test_the_yolo_grid_its_cells_listed_and_drawn_as_the_command_line_draws_them(qtbot, make_window, tmp_path):
    from cnn_explorer.app import cli
    from cnn_explorer.models.lab import pictures
    from cnn_explorer.models.lab.images import sample_image

    window = make_window("shapes_yolo")
    panel = window.feature("lab").panel
    _run(qtbot, window, lambda: window.feature("lab").run_tool("grid"))
    assert panel.tool.tool == "grid" and "7×7 cells" in panel.tool.title
    assert panel.choice.isVisible() and panel.choice.count() >= 3  # strongest, and ≥ 2 cells with a box
    assert panel.tool.chosen == -1 and panel.choice.currentIndex() == 0
    index = 2
    value = panel.choice.itemData(index)

    def choose():
        panel.choice.setCurrentIndex(index)
        panel.choice.activated.emit(index)  # as a click on the list's entry does
    _run(qtbot, window, choose)
    row, col = divmod(value, 7)
    assert panel.tool.chosen == value and f"cell ({row}, {col})" in panel.tool.images[0][0]

    path, out = tmp_path / "input.png", tmp_path / "out.png"
    Image.fromarray(sample_image("live_shapes")).save(path)
    assert cli.main(["visualize", "shapes_yolo", "--image", str(path), "--method", "grid", "--unit",
                     f"0,{row},{col}", "--out", str(out)]) == 0
    picture = np.asarray(Image.open(out).convert("RGB"))
    panels = panel.tool.images
    zoom = pictures.zoom_factor(panels)
    _, boxes = pictures.panel_boxes(panels)
    for (caption, shown), (top, left, bottom, right) in zip(panels, boxes):
        expected = pictures.gray_to_rgb(shown).repeat(zoom, axis=0).repeat(zoom, axis=1)
        assert np.array_equal(picture[top:bottom, left:right], expected), caption
