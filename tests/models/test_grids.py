"""Detection grids (models/lab/grids.py, the lab tool ``grid``): SSD's default boxes are the model's own
(SSD300: 8732, as many as its head predicts, equal to torchvision's generator at 300×300), laid on cells whose
drawn lines bound them; the trained shapes YOLO's chosen cell holds the centre of a box it detects and of a
true shape; a classifier is refused in one line (exit 2 from the command line)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch

from cnn_explorer.models.lab import grids
from cnn_explorer.models.lab.activations import LabModel
from cnn_explorer.models.lab.errors import LabError
from cnn_explorer.models.lab.images import sample_image
from cnn_explorer.models.lab.tools import TOOLS, Options
from cnn_explorer.models.live.synthetic import SyntheticSource
from cnn_explorer.models.zoo.loader import load_model


@pytest.fixture(autouse=True, scope="module")
def _two_threads():
    threads = torch.get_num_threads()
    torch.set_num_threads(min(2, threads))
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def ssd300():
    return LabModel(load_model("ssd300_vgg16"))


@pytest.fixture(scope="module")
def yolo():
    lab = LabModel(load_model("shapes_yolo"))
    assert lab.loaded.weights.label == "pretrained"
    return lab


def test_ssd300_has_8732_default_boxes_as_its_head_and_torchvision_make_them(ssd300):
    from torchvision.models.detection.image_list import ImageList

    image = sample_image("cat")  # 451×300: the model squeezes it to 300×300
    grid = grids.ssd_grid(ssd300, image)
    assert grid.total == 8732
    assert [s.size for s in grid.scales] == [(38, 38), (19, 19), (10, 10), (5, 5), (3, 3), (1, 1)]
    assert [s.per_cell for s in grid.scales] == [4, 6, 6, 6, 4, 4]
    model = ssd300.model
    with torch.no_grad():
        x = torch.rand(1, 3, 300, 300)
        features = list(model.backbone(x).values())
        head = model.head(features)
        anchors = model.anchor_generator(ImageList(x, [(300, 300)]), features)[0]
    assert head["bbox_regression"].shape[1] == grid.total  # one regression per default box
    np.testing.assert_allclose(grid.anchors, anchors.numpy(), atol=1e-4)


def test_ssdlite_counts_its_own_boxes():
    lab = LabModel(load_model("ssdlite320_mobilenet_v3_large"))
    grid = grids.ssd_grid(lab, sample_image("cat"))
    assert grid.image.shape[:2] == (320, 320)
    assert grid.total == sum(s.size[0] * s.size[1] * s.per_cell for s in grid.scales)
    with torch.no_grad():
        x = torch.rand(1, 3, 320, 320)
        head = lab.model.head(list(lab.model.backbone(x).values()))
    assert head["bbox_regression"].shape[1] == grid.total


def test_grid_lines_bound_each_cell_and_its_default_boxes(ssd300):
    grid = grids.ssd_grid(ssd300, sample_image("cat"))
    for scale in grid.scales:
        xs, ys = scale.lines()
        h, w = scale.size
        boxes = scale.boxes.reshape(h, w, scale.per_cell, 4)
        centres = (boxes[..., :2] + boxes[..., 2:]) / 2
        # each box is centred on its own cell: midway between the cell's lines
        assert np.allclose(centres[..., 0], ((xs[:-1] + xs[1:]) / 2)[None, :, None], atol=1e-3)
        assert np.allclose(centres[..., 1], ((ys[:-1] + ys[1:]) / 2)[:, None, None], atol=1e-3)
    # and the picture has its lines there: scale 3 (5×5, 64 px cells) at the model's 300×300, enlarged
    scale = grid.scales[3]
    panel = grids.ssd_panel(grid, scale, (0, 0))
    zoom = panel.shape[0] // grid.image.shape[0]
    plain = np.asarray(grids._canvas(grid.image, zoom)).astype(int)
    for x in scale.lines()[0][1:-1]:  # a vertical line, away from the chosen cell and its boxes
        column = int(x * zoom)
        rows = slice(panel.shape[0] * 3 // 4, panel.shape[0])  # below the boxes of cell (0, 0)
        line, under = panel[rows, column].astype(int), plain[rows, column]
        assert (line >= under).all() and (line.sum(-1) > under.sum(-1)).mean() > 0.95  # drawn lighter (white)
        between = column + int(scale.pitch[0] * zoom / 2)
        assert (panel[rows, between] == plain[rows, between]).mean() > 0.9  # mid-cell: the image itself


def test_shapes_yolo_strongest_cell_holds_a_detected_and_a_true_object(yolo):
    for index in (0, 40, 80):
        image, truth = SyntheticSource(realtime=False, seed=2).render(index)
        result = grids.yolo_cell(yolo, image)
        s, (row, col) = result.grid, result.cell
        h, w = result.image.shape[:2]
        assert result.boxes.shape == (2, 4) and result.probabilities.shape == (3,)
        assert result.detections, "the trained detector finds the shapes"

        def in_cell(cx, cy):
            return int(cx * s / w) == col and int(cy * s / h) == row

        assert any(in_cell((b["box"][0] + b["box"][2]) / 2, (b["box"][1] + b["box"][3]) / 2)
                   for b in result.detections)
        # ground truth, in the frame's pixels, squeezed to the input as the model sees it
        fy, fx = h / image.shape[0], w / image.shape[1]
        centres = [((x1 + x2) / 2 * fx, (y1 + y2) / 2 * fy) for x1, y1, x2, y2 in truth.boxes]
        assert any(in_cell(cx, cy) for cx, cy in centres)


def test_a_chosen_cell_and_its_picture(yolo):
    image = sample_image("live_shapes")
    picture = TOOLS["grid"].run(yolo, yolo.prepare(image), Options(image=image, unit=(0, 3, 4)))
    assert picture.describe["cell"] == [3, 4] and not picture.describe["strongest"]
    assert picture.array.shape == (7, 7, 13) and len(picture.panels) == 2
    with pytest.raises(LabError, match="outside the 7×7 grid"):
        TOOLS["grid"].run(yolo, yolo.prepare(image), Options(image=image, unit=(0, 7, 0)))


def test_a_classifier_has_no_grid():
    lab = LabModel(load_model("lenet5_digits"))
    image = sample_image("digit_3")
    with pytest.raises(LabError, match="without a detection grid"):
        TOOLS["grid"].run(lab, lab.prepare(image), Options(image=image))


# -- the command line ---------------------------------------------------------------------------------------------

def test_visualize_grid_for_ssd_and_yolo_and_refuses_a_classifier(tmp_path, capsys):
    from cnn_explorer.app.cli import main

    image, _ = SyntheticSource(realtime=False, seed=2).render(40)
    path = tmp_path / "frame.png"
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    out = tmp_path / "ssd.npy"
    assert main(["visualize", "ssd300_vgg16", "--image", str(path), "--method", "grid", "--unit", "2,1,8",
                 "--out", str(out), "--json"]) == 0
    described = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert described["total_default_boxes"] == 8732 and np.load(out).shape == (8732, 4)
    assert described["drawn"] == [{"scale": 2, "cell": [1, 8], "default_boxes": described["drawn"][0]["default_boxes"]}]
    assert len(described["drawn"][0]["default_boxes"]) == 6

    png = tmp_path / "yolo.png"
    assert main(["visualize", "shapes_yolo", "--image", str(path), "--method", "grid", "--out", str(png),
                 "--json"]) == 0
    described = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert described["grid"] == 7 and described["boxes_per_cell"] == 2 and described["classes"] == 3
    assert png.stat().st_size > 0

    assert main(["visualize", "lenet5_digits", "--image", str(path), "--method", "grid",
                 "--out", str(tmp_path / "x.png")]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "without a detection grid" in error[0]
    assert main(["visualize", "ssd300_vgg16", "--image", str(path), "--method", "grid", "--unit", "9",
                 "--out", str(tmp_path / "x.png")]) == 2
    assert "outside the model's 6 scales" in capsys.readouterr().err
