"""Feature visualization by optimization on the trained small nets: the pictures excite what they were made for
more than natural images do, a class picture is classified as that class, a trained net's pictures are
smoother than a random one's, and progress can stop the work and keep the images of that moment."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnn_explorer.models.lab.activations import LabModel
from cnn_explorer.models.lab.datasets import shapes_dataset
from cnn_explorer.models.lab.errors import LabError
from cnn_explorer.models.lab.images import sample_image, samples
from cnn_explorer.models.lab.optimize import (FourierImage, Objective, gram_similarity, objective_for, optimize,
                                              roughness, to_uint8)
from cnn_explorer.models.lab.preprocess import normalize
from cnn_explorer.models.zoo.loader import load_model


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def shapes():
    lab = LabModel(load_model("zfnet_shapes"))
    return lab, lab.prepare(sample_image("shape_circle"))


@pytest.fixture(scope="module")
def digits():
    lab = LabModel(load_model("lenet5_digits"))
    return lab, lab.prepare(sample_image("digit_3"))


def _layer_values(lab, prepared, layer: str, pixels: np.ndarray) -> torch.Tensor:
    """The layer's output (pre-ReLU: in-place ReLUs are switched off) for N×H×W×C pixels in 0..1."""
    from cnn_explorer.models.lab.hooks import no_inplace
    from cnn_explorer.models.lab.kernels import module_of

    out = {}
    handle = module_of(lab.model, layer).register_forward_hook(lambda _m, _i, o: out.setdefault("v", o.clone()))
    x = normalize(torch.from_numpy(np.ascontiguousarray(pixels, np.float32)).permute(0, 3, 1, 2),
                  prepared.mean, prepared.std)
    try:
        with torch.no_grad(), no_inplace(lab.model):
            lab.model(x)
    finally:
        handle.remove()
    return out["v"]


# The quick suite: the first three of the sampled channels, each of which must win; all ten with -m slow.
@pytest.mark.parametrize("count, at_least", [(3, 3), pytest.param(10, 8, marks=pytest.mark.slow)],
                         ids=["3 channels", "10 channels"])
def test_conv2_channels_beat_every_sample_and_500_generated_images(shapes, count, at_least):
    """For at least 8 of 10 sampled conv2 channels (the lecture's name; features.4, before its ReLU) the
    optimized image's channel MEAN is above that of every bundled sample and of 500 generated shapes."""
    lab, prepared = shapes
    objective = objective_for(lab, prepared, "channel", "conv2", (0,))
    layer = objective.layer
    assert layer == "features.4"
    natural = np.stack([lab.prepare(image).display for image in samples().values()]
                       + list(shapes_dataset(500, seed=123)[0])).astype(np.float32) / 255
    best = _layer_values(lab, prepared, layer, natural).mean((2, 3)).max(0).values
    channels = sorted(int(c) for c in np.random.default_rng(0).choice(64, 10, replace=False))[:count]
    wins = []
    for c in channels:
        result = optimize(lab, prepared, objective_for(lab, prepared, "channel", "conv2", (c,)))
        mean = float(_layer_values(lab, prepared, layer, result.pixels)[0, c].mean())
        assert mean == pytest.approx(result.values[0], abs=1e-4)  # the value reported is the saved image's
        wins.append(mean > float(best[c]))
    assert sum(wins) >= at_least, list(zip(channels, wins))


@pytest.mark.parametrize("model, name", [("shapes", "circle"), ("shapes", "cross"), ("digits", "7")])
def test_a_class_picture_is_classified_as_that_class(model, name, request):
    lab, prepared = request.getfixturevalue(model)
    target = lab.class_index(name)
    result = optimize(lab, prepared, objective_for(lab, prepared, "class", target=target))
    image = to_uint8(result.pixels)[0]  # 8-bit, as a saved PNG holds it
    top = lab.predict(image, k=1)[0]
    assert top.name == name and top.probability >= 0.9
    assert result.probabilities[0] == pytest.approx(top.probability, abs=1e-3)


# The quick suite: a class and a channel; two of each with -m slow.
@pytest.mark.parametrize("classes, channels", [((0,), (2,)), pytest.param((0, 3), (2, 11), marks=pytest.mark.slow)],
                         ids=["a class and a channel", "two of each"])
