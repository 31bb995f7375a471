"""ONNX round trips of issue 20: networks exported by both of torch's exporters, opened by ``open_model_file``,
checked against onnxruntime and the original module; the lab on an imported network; onnx's own test models.

Tolerance, as in tests/models/test_model_files.py and the converter's own check:
``max|Δ| <= 1e-4 · max|reference|`` (the worst measured here, Dec 2026: 7.8e-7).

Where an exporter cannot export a network here, its case is skipped with the exporter's own first line. The
legacy exporter's files are the harder ones: LocalResponseNorm written with If nodes (zfnet_shapes), BatchNorm
folded into convolutions that keep their own names next to ones that had none (MobileNet v3, the U-Net), and
node names of nested Sequentials (``/features/features.1/block/block.0/block.0.0/Conv``).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from cnn_explorer.models.files import ModelFileError, open_model_file
from cnn_explorer.models.files.errors import first_line

TOLERANCE = 1e-4
EXPORTERS = {"dynamo": True, "legacy": False}
CONVS = (nn.Conv2d, nn.ConvTranspose2d)
FOLDED_NOTE = "BatchNorm folded into the convolutions"


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    # Two cores shared with other jobs: one torch thread is steadier than two that wait on each other.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def relative_difference(ours, reference) -> float:
    ours = np.asarray(ours.detach() if isinstance(ours, torch.Tensor) else ours, dtype=np.float64)
    reference = np.asarray(reference.detach() if isinstance(reference, torch.Tensor) else reference,
                           dtype=np.float64)
    assert ours.shape == reference.shape
    scale = float(np.abs(reference).max()) or 1.0
    return float(np.abs(ours - reference).max()) / scale


def close(ours, reference, what: str) -> float:
    worst = relative_difference(ours, reference)
    print(f"{what}: max|Δ| = {worst:.2e} of the largest value")
    assert worst <= TOLERANCE, f"{what}: {worst:.3g} > {TOLERANCE}"
    return worst


def onnxruntime_outputs(path: Path, x: torch.Tensor) -> list:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x.numpy()})


def random_image(shape, seed: int = 1) -> torch.Tensor:
    """Not the seed (0) of the converter's own check, so that the two checks see different inputs."""
    return torch.randn((1, *shape), generator=torch.Generator().manual_seed(seed))


# --- the networks -----------------------------------------------------------------------------------------

def with_batchnorm_statistics(model: nn.Module, seed: int) -> nn.Module:
    """Running statistics and affine weights away from their initial 0/1, so that folding them into the
    convolutions is a real computation (as in a trained network)."""
    generator = torch.Generator().manual_seed(seed)

    def uniform(tensor, low, high):
        tensor.copy_(low + (high - low) * torch.rand(tensor.shape, generator=generator))

    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                uniform(module.running_mean, -0.5, 0.5)
                uniform(module.running_var, 0.5, 2.0)
                uniform(module.weight, 0.5, 1.5)
                uniform(module.bias, -0.5, 0.5)
    return model.eval()


def mobilenet_v3_small() -> nn.Module:
    from torchvision.models import mobilenet_v3_small as build

    torch.manual_seed(0)
    return with_batchnorm_statistics(build(), seed=1)


def shapes_unet() -> nn.Module:
    from cnn_explorer.models.zoo.registry import get_entry

    torch.manual_seed(0)
    return with_batchnorm_statistics(get_entry("shapes_unet").build(), seed=2)


def zfnet_shapes() -> nn.Module:
    from cnn_explorer.models.zoo.loader import load_model

    loaded = load_model("zfnet_shapes")  # the learned weights shipped in assets/
    assert loaded.weights.label == "pretrained", loaded.weights
    return loaded.model.eval()


# name: (builder, input C×H×W); shapes_unet at the size it works at (no resizing inside its forward)
NETWORKS = {
    "mobilenet_v3_small": (mobilenet_v3_small, (3, 224, 224)),
    "shapes_unet": (shapes_unet, (3, 240, 320)),
    "zfnet_shapes": (zfnet_shapes, (3, 64, 64)),
}

