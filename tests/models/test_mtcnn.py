"""MTCNN (Zhang et al. 2016) with its learned weights (from facenet-pytorch's data files): the nets, the cascade,
the zoo entry, the live predictor and `cnn-explorer detect`."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from skimage import data

from cnn_explorer.models.zoo.loader import load_model, summarize
from cnn_explorer.models.zoo.paper.mtcnn import KEYPOINT_NAMES, pack_levels, pyramid_scales
from cnn_explorer.models.zoo.weights import package_file

# The paper's nets, as the shipped weights hold them.
PARAMS = {"pnet": 6_632, "rnet": 100_178, "onet": 389_040}

# skimage's astronaut (Eileen Collins), 512×512: looking at the photo with a pixel grid drawn on it, her face
# (hairline to chin, cheek to cheek) is about x 180–265, y 60–170; her eyes are near (205, 100) and (247, 103),
# her mouth about y 140.
FACE_OUTER = (150, 30, 300, 200)  # a found face box lies within this
FACE_INNER = (205, 100, 245, 140)  # and covers this (the eyes down to the mouth)


@pytest.fixture(scope="module")
def mtcnn():
    loaded = load_model("mtcnn")
    assert loaded.weights.label == "pretrained", loaded.weights.message
    return loaded.model


def faces(model, image: np.ndarray) -> dict:
    x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float() / 255
    with torch.inference_mode():
        return {k: v.numpy() for k, v in model([x])[0].items()}


def test_the_shipped_weights_load_safely_with_the_papers_parameter_counts(mtcnn):
    for net, count in PARAMS.items():
        path = package_file("facenet-pytorch", f"facenet_pytorch/data/{net}.pt")
        assert path is not None, f"{net}.pt is not installed"
        state = torch.load(path, map_location="cpu", weights_only=True)
        assert sum(v.numel() for v in state.values()) == count
        assert sum(p.numel() for p in getattr(mtcnn, net).parameters()) == count
        assert all(torch.equal(state[k], v) for k, v in getattr(mtcnn, net).state_dict().items())


def test_the_zoo_records_the_three_nets(mtcnn):
    loaded = load_model("mtcnn")
    summary = summarize(loaded)
    assert summary.total_params == sum(PARAMS.values())
    names = [n.name for n in summary.layers]
    for net in PARAMS:
        assert f"{net}.conv1" in names
    onet_out = {n.name: n.output_shape for n in summary.layers}
    assert tuple(onet_out["onet.dense6_3"])[-1] == 10  # five landmarks, (x, y) each
    assert tuple(onet_out["pnet.conv4_1"])[-2:] == (1, 1)  # a 12×12 window gives one face/not-face pair
    assert loaded.entry.facts["keypoint_names"].split(", ") == list(KEYPOINT_NAMES)


def test_the_pyramid_and_its_mosaic():
    scales = pyramid_scales(480, 640, 20)
    assert scales[0] == pytest.approx(0.6) and scales[1] == pytest.approx(0.6 * 0.709)
    assert 480 * scales[-1] >= 12 > 480 * scales[-1] * 0.709  # down to a face as tall as the frame
    sizes = [(int(480 * s + 1), int(640 * s + 1)) for s in scales]
    places, height, width = pack_levels(sizes)
    boxes = [(y, x, y + h, x + w) for (h, w), (y, x) in zip(sizes, places)]
    assert all(y % 2 == 0 and x % 2 == 0 and y2 <= height and x2 <= width for y, x, y2, x2 in boxes)
    for i, a in enumerate(boxes):  # no two levels overlap
        for b in boxes[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
    assert height * width < 1.5 * sum(h * w for h, w in sizes)


def test_the_astronaut_has_one_face_with_its_landmarks(mtcnn):
    found = faces(mtcnn, data.astronaut())
    assert len(found["boxes"]) == 1, found
    x1, y1, x2, y2 = found["boxes"][0]
    assert FACE_OUTER[0] <= x1 <= FACE_INNER[0] and FACE_OUTER[1] <= y1 <= FACE_INNER[1]
    assert FACE_INNER[2] <= x2 <= FACE_OUTER[2] and FACE_INNER[3] <= y2 <= FACE_OUTER[3]
    assert found["scores"][0] > 0.9
    points = found["keypoints"][0]
    assert points.shape == (5, 3) and (points[:, 2] == 1).all()
    assert ((points[:, 0] > x1) & (points[:, 0] < x2) & (points[:, 1] > y1) & (points[:, 1] < y2)).all()
    left_eye, right_eye, nose, mouth_left, mouth_right = points[:, :2]
    assert left_eye[0] < right_eye[0] and mouth_left[0] < mouth_right[0]  # as the image shows them
    assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_left[1], mouth_right[1])


@pytest.mark.parametrize("image", ["chelsea", "blank"])
def test_no_face_in_a_cat_or_a_blank_image(mtcnn, image):
    picture = data.chelsea() if image == "chelsea" else np.full((240, 320, 3), 128, np.uint8)
    assert len(faces(mtcnn, picture)["boxes"]) == 0


def test_the_live_predictor_finds_the_same_face(mtcnn):
    from cnn_explorer.models.live.predictor import Predictor

    image = data.astronaut()
    predictor = Predictor("mtcnn", min_face_size=20)  # the model's own default, as the stills above
    result = predictor(image)
    assert result.weights == "pretrained" and result.names == ["face"]
    np.testing.assert_allclose(result.boxes, faces(mtcnn, image)["boxes"], atol=0.5)
    assert result.keypoints.shape == (1, 5, 3)
    assert predictor.keypoint_names == list(KEYPOINT_NAMES)
    assert len(predictor(data.chelsea()).boxes) == 0
    live = Predictor("mtcnn")  # a camera's default: faces of 40 pixels and more (a quarter of the pyramid)
    assert live.model.min_face_size == 40
    (x1, y1, x2, y2), = live(image).boxes
    assert x1 < FACE_INNER[0] and y1 < FACE_INNER[1] and x2 > FACE_INNER[2] and y2 > FACE_INNER[3]


def test_detect_prints_one_json_line_with_the_face(tmp_path, capsys):
    import cv2

    from cnn_explorer.app.cli import main

    photo = tmp_path / "astronaut.png"
    cv2.imwrite(str(photo), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    assert main(["detect", "mtcnn", "--image", str(photo), "--out", str(tmp_path / "out"), "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert [d["name"] for d in result["detections"]] == ["face"]
    x1, y1, x2, y2 = result["detections"][0]["box"]
    assert x1 < FACE_INNER[0] and y1 < FACE_INNER[1] and x2 > FACE_INNER[2] and y2 > FACE_INNER[3]
    assert len(result["detections"][0]["keypoints"]) == 5
    assert (tmp_path / "out" / "astronaut.png").is_file()
