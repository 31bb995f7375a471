"""Plain data that the graph view draws: no torch, no Qt. ``app/core/view_data.py`` builds it from a recorded
LayerGraph; numbers stay numbers (``widgets/common/format.py`` writes them)."""

from __future__ import annotations

from dataclasses import dataclass, field

from cnn_explorer.widgets.explorer.layer_info import Outputs, Shape

# Layer kinds; the view colours a node by its kind (models/analysis/ops.py decides the kind of an operation).
KINDS = ("input", "conv", "pool", "norm", "activation", "linear", "merge", "reshape", "upsample", "dropout",
         "attention", "other")


@dataclass(frozen=True)
class GraphNode:
    id: int
    name: str  # unique layer name, e.g. "features.0" or "layer1.0.add"
    title: str  # operation and key settings, e.g. "Conv 11×11 /4"
    shape: Shape | None  # output shape (C, H, W), e.g. (96, 55, 55)
    params: int
    kind: str  # one of KINDS
    scope: str  # module path of the block it belongs to, e.g. "layer1.0" ("" for the model)
    blocks: tuple[str, ...] = ()  # the module paths that hold it, outermost first (scope last)
    extra_outputs: int = 0  # outputs besides the first
    label: str = ""  # the lecture's name ("conv1" for features.0), "" when it has none; drawn before ``title``
    outputs: Outputs | None = None  # what its several outputs are (format.outputs writes it), when several


@dataclass(frozen=True)
class GraphEdge:
    src: int
    dst: int
    shape: Shape | None  # tensor shape carried, e.g. (64, 56, 56)


@dataclass(frozen=True)
class GraphBlock:
    path: str  # module path, e.g. "layer1.0"
    type_name: str  # what it is called: its lecture title ("Bottleneck 2.1", "Inception 3a", "FPN"), else its class
    foldable: bool  # a block the user would fold (residual block, Inception module, dense block, fire ...)
    parents: tuple[str, ...] = ()  # the module paths that hold this block, outermost first
    class_name: str = ""  # the module's class, e.g. "Bottleneck", "InceptionA", "_DenseBlock"
    outputs: Outputs | None = None  # what leaves the block when several maps or tensors do (an FPN's P2–P6)


@dataclass
class GraphData:
    title: str
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    blocks: dict[str, GraphBlock] = field(default_factory=dict)  # path -> block, for every module that ran
    depth: int = 0  # the depth the papers quote (weight layers on the longest path); 0 when not known
    ops: int = 0  # recorded operations (the input not counted); 0: count the nodes

    def node_by_name(self, name: str) -> GraphNode | None:
        if not hasattr(self, "_by_name"):
            self._by_name = {n.name: n for n in self.nodes}
        return self._by_name.get(name)

    def in_block(self, node: GraphNode, path: str) -> bool:
        """Whether ``node`` lies inside the block at ``path`` ("" is the whole model)."""
        return not path or path in node.blocks

    def block_in_block(self, inner: str, outer: str) -> bool:
        """Whether the block at ``inner`` lies inside (or is) the block at ``outer``."""
        if not outer or inner == outer:
            return True
        block = self.blocks.get(inner)
        return block is not None and outer in block.parents
