"""The live view's explanation (models/live/explain.py): the map of the shapes YOLO's strongest box peaks inside
that box on synthetic frames, a classifier's Grad-CAM explains the class the live predictor shows, and the
explainer's thread maps the newest frame only and ends when stopped."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")
torch = pytest.importorskip("torch")

from cnn_explorer.models.lab.explain import peak  # noqa: E402
from cnn_explorer.models.live.explain import LiveExplainer, explain_frame, heat_rgba  # noqa: E402
from cnn_explorer.models.live.predictor import Predictor  # noqa: E402
from cnn_explorer.models.live.sources import SyntheticSource  # noqa: E402

FRAMES = (0, 7, 23, 41, 66)


def wait_until(predicate, timeout: float = 120.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        threading.Event().wait(0.01)


def _box_iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.fixture(scope="module")
def yolo_lab():
    return LiveExplainer("shapes_yolo")._load()


def test_strongest_box_map_peaks_inside_that_box(yolo_lab):
    source = SyntheticSource(640, 480, 30.0)
    predictor = Predictor("shapes_yolo", score_threshold=0.5)
    for index in FRAMES:
        image, truth = source.render(index)
        found = explain_frame(yolo_lab, image, 0.5)
        live = predictor(image)
        assert found is not None and len(live.scores), f"frame {index}: no box"
        best = int(np.argmax(live.scores))
        # the box explained is the live view's strongest, and a real shape of the frame
        assert _box_iou(found.box, live.boxes[best]) > 0.9, f"frame {index}: {found.box} vs {live.boxes[best]}"
        assert max(_box_iou(found.box, t) for t in truth.boxes) > 0.5, f"frame {index}: no shape there"
        assert found.cam.shape == (120, 160) and 0.0 <= found.cam.min() and found.cam.max() == pytest.approx(1.0)
        x, y = peak(found.cam)
        scale = 640 / found.cam.shape[1]
        x, y = (x + 0.5) * scale, (y + 0.5) * scale
        x1, y1, x2, y2 = found.box
        assert x1 <= x <= x2 and y1 <= y <= y2, f"frame {index}: peak ({x:.0f}, {y:.0f}) outside {found.box}"


def test_no_box_no_map(yolo_lab):
    blank = np.full((480, 640, 3), 128, np.uint8)
    assert explain_frame(yolo_lab, blank, 0.5) is None


def test_classifier_map_explains_the_class_the_live_view_shows():
    lab = LiveExplainer("zfnet_shapes")._load()
    predictor = Predictor("zfnet_shapes")
    source = SyntheticSource(640, 480, 30.0)
    for index in FRAMES[:3]:
        image, _ = source.render(index)
        found = explain_frame(lab, image)
        assert found.method == "Grad-CAM" and found.box is None
        assert found.what == predictor(image).top[0][1]
        assert found.cam.shape == (120, 160) and found.cam.max() == pytest.approx(1.0)
        assert (found.cam < 0.5).mean() > 0.2, "the map should single out a part of the frame"


def test_heat_is_transparent_where_the_map_is_cold():
    cam = np.zeros((4, 4), np.float32)
    cam[1, 2] = 1.0
    rgba = heat_rgba(cam, 0.6)
    assert rgba.shape == (4, 4, 4) and rgba.dtype == np.uint8
    assert rgba[0, 0, 3] == 0 and rgba[1, 2, 3] == round(0.6 * 255)
    assert rgba[1, 2, 0] > rgba[1, 2, 2]  # hot is red, not blue


def test_a_slow_first_map_does_not_rest_the_explainer_long():
    explainer = LiveExplainer("shapes_yolo")
    explainer.count = 1  # the first map pays the lazy imports and the first backward pass
    assert explainer._rest(12.0) <= 1.0
    explainer.count = 2
    assert 0.05 < explainer._rest(0.1) <= 1.0  # then it rests in proportion to a map's cost


def test_explainer_maps_the_newest_frame_in_its_own_thread():
    source = SyntheticSource(640, 480, 30.0)
    frames = [source.render(i)[0] for i in range(12)]
    explainer = LiveExplainer("shapes_yolo", interval=0.05)
    try:
        for i, frame in enumerate(frames):  # offered faster than it maps: stale frames are dropped, never queued
            explainer.offer(frame, i)
        wait_until(lambda: explainer.count >= 1 or explainer.error, what="a first map")
        assert explainer.error is None
        wait_until(lambda: explainer.latest is not None and explainer.latest.frame_index == 11, what="the newest")
        assert explainer.count < len(frames)
        for i in range(12, 20):
            explainer.offer(frames[i % 12], i)
            wait_until(lambda: explainer.latest is not None and explainer.latest.frame_index == i, what=f"map {i}")
        assert explainer.fps() > 0
    finally:
        assert explainer.stop(60)
    assert not explainer.running