# MobileNet v3 through the dynamo exporter is the heaviest round trip (8 s of export and opening): with -m slow.
# The quick suite keeps dynamo's folded BatchNorms on the U-Net and its LocalResponseNorm on ZFNet.
SLOW = {("mobilenet_v3_small", "dynamo")}


def cases(networks=NETWORKS):
    return [pytest.param(name, exporter, id=f"{name}-{exporter}",
                         marks=[pytest.mark.slow] if (name, exporter) in SLOW else [])
            for name in networks for exporter in EXPORTERS]


@dataclass
class RoundTrip:
    name: str
    exporter: str
    original: nn.Module
    input_shape: tuple
    path: Path
    skipped: str = ""  # the exporter's reason, when it could not export
    refused: ModelFileError | None = None
    opened: object = None
    seconds: dict = field(default_factory=dict)

    def require_file(self):
        if self.skipped:
            pytest.skip(self.skipped)

    def require_opened(self):
        self.require_file()
        if self.refused is not None:
            raise self.refused
        return self.opened


def export(model: nn.Module, path: Path, shape, dynamo: bool) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kwargs = {} if dynamo else {"opset_version": 17}
        torch.onnx.export(model, (random_image(shape, seed=7),), str(path), dynamo=dynamo, input_names=["input"],
                          output_names=["output"], verbose=False, **kwargs)


@pytest.fixture(scope="module")
def round_trips(tmp_path_factory):
    """Each network exported once by each exporter and opened once; shared by the tests below."""
    originals: dict[str, nn.Module] = {}
    done: dict[tuple[str, str], RoundTrip] = {}

    def get(name: str, exporter: str) -> RoundTrip:
        if (name, exporter) in done:
            return done[name, exporter]
        build, shape = NETWORKS[name]
        if name not in originals:
            originals[name] = build()
        folder = tmp_path_factory.mktemp(f"{name}-{exporter}")
        trip = RoundTrip(name, exporter, originals[name], shape, folder / f"{name}.onnx")
        start = time.perf_counter()
        try:
            export(trip.original, trip.path, shape, EXPORTERS[exporter])
        except Exception as error:  # noqa: BLE001 - the exporter's failure: the case is skipped, with its reason
            trip.skipped = f"the {exporter} exporter cannot export {name}: {type(error).__name__}: {first_line(error)}"
        trip.seconds["export"] = time.perf_counter() - start
        if not trip.skipped:
            start = time.perf_counter()
            try:
                trip.opened = open_model_file(str(trip.path))
            except ModelFileError as error:
                trip.refused = error
            trip.seconds["open"] = time.perf_counter() - start
        done[name, exporter] = trip
        return trip

    return get


# --- 1. round trips: converted == onnxruntime == PyTorch -------------------------------------------------

@pytest.mark.parametrize("name, exporter", cases())
def test_round_trip_matches_onnxruntime_and_pytorch(round_trips, name, exporter):
    trip = round_trips(name, exporter)
    opened = trip.require_opened()
    assert opened.kind == "onnx" and opened.hooks_work and opened.input_shape == trip.input_shape
    assert any("matches onnxruntime" in note and f"tolerance {TOLERANCE:g}" in note for note in opened.notes)
    x = random_image(trip.input_shape)
    with torch.no_grad():
        ours = opened.model(x)
        reference = trip.original(x)
    expected = onnxruntime_outputs(trip.path, x)
    assert len(expected) == 1 and isinstance(ours, torch.Tensor)
    print(f"{name} {exporter}: export {trip.seconds['export']:.1f} s, open {trip.seconds['open']:.1f} s")
    close(ours, expected[0], f"{name} {exporter}: converted vs onnxruntime")
    close(ours, reference, f"{name} {exporter}: converted vs PyTorch")
    close(expected[0], reference, f"{name} {exporter}: onnxruntime vs PyTorch")


