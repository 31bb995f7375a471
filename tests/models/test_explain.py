"""What made a box, what made a class region (models/lab/explain.py): quality on the trained nets (the pointing
game for the shapes YOLO, MTCNN on a photo, the mass of the shapes U-Net's class maps inside the true regions),
every torchvision detector and segmenter through the tools with random weights, and `visualize` counting the
boxes as `detect` lists them."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
from skimage import data

from cnn_explorer.models.lab import explain
from cnn_explorer.models.lab.activations import LabModel
from cnn_explorer.models.lab.errors import LabError
from cnn_explorer.models.live.synthetic import SyntheticSource
from cnn_explorer.models.zoo.loader import load_model


@pytest.fixture(autouse=True, scope="module")
def _two_threads():
    threads = torch.get_num_threads()
    torch.set_num_threads(min(2, threads))
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def yolo():
    lab = LabModel(load_model("shapes_yolo"))
    assert lab.loaded.weights.label == "pretrained"
    return lab


@pytest.fixture(scope="module")
def unet():
    lab = LabModel(load_model("shapes_unet"))
    assert lab.loaded.weights.label == "pretrained"
    return lab


def _inside(point, box) -> bool:
    x, y = point
    x1, y1, x2, y2 = box
    return x1 <= x < x2 and y1 <= y < y2


def _iou(a, b) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


# -- boxes ------------------------------------------------------------------------------------------------------

def test_the_shapes_yolo_box_maps_point_into_their_boxes(yolo):
    """The pointing game (Zhang et al. 2016) on synthetic frames: the maximum of a box's map lies inside that box
    for at least 80 % of the boxes found, and the boxes are real shapes (they match the ground truth)."""
    hits, total, real = 0, 0, 0
    for seed in range(4):
        source = SyntheticSource(realtime=False, seed=seed)
        for index in (0, 40):
            image, truth = source.render(index)
            found = explain.detections(yolo, image)
            for d in found:
                result = explain.box_cam(yolo, image, d.number)
                assert result.chosen == d and result.cam.shape == image.shape[:2]
                hits += _inside(explain.peak(result.cam), d.box)
                real += max(_iou(d.box, t) for t in truth.boxes) >= 0.5
                total += 1
    assert total >= 20
    assert real / total >= 0.9
    assert hits / total >= 0.8, f"pointing game {hits}/{total}"


def test_a_box_map_is_about_its_own_box(yolo):
    """Two boxes of one frame get two different maps, each heaviest in its own box."""
    image, _ = SyntheticSource(realtime=False, seed=1).render(0)
    found = explain.detections(yolo, image)
    assert len(found) >= 2
    a, b = (explain.box_cam(yolo, image, n) for n in (0, 1))
    assert _inside(explain.peak(a.cam), a.chosen.box) and not _inside(explain.peak(a.cam), b.chosen.box)
    assert _inside(explain.peak(b.cam), b.chosen.box) and not _inside(explain.peak(b.cam), a.chosen.box)


def test_a_box_out_of_range_names_how_many_there_are(yolo):
    image, _ = SyntheticSource(realtime=False, seed=1).render(0)
    count = len(explain.detections(yolo, image))
    with pytest.raises(LabError, match=rf"box {count} is out of range: shapes_yolo found {count} boxes"):
        explain.box_cam(yolo, image, count)
    with pytest.raises(LabError, match="found no box at score ≥ 1"):
        explain.box_cam(yolo, image, 0, threshold=1.0)


def test_mtcnn_face_map_peaks_inside_the_face():
    lab = LabModel(load_model("mtcnn"))
    image = data.astronaut()
    result = explain.box_cam(lab, image, 0)
    assert [d.name for d in result.detections] == ["face"]
    assert result.method == "input-gradient" and result.cam.shape == image.shape[:2]
    assert _inside(explain.peak(result.cam), result.chosen.box)


# Each family the lab's box map names; the ResNet-50 Faster R-CNN (33 s on a busy 2-core machine) only in slow runs.
DETECTORS = [
    "fasterrcnn_mobilenet_v3_large_fpn",
    "retinanet_resnet50_fpn",
    "fcos_resnet50_fpn",
    pytest.param("ssd300_vgg16", marks=pytest.mark.slow),  # torchvision's SSD code, as SSDlite's: 7 s of VGG
    "ssdlite320_mobilenet_v3_large",
    pytest.param("fasterrcnn_resnet50_fpn", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("name", DETECTORS)
def test_each_torchvision_detector_gives_a_finite_box_map(name):
    lab = LabModel(load_model(name, weights="random"))
    image, _ = SyntheticSource(width=128, height=96, realtime=False).render(0)
    result = explain.box_cam(lab, image, 0, threshold=0.0)  # random weights score low: every box counts
    assert result.cam.shape == (96, 128) and result.cam.dtype == np.float32
    assert np.isfinite(result.cam).all() and result.cam.min() >= 0
    assert result.layers and result.detections[0] == result.chosen


# -- class regions ------------------------------------------------------------------------------------------------

def test_the_shapes_unet_class_maps_lie_in_their_regions(unet):
    """At least 70 % of a class map's mass lies inside that class's true region (synthetic frames)."""
    masses = []
    for seed in (0, 1):
        image, truth = SyntheticSource(realtime=False, seed=seed).render(0)
        for c, name in ((1, "circle"), (2, "square"), (3, "triangle")):
            if not (truth.label_map == c).any():
                continue
            result = explain.seg_cam(unet, image, unet.class_index(name))
            assert result.target_name == name and result.heatmap.shape == (240, 320)
            region = cv2.resize(truth.label_map, (320, 240), interpolation=cv2.INTER_NEAREST) == c
            masses.append(float(result.heatmap[region].sum() / result.heatmap.sum()))
    assert len(masses) >= 5
    assert min(masses) >= 0.7, np.round(masses, 3)


def test_a_class_that_is_not_predicted_says_so(unet):
    image = np.full((240, 320, 3), 120, np.uint8)
    with pytest.raises(LabError, match="no pixel is predicted as “triangle”"):
        explain.seg_cam(unet, image, 3)


@pytest.mark.parametrize("name", ["lraspp_mobilenet_v3_large", "deeplabv3_mobilenet_v3_large",
                                  "fcn_resnet50", pytest.param("deeplabv3_resnet50", marks=pytest.mark.slow)])
def test_each_torchvision_segmenter_gives_a_finite_class_map(name):
    lab = LabModel(load_model(name, weights="random"))
    image, _ = SyntheticSource(width=128, height=96, realtime=False).render(0)
    prepared = lab.prepare(image, input_size=(96, 128))  # small: the weights' transform would make it 520 high
    assert lab.class_index("cat") == 8  # VOC's names, from the weights' meta
    result = explain.seg_cam(lab, prepared)
    assert result.heatmap.shape == (96, 128) and np.isfinite(result.heatmap).all()
    assert result.layer.startswith("classifier.")
    assert result.region.any()


# -- the command line ---------------------------------------------------------------------------------------------

def test_visualize_boxcam_counts_boxes_as_detect_lists_them(tmp_path, capsys):
    from cnn_explorer.app.cli import main

    image, _ = SyntheticSource(realtime=False, seed=2).render(40)
    path = tmp_path / "frame.png"
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    assert main(["detect", "shapes_yolo", "--image", str(path), "--threshold", "0.6", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out.strip())["detections"]
    assert len(listed) >= 2
    n = len(listed) - 1
    out = tmp_path / "box.npy"
    assert main(["visualize", "shapes_yolo", "--image", str(path), "--method", "boxcam", "--box", str(n),
                 "--threshold", "0.6", "--out", str(out), "--json"]) == 0
    described = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert described["box"]["xyxy"] == listed[n]["box"] and described["box"]["name"] == listed[n]["name"]
    assert described["boxes"] == len(listed) and described["resolution"] == "image"
    cam = np.load(out)
    assert cam.shape == (480, 640) and described["shape"] == [480, 640] and np.isfinite(cam).all()

    assert main(["visualize", "shapes_yolo", "--image", str(path), "--method", "boxcam", "--box", "99",
                 "--threshold", "0.6", "--out", str(tmp_path / "x.png")]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and f"found {len(listed)} boxes" in error[0]


def test_visualize_segcam_by_class_name(tmp_path, capsys):
    from cnn_explorer.app.cli import main

    image, _ = SyntheticSource(realtime=False, seed=0).render(0)
    path = tmp_path / "frame.png"
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    out = tmp_path / "seg.png"
    assert main(["visualize", "shapes_unet", "--image", str(path), "--method", "segcam", "--class", "Circle",
                 "--out", str(out), "--json"]) == 0
    described = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert described["target_name"] == "circle" and described["shape"] == [240, 320]
    assert out.stat().st_size > 0


def test_a_box_of_no_area_keeps_the_gradient_finite():
    """An untrained detector may give a box of no area (FCOS did): its score's gradient is finite (torchvision's
    box_iou gives 0/0 = NaN there, and every map of it would be NaN)."""
    boxes = torch.tensor([[80.0, 32.0, 80.0, 32.0], [10.0, 10.0, 50.0, 50.0]], requires_grad=True)
    scores = torch.tensor([0.3, 0.9], requires_grad=True)
    score = explain.BoxScore(1, (80.0, 32.0, 80.0, 32.0))({"boxes": boxes, "scores": scores,
                                                         "labels": torch.tensor([1, 1])})
    score.backward()
    assert float(score.detach()) == pytest.approx(1.3)  # IoU 1 with its own copy, plus its score
    assert torch.isfinite(boxes.grad).all() and scores.grad.tolist() == [1.0, 0.0]
