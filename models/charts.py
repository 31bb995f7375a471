"""The lectures' figures, made from the app's own data (the Charts tab and ``cnn-explorer compare``). No Qt.

- ``timeline()``: ImageNet top-5 error by year, from the zoo's static facts (no torch).
- ``accuracy_points()``: top-1 accuracy against GMACs and parameters, from torchvision's weights metadata
  (``get_model_weights(name).DEFAULT.meta``: metadata, nothing is downloaded).
- ``compare(names)``: parameters, MACs, depth, receptive field, activation memory and year of 2–4 zoo models,
  from their summaries (``loader.summarize`` and its analysis cache; random weights are enough to count).
- ``ConvExplainer``: one output unit of a trained net's first conv as patch × kernel, summed, plus bias, checked
  against the activation of a real forward pass.
- ``bottleneck_arithmetic()`` and ``gap_vs_fc()``: parameter counts of real modules (torchvision's ResNets,
  VGG-16, GoogLeNet, the zoo's NiN), built on the meta device: shapes and counts, no memory, no arithmetic.
- ``separable_costs()``: MobileNet v2's depthwise 3×3 + pointwise 1×1 pairs from its recorded graph (the nodes'
  params, MACs and settings), against a standard 3×3 conv with the same channels.
- ``receptive_fields()``: VGG-16's 3×3 convs by stage, their receptive fields from the analysis, the same fields
  in cells of the stage's input map (2n+1 for n convs) and n·3·3·C² against (2n+1)²·C².

torch and torchvision are imported inside the functions that need them: ``timeline`` and the name checks of
``compare`` answer without them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from cnn_explorer.models.zoo.index import index, lookup

Progress = Callable[[str, int], None]

# Karpathy's "human benchmark" on ILSVRC (lecture 000: 94.9 % top-5 accuracy): a reference line, used only when
# no zoo entry's facts hold a ``human_top5_error``.
HUMAN_TOP5_ERROR_LECTURE = 5.1
COMPARE_MIN, COMPARE_MAX = 2, 4


class ChartsError(ValueError):
    """Bad input for a chart (a one-line message)."""


# -- 1. the ImageNet timeline -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class TimelinePoint:
    model: str  # the zoo entry the figure comes from
    family: str
    year: int
    top5_error: float  # the single-model (or, when that is all the facts hold, the ensemble) figure
    ensemble_error: float | None  # a second, lower figure quoted for an ensemble (ZFNet's 11.7)
    ensemble_only: bool  # top5_error is itself an ensemble's figure (ResNet's 3.57)


def timeline() -> list[TimelinePoint]:
    """One point per family and year whose facts quote an ImageNet top-5 error, in year order (zoo order within a
    year); the first entry of the zoo that quotes it names the point."""
    points: dict[tuple[str, int], TimelinePoint] = {}
    for entry in index():
        facts = entry.get("facts") or {}
        single, ensemble = facts.get("top5_error"), facts.get("top5_error_ensemble")
        if single is None and ensemble is None:
            continue
        key = (entry["family"], int(entry["year"]))
        if key in points:
            continue
        points[key] = TimelinePoint(entry["name"], entry["family"], int(entry["year"]),
                                    float(single if single is not None else ensemble),
                                    float(ensemble) if single is not None and ensemble is not None else None,
                                    single is None)
    return sorted(points.values(), key=lambda p: p.year)


def human_top5_error() -> float:
    """The human reference: a zoo fact when one holds it, else the lecture's figure."""
    for entry in index():
        value = (entry.get("facts") or {}).get("human_top5_error")
        if value is not None:
            return float(value)
    return HUMAN_TOP5_ERROR_LECTURE


# -- 2. accuracy against MACs ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AccuracyPoint:
    model: str
    family: str
    year: int
    weights: str  # "ResNet50_Weights.IMAGENET1K_V2"
    acc1: float  # ImageNet-1K top-1 accuracy, %
    acc5: float
    gflops: float  # torchvision's "_ops": GFLOPS as torchvision counts them (multiply-adds), per image
    params: int
    labelled: bool = False  # one model per family is named on the chart (the others on hover)
    lecture: bool = False  # a model the lectures show (named first, where the chart is crowded)


