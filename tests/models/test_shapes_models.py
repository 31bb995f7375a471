"""The trained shapes detector (``shapes_yolo``, a reduced YOLO v1) and segmenter (``shapes_unet``, a small
U-Net): their shipped weights find the live view's synthetic shapes on frames they were never trained on
(sources seeded below 1000; training used seeds from 1000 on), through the live predictor and the pipeline's
quality meter; YOLO v1 with random weights runs live too; the training scripts run and write loadable weights."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("cv2")

from cnn_explorer.models.live.pipeline import LivePipeline  # noqa: E402
from cnn_explorer.models.live.predictor import Predictor  # noqa: E402
from cnn_explorer.models.live.quality import (  # noqa: E402
    DetectionQuality, PixelQuality, QualityMeter, detection_quality, pixel_quality)
from cnn_explorer.models.live.sources import SHAPE_CLASSES, SyntheticSource  # noqa: E402

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
TEST_SEEDS = (20, 21, 22)  # neither trained on (seeds ≥ 1000) nor the scripts' own held-out check (0-9)
FRAMES = 6  # per seed, 2 s apart


def held_out_frames(frames: int = FRAMES):
    for seed in TEST_SEEDS:
        source = SyntheticSource(seed=seed, realtime=False)
        for i in range(frames):
            image, truth = source.render(60 * i)
            yield image, truth


@pytest.fixture(scope="module")
def yolo():
    return Predictor("shapes_yolo")


@pytest.fixture(scope="module")
def unet():
    return Predictor("shapes_unet")


def test_shapes_yolo_finds_nine_in_ten_held_out_shapes(yolo):
    """The issue's goal: recall ≥ 0.9 at IoU 0.5, on the training script's full held-out set (200 frames, 800
    shapes, seeds never trained on); the shipped weights must also give the figure their record states, so the
    record cannot drift from the weights."""
    import json

    record = json.loads((Path(__file__).resolve().parents[2] / "assets" / "shapes_yolo.json").read_text())
    assert yolo.weights == "pretrained" and yolo.categories[:4] == list(SHAPE_CLASSES)
    total, meter = DetectionQuality(0, 0, 0, 0.0), QualityMeter(score_threshold=yolo.score_threshold)
    for seed in range(10):  # the record's held-out set: seeds 0-9, 20 frames 1.5 s apart
        source = SyntheticSource(seed=seed, realtime=False)
        for i in range(20):
            image, truth = source.render(45 * i)
            result = yolo(image)
            result.truth = truth
            meter.add(result)
            assert result.frame_size == (480, 640) and result.input_size == (224, 224)
            assert set(result.names) <= {"circle", "square", "triangle"}
            keep = result.scores >= yolo.score_threshold
            assert ((result.boxes[:, 2:] > result.boxes[:, :2]).all() and (result.boxes >= 0).all()
                    and (result.boxes[:, 2] <= 640).all() and (result.boxes[:, 3] <= 480).all())
            total += detection_quality(result.boxes[keep], truth.boxes, pred_labels=result.labels[keep],
                                       truth_labels=truth.labels)
    assert total.truths == record["held_out_boxes"] == 800
    assert abs(total.recall - record["recall_at_iou_0.5"]) <= 0.01, (total.recall, record["recall_at_iou_0.5"])
    assert total.recall >= 0.9, f"recall@0.5 {total.recall:.3f} ({total.matched} of {total.truths})"
    assert total.mean_iou >= 0.6 and total.precision >= 0.9
    figures = meter.to_json()  # what bench-live reports: the same, class by class
    assert figures["recall_at_iou"] == round(total.recall, 4) and figures["mean_iou"] == round(total.mean_iou, 4)


def test_shapes_unet_colours_held_out_shapes_with_pixel_iou_above_0_8(unet):
    assert unet.weights == "pretrained" and unet.categories == list(SHAPE_CLASSES) and unet.background == 0
    total, meter = PixelQuality(0, 0), QualityMeter()
    for image, truth in held_out_frames(2):  # 6 frames, 1.8 million pixels: a full-frame U-Net costs more
        result = unet(image)
        result.truth = truth
        meter.add(result)
        assert result.class_map.shape == (480, 640) and result.overlay.shape == (480, 640, 3)
        total += pixel_quality(result.class_map, truth.label_map, classes=range(1, 4))
    assert total.iou >= 0.8, f"pixel IoU {total.iou:.3f}"
    assert meter.to_json()["pixel_iou"] == round(total.iou, 4)


def test_the_bench_live_path_reports_the_shapes_models_quality(yolo, unet):
    for predictor, key, goal in ((yolo, "recall_at_iou", 0.9), (unet, "pixel_iou", 0.8)):
        report = LivePipeline(SyntheticSource(seed=TEST_SEEDS[0], fps=30), predictor).bench(
            frames=8, timeout=120, model_only=False)
        assert report["model"] == predictor.name and report["quality"]["frames"] >= 8
        assert report["quality"][key] >= goal, report["quality"]


def test_yolo_v1_with_random_weights_runs_live_with_voc_names():
    predictor = Predictor("yolo_v1", weights="random", score_threshold=0.0)
    assert predictor.categories[0] == "__background__" and len(predictor.categories) == 21
    assert "person" in predictor.categories
    result = predictor(np.zeros((120, 160, 3), np.uint8))
    assert result.input_size == (448, 448) and len(result.boxes) <= 98  # at most 7×7 cells × 2 boxes
    assert len(result.boxes) == len(result.labels) == len(result.scores)
    assert ((result.labels >= 1) & (result.labels <= 20)).all()
    assert (result.boxes[:, [0, 2]] <= 160).all() and (result.boxes[:, [1, 3]] <= 120).all()


def _script(name):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(SCRIPTS))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(SCRIPTS))
    return module


@pytest.mark.parametrize("name", ["train_shapes_yolo", "train_shapes_unet"])
def test_the_training_scripts_run_and_write_loadable_weights(tmp_path, name):
    from safetensors.torch import load_file

    script = _script(name)
    assert script.main(["--steps", "2", "--batch", "2", "--scenes", "4", "--out", str(tmp_path), "--no-eval",
                        "--threads", "1"]) == 0
    stem = script.NAME
    state = load_file(str(tmp_path / f"{stem}.safetensors"))
    script.build_model().load_state_dict(state)  # every tensor, of the right shape
    record = (tmp_path / f"{stem}.json").read_text()
    assert '"steps": 2' in record and '"seed": 0' in record
