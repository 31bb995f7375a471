"""The CAM family, Integrated Gradients, SmoothGrad and their ROAD scores (models/lab/cams.py), on the trained
nets shipped in assets/: zfnet_shapes (ten colour shapes) and lenet5_digits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnn_explorer.models.lab import cams, pictures
from cnn_explorer.models.lab.activations import LabModel
from cnn_explorer.models.lab.errors import LabError
from cnn_explorer.models.lab.images import sample_image
from cnn_explorer.models.zoo.loader import load_model

METHODS = list(cams.CAMS) + list(cams.PIXEL_MAPS)


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def shapes():
    return LabModel(load_model("zfnet_shapes", weights="pretrained"))


@pytest.fixture(scope="module")
def digits():
    return LabModel(load_model("lenet5_digits", weights="pretrained"))


@pytest.fixture(scope="module")
def maps(shapes):
    """Each method's map of the predicted class, with its ROAD score, on three shapes the net gets right."""
    out = {}
    for shape in ("circle", "triangle", "cross"):
        prepared = shapes.prepare(sample_image(f"shape_{shape}"))
        assert shapes.predict(prepared)[0].name == shape
        for method in METHODS:
            out[shape, method] = cams.class_map(shapes, prepared, method)
    return out


def shape_box(image: np.ndarray, margin: int = 2) -> tuple[int, int, int, int]:
    """The box around the pixels that differ from the background (the median colour of the border)."""
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]]).astype(float)
    distance = np.linalg.norm(image.astype(float) - np.median(border, 0), axis=2)
    ys, xs = np.nonzero(distance > distance.max() / 2)
    return ys.min() - margin, xs.min() - margin, ys.max() + margin, xs.max() + margin


@pytest.mark.parametrize("model, sample, other", [("shapes", "shape_circle", "triangle"), ("digits", "digit_3", "8")])
def test_every_method_maps_the_input_and_depends_on_the_class(request, model, sample, other):
    lab = request.getfixturevalue(model)
    prepared = lab.prepare(sample_image(sample))
    other = lab.class_index(other)
    for method in METHODS:
        top1 = cams.class_map(lab, prepared, method, faithfulness=False)
        chosen = cams.class_map(lab, prepared, method, target=other, faithfulness=False)
        assert top1.target == lab.predict(prepared)[0].index and chosen.target == other
        for result in (top1, chosen):
            assert result.heatmap.shape == tuple(prepared.size), method
            assert result.heatmap.dtype == np.float32 and np.isfinite(result.heatmap).all(), method
            assert np.ptp(result.heatmap) > 0, f"{method}: a constant map"
        if method in cams.CLASS_AGNOSTIC:  # EigenCAM: the activations' first principal component, whatever the class
            assert np.allclose(top1.heatmap, chosen.heatmap), method
        else:
            assert not np.allclose(top1.heatmap, chosen.heatmap, atol=1e-3), f"{method} ignores the class"


def test_the_peak_lies_inside_the_shape(maps):
    for shape in ("circle", "triangle", "cross"):
        top, left, bottom, right = shape_box(sample_image(f"shape_{shape}"))
        inside = []
        for method in METHODS:
            y, x = np.unravel_index(np.argmax(maps[shape, method].heatmap), maps[shape, method].heatmap.shape)
            inside.append(top <= y <= bottom and left <= x <= right)
        assert sum(inside) >= len(METHODS) - 1, (shape, dict(zip(METHODS, inside)))


def test_a_real_map_is_more_faithful_than_a_random_or_inverted_one(shapes, maps):
    rng = np.random.default_rng(7)
    for shape in ("circle", "triangle"):
        prepared = shapes.prepare(sample_image(f"shape_{shape}"))
        for method in METHODS:
            result = maps[shape, method]
            score = result.faithfulness.score
            assert -1 <= score <= 1
            random_map = rng.random(result.heatmap.shape).astype(np.float32)
            random_score = cams.road(shapes, prepared, random_map, result.target).score
            inverted = cams.road(shapes, prepared, -result.heatmap, result.target).score
            assert score > random_score and score > inverted, (shape, method, score, random_score, inverted)
            if method != "ig":  # the maps of the layer: clearly better than chance
                assert score > 0.05, (shape, method, score)


