"""The lecture's figure of a network as a row of 3-D volumes (Krizhevsky et al.'s AlexNet drawing, the VGG
drawing), as plain data: which volumes, their shapes, their sizes on a log scale, the kernel drawn between
them. No Qt and no torch: it is made from the graph view's data (``GraphData``) and the layers' settings, so
the window (``app/figure/controller.py``) and the command line (``cnn-explorer figure``) make the same figure;
``widgets/figure/volume.py`` draws it.

The trunk is the path every input-to-output path goes through: the nodes no edge jumps over (in the recording
order, which is topological). Where consecutive trunk nodes are joined by one edge the network is a chain
there, and each convolution, pooling and fully connected layer on it is a volume. Where they are not (a
residual block, an Inception module, a dense block), the part between them is drawn as one volume, the output
of that block, when it lies inside one block: a residual block's added input is a ``Skip`` arc over it, an
Inception module's concatenated branches are its ``parts``. Otherwise an encoder-decoder whose skips cross
between equal resolutions is drawn as a U (``figure_u.py``); any other network (a detector's heads) has no
chain trunk to draw and the figure says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from cnn_explorer.widgets.graph.data import GraphData

# Kinds of layer drawn as a volume when they lie on a chain part of the trunk.
VOLUME_KINDS = ("conv", "pool", "linear", "upsample")
# The smallest drawn size, as a fraction of the largest, so that a 1×1 map or 3 channels are still seen.
MIN_SIDE, MIN_THICKNESS = 0.14, 0.07
BAR_THICKNESS = 0.05  # fully connected layers: thin, tall bars
MIN_VOLUMES = 3  # fewer volumes than this (input included) is no figure

NO_CHAIN = "no chain trunk"

Kernel = tuple[int, int, int, int]  # kernel height, width, stride height, width


@dataclass(frozen=True)
class Volume:
    """One drawn volume: a layer's (or a block's) output."""

    name: str  # the lecture's layer name ("conv1") or else its path ("features.0"), a block path, or "input"
    title: str  # what made it: "Conv 11×11 /4", "MaxPool 3×3 /2", "Bottleneck", "Input"
    kind: str  # "input", "conv", "pool", "linear", "upsample" or "block"
    shape: tuple[int, ...]  # (C, H, W), or (C,) for a fully connected layer
    height: float  # drawn height, 0…1 of the tallest (log scale of H; of C for a bar)
    depth: float  # drawn depth (the oblique side), 0…1 (log scale of W)
    thickness: float  # drawn thickness along the row, 0…1 (log scale of C)
    kernel: Kernel | None = None  # the window that made it, drawn on the volume before
    kernel_frac: tuple[float, float] | None = None  # that window's size as a fraction of the volume before
    parts: tuple[int, ...] = ()  # a block whose parallel branches are concatenated: each branch's channels
    level: int = 0  # a U's row: 0 at the input's resolution, one more for each halving (U figures only)
    via: str = ""  # what changed the resolution on the way in (a U's "MaxPool 2×2 /2", "ConvT 2×2 /2")

    @property
    def is_bar(self) -> bool:
        return len(self.shape) == 1

    @property
    def lecture_shape(self) -> tuple[int, ...]:
        """The shape as lectures write it: H×W×C (55×55×96); C for a bar."""
        return self.shape if self.is_bar else (self.shape[1], self.shape[2], self.shape[0])


@dataclass(frozen=True)
class Skip:
    """A connection that jumps over volumes: a residual block's added input, a U-Net's copied map, SegNet's
    pooling indices. ``src`` and ``dst`` index ``FigureData.volumes``."""

    src: int
    dst: int
    label: str  # "residual +" (ResNet), or a U's words (widgets/graph/layout_u.skip_words): "copy and crop" …


@dataclass
class FigureData:
    model: str
    volumes: list[Volume] = field(default_factory=list)
    kind: str = "chain"  # "chain": every layer on it; "stages": blocks drawn as their outputs; "u": an
    #                      encoder-decoder drawn as a U of its stages; "none"
    message: str = ""  # why there is no figure ("" when there is one)
    skips: list[Skip] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.message and len(self.volumes) >= MIN_VOLUMES


# -- the trunk ----------------------------------------------------------------------------------------------

def _relevant(data: GraphData, source: int, sink: int) -> list[int]:
    """The node ids on some path from ``source`` to ``sink``, in recording order."""
    succ: dict[int, list[int]] = {}
    pred: dict[int, list[int]] = {}
    for e in data.edges:
        succ.setdefault(e.src, []).append(e.dst)
        pred.setdefault(e.dst, []).append(e.src)

    def reach(start: int, nexts: dict[int, list[int]]) -> set[int]:
        seen, stack = {start}, [start]
        while stack:
            for other in nexts.get(stack.pop(), ()):
                if other not in seen:
                    seen.add(other)
                    stack.append(other)
        return seen

    both = reach(source, succ) & reach(sink, pred)
    return [n.id for n in data.nodes if n.id in both]


def trunk(data: GraphData) -> tuple[list[int], list[int]]:
    """(the ids of the nodes every input-to-output path passes through, the relevant ids in order)."""
    inputs = [n.id for n in data.nodes if n.kind == "input"]
    if not inputs or len(data.nodes) < 2:
        return [], []
    order = _relevant(data, inputs[0], data.nodes[-1].id)
    position = {node_id: i for i, node_id in enumerate(order)}
    jumped = [0] * (len(order) + 1)  # difference array: edges that jump over each position
    for e in data.edges:
        if e.src in position and e.dst in position and position[e.dst] - position[e.src] > 1:
            jumped[position[e.src] + 1] += 1
            jumped[position[e.dst]] -= 1
    cuts, running = [], 0
    for i, node_id in enumerate(order):
        running += jumped[i]
        if running == 0:
            cuts.append(node_id)
    return cuts, order


def _common_block(nodes) -> str:
    """The deepest module path that holds all of ``nodes`` ("" when only the model does)."""
    common: tuple[str, ...] | None = None
    for node in nodes:
        paths = node.blocks
        if common is None:
            common = paths
        else:
            length = 0
            while length < min(len(common), len(paths)) and common[length] == paths[length]:
                length += 1
            common = common[:length]
    return common[-1] if common else ""


def _top_level_functions_only(inside: list) -> bool:
    """The nodes of ``inside`` outside every module are operations (add, ReLU), not layers, and the others, at
    least two, are layers: a TorchScript file's rebuilt copy, whose residual add runs in the model's own code."""
    outside = [n for n in inside if not n.scope]
    return bool(outside) and len(inside) - len(outside) >= 2 and all(
        n.kind not in ("conv", "linear", "pool", "input") for n in outside)


def _merge_of(inside: list, data: GraphData) -> dict:
    """How a block's parallel paths meet, from its last merge: added (a residual block: ``residual``), or
    concatenated along C (an Inception module: ``parts``, each branch's channels, in order)."""
    merges = [n for n in inside if n.kind == "merge"]
    if not merges:
        return {}
    last = merges[-1]
    if last.title == "+":
        return {"residual": True}
    if last.title in ("cat", "concat"):
        into = [e.shape for e in data.edges if e.dst == last.id]
        parts = tuple(int(shape[0]) for shape in into if shape)
        if len(parts) >= 2 and len(parts) == len(into) and sum(parts) == (last.shape or (0,))[0]:
            return {"parts": parts}
    return {}


def _passes_through(inside: list, start) -> bool:
    """A branching part with no convolution or linear layer that gives back the shape it got: as a figure draws
    no ReLU or norm layer, it draws nothing for it."""
    return bool(inside) and all(n.kind not in ("conv", "linear") for n in inside) \
        and tuple(inside[-1].shape or ()) == tuple(start.shape or ())


# -- sizes ------------------------------------------------------------------------------------------------

def log_scale(value: float, largest: float, smallest: float) -> float:
    """``value`` (≥ 1) on a log scale where ``largest`` is 1 and 1 is ``smallest``."""
    if largest <= 1:
        return 1.0
    return smallest + (1.0 - smallest) * math.log(max(value, 1)) / math.log(largest)


def _pair(value) -> tuple[int, int] | None:
    if isinstance(value, (tuple, list)) and value:
        return int(value[0]), int(value[-1])
    if isinstance(value, int):
        return value, value
    return None


def kernel_of(settings) -> Kernel | None:
    """(kh, kw, sh, sw) from a layer's settings (a dict or (key, value) pairs); None without a kernel."""
    settings = dict(settings or ())
    size = _pair(settings.get("kernel_size"))
    if size is None:
        return None
    stride = _pair(settings.get("stride")) or size  # a pooling layer's stride is its kernel by default
    return (*size, *stride)


def _sized(raw: list[tuple], model: str, kind: str) -> FigureData:
    """Volumes with their drawn sizes: one log scale for H and W, one for C, fitted to this model."""
    maps = [entry[3] for entry in raw if len(entry[3]) == 3]
    side = max((max(s[1], s[2]) for s in maps), default=1)
    channels = max((s[0] for s in maps), default=1)
    bar_channels = max((s[0] for s in (entry[3] for entry in raw) if len(s) == 1), default=1)
    volumes, previous = [], None
    for name, title, vkind, shape, kernel, *more in raw:
        extra = more[0] if more else {}
        if len(shape) == 1:
            height = log_scale(shape[0], max(bar_channels, side), MIN_SIDE)
            volume = Volume(name, title, vkind, shape, height, BAR_THICKNESS, BAR_THICKNESS)
        else:
            volume = Volume(name, title, vkind, shape, log_scale(shape[1], side, MIN_SIDE),
                            log_scale(shape[2], side, MIN_SIDE), log_scale(shape[0], channels, MIN_THICKNESS))
        if kernel is not None and previous is not None and len(previous.shape) == 3:
            frac = (min(1.0, kernel[0] / previous.shape[1]), min(1.0, kernel[1] / previous.shape[2]))
            volume = Volume(**{**volume.__dict__, "kernel": kernel, "kernel_frac": frac})
        if extra.get("parts") or extra.get("level") or extra.get("via"):
            volume = Volume(**{**volume.__dict__, **{k: v for k, v in extra.items() if k in Volume.__dataclass_fields__}})
        volumes.append(volume)
        previous = volume
    skips = [Skip(i - 1, i, "residual +") for i, entry in enumerate(raw) if i and len(entry) > 5
             and entry[5].get("residual")]
    return FigureData(model=model, volumes=volumes, kind=kind, skips=skips)


def figure_data(data: GraphData, kernels: Callable[[str], Kernel | None]) -> FigureData:
    """The figure of ``data``; ``kernels(name)`` gives a layer's (kh, kw, sh, sw) or None."""
    nodes = {n.id: n for n in data.nodes}
    cuts, order = trunk(data)
    if len(cuts) < 2:
        return FigureData(model=data.title, kind="none", message=f"{data.title}: {NO_CHAIN}")
    position = {node_id: i for i, node_id in enumerate(order)}
    first = nodes[cuts[0]]
    raw = [("input", "Input", "input", tuple(first.shape or ()), None)]
    within: list[tuple[str, ...]] = [()]  # the blocks that hold each volume
    kind = "chain"
    for start, end in zip(cuts, cuts[1:]):
        node = nodes[end]
        shape = tuple(node.shape or ())
        chain = position[end] - position[start] == 1
        if not chain:
            inside = [nodes[i] for i in order[position[start] + 1:position[end] + 1]]
            block = _common_block(inside)
            if not block:  # a converted file's functions sit at the top level beside its rebuilt layers
                block = _common_block([n for n in inside if n.scope]) if _top_level_functions_only(inside) else ""
            info = data.blocks.get(block)
            if not block or info is None or not info.foldable:
                if _passes_through(inside, nodes[start]):
                    continue  # a normalization written out as operations (an ONNX file's LRN): drawn as nothing
                from cnn_explorer.app.core.figure_u import u_figure

                u = u_figure(data)  # an encoder-decoder whose skips cross between equal resolutions
                if u is not None:
                    return u
                return FigureData(model=data.title, kind="none",
                                  message=f"{data.title}: {NO_CHAIN} (its paths part at {nodes[start].name} and "
                                          f"meet again only at {node.name})")
            kind = "stages"
        if len(shape) not in (1, 3) or min(shape, default=0) < 1:
            continue
        if chain:  # the layer itself
            if node.kind not in VOLUME_KINDS:
                continue
            if node.kind == "pool" and shape == raw[-1][3]:
                continue  # a pooling that changes nothing (an adaptive pool at the size it already has)
            raw.append((node.label or node.name, node.title, node.kind, shape, kernels(node.name)))
            within.append(tuple(node.blocks))
        else:
            raw.append((block, info.type_name, "block", shape, None, _merge_of(inside, data)))
            within.append((*info.parents, block))
    if kind == "stages":
        raw = _by_block(raw, within, data)
    if len(raw) < MIN_VOLUMES:
        return FigureData(model=data.title, kind="none", message=f"{data.title}: {NO_CHAIN}")
    return _sized(raw, data.title, kind)


def _by_block(raw: list[tuple], within: list[tuple[str, ...]], data: GraphData) -> list[tuple]:
    """Where blocks are drawn as their outputs, every block is: the layers of a block with no skip (the first
    inverted residual of a stage, a DenseNet transition) become one volume too, as its siblings are. A block
    of one convolution or pooling (a conv + norm + activation module) stays that layer, with its kernel; a
    block that holds several drawn blocks (a backbone, a stage) is not one volume."""
    skips = [entry[0] for entry in raw if entry[2] == "block"]

    def owner(paths: tuple[str, ...]) -> str:
        for path in paths:
            if path in data.blocks and data.blocks[path].foldable \
                    and sum(1 for q in skips if q == path or q.startswith(path + ".")) <= 1:
                return path
        return ""

    owners = [owner(paths) for paths in within]
    count: dict[str, int] = {}
    for name in owners:
        count[name] = count.get(name, 0) + 1
    grouped: list[tuple] = []
    for entry, name in zip(raw, owners):
        if name and count[name] == 1 and entry[0].startswith(name + "."):
            grouped.append((name, *entry[1:]))  # the layer named by its block: GoogLeNet's "conv1", not "conv1.conv"
        elif not name or count[name] < 2:
            grouped.append(entry)
        elif grouped and grouped[-1][0] == name:
            grouped[-1] = (name, data.blocks[name].type_name, "block", entry[3], None)  # its last output
        else:
            grouped.append((name, data.blocks[name].type_name, "block", entry[3], None))
    return grouped


# -- where the data comes from -------------------------------------------------------------------------------

def figure_from_summary(summary) -> FigureData:
    """The figure of an analyzed model (``models.analysis.ModelSummary``): the command line's way."""
    from cnn_explorer.app.core.view_data import graph_data_from

    settings = {n.name: n.settings for n in summary.graph.nodes}
    return figure_data(graph_data_from(summary), lambda name: kernel_of(settings.get(name)))


def figure_from_result(result) -> FigureData:
    """The figure of the window's current model (``app.session.ModelResult``): plain data, no torch."""
    if result is None or result.graph is None:
        name = getattr(result, "name", "") or "the model"
        return FigureData(model=name, kind="none", message=f"{name}: no layer graph was recorded")

    def kernels(name: str) -> Kernel | None:
        details = result.details.get(name)
        return kernel_of(details.settings) if details is not None else None

    return figure_data(result.graph, kernels)
