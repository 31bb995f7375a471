"""The lecture's vocabulary: layers and blocks named as the papers and the lectures name them.

Code names are module paths (``features.0``, ``layer1.0``); a lecture says ``conv1``, ``fc8``, ``conv5_3``,
"Inception 3a" or "Bottleneck 2.1". The names here are derived from the recorded graph — its operations in
order (their kinds, from ``models/analysis/ops.py``) and the module classes with their place in the hierarchy — by the
conventions below, which are data: one table per naming style, one table of block classes. No Qt, no torch.

Nodes are read by duck typing (``name``, ``op``, ``kind``, ``scope``), so the CLI can name the layers of a
cached analysis without importing torch.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from cnn_explorer.models.analysis import ops
# -- layers ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Convention:
    """How a family of paper networks names its layers.

    ``numbering``: ``"weight"`` — a number per weight layer, the other layers take the number of the last one
    (AlexNet's conv1, relu1, norm1, pool1 … fc8); ``"stage"`` — ``conv{stage}_{i}``, a stage ending at each
    pooling layer, fully connected layers numbered on after the last stage (VGG's conv5_3, pool5, fc6);
    ``"layer"`` — one number for every conv, pool and fully connected layer (LeNet-5's C1, S2 … F6).
    ``features``: op kind → name template before the first fully connected layer; ``head``: after it.
    ``norms``: op → the template for that normalization when it differs from ``features["norm"]``.
    ``last_linear``: the name of the classifier's last layer, when the paper gives it one of its own."""

    numbering: str
    features: Mapping[str, str]
    head: Mapping[str, str]
    norms: Mapping[str, str] = field(default_factory=dict)
    last_linear: str = ""


_FC_HEAD = {"linear": "fc{n}", "activation": "relu{n}", "dropout": "drop{n}"}

CONVENTIONS: dict[str, Convention] = {
    "caffe": Convention("weight", {"conv": "conv{n}", "activation": "relu{n}", "norm": "norm{n}", "pool": "pool{n}"},
                        _FC_HEAD, norms={"BatchNorm2d": "bn{n}"}),
    "vgg": Convention("stage", {"conv": "conv{stage}_{i}", "activation": "relu{stage}_{i}", "norm": "bn{stage}_{i}",
                                "pool": "pool{stage}"}, _FC_HEAD),
    "lenet": Convention("layer", {"conv": "C{n}", "pool": "S{n}"}, {"linear": "F{n}"}, last_linear="output"),
}

#: Zoo family → naming style (the families whose papers number their layers).
FAMILY_STYLES: dict[str, str] = {"AlexNet": "caffe", "ZFNet": "caffe", "VGG": "vgg", "LeNet": "lenet"}


def family_of(model: str) -> str:
    """The zoo family of ``model`` ("" when the zoo does not know it)."""
    from cnn_explorer.models.zoo.index import UnknownModelError, lookup

    try:
        return str(lookup(model).get("family", ""))
    except (UnknownModelError, KeyError, ValueError):
        return ""


def layer_names(family: str, nodes: Iterable) -> dict[str, str]:
    """Code name → lecture name of the layers a paper names, for a model of ``family``; {} for a family with
    no convention. Layers the convention does not name (flatten, a second pooling after pool5) keep their
    code name: no lecture name is ever given twice."""
    convention = CONVENTIONS.get(FAMILY_STYLES.get(family, ""))
    if convention is None:
        return {}
    nodes = [n for n in nodes if n.kind != "input"]
    kinds = [ops.op_kind(n.op) for n in nodes]
    last_linear = max((i for i, k in enumerate(kinds) if k == "linear"), default=-1)
    names: dict[str, str] = {}
    used: set[str] = set()
    weights = layers = pools = fcs = conv_in_stage = 0
    in_head = False
    for index, (node, kind) in enumerate(zip(nodes, kinds)):
        if kind == "linear":
            in_head, fcs = True, fcs + 1
        if kind in ("conv", "linear"):
            weights += 1
        if kind in ("conv", "pool", "linear"):
            layers += 1
        if kind == "conv":
            conv_in_stage += 1
        n = {"weight": weights, "layer": layers, "stage": pools + fcs}[convention.numbering]
        template = convention.norms.get(node.op) if kind == "norm" and not in_head else None
        template = template or (convention.head if in_head else convention.features).get(kind)
        if index == last_linear and convention.last_linear:
            template = convention.last_linear
        if kind == "pool" and node.op in ops.ADAPTIVE_POOL:
            template = None  # torchvision's adaptive pooling after pool5 is no layer of the paper
        if template:
            name = template.format(n=n, stage=pools + 1, i=conv_in_stage)
            if name not in used:
                names[node.name] = name
                used.add(name)
        if kind == "pool" and not in_head and node.op not in ops.ADAPTIVE_POOL:
            pools, conv_in_stage = pools + 1, 0
    return names


# -- convolutions ---------------------------------------------------------------------------------------

def size_text(value) -> str:
    """A kernel or map size: 3 → ``3×3``; "" when it is not a size."""
    try:
        h, w = ops.pair(value)
    except (TypeError, ValueError):
        return ""
    return f"{h}×{w}"


def stride_text(value) -> str:
    """A stride as the lectures write it after the kernel: 2 → `` /2``, (1, 2) → `` /1,2``; "" for 1."""
    try:
        h, w = ops.pair(value)
    except (TypeError, ValueError):
        return ""
    if (h, w) == (1, 1):
        return ""
    return f" /{h}" if h == w else f" /{h},{w}"


def conv_title(settings: Mapping) -> str:
    """A convolution as a lecture names it, from its settings: ``Conv 11×11 /4``, ``DW Conv 3×3 /2`` (depthwise:
    one filter per channel, as many groups as input channels), ``Conv 5×5, 2 groups`` (grouped), ``Conv 3×3 d2``
    (dilated). MobileNet's blocks differ by these words alone, so a block's title says them too."""
    groups = int(settings.get("groups", 1) or 1)
    depthwise = groups > 1 and groups == settings.get("in_channels")
    title = f"{'DW Conv' if depthwise else 'Conv'} {size_text(settings.get('kernel_size'))}"
    title = (title + stride_text(settings.get("stride"))).rstrip()
    dilation = settings.get("dilation")
    if dilation is not None and ops.pair(dilation) != (1, 1):
        title += f" d{ops.pair(dilation)[0]}"
    if groups > 1 and not depthwise:
        title += f", {groups} groups"
    return title


# -- blocks ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BlockRule:
    """How a block class is titled. ``title`` may use ``{tag}`` (the path's own number and letter:
    ``inception3a`` → ``3a``, ``denseblock2`` → ``2``), ``{ordinal}`` (its rank among the blocks of its class,
    from ``offset`` + 1), ``{stage}.{index}`` (the number of the stage that holds it, plus ``offset``, and its
    rank in that stage from 1: ResNet's ``layer1.0`` is the paper's conv2_x, block 1) or ``{ops}`` (its
    operations, ``Conv 1×1 + BN + ReLU6``, ``DW Conv 3×3 /2 + BN + ReLU6``)."""

    title: str
    offset: int = 0
    nested: str = ""  # the title inside a block of the same title (a backbone's body inside the backbone)


BLOCK_RULES: dict[str, BlockRule] = {
    "Inception": BlockRule("Inception {tag}"),
    "InceptionA": BlockRule("Inception {tag}"), "InceptionB": BlockRule("Inception {tag}"),
    "InceptionC": BlockRule("Inception {tag}"), "InceptionD": BlockRule("Inception {tag}"),
    "InceptionE": BlockRule("Inception {tag}"),
    "InceptionAux": BlockRule("Auxiliary classifier {ordinal}"),
    "Bottleneck": BlockRule("Bottleneck {stage}.{index}", offset=1),
    "BasicBlock": BlockRule("Basic block {stage}.{index}", offset=1),
    "Fire": BlockRule("Fire {ordinal}", offset=1),  # the paper's fire2 … fire9 follow conv1
    "_DenseBlock": BlockRule("Dense block {tag}"),
    "_DenseLayer": BlockRule("Dense layer {tag}"),
    "_Transition": BlockRule("Transition {tag}"),
    "InvertedResidual": BlockRule("Inverted residual {ordinal}"),
    "DepthwiseSeparableConv": BlockRule("Depthwise separable {ordinal}"),  # timm's MobileNet v1
    "SqueezeExcitation": BlockRule("Squeeze-excitation"),
    "MBConv": BlockRule("MBConv {ordinal}"),
    "FusedMBConv": BlockRule("Fused MBConv {ordinal}"),
    "CNBlock": BlockRule("ConvNeXt block {ordinal}"),
    "Conv2dNormActivation": BlockRule("{ops}"), "BasicConv2d": BlockRule("{ops}"),
    "ConvNormActivation": BlockRule("{ops}"), "ConvBNReLU": BlockRule("{ops}"),
    "ConvBNActivation": BlockRule("{ops}"),
    # detectors
    "GeneralizedRCNNTransform": BlockRule("Transform"),
    "BackboneWithFPN": BlockRule("Backbone"),
    "IntermediateLayerGetter": BlockRule("Backbone", nested="Body"),
    "FeaturePyramidNetwork": BlockRule("FPN"),
    "LastLevelMaxPool": BlockRule("P6 max pool"),
    "LastLevelP6P7": BlockRule("P6, P7"),
    "RegionProposalNetwork": BlockRule("RPN"),
    "RPNHead": BlockRule("RPN head"),
    "AnchorGenerator": BlockRule("Anchors"),
    "DefaultBoxGenerator": BlockRule("Default boxes"),
    "RoIHeads": BlockRule("ROI heads"),
    "MultiScaleRoIAlign": BlockRule("RoI align"),
    "TwoMLPHead": BlockRule("Box head"),
    "FastRCNNPredictor": BlockRule("Box predictor"),
    "MaskRCNNHeads": BlockRule("Mask head"),
    "MaskRCNNPredictor": BlockRule("Mask predictor"),
    "KeypointRCNNHeads": BlockRule("Keypoint head"),
    "KeypointRCNNPredictor": BlockRule("Keypoint predictor"),
    "SSDHead": BlockRule("SSD head"), "SSDLiteHead": BlockRule("SSDlite head"),
    "RetinaNetHead": BlockRule("RetinaNet head"), "FCOSHead": BlockRule("FCOS head"),
    "FCNHead": BlockRule("FCN head"), "DeepLabHead": BlockRule("DeepLab head"), "ASPP": BlockRule("ASPP"),
}

# Short names of the operations in a Conv-BN-activation block's title (a convolution: ``conv_title``).
_OP_WORDS = {"norm": "BN"}


def _tag(path: str) -> str:
    found = re.search(r"(\d+[a-z]?)$", path.rsplit(".", 1)[-1])
    return found.group(1) if found else ""


def _ops_title(members: list) -> str:
    words = []
    for node in members:
        kind = ops.op_kind(node.op)
        if kind == "conv" and node.op in ops.CONV:
            word = conv_title(getattr(node, "settings", None) or {})
        else:
            word = _OP_WORDS.get(kind) or (node.op if kind == "activation" else None)
        if word and word.lower() in ("relu", "relu6", "silu", "gelu", "sigmoid", "tanh", "hardswish"):
            word = {"relu": "ReLU", "relu6": "ReLU6", "silu": "SiLU", "gelu": "GELU", "sigmoid": "Sigmoid",
                    "tanh": "Tanh", "hardswish": "Hardswish"}[word.lower()]
        if word and (not words or words[-1] != word):
            words.append(word)
    # A module called once per level (an RPN's conv on P2 … P6) repeats its operations: name one call.
    for size in range(1, len(words) // 2 + 1):
        if len(words) % size == 0 and words == words[:size] * (len(words) // size):
            return " + ".join(words[:size])
    return " + ".join(words)


def block_titles(modules: Mapping[str, str], nodes: Iterable) -> dict[str, str]:
    """Module path → lecture title of every block whose class has a rule (``"Inception 3a"``,
    ``"Bottleneck 2.1"``, ``"FPN"``, ``"Conv 7×7 /2 + BN + ReLU"`` …); the other blocks keep their class name."""
    nodes = list(nodes)
    members: dict[str, list] = {}
    for node in nodes:
        for path in ops.enclosing(node.scope):
            members.setdefault(path, []).append(node)
    ordinals: dict[str, int] = {}
    stage_rank: dict[str, int] = {}
    titles: dict[str, str] = {}
    for path, class_name in modules.items():
        rule = BLOCK_RULES.get(class_name)
        if rule is None or not path:
            continue
        ordinals[class_name] = ordinals.get(class_name, 0) + 1
        values = {"ordinal": ordinals[class_name] + rule.offset, "tag": _tag(path), "ops": "", "stage": "",
                  "index": ""}
        if "{ops}" in rule.title:
            values["ops"] = _ops_title(members.get(path, [])) or class_name
        if "{stage}" in rule.title:
            parent = path.rsplit(".", 1)[0] if "." in path else ""
            stage = _tag(parent)
            if not stage.isdigit():
                continue
            stage_rank[parent] = stage_rank.get(parent, 0) + 1
            values["stage"], values["index"] = int(stage) + rule.offset, stage_rank[parent]
        if "{tag}" in rule.title and not values["tag"]:
            values["tag"] = str(values["ordinal"])
        title = rule.title.format(**values).strip()
        if rule.nested and any(titles.get(p) == title for p in ops.enclosing(path)[:-1]):
            title = rule.nested
        titles[path] = title
    return titles