def test_a_trained_net_gives_smoother_pictures_than_random_weights(shapes, classes, channels):
    """Roughness (total variation / std, ``optimize.roughness``) of the pictures of two classes and two conv2
    channels: lower for the trained zfnet_shapes than for the same net with random weights."""
    trained, prepared = shapes
    torch.manual_seed(0)
    untrained = LabModel(load_model("zfnet_shapes", weights="random"))
    measured = {}
    for label, lab in (("trained", trained), ("random", untrained)):
        objectives = [objective_for(lab, prepared, "class", target=t) for t in classes]
        objectives += [objective_for(lab, prepared, "channel", "conv2", (c,)) for c in channels]
        measured[label] = [roughness(optimize(lab, prepared, o).pixels[0]) for o in objectives]
    print("roughness", measured)
    assert np.mean(measured["trained"]) < np.mean(measured["random"]), measured


def test_progress_sees_the_images_and_stops_the_work(shapes):
    lab, prepared = shapes
    seen = []

    class Stop(Exception):
        pass

    def progress(snapshot):
        seen.append(snapshot)
        if len(seen) == 2:
            raise Stop()

    objective = objective_for(lab, prepared, "channel", "conv2", (2,))
    with pytest.raises(Stop):
        optimize(lab, prepared, objective, steps=100_000, interval=0.0, progress=progress)
    first, last = seen
    assert (first.step, last.step) == (1, 2) and last.steps == 100_000
    assert last.pixels.shape == (1, 64, 64, 3) and last.images.dtype == np.uint8
    assert np.isfinite(last.value)
    assert not np.array_equal(first.pixels, last.pixels)  # the image as it was at each moment
    # The weights are as they were: gradients on, in-place ReLUs back.
    assert all(p.requires_grad for p in lab.model.parameters())
    assert lab.model.features[5].inplace


def test_negative_and_layer_and_neuron_objectives(digits):
    lab, prepared = digits
    up = optimize(lab, prepared, objective_for(lab, prepared, "neuron", "C3", (5, 2, 2)), steps=48)
    down = optimize(lab, prepared, objective_for(lab, prepared, "neuron", "C3", (5, 2, 2), negative=True), steps=48)
    assert up.value > 0 > down.value
    layer = optimize(lab, prepared, objective_for(lab, prepared, "layer", "features.0"), steps=16)
    assert layer.pixels.shape == (1, 32, 32, 1) and layer.curve[-1][0] == 16
    assert 0 <= layer.pixels.min() and layer.pixels.max() <= 1  # kept in the weights' input range


def test_diversity_pushes_the_images_apart(shapes):
    lab, prepared = shapes
    objective = objective_for(lab, prepared, "channel", "conv2", (2,))
    similar = {}
    for weight in (0.0, 1.0):
        result = optimize(lab, prepared, objective, steps=64, images=3, diversity=weight)
        similar[weight] = float(gram_similarity(_layer_values(lab, prepared, "features.4", result.pixels)))
    assert similar[1.0] < similar[0.0], similar


def test_the_parameterization():
    colour = FourierImage(2, 3, (16, 20), generator=torch.Generator().manual_seed(0))
    pixels = colour().detach()
    assert pixels.shape == (2, 3, 16, 20) and 0 < float(pixels.min()) and float(pixels.max()) < 1
    grey = FourierImage(1, 1, (8, 8), keep_range=False)
    assert grey().shape == (1, 1, 8, 8) and grey.color.numel() == 0
    assert to_uint8(np.full((1, 4, 4, 1), 0.5)).shape == (1, 4, 4, 3)
    noise = np.random.default_rng(0).random((64, 64, 3))
    smooth = np.linspace(0, 1, 64)[None, :, None].repeat(64, 0).repeat(3, 2)
    assert roughness(smooth) < 0.2 < 2.0 < roughness(noise) < 2.5


def test_bad_objectives_are_one_line_errors(shapes):
    lab, prepared = shapes
    with pytest.raises(LabError, match="class 10 is outside the model's 10 classes"):
        objective_for(lab, prepared, "class", target=10)
    with pytest.raises(LabError, match="channel 64 is outside features.4's 64 channels"):
        objective_for(lab, prepared, "channel", "conv2", (64,))
    with pytest.raises(LabError, match="whole unit"):
        objective_for(lab, prepared, "neuron", "conv2", (1,))
    with pytest.raises(LabError, match="no spatial feature map"):
        objective_for(lab, prepared, "layer", "classifier.1")
    with pytest.raises(LabError, match="steps must be at least 1"):
        optimize(lab, prepared, Objective("layer", "features.4"), steps=0)
