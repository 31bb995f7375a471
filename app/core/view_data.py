"""The recorded graph of a model, as the plain data the panels show: the one place where the models'
objects (LayerGraph, Node, ModelSummary, zoo entries) become ``widgets`` data.

It runs in the worker thread that owns the model. Numbers stay numbers (shapes as tuples, receptive fields as
``Field``/``GLOBAL``); ``widgets/common/format.py`` writes them. The only text made here is what has no number
form: node titles (``Conv 11×11 /4``) and the blackboard arithmetic of a layer.
"""

from __future__ import annotations

import math

from cnn_explorer.models.analysis import naming

from cnn_explorer.models.analysis import ops
from cnn_explorer.models.analysis.model_summary import (ModelSummary, param_arithmetic, shape_arithmetic,
                                                         weight_layer_depth)
from cnn_explorer.models.analysis.layer_graph import LayerGraph, Node
from cnn_explorer.models.analysis.receptive_field import GLOBAL as MODEL_GLOBAL
from cnn_explorer.widgets.graph.data import GraphBlock, GraphData, GraphEdge, GraphNode
from cnn_explorer.widgets.explorer.layer_info import (GLOBAL, Field, LayerDetails, LayerRow, ModelOverview, Outputs, Shape,
                                             Totals)

DATA_DEPENDENT_NOTE = ("Once boxes are chosen (region proposals, non-maximum suppression), shapes and MACs "
                       "depend on the image: these numbers come from one pass on a random image.")

# Operations at the model's top level after its last module ran (a detector's post-processing, called as a
# method rather than a module) are shown as one foldable block of this name when there are this many.
POSTPROCESS_BLOCK = "postprocess"
POSTPROCESS_MIN_NODES = 4

# Settings that say nothing when they have their usual value.
_QUIET_SETTINGS = {"dilation": {1, (1, 1)}, "output_padding": {0, (0, 0)}, "ceil_mode": {False}, "groups": {1},
                   "end_dim": {-1}}

# Short names of operations for node titles.
_SHORT_NAMES = {
    "BatchNorm1d": "BatchNorm", "BatchNorm2d": "BatchNorm", "BatchNorm3d": "BatchNorm", "batch_norm": "BatchNorm",
    "LocalResponseNorm": "LRN", "add": "+", "sub": "−", "mul": "×", "div": "÷", "matmul": "@",
    "cat": "cat", "concat": "cat", "flatten": "flatten", "Flatten": "flatten", "relu": "ReLU", "sigmoid": "Sigmoid",
    "softmax": "Softmax", "tanh": "Tanh", "hardswish": "Hardswish", "silu": "SiLU", "gelu": "GELU",
    "Input": "Input", "interpolate": "Upsample", "normalize": "Normalize", "setitem": "set [ ]",
}


# -- numbers ----------------------------------------------------------------------------------------------

def shape_of(shape, batch: int | None = 1) -> Shape | None:
    """``(1, 64, 56, 56)`` → ``(64, 56, 56)``: the batch dimension is dropped (when the first dimension is
    the batch)."""
    if shape is None:
        return None
    dims = tuple(int(d) for d in shape)
    return dims[1:] if len(dims) >= 2 and batch is not None and dims[0] == batch else dims


def field_of(rf) -> Field | str | None:
    """A models' receptive field as view data."""
    if rf == MODEL_GLOBAL:
        return GLOBAL
    if rf is None:
        return None
    return Field(tuple(rf.size), tuple(rf.stride), tuple(rf.padding))


def _batch(summary: ModelSummary) -> int | None:
    return summary.input_shape[0] if summary.input_shape else None


# -- node titles ------------------------------------------------------------------------------------------

def node_title(node: Node) -> str:
    """Operation and key settings: ``Conv 11×11 /4``, ``MaxPool 3×3 /2``, ``Linear 4096``, ``+`` ..."""
    op, s = node.op, node.settings
    if op in ops.CONV:
        return naming.conv_title(s)
    if op in ops.CONV_TRANSPOSE:
        return f"ConvT {naming.size_text(s.get('kernel_size'))}{naming.stride_text(s.get('stride'))}"
    if op in ops.WINDOW_POOL and op != "LPPool2d":
        name = "AvgPool" if "avg" in op.lower() else "MaxPool"
        kernel = s.get("kernel_size")
        return f"{name} {naming.size_text(kernel)}{naming.stride_text(s.get('stride') or kernel)}".rstrip()
    if op in ops.ADAPTIVE_POOL:
        name = "AdaptiveAvgPool" if "avg" in op.lower() else "AdaptiveMaxPool"
        size = s.get("output_size")
        if isinstance(size, (tuple, list)) and any(v is None for v in size):
            return name
        return f"{name} {naming.size_text(size)}".rstrip()
    if op in ("Linear", "linear") and "out_features" in s:
        return f"Linear {s['out_features']}"
    if op in ("Dropout", "Dropout2d") and "p" in s:
        return f"Dropout {s['p']:g}"
    if op == "pad" and (pads := s.get("pad")) and all(isinstance(v, int) and v <= 0 for v in pads):
        return "Crop"  # a negative padding (U-Net's and FCN's crops are written so)
    if op in ("Upsample", "interpolate"):
        scale = s.get("scale_factor")
        if isinstance(scale, (tuple, list)):
            scale = scale[0] if scale else None
        return f"Upsample ×{scale:g}" if isinstance(scale, (int, float)) else "Upsample"
    return _SHORT_NAMES.get(op, op)