@pytest.mark.parametrize("name, exporter", cases())
def test_batchnorm_folding_is_noted_when_it_happened(round_trips, name, exporter):
    trip = round_trips(name, exporter)
    opened = trip.require_opened()
    had = any(isinstance(m, nn.BatchNorm2d) for m in trip.original.modules())
    kept = any(isinstance(m, nn.BatchNorm2d) for m in opened.model.modules())
    folded = had and not kept
    noted = any(FOLDED_NOTE in note or "folds BatchNorm into the convolutions" in note for note in opened.notes)
    if name == "zfnet_shapes":
        assert not had  # no BatchNorm in it: nothing to fold, nothing to note
    else:
        assert folded  # both exporters fold these networks' BatchNorms (measured)
    assert noted == folded, opened.notes


@pytest.mark.parametrize("name, exporter", cases())
def test_converted_layers_keep_the_networks_names(round_trips, name, exporter):
    """Every converted convolution sits under the name of a convolution of the original, or, where the exporter
    folded a BatchNorm into it and named it after the BatchNorm (dynamo), under the BatchNorm's name.
    onnx2pytorch wraps a ConvTranspose in a module of its own, which holds the nn.ConvTranspose2d as ``conv``:
    the wrapper has the original's name (``ups.0.up_conv``), the layer inside it ``ups.0.up_conv.conv``."""
    trip = round_trips(name, exporter)
    opened = trip.require_opened()
    original = dict(trip.original.named_modules())
    converted = [(n, m) for n, m in opened.model.named_modules() if isinstance(m, CONVS)]
    assert len(converted) == sum(isinstance(m, CONVS) for m in original.values())
    wrong = []
    for layer, module in converted:
        there = original.get(layer)
        if isinstance(module, nn.ConvTranspose2d):
            wrapper, _, inner = layer.rpartition(".")
            if there is None and inner == "conv":
                there = original.get(wrapper)
            ok = isinstance(there, nn.ConvTranspose2d)
        else:
            ok = isinstance(there, (nn.Conv2d, nn.BatchNorm2d))
        if not ok:
            wrong.append(f"{layer} ({type(there).__name__ if there is not None else 'absent'})")
    assert not wrong, f"{len(wrong)} of {len(converted)}: {', '.join(wrong[:4])}"


def test_legacy_local_response_norm_of_any_size_keeps_its_if_nodes(tmp_path):
    """zfnet_shapes by the legacy exporter with a symbolic batch, height and width: its LocalResponseNorm's If nodes
    branch on a size that is not fixed, so they stay, and onnx2pytorch runs them (their layers' names hold dots
    before they are nested: 'If_/features/features.3/If_output_0'); the converted model runs at any batch."""
    import onnx

    model, shape = zfnet_shapes(), NETWORKS["zfnet_shapes"][1]
    path = tmp_path / "zfnet_any_size.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (random_image(shape, seed=7),), str(path), dynamo=False, opset_version=17,
                          input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "n", 2: "h", 3: "w"}})
    assert sum(n.op_type == "If" for n in onnx.load(str(path)).graph.node) == 2
    opened = open_model_file(str(path), input_shape=shape)
    assert opened.input_shape == shape
    x = torch.cat([random_image(shape, seed) for seed in (1, 2, 3)])
    with torch.no_grad():
        ours, reference = opened.model(x), model(x)
    close(ours, onnxruntime_outputs(path, x)[0], "zfnet_shapes legacy, any size: converted vs onnxruntime")
    close(ours, reference, "zfnet_shapes legacy, any size: converted vs PyTorch")


# --- 2. the lab on imported networks -----------------------------------------------------------------------

