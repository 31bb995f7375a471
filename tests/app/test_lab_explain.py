"""The lab's box maps (a detector) and class maps (a segmenter), driven as a teacher drives them: the tool run,
the boxes found (the classes present) listed, another one chosen from the list; the window's pixels are those
of ``cnn-explorer visualize``."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtWidgets import QApplication

TIMEOUT_MS = 180_000


@pytest.fixture
def make_window(make_explorer, qtbot):
    """A window on the Lab tab at 1024×768, its first view shown and settled (as test_lab_panel.py's)."""
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


def run_tool(qtbot, window, tool: str) -> None:
    _run(qtbot, window, lambda: window.feature("lab").run_tool(tool))
    result = window.feature("lab").panel.tool
    assert result.tool == tool and result.complete


def _choose(qtbot, window, index: int) -> None:
    panel = window.feature("lab").panel

    def choose():
        panel.choice.setCurrentIndex(index)
        panel.choice.activated.emit(index)  # as a click on the list's entry does
    _run(qtbot, window, choose)
    assert panel.tool.chosen == panel.choice.itemData(index)


def _same_as_cli(tmp_path, model: str, image: np.ndarray, panels, *extra: str) -> None:
    from cnn_explorer.app import cli
    from cnn_explorer.models.lab import pictures

    path = tmp_path / "input.png"
    Image.fromarray(image).save(path)
    out = tmp_path / "out.png"
    assert cli.main(["visualize", model, "--image", str(path), *extra, "--out", str(out)]) == 0
    picture = np.asarray(Image.open(out).convert("RGB"))
    zoom = pictures.zoom_factor(panels)
    _, boxes = pictures.panel_boxes(panels)
    for (caption, shown), (top, left, bottom, right) in zip(panels, boxes):
        expected = pictures.gray_to_rgb(shown).repeat(zoom, axis=0).repeat(zoom, axis=1)
        assert np.array_equal(picture[top:bottom, left:right], expected), caption


def test_a_detectors_boxes_listed_and_each_explained(qtbot, make_window, tmp_path):
    from cnn_explorer.models.lab.activations import LabModel
    from cnn_explorer.models.lab.explain import detections
    from cnn_explorer.models.lab.images import sample_image
    from cnn_explorer.models.zoo.loader import load_model

    window = make_window("shapes_yolo")
    panel = window.feature("lab").panel
    assert panel.view.input.source == "sample: live_shapes"  # a frame like those it was trained on
    run_tool(qtbot, window, "boxcam")
    image = sample_image("live_shapes")
    found = detections(LabModel(load_model("shapes_yolo")), image)  # as detect lists them (at 0.5)
    assert panel.choice.isVisible() and panel.choice.count() == len(found) >= 2
    # only the settings that apply to a detector: its box threshold, not a classifier's occlusion square
    assert panel.threshold.isVisible() and not panel.occluder.isVisible() and not panel.stride.isVisible()
    assert panel.tool.chosen == 0 and panel.choice.currentIndex() == 0
    assert [panel.choice.itemData(i) for i in range(panel.choice.count())] == [d.number for d in found]
    assert found[0].name in panel.choice.itemText(0)
    _choose(qtbot, window, 1)
    assert "box 1" in panel.tool.title and found[1].name in panel.tool.title
    assert panel.tool.images[0][1].shape == image.shape  # the image as detect sees it, not the 224 crop
    _same_as_cli(tmp_path, "shapes_yolo", image, panel.tool.images, "--method", "boxcam", "--box", "1")

    # A higher score threshold lists fewer boxes, as detect's --threshold does.
    lab = LabModel(load_model("shapes_yolo"))
    fewer = detections(lab, image, 0.8)
    assert 1 <= len(fewer) < len(found)
    panel.threshold.setValue(0.8)
    run_tool(qtbot, window, "boxcam")
    assert panel.choice.count() == len(fewer) and "≥ 0.8" in panel.tool.images[0][0]



def test_a_segmenters_classes_listed_and_each_explained(qtbot, make_window, tmp_path):
    from cnn_explorer.models.lab.images import sample_image

    window = make_window("shapes_unet")
    panel = window.feature("lab").panel
    run_tool(qtbot, window, "segcam")
    names = [panel.choice.itemText(i).split(" (")[0] for i in range(panel.choice.count())]
    assert panel.choice.isVisible() and set(names) == {"background", "circle", "square", "triangle"}
    assert names[0] == "background" and panel.tool.chosen != 0  # the largest class that is not the background
    triangle = names.index("triangle")
    _choose(qtbot, window, triangle)
    assert "“triangle”" in panel.tool.title
    _same_as_cli(tmp_path, "shapes_unet", sample_image("live_shapes"), panel.tool.images, "--method", "segcam",
                 "--class", "triangle")