#: The member of its family a lecture shows: it is the one named on the accuracy chart.
LECTURE_MODELS = frozenset({"alexnet", "googlenet", "vgg16", "inception_v3", "resnet50", "densenet121",
                            "resnext50_32x4d", "squeezenet1_1", "mobilenet_v2", "shufflenet_v2_x1_0",
                            "efficientnet_b0"})


def accuracy_points(progress: Progress | None = None) -> list[AccuracyPoint]:
    """Every torchvision classifier of the zoo with published ImageNet-1K weights, from the DEFAULT weights'
    metadata. One model of each family is ``labelled``: the one a lecture shows (``LECTURE_MODELS``), else the
    most accurate."""
    if progress:
        progress("importing torchvision", 5)
    import torchvision
    from torchvision.models import get_model_weights

    available = set(torchvision.models.list_models(module=torchvision.models))
    entries = [e for e in index() if e["task"] == "classification" and e["source"] == "torchvision"
               and e["name"] in available]
    points = []
    for i, entry in enumerate(entries):
        if progress and i % 8 == 0:
            progress(f"reading the weights' metadata ({i}/{len(entries)})", 10 + 85 * i // max(len(entries), 1))
        try:
            weights = get_model_weights(entry["name"]).DEFAULT
        except (ValueError, KeyError, AttributeError):
            continue
        meta = weights.meta
        metrics = (meta.get("_metrics") or {}).get("ImageNet-1K") or {}
        if "acc@1" not in metrics or "_ops" not in meta or "num_params" not in meta:
            continue
        points.append(AccuracyPoint(entry["name"], entry["family"], int(entry["year"]), str(weights),
                                    float(metrics["acc@1"]), float(metrics.get("acc@5", float("nan"))),
                                    float(meta["_ops"]), int(meta["num_params"])))
    best: dict[str, AccuracyPoint] = {}
    for p in points:
        if p.family not in best or p.acc1 > best[p.family].acc1:
            best[p.family] = p
    for p in points:  # the model a lecture shows names its family, where the family has one
        if p.model in LECTURE_MODELS:
            best[p.family] = p
    named = {p.model for p in best.values()}
    return [AccuracyPoint(**{**p.__dict__, "labelled": p.model in named, "lecture": p.model in LECTURE_MODELS})
            for p in points]


# -- 3. side-by-side comparison ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ComparisonRow:
    model: str
    family: str
    year: int
    input_size: tuple[int, int]
    params: int
    macs: int
    depth: int  # weight layers on the longest path (analysis.weight_layer_depth)
    receptive_field: object  # the deepest local receptive field (a Field), "global" or None
    activation_bytes: int
    cached: bool  # the summary came from the analysis cache

    def to_json(self) -> dict:
        rf = self.receptive_field
        rf_json = ({"size": list(rf.size), "stride": list(rf.stride), "padding": list(rf.padding)}
                   if hasattr(rf, "size") else rf)
        return {"model": self.model, "family": self.family, "year": self.year, "input_size": list(self.input_size),
                "params": self.params, "macs": self.macs, "depth": self.depth, "receptive_field": rf_json,
                "activation_bytes": self.activation_bytes}


def check_names(names: list[str]) -> list[str]:
    """The zoo's names for ``names`` (2 to 4 of them, no repeats); ``UnknownModelError`` or ``ChartsError``."""
    if not COMPARE_MIN <= len(names) <= COMPARE_MAX:
        raise ChartsError(f"compare takes {COMPARE_MIN} to {COMPARE_MAX} models, not {len(names)}")
    found = [lookup(n)["name"] for n in names]
    if len(set(found)) != len(found):
        raise ChartsError(f"a model is named twice: {' '.join(found)}")
    return found


def deepest_field(graph):
    """The receptive field of the last layer that still has a local one: what one unit before the global
    pooling (or the classifier) sees. "global" when none has a local field."""
    last = None
    for node in graph.nodes:
        rf = node.receptive_field
        if rf is not None and hasattr(rf, "size"):
            last = rf
    return last if last is not None else "global"


def compare(names: list[str], progress: Progress | None = None, store=None,
            check: Callable[[], None] | None = None) -> list[ComparisonRow]:
    """Summaries of 2–4 zoo models (random weights: counting needs no training), side by side."""
    names = check_names(list(names))
    from cnn_explorer.models.analysis.summary import weight_layer_depth
    from cnn_explorer.models.zoo.loader import load_model, summarize

    rows = []
    for i, name in enumerate(names):
        if check:
            check()
        if progress:
            progress(f"{name}: building and recording ({i + 1}/{len(names)})", 100 * i // len(names))
        loaded = load_model(name, weights="random")
        summary = summarize(loaded, store=store)
        entry = loaded.entry
        rows.append(ComparisonRow(name, entry.family, int(entry.year), tuple(summary.input_shape[2:]),
                                  int(summary.total_params), int(summary.total_macs),
                                  int(weight_layer_depth(summary.graph)), deepest_field(summary.graph),
                                  int(summary.activation_bytes), bool(summary.cached)))
        del loaded
    if progress:
        progress("done", 100)
    return rows


# -- 4. convolution explained ----------------------------------------------------------------------------------------

TRAINED_NETS = {"lenet5_digits": "digit_3", "zfnet_shapes": "shape_triangle"}


@dataclass
class ConvStep:
    """One output unit of a conv layer, as arithmetic. Arrays are Cin×kh×kw float32 (the input after the
    model's preprocessing, zero padding included)."""

    model: str
    layer: str
    image: str
    unit: tuple[int, int, int]  # (channel, y, x) of the output map
    out_shape: tuple[int, int, int]  # C×H×W of the output map
    kernel_size: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    window: tuple[int, int]  # (top, left) of the window in the input, padding counted (may be negative)
    patch: np.ndarray
    kernel: np.ndarray
    products: np.ndarray
    bias: float
    total: float  # Σ products + bias, computed here
    activation: float  # the unit's value in the model's own forward pass
    input_display: np.ndarray  # H×W×3 uint8, the input the model got
    output_map: np.ndarray  # H×W float32: the output channel of the real forward pass

    @property
    def product_sum(self) -> float:
        return float(self.products.astype(np.float64).sum())


class ConvExplainer:
    """A trained net's conv layer on a bundled image: the real forward pass once, then any unit's arithmetic."""

    def __init__(self, model: str = "lenet5_digits", image: str | None = None, layer: str | None = None):
        import torch

        from cnn_explorer.models.lab.images import sample_image
        from cnn_explorer.models.lab.preprocess import prepare
        from cnn_explorer.models.zoo.loader import load_model

        if model not in TRAINED_NETS:
            raise ChartsError(f"convolution explained uses a trained net: {', '.join(TRAINED_NETS)}, not {model!r}")
        self.loaded = load_model(model)
        self.model_name = model
        self.image_name = image or TRAINED_NETS[model]
        modules = dict(self.loaded.model.named_modules())
        convs = [n for n, m in modules.items() if isinstance(m, torch.nn.Conv2d)]
        self.layers = convs
        self.layer = layer or convs[0]
        if self.layer not in convs:
            raise ChartsError(f"{model} has no conv layer {self.layer!r}; its convs: {', '.join(convs)}")
        self.conv = modules[self.layer]
        if self.conv.groups != 1 or tuple(self.conv.dilation) != (1, 1) or self.conv.padding_mode != "zeros":
            raise ChartsError(f"{self.layer} is grouped, dilated or not zero-padded: not shown step by step")
        self.prepared = prepare(self.loaded.entry, sample_image(self.image_name))
        captured = {}
        handle = self.conv.register_forward_hook(lambda _m, _i, out: captured.__setitem__("out", out.detach().clone()))
        try:
            with torch.no_grad():
                self.loaded.model(self.prepared.tensor)  # the model's own forward pass
        finally:
            handle.remove()
        self.output = captured["out"][0].float().numpy()  # C×H×W
        self.input = self.prepared.tensor[0].float().numpy()  # Cin×H×W
        self.weight = self.conv.weight.detach().float().numpy()
        self.bias = (self.conv.bias.detach().float().numpy() if self.conv.bias is not None
                     else np.zeros(self.weight.shape[0], np.float32))

    @property
    def out_shape(self) -> tuple[int, int, int]:
        return tuple(int(v) for v in self.output.shape)

    def clamp(self, unit: tuple[int, int, int]) -> tuple[int, int, int]:
        c, h, w = self.out_shape
        return (min(max(int(unit[0]), 0), c - 1), min(max(int(unit[1]), 0), h - 1), min(max(int(unit[2]), 0), w - 1))

    def step(self, unit: tuple[int, int, int] = (0, 0, 0)) -> ConvStep:
        c, y, x = self.clamp(unit)
        kh, kw = (int(v) for v in self.conv.kernel_size)
        sh, sw = (int(v) for v in self.conv.stride)
        ph, pw = (int(v) for v in self.conv.padding)
        padded = np.pad(self.input, ((0, 0), (ph, ph), (pw, pw)))
        patch = padded[:, y * sh:y * sh + kh, x * sw:x * sw + kw].astype(np.float32)
        kernel = self.weight[c].astype(np.float32)
        products = patch * kernel
        bias = float(self.bias[c])
        total = float(products.astype(np.float64).sum() + bias)
        return ConvStep(self.model_name, self.layer, self.image_name, (c, y, x), self.out_shape, (kh, kw), (sh, sw),
                        (ph, pw), (y * sh - ph, x * sw - pw), patch, kernel, products, bias, total,
                        float(self.output[c, y, x]), self.prepared.display, self.output[c])

    def neighbour(self, unit: tuple[int, int, int], delta: int) -> tuple[int, int, int]:
        """The unit ``delta`` window positions on, row by row within the channel (wrapping at its end)."""
        c, y, x = self.clamp(unit)
        _, h, w = self.out_shape
        flat = (y * w + x + delta) % (h * w)
        return (c, *divmod(flat, w))


# -- 5. 1×1 bottlenecks and global average pooling ----------------------------------------------------------------------

@dataclass(frozen=True)
class ModuleCount:
    path: str  # where the module lives ("resnet50.layer1.1.conv1")
    kind: str  # "Conv2d", "Linear"
    shape: tuple[int, ...]  # the weight's shape: (out, in, kh, kw) or (out, in)
    params: int  # Σ numel of the module's own parameters (weights, and bias when it has one)


@dataclass(frozen=True)
class Comparison:
    title: str
    left_title: str
    left: tuple[ModuleCount, ...]
    right_title: str
    right: tuple[ModuleCount, ...]
    note: str = ""
    aside_title: str = ""  # a third way, shown beside the two
    aside: tuple[ModuleCount, ...] = ()
    aside_summed: bool = True  # the aside is one alternative (its total means something), not a list of others

    @property
    def aside_total(self) -> int:
        return sum(m.params for m in self.aside)

    @property
    def left_total(self) -> int:
        return sum(m.params for m in self.left)

    @property
    def right_total(self) -> int:
        return sum(m.params for m in self.right)


def _count(path: str, module) -> ModuleCount:
    return ModuleCount(path, type(module).__name__, tuple(int(v) for v in module.weight.shape),
                       sum(p.numel() for p in module.parameters(recurse=False)))


def _meta_models():
    import torch
    import torchvision

    with torch.device("meta"):
        return {"resnet34": torchvision.models.resnet34(), "resnet50": torchvision.models.resnet50(),
                "vgg16": torchvision.models.vgg16(),
                "googlenet": torchvision.models.googlenet(init_weights=False, aux_logits=False)}


def bottleneck_arithmetic() -> list[Comparison]:
    """(1) ResNet: two 3×3 convs on 256 channels (ResNet-34's layer3.1) against the 1×1-3×3-1×1 bottleneck on
    256 channels (ResNet-50's layer1.1). (2) The lecture's figures 442,368 → 126,976: a 3×3 conv from 192 to 256
    channels against a 3×3 conv from 192 to 64 followed by a 1×1 from 64 to 256 (what 1·1·64·256 + 3·3·192·64
    counts), no biases; and, beside it, the Inception order (1×1 192→64, then 3×3 64→256). These are no
    torchvision modules (no torchvision net has a 3×3 192→256 conv): they are built here as ``nn.Conv2d``s."""
    import torch
    from torch import nn

    nets = _meta_models()
    r34, r50 = nets["resnet34"], nets["resnet50"]
    plain = tuple(_count(f"resnet34.layer3.1.{n}", getattr(r34.layer3[1], n)) for n in ("conv1", "conv2"))
    bottleneck = tuple(_count(f"resnet50.layer1.1.{n}", getattr(r50.layer1[1], n)) for n in ("conv1", "conv2", "conv3"))
    with torch.device("meta"):
        wide = nn.Conv2d(192, 256, 3, padding=1, bias=False)
        reduce3, expand1 = nn.Conv2d(192, 64, 3, padding=1, bias=False), nn.Conv2d(64, 256, 1, bias=False)
        reduce1, conv3 = nn.Conv2d(192, 64, 1, bias=False), nn.Conv2d(64, 256, 3, padding=1, bias=False)
    return [
        Comparison("ResNet: the bottleneck on 256 channels", "two 3×3 convs (ResNet-34)", plain,
                   "1×1 → 3×3 → 1×1 bottleneck (ResNet-50)", bottleneck,
                   "conv weights only; each block also has batch norms"),
        Comparison("The lecture's 1×1 arithmetic (192 → 256 channels)", "one 3×3 conv", (_count("3×3 conv", wide),),
                   "3×3 to 64, then 1×1 to 256", (_count("3×3 conv", reduce3), _count("1×1 conv", expand1)),
                   "as the lecture counts it (1·1·64·256 + 3·3·192·64)", "Inception's order: 1×1 to 64, then 3×3 to 256",
                   (_count("1×1 conv", reduce1), _count("3×3 conv", conv3))),
    ]


def gap_vs_fc() -> Comparison:
    """VGG-16's fully connected head (fc6's 102,760,448 weights and the rest) against global average pooling and
    one linear layer on the same 512 maps; GoogLeNet's and ResNet-50's GAP heads and NiN's (no FC at all)."""
    import torch
    from torch import nn

    from cnn_explorer.models.zoo.registry import get_entry

    nets = _meta_models()
    vgg = nets["vgg16"]
    fc = tuple(_count(f"vgg16.classifier.{i}", vgg.classifier[i]) for i in (0, 3, 6))
    with torch.device("meta"):
        gap_head = nn.Linear(vgg.classifier[0].in_features // (7 * 7), vgg.classifier[6].out_features)
        nin = get_entry("nin_imagenet").build()
    last = nin.features[-1]
    nin_last = [m for m in last.modules() if isinstance(m, nn.Conv2d)][-1]
    others = (_count("googlenet.fc (GAP, then 1024 → 1000)", nets["googlenet"].fc),
              _count("resnet50.fc (GAP, then 2048 → 1000)", nets["resnet50"].fc),
              _count("nin_imagenet: last 1×1 conv, then GAP, no FC", nin_last))
    return Comparison("Fully connected head against global average pooling", "VGG-16's FC head (fc6, fc7, fc8)", fc,
                      "GAP, then one linear layer on VGG-16's 512 maps", (_count("GAP + linear", gap_head),),
                      "fc6 alone maps 512×7×7 inputs to 4,096 units; pooling has no parameters",
                      "other GAP heads", others, aside_summed=False)


# -- 6. depthwise separable convolutions -----------------------------------------------------------------------------

SEPARABLE_MODEL = "mobilenet_v2"


@dataclass(frozen=True)
class SeparableBlock:
    """One depthwise k×k conv and the 1×1 conv after it, as the recorded graph has them, and what one standard
    k×k conv from the same input channels to the same output channels would cost at the same map size."""

    depthwise: str  # the depthwise conv's module path ("features.2.conv.1.0")
    pointwise: str  # the 1×1 conv that follows it
    in_channels: int  # M: the channels the depthwise conv filters, one k×k filter each
    out_channels: int  # N: the pointwise conv's outputs
    kernel: int  # k
    size: tuple[int, int]  # the depthwise output map (H, W), where both convs run
    stride: int
    params: int  # depthwise + pointwise, as built (the recorded nodes' params)
    macs: int  # depthwise + pointwise, the recorded nodes' MACs
    standard_params: int  # k·k·M·N (+ N biases where the pointwise conv has them)
    standard_macs: int  # k·k·M·N·H·W

    @property
    def ratio(self) -> float:
        """How many times fewer MACs the separable pair takes (the paper's 1 / (1/N + 1/k²))."""
        return self.standard_macs / max(self.macs, 1)

    @property
    def paper_ratio(self) -> float:
        return 1 / (1 / self.out_channels + 1 / self.kernel ** 2)


@dataclass(frozen=True)
class SeparableCosts:
    model: str
    blocks: tuple[SeparableBlock, ...]
    total_params: int  # the whole model's parameters and MACs, for scale
    total_macs: int

    @property
    def macs(self) -> int:
        return sum(b.macs for b in self.blocks)

    @property
    def standard_macs(self) -> int:
        return sum(b.standard_macs for b in self.blocks)

    @property
    def params(self) -> int:
        return sum(b.params for b in self.blocks)

    @property
    def standard_params(self) -> int:
        return sum(b.standard_params for b in self.blocks)


def _meta_summary(name: str, build):
    """The analysis of a torchvision model built on the meta device (shapes and counts, no memory)."""
    import torch

    from cnn_explorer.models.analysis.summary import analyze

    with torch.device("meta"):
        model = build()
    return analyze(model, (1, 3, 224, 224), name=name)


def separable_costs(progress: Progress | None = None) -> SeparableCosts:
    """MobileNet v2's depthwise separable pairs from its recorded graph: each depthwise conv (groups = in =
    out channels) with the 1×1 conv that runs next, their params and MACs as recorded, against a standard conv
    of the depthwise's kernel from the pair's input to its output channels."""
    import torchvision

    if progress:
        progress(f"{SEPARABLE_MODEL}: building (meta device) and recording", 10)
    summary = _meta_summary(SEPARABLE_MODEL, torchvision.models.mobilenet_v2)
    convs = [n for n in summary.graph.nodes if n.op == "Conv2d"]
    blocks = []
    for dw, pw in zip(convs, convs[1:]):
        s, t = dw.settings, pw.settings
        if not (s["groups"] > 1 and s["groups"] == s["in_channels"] == s["out_channels"]):
            continue
        if tuple(t["kernel_size"]) != (1, 1) or t["groups"] != 1 or t["in_channels"] != s["out_channels"]:
            raise ChartsError(f"{dw.name} is not followed by a 1×1 conv on its channels ({pw.name})")
        k = int(s["kernel_size"][0])
        m, n = int(s["in_channels"]), int(t["out_channels"])
        h, w = (int(v) for v in dw.output_shape[2:])
        bias = pw.params - m * n
        blocks.append(SeparableBlock(dw.name, pw.name, m, n, k, (h, w), int(s["stride"][0]), dw.params + pw.params,
                                     dw.macs + pw.macs, k * k * m * n + bias, k * k * m * n * h * w))
    if not blocks:
        raise ChartsError(f"{SEPARABLE_MODEL} has no depthwise separable convs")
    return SeparableCosts(SEPARABLE_MODEL, tuple(blocks), int(summary.total_params), int(summary.total_macs))


# -- 7. receptive fields of stacked 3×3 convs ------------------------------------------------------------------------

FIELDS_MODEL = "vgg16"
FIELDS_IMAGE = "cat"


@dataclass(frozen=True)
class FieldLayer:
    name: str  # VGG's name ("conv3_2")
    path: str  # the module path ("features.12")
    channels: tuple[int, int]  # in, out
    params: int  # as built
    field: int  # its receptive field on the image, in pixels (the analysis)
    cells: int  # the same field on the stage's input map, in its cells (1 cell = ``jump`` pixels)


@dataclass(frozen=True)
class FieldStage:
    """A stage of VGG-16 (the 3×3 convs between two poolings) and one big conv that would see as far."""

    name: str  # "conv3"
    layers: tuple[FieldLayer, ...]
    jump: int  # pixels between neighbouring cells of the stage's maps (the stride so far)
    input_field: int  # the receptive field of one cell of the stage's input map, pixels
    channels: int  # C: the stage's width

    @property
    def span(self) -> int:
        """What the whole stack sees on its input map: 2n+1 cells for n 3×3 convs."""
        return self.layers[-1].cells

    @property
    def stacked_params(self) -> int:
        """n·3·3·C²: the stack's weights were every conv C → C (the lecture's count)."""
        return len(self.layers) * 3 * 3 * self.channels ** 2

    @property
    def single_params(self) -> int:
        """span·span·C²: one conv that sees as far at once."""
        return self.span ** 2 * self.channels ** 2


@dataclass
class ReceptiveFields:
    model: str
    image_name: str
    image: np.ndarray  # the network's input as seen: 224×224×3 uint8 (centre crop, resized)
    stages: tuple[FieldStage, ...]


def _network_view(image: np.ndarray, size: int) -> np.ndarray:
    """The centre square of ``image`` resized to size×size (what a 224×224 classifier is shown)."""
    from PIL import Image

    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    crop = Image.fromarray(np.ascontiguousarray(image[top:top + side, left:left + side, :3]))
    return np.asarray(crop.resize((size, size), Image.BILINEAR), dtype=np.uint8)


def receptive_fields(progress: Progress | None = None) -> ReceptiveFields:
    """VGG-16's stages from its recorded graph: each conv's receptive field (the analysis's), and the same
    field counted in cells of the stage's input map, where n stacked 3×3 convs see 2n+1 cells."""
    import torchvision

    from cnn_explorer.models.lab.images import sample_image

    if progress:
        progress(f"{FIELDS_MODEL}: building (meta device) and recording", 10)
    summary = _meta_summary(FIELDS_MODEL, torchvision.models.vgg16)
    nodes = summary.graph.nodes
    stages, current, before = [], [], None
    for node in nodes:
        if node.op == "Conv2d":
            s = node.settings
            if tuple(s["kernel_size"]) != (3, 3) or tuple(s["stride"]) != (1, 1):
                raise ChartsError(f"{node.name} is not a 3×3 conv of stride 1")
            if not current:
                before = nodes[node.inputs[0]].receptive_field
            current.append(node)
        elif node.op == "MaxPool2d" and current:
            stages.append((before, current))
            current = []
    result = []
    for i, (before, convs) in enumerate(stages, 1):
        jump, start = int(before.stride[0]), int(before.size[0])
        layers = tuple(FieldLayer(f"conv{i}_{j}", n.name, (int(n.settings["in_channels"]),
                                                             int(n.settings["out_channels"])), int(n.params),
                                  int(n.receptive_field.size[0]), (int(n.receptive_field.size[0]) - start) // jump + 1)
                       for j, n in enumerate(convs, 1))
        result.append(FieldStage(f"conv{i}", layers, jump, start, layers[-1].channels[1]))
    image = _network_view(sample_image(FIELDS_IMAGE), int(summary.input_shape[2]))
    return ReceptiveFields(FIELDS_MODEL, FIELDS_IMAGE, image, tuple(result))