def test_the_score_is_reproducible_and_described(shapes, maps):
    result = maps["circle", "hirescam"]
    prepared = shapes.prepare(sample_image("shape_circle"))
    again = cams.road(shapes, prepared, result.heatmap, result.target)
    assert again.score == result.faithfulness.score
    described = result.to_json()
    assert described["faithfulness"]["metric"] == "ROAD"
    assert described["faithfulness"]["score"] == pytest.approx(result.faithfulness.score, abs=1e-6)
    assert "higher = more faithful" in result.faithfulness.text()
    with pytest.raises(LabError, match="does not fit the input"):
        cams.road(shapes, prepared, np.zeros((3, 3), np.float32), result.target)


def test_score_cam_reports_progress_and_can_be_cancelled(shapes):
    prepared = shapes.prepare(sample_image("shape_circle"))
    seen = []
    result = cams.class_activation_map(shapes, prepared, "scorecam", batch_size=8,
                                       progress=lambda done, total: seen.append((done, total)))
    channels = shapes.node(prepared, result.layer).output_shape[1]
    total = -(-channels // 8) + 2 * len(cams.ROAD_PERCENTILES)
    assert seen == [(i, total) for i in range(1, total + 1)]

    class Stop(Exception):
        pass

    def stop(done, total):
        if done == 2:
            raise Stop

    with pytest.raises(Stop):
        cams.class_activation_map(shapes, prepared, "scorecam", batch_size=8, progress=stop)
    hooked = [m for m in shapes.model.modules() if m._forward_hooks]
    assert not hooked  # a cancelled map leaves no hook behind
    assert all(p.grad is None for p in shapes.model.parameters())
    # After a cancelled run, the map is the one made before; the batch size changes nothing.
    again = cams.class_activation_map(shapes, prepared, "scorecam", batch_size=64, faithfulness=False)
    assert np.allclose(again.heatmap, result.heatmap, atol=1e-4)
    assert cams.cam_batch_size(shapes, prepared) == 64  # 64×64×3 inputs: 64 masked images a pass


def test_integrated_gradients_adds_up(shapes):
    """Completeness: the attributions add up to the change of the class score from the black baseline."""
    prepared = shapes.prepare(sample_image("shape_triangle"))
    result = cams.pixel_attribution(shapes, prepared, "ig", faithfulness=False)
    baseline = prepared.grey_value(0).view(1, -1, 1, 1).expand_as(prepared.tensor)
    with torch.no_grad():
        change = float(shapes.model(prepared.tensor)[0, result.target] - shapes.model(baseline)[0, result.target])
    assert result.extra["sum"] == pytest.approx(change, abs=0.1 * abs(change) + result.extra["convergence_delta"])


def test_a_layer_and_bad_requests(shapes, digits):
    prepared = shapes.prepare(sample_image("shape_circle"))
    early = cams.class_map(shapes, prepared, "layercam", layer="features.4", faithfulness=False)
    assert early.layer == "features.4" and early.heatmap.shape == (64, 64)
    with pytest.raises(LabError, match="no spatial feature map"):
        cams.class_map(shapes, prepared, "gradcampp", layer="classifier.0")
    with pytest.raises(LabError, match="outside the model's 10 classes"):
        cams.class_map(shapes, prepared, "scorecam", target=10)
    with pytest.raises(LabError, match="no CAM method"):
        cams.class_activation_map(shapes, prepared, "fullgrad")


def test_ranks_break_ties_without_order_bias():
    flat = np.zeros((8, 8), np.float32)
    flat[2, 3] = 1.0
    ranks = cams.relevance_ranks(flat)
    assert ranks[2, 3] == 1.0 and sorted(ranks.ravel().tolist()) == pytest.approx(np.linspace(0, 1, 64))
    # The zeros come in a random order, not the raster order: the top rows are not all ranked low.
    assert 0.2 < ranks[:4].mean() < 0.8


def test_occlusion_maps_span_their_data_with_colour_bars(digits, tmp_path):
    """LeNet keeps P(3) between 0.9 and 1 whatever the square hides: on a fixed 0…1 scale the map was one colour."""
    from PIL import Image

    from cnn_explorer.models.lab.tools import TOOLS, Options

    prepared = digits.prepare(sample_image("digit_3"))
    picture = TOOLS["occlusion"].run(digits, prepared, Options(layer="features.3", occluder=8, stride=2))
    probability = picture.array[0]
    low, high, _, label = picture.scales[0]
    assert (low, high) == (pytest.approx(float(probability.min())), pytest.approx(float(probability.max())))
    assert "P(3)" in label
    shown = picture.panels[0][1].reshape(-1, 3)
    assert len(np.unique(shown, axis=0)) > 20  # many colours, not one
    assert set(picture.scales) == {0, 1}
    out = tmp_path / "occlusion.png"
    pictures.compose(picture.title, picture.panels, out, "png", picture.scales)
    drawn = np.asarray(Image.open(out).convert("RGB"))
    (height, _), boxes = pictures.panel_boxes(picture.panels)
    assert drawn.shape[0] == height + pictures.SCALE_PX
    strip = drawn[height:height + pictures.SCALE_PX, boxes[0][1]:boxes[0][3]].reshape(-1, 3)
    viridis = pictures.lut("viridis")
    for end in (viridis[5], viridis[250]):  # the bar holds both ends of the colour map
        assert (np.abs(strip.astype(int) - end).sum(1) < 12).any()


def test_the_maps_run_on_a_file_that_fixes_its_batch_at_one(shapes_onnx):
    """An ONNX export of the trained shapes net takes one image a pass: Score-CAM's masked images, IG's steps and
    SmoothGrad's noisy copies go one at a time, and give the maps of the net itself."""
    pytest.importorskip("onnxruntime")
    from cnn_explorer.models.zoo.user import register_file

    source = LabModel(load_model("zfnet_shapes"))
    path = shapes_onnx
    register_file(str(path))
    lab = LabModel(load_model(str(path)))
    assert lab.max_batch == 1
    image = sample_image("shape_circle")
    prepared = lab.prepare(image)
    assert cams.cam_batch_size(lab, prepared) == 1
    for method in ("scorecam", "ig", "smoothgrad"):
        result = cams.class_map(lab, prepared, method, faithfulness=method == "scorecam")
        reference = cams.class_map(source, source.prepare(image), method, faithfulness=False)
        assert result.heatmap.shape == (64, 64) and np.ptp(result.heatmap) > 0, method
        assert np.corrcoef(result.heatmap.ravel(), reference.heatmap.ravel())[0, 1] > 0.9, method


def test_a_layer_that_runs_twice_is_read_at_the_call_named():
    """ResNet's blocks call one ReLU twice (layer4.1.relu and layer4.1.relu:1, the lab's default): each call's
    EigenCAM is the first principal component of that call's own feature map (pytorch-grad-cam alone reads the
    first call)."""
    from pytorch_grad_cam.utils.image import scale_cam_image
    from pytorch_grad_cam.utils.svd_on_activations import get_2d_projection

    lab = LabModel(load_model("resnet18", weights="random"))
    prepared = lab.prepare(sample_image("cat"))
    made = {}
    for name in ("layer4.1.relu", "layer4.1.relu:1"):
        made[name] = cams.class_map(lab, prepared, "eigencam", layer=name, faithfulness=False).heatmap
        activations = lab.feature_map(prepared, name)[None]
        projection = get_2d_projection(activations.copy())
        if np.corrcoef(projection[0].ravel(), activations[0].sum(0).ravel())[0, 1] < 0:
            projection = -projection
        expected = scale_cam_image(np.maximum(projection, 0), (224, 224))[0]
        assert np.abs(made[name] - expected).max() < 0.02, name
    assert np.abs(made["layer4.1.relu"] - made["layer4.1.relu:1"]).max() > 0.1
