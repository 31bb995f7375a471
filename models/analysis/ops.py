"""What kind of operation each recorded op is, and what a block is: the one taxonomy of the explorer.

The graph view colours nodes by kind, the receptive fields need to know which ops resize or pad, the
depth counts weight layers, the lab asks which layers have feature maps: they all ask here. No Qt, no torch.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from cnn_explorer.models.analysis.layer_graph import LayerGraph, Node

# -- kinds of operation ---------------------------------------------------------------------------------

CONV = frozenset({"Conv1d", "Conv2d", "Conv3d", "conv1d", "conv2d", "conv3d"})
CONV_TRANSPOSE = frozenset({"ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "conv_transpose2d"})
WINDOW_POOL = frozenset({"MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d", "LPPool2d",
                         "max_pool2d", "avg_pool2d", "max_pool2d_with_indices"})
ADAPTIVE_POOL = frozenset({"AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "adaptive_avg_pool2d",
                           "adaptive_max_pool2d"})
UNPOOL = frozenset({"MaxUnpool2d", "max_unpool2d"})
ROI_POOL = frozenset({"roi_align", "roi_pool", "MultiScaleRoIAlign"})
LINEAR = frozenset({"Linear", "Bilinear", "linear", "matmul", "bmm", "addmm"})
RESIZE_UP = frozenset({"Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d", "PixelShuffle", "interpolate",
                       "upsample", "pixel_shuffle"})
PADS = frozenset({"ZeroPad2d", "ConstantPad2d", "ReflectionPad2d", "ReplicationPad2d", "pad"})
DROPOUT = frozenset({"Dropout", "Dropout2d", "AlphaDropout", "StochasticDepth", "dropout", "dropout2d"})

#: Operations that make a map larger: they have no receptive field of the (size, stride, padding) form.
UPSAMPLING = CONV_TRANSPOSE | UNPOOL | (RESIZE_UP - {"interpolate", "upsample"})
#: The layers the papers count when they give a network's depth (GoogLeNet's 22, ResNet-152's 152).
WEIGHT_LAYERS = frozenset({"Conv1d", "Conv2d", "Conv3d", "ConvTranspose2d", "Linear", "conv2d", "linear"})

_OPS_BY_KIND = {
    "conv": CONV | CONV_TRANSPOSE,
    "pool": WINDOW_POOL | ADAPTIVE_POOL | UNPOOL | ROI_POOL,
    "norm": frozenset({"BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm", "GroupNorm", "InstanceNorm2d",
                       "LocalResponseNorm", "FrozenBatchNorm2d", "LayerNorm2d", "batch_norm", "layer_norm",
                       "group_norm", "normalize", "local_response_norm", "L2Norm"}),
    "activation": frozenset({"ReLU", "ReLU6", "LeakyReLU", "PReLU", "ELU", "SELU", "GELU", "SiLU", "Mish", "Sigmoid",
                             "Tanh", "Hardswish", "Hardsigmoid", "Softmax", "LogSoftmax", "Softplus", "relu", "relu6",
                             "leaky_relu", "gelu", "silu", "sigmoid", "tanh", "softmax", "log_softmax",
                             "hardswish", "hardsigmoid", "elu", "mish", "clamp"}),
    "linear": LINEAR,
    "merge": frozenset({"add", "sub", "mul", "div", "cat", "concat", "stack"}),
    "reshape": frozenset({"flatten", "Flatten", "view", "reshape", "permute", "transpose", "squeeze", "unsqueeze",
                          "chunk", "split", "expand", "expand_as", "contiguous", "Unflatten", "ChannelShuffle",
                          "channel_shuffle", "narrow", "select", "unfold"}) | PADS,
    "upsample": RESIZE_UP,
    "dropout": DROPOUT,
    "attention": frozenset({"MultiheadAttention", "scaled_dot_product_attention"}),
}
_KIND_OF = {op: kind for kind, ops in _OPS_BY_KIND.items() for op in ops}
# Ops named by no table: recognised by a part of their name.
_KIND_BY_NAME_PART = (("conv", "conv"), ("pool", "pool"), ("norm", "norm"), ("dropout", "dropout"),
                      ("attention", "attention"), ("upsampl", "upsample"), ("relu", "activation"))

KINDS = ("input", "conv", "pool", "norm", "activation", "linear", "merge", "reshape", "upsample", "dropout",
         "attention", "other")


def op_kind(op: str) -> str:
    """The kind of an operation named ``op`` (a module class or a function name): one of KINDS."""
    if op == "Input":
        return "input"
    kind = _KIND_OF.get(op)
    if kind:
        return kind
    lowered = op.lower()
    return next((kind for part, kind in _KIND_BY_NAME_PART if part in lowered), "other")


def node_kind(node: Node) -> str:
    return "input" if node.kind == "input" else op_kind(node.op)


def has_feature_map(node: Node) -> bool:
    """Whether the output of ``node`` is a feature map (channels × height × width), as the lab needs."""
    shape = node.output_shape
    return shape is not None and len(shape) == 4 and shape[2] > 0 and shape[3] > 0


def pair(value) -> tuple[int, int]:
    """A setting given as one number or per axis, as (height, width): 3 → (3, 3); (1, 2) → (1, 2); the
    first and last of a longer tuple (a 3-d setting's last two are never asked for here)."""
    if isinstance(value, (tuple, list)):
        if not value:
            raise ValueError("an empty setting has no axes")
        return (int(value[0]), int(value[-1])) if len(value) <= 2 else (int(value[0]), int(value[1]))
    return (int(value), int(value))


# -- blocks ---------------------------------------------------------------------------------------------

#: Module classes that only hold other modules: never a block of their own.
CONTAINER_CLASSES = frozenset({"Sequential", "ModuleList", "ModuleDict"})
#: Module classes that wrap one layer with what the lectures draw with it (timm's norm with its activation, its
#: selectable global pool with its flatten): one layer to a reader, never a block to fold, so that compact mode
#: draws "Conv 3×3 /2 + BatchNorm + ReLU6" as torchvision's MobileNet shows it, not a conv beside a block.
LAYER_WRAPPERS = frozenset({"BatchNormAct2d", "GroupNormAct", "LayerNormAct2d", "SelectAdaptivePool2d"})
#: Operations that pass their input on unchanged (timm puts them where a variant has an SE, a drop path, an
#: anti-aliasing pool): the graph does not draw them.
IDENTITY = frozenset({"Identity"})


def enclosing(scope: str) -> tuple[str, ...]:
    """``"a.b.c"`` → ``("a", "a.b", "a.b.c")``: the module paths that hold ``scope``, outermost first (itself
    last); ``""`` (the model) → ``()``."""
    if not scope:
        return ()
    parts = scope.split(".")
    return tuple(".".join(parts[:i]) for i in range(1, len(parts) + 1))


def inside(scope: str, path: str) -> bool:
    """Whether the module at ``scope`` lies inside the block at ``path`` (or is it); everything lies inside
    the model, ``""``."""
    return not path or scope == path or scope.startswith(path + ".")


@dataclass(frozen=True)
class Block:
    """A module that ran during the recording, with the ids of the graph nodes inside it."""

    path: str
    type_name: str  # the module's class, e.g. "Bottleneck"
    members: tuple[int, ...]  # node ids, in recording order
    foldable: bool  # a block a user would fold: no container, no single layer, at least two nodes

    @property
    def parents(self) -> tuple[str, ...]:
        return enclosing(self.path)[:-1]


def blocks(graph: LayerGraph) -> dict[str, Block]:
    """Every module path that ran, as a Block (the model itself is ``""``), in the order they first ran."""
    members: dict[str, list[int]] = {"": []}
    leaves = set()
    for node in graph.nodes:
        members[""].append(node.id)
        if node.kind == "module":
            leaves.add(node.scope)
        for path in enclosing(node.scope):
            members.setdefault(path, []).append(node.id)
    found = {}
    for path, class_name in graph.modules.items():
        ids = tuple(members.get(path, ()))
        foldable = (bool(path) and class_name not in CONTAINER_CLASSES | LAYER_WRAPPERS and path not in leaves
                    and len(ids) >= 2)
        found[path] = Block(path=path, type_name=class_name, members=ids, foldable=foldable)
    return found


def count_by_block(graph: LayerGraph) -> Counter[str]:
    """Number of nodes inside each module path."""
    counts: Counter[str] = Counter()
    for node in graph.nodes:
        counts.update(enclosing(node.scope))
    return counts
