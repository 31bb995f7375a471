"""The Live tab, driven as a teacher drives it: the synthetic source and a video file through SSDlite (random
weights, a small input) and the trained shapes classifier (live feature maps); pause, threshold, snapshot,
faults (a missing camera, a video deleted while playing, CUDA out of memory), stopping and closing. One
window for the module; nothing waits a fixed time."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QImage
from pytestqt.exceptions import TimeoutError  # noqa: A004

cv2 = pytest.importorskip("cv2")

from cnn_explorer.app.window.main_window import MainWindow  # noqa: E402
from cnn_explorer.models.live.errors import LiveError  # noqa: E402

TIMEOUT_MS = 120_000
DETECTOR = "ssdlite320_mobilenet_v3_large"
CLASSIFIER = "zfnet_shapes"  # trained, 64×64: fast on a CPU
LIVE_THREADS = ("cnn-explorer-inference", "cnn-explorer-capture", "cnn-explorer-live")


def live_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.is_alive() and t.name.startswith(LIVE_THREADS)]


def as_array(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format_RGB888)
    w, h = image.width(), image.height()
    return np.frombuffer(image.constBits(), np.uint8).reshape(h, image.bytesPerLine())[:, : 3 * w].reshape(h, w, 3)


@pytest.fixture(scope="module")
def window(qapp, tmp_path_factory):
    folder = tmp_path_factory.mktemp("live")
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(folder / "config"))
    window = MainWindow("lenet5", weights="random", cache_dir=folder / "cache", restore_geometry=False)
    window.resize(1440, 900)
    window.show()
    yield window
    if window.isVisible():
        window.close()


def choose(window, model: str, size: int, threshold: int = 0):
    """The live controller with ``model`` at ``size``×``size`` chosen (the tab not entered yet)."""
    live = window.feature("live")
    panel = live.panel
    panel.select_model(model)
    panel.select(panel.size_combo, size)
    panel.threshold_slider.setValue(threshold)
    return live


def wait_results(qtbot, live, more: int = 3) -> None:
    start = live.shown_results

    def done() -> bool:
        failed = live.panel.run_button.text() == "Start" and live.panel.message_bar.isVisible()
        if failed:  # the pipeline ended with a fault: say which, at once (waitUntil retries on assertions)
            pytest.fail(live.panel.message.text())
        return live.shown_results >= start + more

    try:
        qtbot.waitUntil(done, timeout=TIMEOUT_MS)
    except TimeoutError:
        raise AssertionError(f"no results: starting={live.starting} pipeline={live.pipeline} "
                             f"stats={live.last_stats} message={live.panel.message.text()!r} "
                             f"timer={live.timer.isActive()} threads={live_threads()}") from None


def test_the_synthetic_source_defaults_to_the_trained_shapes_detector_once_it_ships():
    from importlib import resources

    from cnn_explorer.app.live.controller import DEFAULT_MODEL, SHAPES_MODEL, default_model

    shipped = resources.files("cnn_explorer.assets").joinpath(f"{SHAPES_MODEL}.safetensors").is_file()
    assert default_model("synthetic") == (SHAPES_MODEL if shipped else DEFAULT_MODEL)
    assert default_model("video") == DEFAULT_MODEL


def test_the_synthetic_source_through_a_detector_shows_boxes_and_the_hud(qtbot, window):
    assert not window.host.built("live")  # built when first opened, not at start-up
    live = choose(window, DETECTOR, 160)
    window.host.show("live")
    assert window.tabs.currentWidget() is window.host.page("live")
    assert not window.zoo_dock.isVisible()  # the picture gets the width
    wait_results(qtbot, live)
    qtbot.waitUntil(lambda: live.last_stats is not None and live.last_stats.inference_fps > 0, timeout=TIMEOUT_MS)
    view = live.panel.view
    qtbot.waitUntil(lambda: view.painted_boxes > 0, timeout=TIMEOUT_MS)  # threshold 0: random weights find much
    stats = live.last_stats
    assert stats.frames_processed >= 3 and stats.camera_fps > 0 and stats.latency_p50_ms > 0
    assert any("FPS" in line for line in view.hud) and "random weights" in view.hud_warning
    # what is shown is the frame with the findings drawn over it
    raw = live._shown.image
    shown = as_array(view.render_image())
    assert shown.shape == raw.shape and np.abs(shown.astype(int) - raw).mean() > 1
    assert "×" in live.panel.legend.text()  # the legend lists the classes found
    # the threshold applies at once, without a restart
    pipeline = live.pipeline
    live.panel.threshold_slider.setValue(100)
    assert view.frame.detections == [] and live.pipeline is pipeline
    live.panel.filter_edit.setText("no such class")
    live.panel.threshold_slider.setValue(0)
    assert view.frame.detections == []
    live.panel.filter_edit.clear()
    # Space pauses the picture while the model runs on
    view.setFocus()
    qtbot.keyClick(view, Qt.Key_Space)
    assert live.paused and live.panel.pause_button.text() == "Resume"
    shown_before, results_before = live.shown_results, pipeline.results
    qtbot.waitUntil(lambda: pipeline.results >= results_before + 2, timeout=TIMEOUT_MS)
    assert live.shown_results == shown_before and any("PAUSED" in line for line in view.hud)
    qtbot.keyClick(view, Qt.Key_Space)
    wait_results(qtbot, live, 1)


def test_snapshots_are_saved_as_shown_and_a_bad_target_is_a_message(qtbot, window, tmp_path):
    live = window.feature("live")
    target = tmp_path / "live.png"
    live.snapshot(str(target))
    saved = QImage(str(target))
    assert not saved.isNull() and (saved.height(), saved.width()) == live._shown.image.shape[:2]
    live.snapshot(str(tmp_path / "missing" / "live.png"))
    assert live.panel.message_bar.isVisible() and "does not exist" in live.panel.message.text()


def test_live_feature_maps_of_a_classifier_follow_the_camera(qtbot, window):
    live = choose(window, CLASSIFIER, 0)
    window.host.show("live")
    live.open_source("synthetic")
    panel = live.panel
    qtbot.waitUntil(lambda: panel.mosaic is not None and panel.mosaic_updates >= 2, timeout=TIMEOUT_MS)
    assert panel.maps_box.isVisible() and panel.layer_combo.count() >= 2
    first = panel.mosaic.data
    qtbot.waitUntil(lambda: panel.mosaic.data is not first, timeout=TIMEOUT_MS)
    # the shapes move: the maps change with the frames
    assert not np.array_equal(first.values, panel.mosaic.data.values)
    assert "Top-5" in panel.legend_box.title() and "%" in panel.legend.text()
    assert "random weights" not in panel.view.hud_warning  # the shipped, trained weights
    layer = panel.layer_combo.itemData(1)
    panel.layer_combo.setCurrentIndex(1)
    panel.layer_combo.activated.emit(1)
    qtbot.waitUntil(lambda: panel.mosaic.data.layer == layer, timeout=TIMEOUT_MS)
    assert panel.maps_title.text().startswith(layer)


def test_stop_and_start_are_clean_and_leaving_the_tab_stops(qtbot, window):
    live = window.feature("live")
    live.panel.run_button.click()  # Stop
    assert live.pipeline is None and live.panel.run_button.text() == "Start"
    qtbot.waitUntil(lambda: not live_threads(), timeout=TIMEOUT_MS)
    live.panel.run_button.click()  # Start
    wait_results(qtbot, live)
    # The Live tab's model is its own: the explorer's toolbar and model facts step aside while it is shown.
    assert not window.toolbar.isVisible() and not window.status.totals_label.isVisible()
    window.tabs.setCurrentWidget(window.graph_stack)  # the layer graph
    assert live.pipeline is None and window.zoo_dock.isVisible()
    assert window.toolbar.isVisible() and window.status.totals_label.isVisible()
    qtbot.waitUntil(lambda: not live_threads(), timeout=TIMEOUT_MS)
    window.statusBar().showMessage("alexnet: random initialization", 10_000)  # about the explorer's model
    window.host.show("live")
    assert window.statusBar().currentMessage() == ""  # not shown over the Live tab's own model
    wait_results(qtbot, live)


def test_a_video_file_plays_and_deleting_it_is_a_message(qtbot, window, tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (160, 120))
    for i in range(30):
        frame = np.full((120, 160, 3), 40, np.uint8)
        cv2.rectangle(frame, (10 + 3 * i, 20), (60 + 3 * i, 80), (0, 200, 255), -1)
        writer.write(frame)
    writer.release()
    live = window.feature("live")
    live.open_source("video", str(path))
    assert "clip.avi" in live.panel.source_combo.currentText()
    qtbot.waitUntil(lambda: live.pipeline is not None and live.last_stats is not None
                    and "clip.avi" in live.last_stats.source and live.shown_results > 0, timeout=TIMEOUT_MS)
    wait_results(qtbot, live, 2)
    assert live._shown.image.shape == (120, 160, 3)
    path.unlink()
    qtbot.waitUntil(lambda: live.panel.run_button.text() == "Start", timeout=TIMEOUT_MS)  # the pipeline ended
    assert "deleted" in live.panel.message.text()
    assert live.panel.message_bar.isVisible() and live.panel.suggestion_buttons["retry"].isVisible()
    assert window.isVisible()
    qtbot.waitUntil(lambda: not [t for t in live_threads() if not t.startswith("cnn-explorer-live-probe")],
                    timeout=TIMEOUT_MS)
    # a camera that is not there: a message, no model is even built
    live.open_source("camera", "63")
    qtbot.waitUntil(lambda: "camera" in live.panel.message.text().lower(), timeout=TIMEOUT_MS)
    assert live.pipeline is None and live.panel.run_button.text() == "Start"


def test_out_of_memory_offers_a_smaller_input_or_the_cpu(qtbot, window):
    live = window.feature("live")

    class OutOfMemory:  # what the pipeline reports when CUDA ran out of memory
        running, predictor, results = False, None, 0
        error = LiveError("NVIDIA GPU ran out of memory running ssdlite on 480×640 frames: try a smaller input",
                          suggestions=("smaller input", "cpu"))

        def stats(self):
            from cnn_explorer.models.live.pipeline import LiveStats
            return LiveStats(0, 0, 0, 0, 0, 0, 0, "", "", "", "", "synthetic")

        def latest(self):
            return None

        def stop(self, timeout=None):
            return True

    live.source_spec = ("synthetic", "")
    live.panel.select(live.panel.size_combo, 320)
    live._ended = False
    live.session.pipeline = OutOfMemory()
    live._tick()
    buttons = live.panel.suggestion_buttons
    assert "out of memory" in live.panel.message.text()
    assert buttons["smaller input"].isVisible() and buttons["cpu"].isVisible()
    buttons["smaller input"].click()
    assert live.panel.input_size == 224 and live.starting  # restarted with a smaller input
    live.stop()
    live.panel.select(live.panel.size_combo, 0)


def test_fp16_on_the_cpu_offers_fp32(qtbot, window):
    live = window.feature("live")
    live.panel.select(live.panel.device_combo, "cpu")
    live.panel.select(live.panel.precision_combo, "fp16")
    live.start()
    qtbot.waitUntil(lambda: live.panel.suggestion_buttons["fp32"].isVisible(), timeout=TIMEOUT_MS)
    assert "fp16" in live.panel.message.text() and live.panel.run_button.text() == "Start"
    live.panel.suggestion_buttons["fp32"].click()
    assert live.panel.precision == "fp32"
    wait_results(qtbot, live, 2)


def test_a_camera_unplugged_mid_stream_is_reconnected(qtbot, window, monkeypatch):
    from cnn_explorer.models.live import session as live_module
    from cnn_explorer.models.live.errors import SourceError
    from cnn_explorer.models.live.sources import SyntheticSource

    class Camera(SyntheticSource):  # a webcam that can be unplugged: the capture thread opens it again
        reconnect = True
        plugged = True

        def open(self):
            if not Camera.plugged:
                raise SourceError("camera 0 cannot be opened: it is not plugged in")
            super().open()

        def read(self):
            if not Camera.plugged:
                raise SourceError("camera 0 was unplugged")
            return super().read()

    monkeypatch.setattr(live_module, "make_source", lambda kind, value: Camera(width=160, height=120))
    live = window.feature("live")
    live.open_source("camera", "0")
    wait_results(qtbot, live, 2)
    qtbot.waitUntil(live.panel.maps_box.isVisible, timeout=TIMEOUT_MS)  # the same classifier, restarted: maps again
    Camera.plugged = False
    qtbot.waitUntil(lambda: "camera lost, reconnecting" in live.panel.message.text(), timeout=TIMEOUT_MS)
    assert live.pipeline is not None and live.pipeline.running  # waiting for the camera, not ended
    Camera.plugged = True
    qtbot.waitUntil(lambda: not live.panel.message_bar.isVisible(), timeout=TIMEOUT_MS)
    wait_results(qtbot, live, 2)


def test_an_image_folder_emptied_while_playing_is_a_message(qtbot, window, tmp_path):
    from PIL import Image

    for i in range(2):
        Image.fromarray(np.full((90, 120, 3), 60 * i, np.uint8)).save(tmp_path / f"frame{i}.png")
    live = window.feature("live")
    live.open_source("folder", str(tmp_path))
    wait_results(qtbot, live, 2)
    for path in tmp_path.glob("*.png"):
        path.unlink()
    qtbot.waitUntil(lambda: live.panel.run_button.text() == "Start", timeout=TIMEOUT_MS)
    assert live.panel.message_bar.isVisible() and str(tmp_path.name) in live.panel.message.text()
    live.panel.suggestion_buttons["retry"].click()  # still empty: the same message, no crash
    qtbot.waitUntil(lambda: live.panel.run_button.text() == "Start" and live.panel.message_bar.isVisible(),
                    timeout=TIMEOUT_MS)
    live.open_source("synthetic")
    wait_results(qtbot, live, 1)


def test_closing_the_window_while_live_is_quick(qtbot, window):
    live = window.feature("live")
    wait_results(qtbot, live, 1)
    start = time.perf_counter()
    window.close()
    assert time.perf_counter() - start < 0.5
    assert window.zoo_dock.isVisibleTo(window)  # the docks come back before the window saves its state
    qtbot.waitUntil(lambda: not live_threads(), timeout=TIMEOUT_MS)


def test_the_hud_moves_to_the_corner_where_it_hides_no_finding(qtbot):
    """A face or a shape at the top left of the picture is not hidden under the HUD, and boxes of a class
    numbered 0 (MTCNN's "face") are drawn in a colour, not in the black of a segmentation's background."""
    from PySide6.QtCore import QRectF

    from cnn_explorer.models.live.draw import palette
    from cnn_explorer.widgets.live.panel import CameraView, Detection, LiveFrame

    face = tuple(int(c) for c in palette(black_background=False)[0])
    assert max(face) > 150
    view = CameraView()
    qtbot.addWidget(view)
    view.resize(640, 480)
    view.show()
    qtbot.waitExposed(view)
    view.set_hud(["camera 30.0 FPS", "model 12.0 FPS", "latency p50 80 ms · p95 95 ms", "cpu · fp32"])
    view.show_frame(LiveFrame(np.full((480, 640, 3), 90, np.uint8), [Detection((10, 10, 200, 160), "face 0.99", face)]))
    shot = view.grab().toImage()  # paints
    assert view.hud_corner != 0
    shown = view.image_rect()
    box = QRectF(shown.left() + 10 * shown.width() / 640, shown.top() + 10 * shown.height() / 480,
                 190 * shown.width() / 640, 150 * shown.height() / 480)
    # The face's box is drawn in its colour where the HUD would have covered it (its left edge).
    x, y = round(box.left()), round(box.center().y())
    pixel = shot.pixelColor(x, y)
    assert (pixel.red(), pixel.green(), pixel.blue()) == face
    # Nothing found: back to the top left only when the corner it is in would hide something.
    corner = view.hud_corner
    view.show_frame(LiveFrame(np.full((480, 640, 3), 90, np.uint8), []))
    view.grab()
    assert view.hud_corner == corner


def test_a_faces_five_landmarks_are_points_not_a_skeleton(qapp):
    """MTCNN's eyes, nose and mouth corners are drawn as dots; COCO's skeleton joins only a body's 17 points."""
    import numpy as np
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QFont, QImage, QPainter

    from cnn_explorer.widgets.live.camera_view import Detection, LiveFrame, paint_overlays

    points = np.array([[60, 60, 1], [140, 60, 1], [100, 100, 1], [70, 140, 1], [130, 140, 1]], np.float32)
    frame = LiveFrame(np.zeros((200, 200, 3), np.uint8),
                      [Detection((20, 20, 180, 180), "face 0.99", (255, 0, 0), points)])
    image = QImage(200, 200, QImage.Format_RGB888)
    image.fill(0)
    painter = QPainter(image)
    paint_overlays(painter, frame, QRectF(0, 0, 200, 200), QFont(), screen=False)
    painter.end()
    assert image.pixelColor(100, 60).red() == 0  # between the eyes: no line (it was joined as a crossing X)
    assert image.pixelColor(85, 80).red() == 0  # between an eye and the nose: none either
    assert image.pixelColor(60, 60).red() == 255  # the dots are there


def test_a_classifier_on_the_synthetic_scene_says_what_it_learned(window):
    """A classifier names one thing for the whole frame: on the synthetic scene of many shapes, the caption says
    so ("dots 100 %" alone read as a finding)."""
    from types import SimpleNamespace

    live = window.feature("live")
    index = live.panel.model_combo.findData("zfnet_shapes")
    assert index >= 0
    live.panel.model_combo.setCurrentIndex(index)
    result = SimpleNamespace(overlay=np.zeros((48, 64, 3), np.uint8), task="classification",
                             top=[(9, "dots", 1.0)], frame_size=(48, 64))
    assert live.source_spec[0] == "synthetic"
    caption = live.frame_of(result).caption
    assert caption.startswith("dots 100%") and "one shape per image" in caption
