"""Turn the recorded layer graph of a ModelSummary into the plain GraphData that the graph view draws."""

from __future__ import annotations

from collections import Counter

from cnn_explorer.models.analysis import ModelSummary
from cnn_explorer.models.graph import LayerGraph, Node
from cnn_explorer.widgets.graph_data import GraphBlock, GraphData, GraphEdge, GraphNode

# Module classes that only hold other modules: never folded as a block of their own.
CONTAINER_CLASSES = {"Sequential", "ModuleList", "ModuleDict"}

# Short names of operations for node titles.
_SHORT_NAMES = {
    "BatchNorm1d": "BatchNorm", "BatchNorm2d": "BatchNorm", "BatchNorm3d": "BatchNorm",
    "LocalResponseNorm": "LRN", "add": "+", "sub": "−", "mul": "×", "div": "÷", "matmul": "@",
    "cat": "cat", "concat": "cat", "flatten": "flatten", "Flatten": "flatten", "relu": "ReLU", "sigmoid": "Sigmoid",
    "softmax": "Softmax", "tanh": "Tanh", "hardswish": "Hardswish", "silu": "SiLU", "gelu": "GELU",
    "Input": "Input", "interpolate": "Upsample", "normalize": "Normalize",
    "setitem": "set [ ]",
}

_KIND_BY_OP = {
    "conv": ("Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "conv1d",
             "conv2d", "conv3d", "conv_transpose2d"),
    "pool": ("MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d", "AdaptiveAvgPool1d",
             "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "LPPool2d", "max_pool2d", "avg_pool2d",
             "adaptive_avg_pool2d", "adaptive_max_pool2d", "max_pool2d_with_indices", "MaxUnpool2d",
             "max_unpool2d", "roi_align", "roi_pool", "MultiScaleRoIAlign"),
    "norm": ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm", "GroupNorm", "InstanceNorm2d",
             "LocalResponseNorm", "FrozenBatchNorm2d", "LayerNorm2d", "batch_norm", "layer_norm", "group_norm",
             "normalize", "local_response_norm", "L2Norm"),
    "activation": ("ReLU", "ReLU6", "LeakyReLU", "PReLU", "ELU", "SELU", "GELU", "SiLU", "Mish", "Sigmoid",
                   "Tanh", "Hardswish", "Hardsigmoid", "Softmax", "LogSoftmax", "Softplus", "relu", "relu6",
                   "leaky_relu", "gelu", "silu", "sigmoid", "tanh", "softmax", "log_softmax", "hardswish",
                   "hardsigmoid", "elu", "mish", "clamp"),
    "linear": ("Linear", "Bilinear", "linear", "matmul", "bmm", "addmm"),
    "merge": ("add", "sub", "mul", "div", "cat", "concat", "stack"),
    "reshape": ("flatten", "Flatten", "view", "reshape", "permute", "transpose", "squeeze", "unsqueeze", "chunk",
                "split", "pad", "expand", "expand_as", "contiguous", "Unflatten", "ChannelShuffle",
                "channel_shuffle", "narrow", "select", "unfold"),
    "upsample": ("Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d", "PixelShuffle", "interpolate",
                 "upsample", "pixel_shuffle"),
    "dropout": ("Dropout", "Dropout2d", "AlphaDropout", "StochasticDepth", "dropout", "dropout2d"),
    "attention": ("MultiheadAttention", "scaled_dot_product_attention"),
}
_KIND = {op: kind for kind, ops in _KIND_BY_OP.items() for op in ops}


def node_kind(node: Node) -> str:
    if node.kind == "input":
        return "input"
    kind = _KIND.get(node.op)
    if kind:
        return kind
    lowered = node.op.lower()
    for key, kind in (("conv", "conv"), ("pool", "pool"), ("norm", "norm"), ("dropout", "dropout"),
                      ("attention", "attention"), ("upsampl", "upsample"), ("relu", "activation")):
        if key in lowered:
            return kind
    return "other"


def _pair(value) -> tuple[int, int] | None:
    if value is None:
        return None
    if isinstance(value, (tuple, list)):
        if not value:
            return None
        return (int(value[0]), int(value[-1]))
    return (int(value), int(value))


def _size_text(value) -> str:
    pair = _pair(value)
    return "" if pair is None else f"{pair[0]}×{pair[1]}"


def _stride_text(value) -> str:
    pair = _pair(value)
    if pair is None or pair == (1, 1):
        return ""
    return f" /{pair[0]}" if pair[0] == pair[1] else f" /{pair[0]},{pair[1]}"


