"""The lab's computations on real models and real forward passes: preprocessing, feature maps, kernels,
receptive fields, deconvnet, occlusion, Grad-CAM, and the two trained nets."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from cnn_explorer.models.lab import attribution, fields, kernels
from cnn_explorer.models.lab.activations import LabModel
from cnn_explorer.models.lab.datasets import SHAPE_CLASSES, digits_split, shapes_dataset
from cnn_explorer.models.lab.errors import LabError
from cnn_explorer.models.lab.images import sample_image
from cnn_explorer.models.lab.preprocess import Prepared, normalize
from cnn_explorer.models.zoo.loader import LoadedModel, load_model, summarize
from cnn_explorer.models.analysis.receptive_field import Field
from cnn_explorer.models.zoo.registry import ModelEntry
from cnn_explorer.models.zoo.weights import WeightsResult


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    # Two cores shared with other jobs: one torch thread is steadier than two that wait on each other.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def alexnet():
    return LabModel(load_model("alexnet", weights="random"))


@pytest.fixture(scope="module")
def lenet():
    return LabModel(load_model("lenet5_digits"))


@pytest.fixture(scope="module")
def shapes_net():
    return LabModel(load_model("zfnet_shapes"))


# -- preprocessing and feature maps --------------------------------------------------------------------------

def test_preprocessing_comes_from_the_weights_transforms(alexnet):
    prepared = alexnet.prepare(sample_image("cat"))  # 300×451
    assert prepared.source == "weights: AlexNet_Weights.IMAGENET1K_V1"
    assert [s["step"] for s in prepared.steps] == ["resize", "center_crop", "to_float", "normalize"]
    assert prepared.steps[0]["to"] == [256, 384] and prepared.steps[1]["size"] == [224, 224]
    assert prepared.tensor.shape == (1, 3, 224, 224) and prepared.display.shape == (224, 224, 3)
    # The display image is the tensor before normalization (to within uint8 rounding).
    shown = normalize(torch.from_numpy(prepared.display).permute(2, 0, 1).float() / 255, prepared.mean, prepared.std)
    assert (shown - prepared.tensor[0]).abs().max() < 0.03
    # Input pixels map back into the original image.
    top, left, bottom, right = prepared.to_original((0, 0, 224, 224))
    assert (round(top), round(bottom)) == (19, 281) and right - left == pytest.approx(224 * 451 / 384)


def test_default_preprocessing_for_a_grayscale_net(lenet):
    prepared = lenet.prepare(sample_image("cat"))
    assert prepared.source == "default" and prepared.tensor.shape == (1, 1, 32, 32)
    assert [s["step"] for s in prepared.steps] == ["resize", "center_crop", "grayscale", "to_float", "normalize"]


def test_feature_maps_match_a_plain_forward_and_switching_is_cached(alexnet):
    image = sample_image("astronaut")
    prepared = alexnet.prepare(image)
    with torch.no_grad():
        conv1 = alexnet.model.features[0](prepared.tensor)[0]
        relu1 = torch.relu(conv1)
    assert np.allclose(alexnet.feature_map(image, "features.0"), conv1.numpy(), atol=1e-5)  # before the in-place ReLU
    assert np.allclose(alexnet.feature_map(image, "features.1"), relu1.numpy(), atol=1e-5)
    forward = alexnet.forward(image)
    assert alexnet.forward(image) is forward  # the same image: no new pass
    assert alexnet.feature_map(image, "features.10").shape == (256, 13, 13)
    with pytest.raises(LabError, match=r"classifier\.1 \(Linear\) has no spatial feature map"):
        alexnet.feature_map(image, "classifier.1")
    with pytest.raises(LabError, match="did you mean features.0"):
        alexnet.feature_map(image, "featurs.0")


def test_functional_layers_have_maps_and_captum_tools_name_the_module_instead():
    lab = LabModel(load_model("resnet18", weights="random"))
    image = sample_image("coffee")
    added = lab.feature_map(image, "layer1.0.add")
    after = lab.feature_map(image, "layer1.0.relu:1")
    assert np.allclose(np.maximum(added, 0), after, atol=1e-6)
    with pytest.raises(LabError, match="functional operation .*next module layer is layer1.0.relu:1"):
        attribution.project(lab, image, "layer1.0.add", (0, 5, 5))
    with pytest.raises(LabError, match="runs 2 times .* choose layer1.0.relu:1"):
        attribution.project(lab, image, "layer1.0.relu", (0, 5, 5))


def test_top5_names_come_from_the_categories(alexnet, lenet):
    top = alexnet.predict(sample_image("cat"))
    assert len(top) == 5 and all(p.name and not p.name.startswith("class ") for p in top)
    assert [p.probability for p in top] == sorted((p.probability for p in top), reverse=True)
    assert lenet.predict(sample_image("digit_4"), 1)[0].name == "4"


# -- the trained nets ------------------------------------------------------------------------------------------

def test_trained_nets_predict_held_out_images(lenet, shapes_net):
    assert LabModel(load_model("zfnet_shapes", weights="random")).categories == list(SHAPE_CLASSES)
    _, _, x_test, y_test = digits_split()
    batch = torch.cat([lenet.prepare(np.repeat(x[:, :, None], 3, axis=2)).tensor for x in x_test])
    with torch.no_grad():
        accuracy = float((lenet.model(batch).argmax(1).numpy() == y_test).mean())
    assert accuracy >= 0.97
    images, labels = shapes_dataset(200, seed=123_457)  # seeds the training never used
    batch = torch.cat([shapes_net.prepare(x).tensor for x in images])
    with torch.no_grad():
        accuracy = float((shapes_net.model(batch).argmax(1).numpy() == labels).mean())
    assert accuracy >= 0.9


def _roughness(weight: torch.Tensor) -> float:
    """High-frequency energy of kernels: squared differences of neighbours over the energy (median)."""
    w = weight - weight.mean(dim=(2, 3), keepdim=True)
    dy = (w[:, :, 1:] - w[:, :, :-1]).pow(2).sum((1, 2, 3))
    dx = (w[..., 1:] - w[..., :-1]).pow(2).sum((1, 2, 3))
    return float(((dy + dx) / w.pow(2).sum((1, 2, 3)).clamp_min(1e-12)).median())


def test_learned_first_layer_kernels_are_smooth_unlike_random_ones(lenet, shapes_net):
    torch.manual_seed(0)
    for lab, factor in ((shapes_net, 0.3), (lenet, 0.6)):
        learned = kernels.kernel_weights(lab.model, "features.0")
        random = type(lab.model)(num_classes=10).features[0].weight.detach()
        assert _roughness(learned) < factor * _roughness(random)
    tiles = kernels.first_layer_tiles(shapes_net.model)
    assert tiles.layer == "features.0" and tiles.tiles.shape == (32, 7, 7, 3) and tiles.tiles.dtype == np.uint8
    assert tiles.tiles.reshape(32, -1).min(1).max() == 0 and tiles.tiles.reshape(32, -1).max(1).min() == 255
    page = kernels.kernel_grid(shapes_net.model, "features.4", page=(1, 1), rows=16, columns=16)
    assert page.tiles.shape == (16, 16, 5, 5) and page.pages == (4, 2) and page.out_range == (16, 32)
    assert page.mosaic().shape == (16 * 6 - 1, 16 * 6 - 1)
    histogram = kernels.weight_histogram(shapes_net.model, "features.0", bins=32)
    assert histogram.counts.sum() == histogram.count == 32 * 3 * 7 * 7
    with pytest.raises(LabError, match="no convolution kernels"):
        kernels.kernel_grid(shapes_net.model, "classifier.1")


# -- receptive fields --------------------------------------------------------------------------------------------

def test_rf_box_follows_the_core_numbers(alexnet):
    image = sample_image("cat")
    core = {n.name: n.receptive_field for n in summarize(alexnet.loaded).graph.nodes}
    for layer, unit in (("features.3", (5, 13, 13)), ("features.6", (0, 6, 6)), ("features.6", (1, 0, 12))):
        result = fields.receptive_field(alexnet, image, layer, unit)
        field = core[layer]
        assert isinstance(field, Field) and result.field == field.to_dict()
        _, y, x = unit
        top = -field.padding[0] + y * field.stride[0]
        left = -field.padding[1] + x * field.stride[1]
        assert result.box.to_list() == [top, left, top + field.size[0], left + field.size[1]]
        assert result.clipped.to_list() == [max(0, top), max(0, left), min(224, top + field.size[0]),
                                            min(224, left + field.size[1])]
        assert ((result.box.top + result.box.bottom - 1) / 2, (result.box.left + result.box.right - 1) / 2) \
            == field.center((y, x)) == result.center
    with pytest.raises(LabError, match="outside features.6's map of 384×13×13"):
        fields.receptive_field(alexnet, image, "features.6", (0, 13, 0))


@pytest.mark.parametrize("layer, unit", [("features.6", (3, 6, 6)), ("features.6", (7, 0, 12)), ("features.3", (0, 20, 4))])
def test_effective_field_lies_inside_the_theoretical_box(alexnet, layer, unit):
    erf = fields.effective_receptive_field(alexnet, sample_image("astronaut"), layer, unit)
    assert erf.heatmap.shape == (224, 224) and erf.support is not None
    assert erf.theoretical.contains(erf.support)
    outside = erf.heatmap.copy()
    box = erf.theoretical
    outside[box.top:box.bottom, box.left:box.right] = 0
    assert not outside.any()


# -- deconvnet, on an example small enough to work out by hand ------------------------------------------------------

def _tiny_lab() -> tuple[LabModel, Prepared]:
    model = nn.Sequential(nn.Conv2d(1, 2, 2, bias=False), nn.ReLU(inplace=True), nn.MaxPool2d(2),
                          nn.Conv2d(2, 1, 1, bias=False))
    with torch.no_grad():
        model[0].weight[:] = torch.tensor([[[[1.0, 0.0], [0.0, 1.0]]], [[[0.0, 1.0], [1.0, 0.0]]]])
        model[3].weight[:] = torch.tensor([1.0, -1.0]).view(1, 2, 1, 1)
    entry = ModelEntry(name="tiny", family="test", year=2024, paper="", task="classification", input_size=(3, 3),
                       builder=lambda: model, in_channels=1)
    x = torch.tensor([[1.0, 2.0, 0.0], [0.0, 1.0, 3.0], [4.0, 0.0, 1.0]]).view(1, 1, 3, 3)
    prepared = Prepared(tensor=x, display=np.zeros((3, 3, 3), np.uint8), steps=[], source="test",
                        original_size=(3, 3), mean=(0.0,), std=(1.0,))
    return LabModel(LoadedModel(entry, model.eval(), WeightsResult("random", ""))), prepared


def test_deconvnet_by_hand():
    # conv1: diagonal filter A → [[2, 5], [0, 2]], anti-diagonal B → [[2, 1], [5, 3]]; ReLU keeps them; the
    # 2×2 max-pool's switches are A(0, 1) and B(1, 0); conv2 = A − B. Going back from that unit: the signal is
    # +1 for A and −1 for B at their switches. The deconvnet's ReLU zeroes the −1, so only A's filter is
    # projected, at (0, 1): pixels (0, 1) and (1, 2). The plain gradient also keeps B's −1 at (1, 1), (2, 0).
    lab, prepared = _tiny_lab()
    deconv = attribution.project(lab, prepared, "3", (0, 0, 0), "deconv")
    assert deconv.activation == 0.0
    assert deconv.attribution[0].tolist() == [[0, 1, 0], [0, 0, 1], [0, 0, 0]]
    guided = attribution.project(lab, prepared, "3", (0, 0, 0), "guided")
    assert guided.attribution[0].tolist() == [[0, 1, 0], [0, 0, 1], [0, 0, 0]]
    plain = fields.input_gradient(lab, prepared, "3", (0, 0, 0))
    assert plain[0, 0].tolist() == [[0, 1, 0], [0, -1, 1], [-1, 0, 0]]
    assert all(getattr(m, "inplace", True) for m in lab.model.modules() if isinstance(m, nn.ReLU))  # restored


def test_strongest_unit_projection_on_alexnet(alexnet):
    image = sample_image("cat")
    projection = attribution.project(alexnet, image, "features.10")
    fmap = alexnet.feature_map(image, "features.10")
    assert projection.unit == tuple(int(v) for v in np.unravel_index(fmap.argmax(), fmap.shape))
    assert projection.activation == pytest.approx(float(fmap.max()))
    assert projection.picture.shape == (224, 224, 3)


# -- occlusion --------------------------------------------------------------------------------------------------

def test_covering_the_digit_lowers_its_probability(lenet):
    # The square takes the digits' black background (fill 0), so where it lies on strokes it erases them
    # (a mid-grey square on black would add strokes instead).
    seen = []
    result = attribution.occlusion(lenet, sample_image("digit_3"), size=16, stride=4, batch_size=8, fill=0,
                                   progress=lambda done, total: seen.append((done, total)))
    assert result.target_name == "3" and result.base_probability > 0.9 and result.probability.shape == (5, 5)
    assert result.complete and seen == [(8, 25), (16, 25), (24, 25), (25, 25)]
    assert not np.isnan(result.activation).any() and result.layer == "features.4"  # tanh after C3
    for digit in range(10):
        image = sample_image(f"digit_{digit}")
        result = attribution.occlusion(lenet, image, size=16, stride=4, fill=0)
        assert result.target == digit and result.base_probability > 0.9
        ink = lenet.prepare(image).display[:, :, 0].astype(float)
        covered = np.array([[ink[t:t + 16, l:l + 16].sum() for l in result.columns] for t in result.rows])
        much = covered > np.median(covered)
        assert result.probability.min() < 0.1  # somewhere, covering the digit takes its class away
        assert result.probability[much].mean() < result.probability[~much].mean()  # more ink covered, lower


def test_occlusion_agrees_with_captum(lenet):
    image = sample_image("digit_8")
    for fill in (128, 0):
        ours = attribution.occlusion(lenet, image, size=8, stride=4, fill=fill).pixel_map()
        captums = attribution.captum_occlusion(lenet, image, size=8, stride=4, fill=fill)
        assert np.abs(ours).max() > 0.01 and np.allclose(ours, captums, atol=1e-5)


def test_occlusion_fills_in_and_can_be_cancelled(lenet):
    class Stop(Exception):
        pass

    partial = []

    def cancel(done, total):
        if done >= 32:
            raise Stop

    with pytest.raises(Stop):
        attribution.occlusion(lenet, sample_image("digit_1"), size=8, stride=2, batch_size=16, progress=cancel,
                              on_batch=lambda r: partial.append(int(np.isnan(r.probability).sum())))
    assert partial[0] > partial[1] > 0  # NaN until computed


# -- Grad-CAM -------------------------------------------------------------------------------------------------------

def test_grad_cam_on_a_classifier_and_not_on_a_detector(shapes_net):
    image = sample_image("shape_cross")
    result = attribution.grad_cam(shapes_net, image)
    assert result.target_name == "cross" and result.layer == "features.13"  # the ReLU after conv5
    assert result.heatmap.shape == (64, 64) and result.cam.shape == (8, 8) and result.heatmap.min() >= 0
    detector = LabModel(load_model("ssdlite320_mobilenet_v3_large", weights="random"))
    with pytest.raises(LabError, match="Grad-CAM explains a class score: .* detection model, not a classifier"):
        attribution.grad_cam(detector, image)
    with pytest.raises(LabError, match="detection model"):
        attribution.occlusion(detector, image)


def test_a_1000_class_head_without_names_gets_imagenets():
    """alexnet_2012 (the paper's net, no published weights) named its top-5 "class 443"."""
    from cnn_explorer.models.lab.activations import LabModel
    from cnn_explorer.models.zoo.loader import load_model

    lab = LabModel(load_model("alexnet_2012", weights="random"))
    assert len(lab.categories) == 1000 and lab.categories[443] == "bib"
    assert LabModel(load_model("lenet5", weights="random")).categories is None  # 10 outputs: no names invented


def test_the_batched_tools_run_on_a_file_that_fixes_its_batch_at_one(tmp_path, shapes_onnx):
    """An ONNX export of the trained shapes net takes one image at a time (its LocalResponseNorm fixes the batch):
    occlusion and top-9, which feed 16 images a pass, still work on it."""
    pytest.importorskip("onnxruntime")
    from PIL import Image

    from cnn_explorer.models.lab import top9
    from cnn_explorer.models.zoo.loader import load_model
    from cnn_explorer.models.zoo.user import register_file

    path = shapes_onnx
    entry = register_file(str(path))
    lab = LabModel(load_model(str(path)))
    image = sample_image("shape_circle")
    result = attribution.occlusion(lab, image, size=16, stride=16)
    assert np.isfinite(result.probability).all()
    folder = tmp_path / "shapes"
    folder.mkdir()
    for name in ("shape_circle", "shape_square", "shape_triangle"):
        Image.fromarray(sample_image(name)).save(folder / f"{name}.png")
    conv = next(n.name for n in lab.graph(image).nodes if n.op == "Conv2d")
    assert len(top9.top9(lab, folder, conv, channel=0, k=3, use_cache=False).patches) == 3
    assert entry.facts["max_batch"] == 1  # the file fixes its batch: one image a pass
