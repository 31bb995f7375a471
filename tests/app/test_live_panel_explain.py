"""Explain in the Live tab, driven as a teacher drives it: the synthetic source through the trained shapes
classifier (Grad-CAM of its top class) and the shapes YOLO (the map of its strongest box); the heat map is
laid over the picture, the HUD gives its own FPS, and turning it off stops it. Nothing waits a fixed time."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QImage

pytest.importorskip("cv2")

from cnn_explorer.app.window.main_window import MainWindow  # noqa: E402

TIMEOUT_MS = 120_000


def as_array(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format_RGB888)
    w, h = image.width(), image.height()
    return np.frombuffer(image.constBits(), np.uint8).reshape(h, image.bytesPerLine())[:, : 3 * w].reshape(h, w, 3)


@pytest.fixture(scope="module")
def window(qapp, tmp_path_factory):
    folder = tmp_path_factory.mktemp("live_explain")
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(folder / "config"))
    window = MainWindow("lenet5", weights="random", cache_dir=folder / "cache", restore_geometry=False)
    window.resize(1440, 900)
    window.show()
    yield window
    if window.isVisible():
        window.close()


def start(qtbot, window, model: str, threshold: int):
    live = window.feature("live")
    panel = live.panel
    panel.select_model(model)
    panel.select(panel.size_combo, 0)
    panel.threshold_slider.setValue(threshold)
    window.host.show("live")
    live.open_source("synthetic")

    def shown() -> bool:
        if panel.run_button.text() == "Start" and panel.message_bar.isVisible():
            pytest.fail(panel.message.text())
        return live._shown is not None and live._shown.model == model

    qtbot.waitUntil(shown, timeout=TIMEOUT_MS)
    return live


def explain_fps(hud: list[str]) -> float | None:
    found = [re.search(r"explain ([\d.]+) FPS", line) for line in hud]
    found = [m for m in found if m]
    return float(found[0].group(1)) if found else None


def test_explain_lays_a_classifiers_grad_cam_over_the_picture_and_stops(qtbot, window):
    live = start(qtbot, window, "zfnet_shapes", 50)
    panel, view = live.panel, live.panel.view
    assert panel.explain_check.isVisible() and not live.session.explain_wanted
    panel.explain_check.setChecked(True)
    qtbot.waitUntil(lambda: view.frame is not None and view.frame.explain is not None and live.explains_shown >= 3,
                    timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: (explain_fps(view.hud) or 0) > 0, timeout=TIMEOUT_MS)
    assert re.search(r"camera \d+ FPS · model [\d.]+ FPS · explain", view.hud[0])
    explainer = live.session.explainer
    assert any(line.startswith("explain: Grad-CAM of ") for line in view.hud)
    # the heat is blended over the picture: the snapshot differs from the frame where the map is hot
    heat = view.frame.explain
    raw = live._shown.image
    shown = as_array(view.render_image())
    assert shown.shape == raw.shape and np.abs(shown.astype(int) - raw).mean() > 2
    assert heat[..., 3].max() > 100 and heat[..., 3].min() < 30  # hot somewhere, see-through elsewhere
    # turned off: no overlay, no explain FPS, and no more maps once the one in progress is done
    panel.explain_check.setChecked(False)
    assert view.frame.explain is None and not live.session.explain_wanted
    qtbot.waitUntil(lambda: not explainer.busy and explain_fps(view.hud) is None, timeout=TIMEOUT_MS)
    count, shown_before = explainer.count, live.shown_results
    qtbot.waitUntil(lambda: live.shown_results >= shown_before + 10, timeout=TIMEOUT_MS)
    assert explainer.count == count and view.frame.explain is None


def test_explain_maps_the_shapes_yolos_strongest_box(qtbot, window):
    live = start(qtbot, window, "shapes_yolo", 50)
    panel, view = live.panel, live.panel.view
    panel.explain_check.setChecked(True)
    qtbot.waitUntil(lambda: view.frame is not None and view.frame.explain is not None and live.explains_shown >= 3,
                    timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: (explain_fps(view.hud) or 0) > 0, timeout=TIMEOUT_MS)
    assert any(line.startswith("explain: HiResCAM of box ") for line in view.hud)
    found = live.session.explainer.latest
    assert found is not None and found.box is not None and found.method == "HiResCAM"
    assert live.session.explainer.error is None
    panel.explain_check.setChecked(False)
    assert view.frame.explain is None