# -- the lecture's vocabulary (models/analysis/naming.py) ------------------------------------------------------------

def vocabulary(summary: ModelSummary) -> tuple[dict[str, str], dict[str, str]]:
    """(layer name → lecture name, block path → lecture title) of ``summary``'s model, kept with its graph so
    that ``layer_details`` and ``block_details``, which see only the graph, find them."""
    graph = summary.graph
    found = getattr(graph, "_vocabulary", None)
    if found is None:
        found = (naming.layer_names(naming.family_of(summary.model), graph.nodes),
                 naming.block_titles(graph.modules, graph.nodes))
        graph._vocabulary = found
    return found


def _vocabulary_of(graph: LayerGraph) -> tuple[dict[str, str], dict[str, str]]:
    return getattr(graph, "_vocabulary", None) or ({}, {})


def _image_size(graph: LayerGraph) -> tuple[int, int] | None:
    """The height and width of the image the network's first convolution sees (a detector's resized image)."""
    for node in graph.nodes:
        if node.op in ops.CONV and node.inputs:
            shape = graph.nodes[node.inputs[0]].output_shape
            if shape is not None and len(shape) >= 3:
                return int(shape[-2]), int(shape[-1])
    return None


def _level(size: int, image: int) -> int | None:
    """The pyramid level of a map ``size`` pixels high in an image ``image`` pixels high: its stride is 2**level
    (rounded up or down, as a convolution of stride 2 rounds: 800 → 200, 100, 50, 25, 13 are P2 … P6)."""
    if size <= 0 or image <= 0:
        return None
    level = round(math.log2(image / size))
    return level if level >= 0 and size in (image // 2**level, -(-image // 2**level)) else None


def outputs_of(shapes, class_name: str = "", image_size: tuple[int, int] | None = None,
               block: bool = False) -> Outputs | None:
    """What several outputs are, from their shapes (batch dropped) and the kind of module that gives them:
    feature maps of several sizes (a pyramid: levels P2… from their strides to ``image_size``), boxes or
    proposals (rows of four coordinates), an image batch with its sizes (a detector's transform), or just
    tensors; None for one output. ``class_name``: the module that gives them (a block's class when ``block``)."""
    shapes = [tuple(s) for s in shapes if s is not None]
    distinct = list(dict.fromkeys(shapes))
    lowered = class_name.lower()
    images = [s for s in distinct if len(s) == 3 and s[0] in (1, 3)]
    if block and "transform" in lowered and images:  # e.g. an ImageList: the batch, and the sizes of its images
        return Outputs("images", len(distinct) + 1, max(images, key=lambda s: s[1] * s[2]))
    if len(distinct) < 2:
        return Outputs("tensors", len(shapes), shapes[0]) if len(shapes) > 1 else None
    maps = [s for s in distinct if len(s) == 3 and s[1] > 0 and s[2] > 0]
    sizes = list(dict.fromkeys(s[1:] for s in maps))
    if len(maps) == len(distinct) and len(sizes) >= 2:
        largest = max(maps, key=lambda s: (s[1] * s[2], s[0]))
        levels = [_level(size[0], image_size[0]) for size in sizes] if image_size else [None]
        span = (min(levels), max(levels)) if None not in levels else None
        return Outputs("maps", len(maps), largest, span, pyramid=len({s[0] for s in maps}) == 1)
    if any(len(s) == 2 and s[-1] == 4 for s in distinct) or "proposal" in lowered:
        kind = "proposals" if ("proposal" in lowered or "rpn" in lowered) else "boxes"
        boxes = next((s for s in distinct if len(s) == 2 and s[-1] == 4), None)
        return Outputs(kind, len(distinct), boxes)
    return Outputs("tensors", len(distinct), distinct[0])


def _node_outputs(node: Node, graph: LayerGraph, batch: int | None, image) -> Outputs | None:
    if len(node.output_shapes) < 2:
        return None
    module = graph.modules.get(node.scope, "") if node.kind == "module" else ""
    return outputs_of([shape_of(s, batch) for s in node.output_shapes], module, image)


def _block_outputs(graph: LayerGraph, batch: int | None) -> dict[str, Outputs]:
    """The blocks from which several tensors of different shapes leave, with what those are."""
    consumers: dict[int, set[int]] = {}
    for e in graph.edges:
        consumers.setdefault(e.src, set()).add(e.dst)
    image = _image_size(graph)
    found = {}
    for path, block in graph.blocks().items():
        if not path or not block.foldable:
            continue
        ids = set(block.members)
        shapes = [shape_of(graph.nodes[i].output_shape, batch) for i in block.members
                  if any(d not in ids for d in consumers.get(i, ()))]
        outputs = outputs_of(shapes, block.type_name, image, block=True)
        if outputs is not None:
            found[path] = outputs
    return found


# -- the graph --------------------------------------------------------------------------------------------

def _postprocess_ids(graph: LayerGraph) -> set[int]:
    last_module = max((n.id for n in graph.nodes if n.kind == "module"), default=-1)
    ids = {n.id for n in graph.nodes if n.id > last_module and n.kind == "function" and n.scope == ""}
    return ids if len(ids) >= POSTPROCESS_MIN_NODES and POSTPROCESS_BLOCK not in graph.modules else set()


def graph_data_from(summary: ModelSummary) -> GraphData:
    """The graph view's data: one GraphNode per recorded node, one GraphEdge per edge, and a GraphBlock per
    module that ran (plus a ``postprocess`` block for top-level operations after the last module)."""
    graph = summary.graph
    batch = _batch(summary)
    postprocess = _postprocess_ids(graph)
    labels, titles = vocabulary(summary)
    image = _image_size(graph)
    # Identity layers (timm's empty SE, drop path and anti-aliasing places) are not drawn: their consumers read
    # from what feeds them.
    passed = {n.id: n.inputs[0] for n in graph.nodes if n.op in ops.IDENTITY and len(n.inputs) == 1}

    def source(node_id: int) -> int:
        while node_id in passed:
            node_id = passed[node_id]
        return node_id

    nodes = []
    for node in graph.nodes:
        if node.id in passed:
            continue
        scope = POSTPROCESS_BLOCK if node.id in postprocess else node.scope
        label = labels.get(node.name, "")
        title = node_title(node)
        nodes.append(GraphNode(id=node.id, name=node.name, title=title,
                               shape=shape_of(node.output_shape, batch), params=node.params,
                               kind=ops.node_kind(node), scope=scope, blocks=ops.enclosing(scope),
                               extra_outputs=max(len(node.output_shapes) - 1, 0), label=label,
                               outputs=_node_outputs(node, graph, batch, image)))
    edges = list({(source(e.src), e.dst): GraphEdge(src=source(e.src), dst=e.dst, shape=shape_of(e.shape, batch))
                  for e in graph.edges if e.dst not in passed}.values())
    outputs = _block_outputs(graph, batch)
    blocks = {path: GraphBlock(path=path, type_name=titles.get(path, b.type_name), foldable=b.foldable,
                               parents=b.parents, class_name=b.type_name, outputs=outputs.get(path))
              for path, b in graph.blocks().items()}
    if postprocess:
        blocks[POSTPROCESS_BLOCK] = GraphBlock(path=POSTPROCESS_BLOCK, type_name="Post-processing", foldable=True,
                                               class_name="Post-processing")
    return GraphData(title=summary.model, nodes=nodes, edges=edges, blocks=blocks,
                     depth=weight_layer_depth(graph), ops=len(summary.layers))


# -- the inspector and the table ----------------------------------------------------------------------------

def settings_items(settings: dict) -> tuple[tuple[str, object], ...]:
    """The settings worth showing: none that are None, in place, or at their usual value."""
    return tuple((key, value) for key, value in settings.items()
                 if key != "inplace" and value is not None and value not in _QUIET_SETTINGS.get(key, ()))


def _module_of(model, node: Node):
    if model is None or node.kind != "module":
        return None
    try:
        return model.get_submodule(node.scope)
    except AttributeError:
        return None


def _notes(node: Node, module) -> tuple[str, ...]:
    notes = []
    if node.inplace:
        notes.append("In place: it writes into its input's memory, so it takes none of its own.")
    if ":" in node.name and module is not None and not node.params \
            and any(True for _ in module.parameters(recurse=False)):
        notes.append("A repeated call of a module that ran before: its parameters are counted at its first call.")
    if len(node.output_shapes) > 1:
        notes.append(f"It has {len(node.output_shapes)} outputs; the first is shown.")
    return tuple(notes)


def layer_details(node: Node, graph: LayerGraph, model, batch: int | None) -> LayerDetails:
    input_shape = graph.nodes[node.inputs[0]].output_shape if node.inputs else None
    module = _module_of(model, node)
    try:
        params_text = param_arithmetic(node, module)
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        params_text = f"{node.params:,}"
    try:
        shape_lines = tuple(shape_arithmetic(node, input_shape))
    except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError):
        shape_lines = ()
    return LayerDetails(
        name=node.name, type=node.op, is_block=False, input_shape=shape_of(input_shape, batch),
        output_shape=shape_of(node.output_shape, batch), settings=settings_items(node.settings),
        shape_arithmetic=shape_lines, param_arithmetic=params_text, params=node.params, macs=node.macs,
        memory=node.activation_bytes, receptive_field=field_of(node.receptive_field),
        has_field=node.kind != "input", notes=_notes(node, module), label=_vocabulary_of(graph)[0].get(node.name, ""),
    )