def node_title(node: Node) -> str:
    """Operation and key settings: ``Conv 11×11 /4``, ``MaxPool 3×3 /2``, ``Linear 4096``, ``+`` ..."""
    op, s = node.op, node.settings
    if op in ("Conv1d", "Conv2d", "Conv3d", "conv1d", "conv2d", "conv3d"):
        groups = int(s.get("groups", 1) or 1)
        name = "Conv"
        if groups > 1:
            name = "DWConv" if groups == s.get("in_channels") else "GConv"
        title = f"{name} {_size_text(s.get('kernel_size'))}{_stride_text(s.get('stride'))}"
        dilation = _pair(s.get("dilation"))
        if dilation and dilation != (1, 1):
            title += f" d{dilation[0]}"
        if name == "GConv":
            title += f" g{groups}"
        return title
    if op in ("ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "conv_transpose2d"):
        return f"ConvT {_size_text(s.get('kernel_size'))}{_stride_text(s.get('stride'))}"
    if op in ("MaxPool2d", "AvgPool2d", "max_pool2d", "avg_pool2d", "max_pool2d_with_indices", "MaxPool1d",
              "AvgPool1d"):
        name = "AvgPool" if "avg" in op.lower() else "MaxPool"
        kernel = s.get("kernel_size")
        stride = s.get("stride") or kernel
        return f"{name} {_size_text(kernel)}{_stride_text(stride)}".rstrip()
    if op in ("AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d"):
        name = "AdaptiveAvgPool" if "avg" in op.lower() else "AdaptiveMaxPool"
        size = s.get("output_size")
        if isinstance(size, (tuple, list)) and any(v is None for v in size):
            return name
        return f"{name} {_size_text(size)}".rstrip()
    if op in ("Linear", "linear") and "out_features" in s:
        return f"Linear {s['out_features']}"
    if op in ("Dropout", "Dropout2d") and "p" in s:
        return f"Dropout {s['p']:g}"
    if op in ("Upsample", "interpolate"):
        scale = s.get("scale_factor")
        if isinstance(scale, (tuple, list)):
            scale = scale[0] if scale else None
        return f"Upsample ×{scale:g}" if isinstance(scale, (int, float)) else "Upsample"
    return _SHORT_NAMES.get(op, op)


def shape_text(shape, batch: int | None = 1) -> str:
    """``(1, 64, 56, 56)`` → ``64×56×56``: the batch dimension is dropped (when the first dimension is the
    batch); a scalar is ``scalar``."""
    if shape is None:
        return ""
    dims = list(shape)
    if len(dims) >= 2 and batch is not None and dims[0] == batch:
        dims = dims[1:]
    return "×".join(str(d) for d in dims) if dims else "scalar"


def _module_blocks(graph: LayerGraph) -> dict[str, GraphBlock]:
    node_counts: Counter[str] = Counter()
    leaves = set()
    for node in graph.nodes:
        if node.kind == "module":
            leaves.add(node.scope)
        parts = node.scope.split(".") if node.scope else []
        node_counts[""] += 1
        for depth in range(1, len(parts) + 1):
            node_counts[".".join(parts[:depth])] += 1
    blocks = {}
    for path, class_name in graph.modules.items():
        foldable = (bool(path) and class_name not in CONTAINER_CLASSES and path not in leaves
                    and node_counts[path] >= 2)
        blocks[path] = GraphBlock(path=path, type_name=class_name, foldable=foldable)
    return blocks


# Operations at the model's top level after its last module ran (a detector's post-processing, called as a
# method rather than a module) are shown as one foldable block of this name when there are this many.
POSTPROCESS_BLOCK = "postprocess"
POSTPROCESS_MIN_NODES = 4


def _postprocess_ids(graph: LayerGraph) -> set[int]:
    last_module = max((n.id for n in graph.nodes if n.kind == "module"), default=-1)
    ids = {n.id for n in graph.nodes if n.id > last_module and n.kind == "function" and n.scope == ""}
    return ids if len(ids) >= POSTPROCESS_MIN_NODES and POSTPROCESS_BLOCK not in graph.modules else set()


def graph_data_from(summary: ModelSummary) -> GraphData:
    """The graph view's data for a summary: one GraphNode per recorded node, one GraphEdge per edge, and a
    GraphBlock per module that ran (plus a ``postprocess`` block for top-level operations after the last
    module, see POSTPROCESS_BLOCK)."""
    graph = summary.graph
    batch = summary.input_shape[0] if summary.input_shape else None
    postprocess = _postprocess_ids(graph)
    nodes = []
    for node in graph.nodes:
        extra = len(node.output_shapes) - 1
        shape = shape_text(node.output_shape, batch)
        if extra > 0:
            shape += f" (+{extra})"
        scope = POSTPROCESS_BLOCK if node.id in postprocess else node.scope
        nodes.append(GraphNode(id=node.id, name=node.name, title=node_title(node), shape=shape,
                               params=node.params, kind=node_kind(node), scope=scope))
    edges = [GraphEdge(src=e.src, dst=e.dst, shape=shape_text(e.shape, batch)) for e in graph.edges]
    blocks = _module_blocks(graph)
    if postprocess:
        blocks[POSTPROCESS_BLOCK] = GraphBlock(path=POSTPROCESS_BLOCK, type_name="Post-processing", foldable=True)
    return GraphData(title=summary.model, nodes=nodes, edges=edges, blocks=blocks)


def write_graph_image(summary: ModelSummary, path, *, unfold: bool = False, theme: str = "light") -> int:
    """Draw the layer graph of ``summary`` into an .svg or .png file without opening a window: folded
    (every outermost block) unless ``unfold``. Returns the number of nodes drawn."""
    import os

    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from cnn_explorer.widgets.graph_view import GraphView
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])  # noqa: F841 (the view needs it alive)
    view = GraphView()
    try:
        view.set_theme(theme)
        view.set_data(graph_data_from(summary), folded=() if unfold else None)
        view.export_image(path)
        return len(view.visible_nodes())
    finally:
        view.deleteLater()