def comparable_point(original: nn.Module, layer: str, folded: bool) -> str:
    """Where in the original to compare the converted conv ``layer``'s feature map: a conv named after the
    BatchNorm folded into it (dynamo) is the BatchNorm's output; a conv with its BatchNorm folded in, under its
    own name (legacy), is the output of the BatchNorm after it."""
    module = original.get_submodule(layer)
    if isinstance(module, nn.BatchNorm2d):
        return layer
    parent_name, _, index = layer.rpartition(".")
    parent = original.get_submodule(parent_name) if parent_name else original
    if folded and isinstance(parent, nn.Sequential) and index.isdigit() and int(index) + 1 < len(parent) \
            and isinstance(parent[int(index) + 1], nn.BatchNorm2d):
        return f"{parent_name}.{int(index) + 1}"
    return layer


def lab_pair(trip):
    """The lab on the imported file (registered as a zoo entry, loaded by name) and on the original."""
    from cnn_explorer.models.lab.activations import LabModel
    from cnn_explorer.models.zoo.loader import LoadedModel, load_model
    from cnn_explorer.models.zoo.registry import get_entry
    from cnn_explorer.models.zoo.user import register_file
    from cnn_explorer.models.zoo.weights import WeightsResult

    trip.require_opened()
    spec = str(trip.path)
    entry = register_file(spec)
    imported = LabModel(load_model(spec))
    assert imported.entry is entry and imported.entry.source == "file"
    zoo = get_entry(trip.name)  # the zoo's entry, with the very module that was exported
    assert entry.task == zoo.task and entry.input_size == zoo.input_size
    return imported, LabModel(LoadedModel(zoo, trip.original, WeightsResult("given", "the exported module")))


@pytest.mark.parametrize("name, exporter", cases(networks=["zfnet_shapes", "shapes_unet"]))
def test_lab_feature_maps_of_an_imported_network_equal_the_originals(round_trips, name, exporter):
    from cnn_explorer.models.lab.images import sample_image

    trip = round_trips(name, exporter)
    imported, original = lab_pair(trip)
    image = sample_image("shape_circle")
    prepared = imported.prepare(image)
    assert torch.equal(prepared.tensor, original.prepare(image).tensor)  # the same default preprocessing
    convs = [n for n, m in imported.model.named_modules() if isinstance(m, nn.Conv2d)]
    had = any(isinstance(m, nn.BatchNorm2d) for m in trip.original.modules())
    folded = had and not any(isinstance(m, nn.BatchNorm2d) for m in imported.model.modules())
    if not had:  # zfnet_shapes: the converted convs are the original's, under the same names
        assert convs == [n for n, m in trip.original.named_modules() if isinstance(m, nn.Conv2d)]
    notes = imported.entry.facts["notes"]
    folding_noted = FOLDED_NOTE in notes or "folds BatchNorm into the convolutions" in notes
    assert folding_noted == folded, notes
    layers = imported.map_layers(image)
    for layer in (convs[0], convs[2]):  # the first conv, and the third (zfnet_shapes' conv3)
        point = comparable_point(trip.original, layer, folded)
        if not folded:
            assert point == layer
        elif exporter == "dynamo":
            assert point == layer and isinstance(trip.original.get_submodule(layer), nn.BatchNorm2d)
        else:
            assert point != layer and isinstance(trip.original.get_submodule(point), nn.BatchNorm2d)
        assert layer in layers
        ours = imported.feature_map(image, layer)
        assert ours.shape == tuple(original.node(image, point).output_shape[1:])
        close(ours, original.feature_map(image, point),
              f"{name} {exporter}: lab map of {layer} vs the original's {point}")
    output = imported.forward(image).output
    close(output, original.forward(image).output, f"{name} {exporter}: lab output vs the original's")
    if name == "zfnet_shapes":
        assert imported.is_classifier
        top = [p.index for p in imported.predict(image, 3)]
        assert top == [p.index for p in original.predict(image, 3)]


# --- 3. onnx's own test models: open, or a one-line refusal ------------------------------------------------

