"""Parameter and MAC arithmetic of real modules: 1×1 bottlenecks, global average pooling, depthwise separable convs."""

from __future__ import annotations

from dataclasses import dataclass

from cnn_explorer.models.charts.common import ChartsError, Progress

# -- 5. 1×1 bottlenecks and global average pooling --------------------------------------------------------------------

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
    from cnn_explorer.models.zoo.registry import get_entry
    from torch import nn

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