def block_details(graph: LayerGraph, batch: int | None, skip: set[str]) -> dict[str, LayerDetails]:
    """The totals of every block (a module path that holds more than one node and is not a layer itself)."""
    details = {}
    edges_out: dict[int, list[int]] = {}
    for e in graph.edges:
        edges_out.setdefault(e.src, []).append(e.dst)
    for path, block in graph.blocks().items():
        if not path or path in skip or not block.members:
            continue
        ids = set(block.members)
        nodes = [graph.nodes[i] for i in block.members]
        first_input = next((src for n in nodes for src in n.inputs if src not in ids), None)
        input_shape = graph.nodes[first_input].output_shape if first_input is not None else None
        # The block's output: the last of its nodes whose output leaves the block (else its last node).
        last = next((n for n in reversed(nodes) if any(d not in ids for d in edges_out.get(n.id, ()))), nodes[-1])
        details[path] = LayerDetails(
            name=path, type=block.type_name, is_block=True, input_shape=shape_of(input_shape, batch),
            output_shape=shape_of(last.output_shape, batch), params=sum(n.params for n in nodes),
            macs=sum(n.macs for n in nodes), memory=sum(n.activation_bytes for n in nodes),
            receptive_field=field_of(last.receptive_field), layer_count=len(nodes),
            label=_vocabulary_of(graph)[1].get(path, ""))
    return details