def onnx_batch(path: Path) -> int:
    """The batch the file fixes for its input (1 where it is symbolic)."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    initializers = {t.name for t in graph.initializer}
    dims = next(i for i in graph.input if i.name not in initializers).type.tensor_type.shape.dim
    return dims[0].dim_value or 1


def _onnx_test_models() -> list[tuple[str, Path]]:
    """(label, path) of onnx's backend test models, as benchmarks/onnx_test_models.py finds them."""
    import onnx

    root = Path(onnx.__file__).resolve().parent / "backend" / "test" / "data"
    found = []
    for folder in ("node", "simple", "pytorch-converted", "pytorch-operator", "light"):
        for path in sorted((root / folder).glob("*/model.onnx")) + sorted((root / folder).glob("*.onnx")):
            found.append((f"{folder}/{path.parent.name if path.name == 'model.onnx' else path.stem}", path))
    return found


ONNX_TEST_MODELS = _onnx_test_models()
# Those that open (onnx 1.23.2, onnx2pytorch 0.6.0, Dec 2026): a refusal of one of them is a regression. The others
# are refused for the reasons benchmarks/onnx_test_models.py prints (inputs that are not one N×C×H×W float image,
# ops onnxruntime no longer runs at opset < 7). Files that fix their batch at 2 open: the converted model runs one
# image at a time, checked image by image against onnxruntime on the batch.
KNOWN_TO_OPEN = {
    *(f"pytorch-converted/test_{case}" for case in (
        "ConstantPad2d", "Conv2d", "Conv2d_depthwise", "Conv2d_depthwise_padded", "Conv2d_depthwise_strided",
        "Conv2d_depthwise_with_multiplier", "Conv2d_dilated", "Conv2d_groups", "Conv2d_groups_thnn",
        "Conv2d_no_bias", "Conv2d_padding", "Conv2d_strided", "ConvTranspose2d", "ConvTranspose2d_no_bias",
        "MaxPool2d", "MaxPool2d_stride_padding_dilation", "PixelShuffle", "ReLU", "ReflectionPad2d",
        "ReplicationPad2d", "Sigmoid", "Tanh", "ZeroPad2d", "log_softmax_dim3", "softmax_functional_dim3")),
    *(f"pytorch-operator/test_operator_{case}" for case in (
        "conv", "convtranspose", "flatten", "pad", "reduced_mean", "reduced_mean_keepdim", "reduced_sum",
        "reduced_sum_keepdim", "repeat", "selu", "symbolic_override")),
    # IR version 3 (initializers listed as inputs too), every weight made by a ConstantOfShape
    *(f"light/light_{case}" for case in (
        "bvlc_alexnet", "densenet121", "inception_v1", "inception_v2", "resnet50", "shufflenet", "squeezenet",
        "vgg19", "zfnet512")),
}
# The light/ networks are whole ImageNet networks: the six without a large fully connected layer open here (8 s
# together, one thread); AlexNet, ZFNet-512 and VGG-19 (61M to 144M weights: 22 s, and 4 GB of memory for
# VGG-19) open in benchmarks/onnx_test_models.py. Each of their weights is one value repeated (a ConstantOfShape),
# so every class gets the same score, whatever the input: the check shows that they convert and run, little more.
LIGHT_HERE = {f"light/light_{case}" for case in (
    "densenet121", "inception_v1", "inception_v2", "resnet50", "shufflenet", "squeezenet")}
ONNX_TEST_CASES = [pytest.param(label, path, id=label, marks=[pytest.mark.skip(
    reason="large: opened by benchmarks/onnx_test_models.py")] if label.startswith("light/") and label not in
    LIGHT_HERE else []) for label, path in ONNX_TEST_MODELS]


