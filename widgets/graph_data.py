"""Plain data that the graph view draws: no torch, no Qt. ``app/`` builds it from a recorded LayerGraph."""

from __future__ import annotations

from dataclasses import dataclass, field

# Layer kinds; the view colours a node by its kind.
KINDS = ("input", "conv", "pool", "norm", "activation", "linear", "merge", "reshape", "upsample", "dropout",
         "attention", "other")


@dataclass(frozen=True)
class GraphNode:
    id: int
    name: str  # unique layer name, e.g. "features.0" or "layer1.0.add"
    title: str  # operation and key settings, e.g. "Conv 11×11 /4"
    shape: str  # output shape C×H×W, e.g. "96×55×55"
    params: int
    kind: str  # one of KINDS
    scope: str  # module path of the block it belongs to, e.g. "layer1.0" ("" for the model)


@dataclass(frozen=True)
class GraphEdge:
    src: int
    dst: int
    shape: str  # tensor shape carried, e.g. "64×56×56"


@dataclass(frozen=True)
class GraphBlock:
    path: str  # module path, e.g. "layer1.0"
    type_name: str  # e.g. "Bottleneck", "InceptionA", "_DenseBlock"
    foldable: bool  # a block the user would fold (residual block, Inception module, dense block, fire ...)


@dataclass
class GraphData:
    title: str
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    blocks: dict[str, GraphBlock] = field(default_factory=dict)  # path -> block, for every module that ran

    def node_by_name(self, name: str) -> GraphNode | None:
        return next((n for n in self.nodes if n.name == name), None)