def layer_rows(summary: ModelSummary) -> list[LayerRow]:
    batch = _batch(summary)
    labels, _ = vocabulary(summary)
    image = _image_size(summary.graph)
    return [LayerRow(name=n.name, type=n.op, shape=shape_of(n.output_shape, batch), params=n.params, macs=n.macs,
                     memory=n.activation_bytes, receptive_field=field_of(n.receptive_field),
                     extra_outputs=max(len(n.output_shapes) - 1, 0), label=labels.get(n.name, ""),
                     outputs=_node_outputs(n, summary.graph, batch, image))
            for n in summary.layers]


def totals_of(summary: ModelSummary) -> Totals:
    return Totals(params=summary.total_params, trainable_params=summary.trainable_params, macs=summary.total_macs,
                  memory=summary.activation_bytes, layers=len(summary.layers), depth=weight_layer_depth(summary.graph))


# -- the zoo ------------------------------------------------------------------------------------------------

_FACT_LABELS = {"layers": "depth (paper)", "depth": "depth (paper)", "origin": "opened",
                "hooks_reason": "the lab"}
_INTERNAL_FACTS = {"own_weights", "cache_name", "no_cache", "hooks_work", "max_batch"}  # a user's model: for the code only

def overview_of(entry, input_shape, weights: str = "", totals: Totals | None = None,
                error: str = "") -> ModelOverview:
    # The zoo's "layers" is the paper's count of weight layers (GoogLeNet's 22): say so beside the op count.
    facts = tuple((_FACT_LABELS.get(key, key.replace("_", " ")), value) for key, value in entry.facts.items()
                  if key not in _INTERNAL_FACTS and value not in ("", None))
    note = DATA_DEPENDENT_NOTE if entry.data_dependent else ""
    return ModelOverview(name=entry.name, family=entry.family, year=entry.year, paper=entry.paper,
                         task=entry.task, input_shape=shape_of(input_shape), weights=weights,
                         totals=totals, facts=facts, error=error, note=note)