@pytest.mark.skipif(not ONNX_TEST_MODELS, reason="the onnx package here ships no backend test models")
@pytest.mark.parametrize("label, path", ONNX_TEST_CASES)
def test_onnx_test_model_opens_or_is_refused_in_one_line(label, path):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            opened = open_model_file(str(path))
    except ModelFileError as error:
        message = str(error)
        assert message and "\n" not in message and "Traceback" not in message, message
        assert len(message) < 600, message
        assert label not in KNOWN_TO_OPEN, message
        return
    assert opened.kind == "onnx" and opened.hooks_work
    assert any("matches onnxruntime" in note for note in opened.notes)
    batch = onnx_batch(path)
    x = random_image(opened.input_shape)  # checked again here, on other inputs than the converter's check
    if batch > 1:
        x = torch.cat([x, random_image(opened.input_shape, seed=2).repeat(batch - 1, 1, 1, 1)])
        assert any(f"fixes its batch at {batch}; the explorer runs one image at a time" in n for n in opened.notes)
    with torch.no_grad():  # one image at a time, as the explorer runs it
        outputs = [opened.model(x[k:k + 1]) for k in range(batch)]
    expected = onnxruntime_outputs(path, x)
    got = [[ours] if isinstance(ours, torch.Tensor) else list(ours) for ours in outputs]
    assert all(len(each) == len(expected) for each in got)
    for k, reference in enumerate(expected):
        tensor = torch.cat([each[k] for each in got])
        assert relative_difference(tensor, reference) <= TOLERANCE
    assert label in KNOWN_TO_OPEN  # a new one: add it above


@pytest.mark.parametrize("exporter", list(EXPORTERS))
def test_imported_local_response_norm_keeps_the_fields_and_the_figure(round_trips, exporter):
    """zfnet_shapes's LocalResponseNorm comes back as operations (a 3-D average pool over channels among them):
    every convolution's receptive field is the original's, and the lecture's figure is drawn with the same
    convolution volumes (the norm's branching operations are drawn as nothing, as the figure draws no norm)."""
    from cnn_explorer.app.core.figure_data import figure_from_summary
    from cnn_explorer.models.analysis.summary import analyze

    trip = round_trips("zfnet_shapes", exporter)
    opened = trip.require_opened()
    shape = (1, *trip.input_shape)
    ours, theirs = analyze(opened.model, shape), analyze(trip.original, shape)
    fields = lambda summary: [(n.output_shape, n.receptive_field)  # noqa: E731
                              for n in summary.graph.nodes if n.op == "Conv2d"]
    assert fields(ours) == fields(theirs) and len(fields(ours)) == 5
    figure, reference = figure_from_summary(ours), figure_from_summary(theirs)
    assert figure.ok, figure.message
    assert [v.shape for v in figure.volumes if v.kind == "conv"] == \
        [v.shape for v in reference.volumes if v.kind == "conv"]


@pytest.mark.parametrize("exporter", [pytest.param(e, marks=[pytest.mark.slow] if ("mobilenet_v3_small", e) in SLOW
                                                     else []) for e in EXPORTERS])
def test_imported_blocks_fold_and_the_figure_draws_them(round_trips, exporter):
    """onnx2pytorch nests the converted layers under the original's module paths but never runs those holders:
    they still fold as blocks (MobileNet v3's inverted residuals), and the figure draws the network by them."""
    from cnn_explorer.app.core.figure_data import figure_from_summary
    from cnn_explorer.app.core.view_data import graph_data_from
    from cnn_explorer.models.analysis.summary import analyze

    trip = round_trips("mobilenet_v3_small", exporter)
    opened = trip.require_opened()
    summary = analyze(opened.model, (1, *trip.input_shape))
    foldable = {path for path, block in graph_data_from(summary).blocks.items() if block.foldable}
    residuals = {f"features.{i}" for i in range(2, 12)}  # the original's InvertedResidual blocks with a skip
    assert len(residuals & foldable) >= 8, sorted(foldable)[:20]
    figure = figure_from_summary(summary)
    assert figure.ok, figure.message
    assert figure.volumes[-1].shape[0] == 1000
