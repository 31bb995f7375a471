"""The layer graph of one forward pass, as data: its nodes (operations), edges and module hierarchy.

No torch here: a graph read back from the analysis cache is drawn (``cnn-explorer graph``, ``figure``) without
importing it. ``graph.py`` records one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Shape = tuple[int, ...]


@dataclass
class Node:
    """One recorded operation: a leaf module call, a functional op, or the input."""

    id: int
    name: str
    op: str
    kind: str  # "input", "module" or "function"
    scope: str  # the module path it belongs to ("" is the model itself)
    inputs: list[int]
    output_shapes: list[Shape]
    params: int = 0
    macs: int = 0
    activation_bytes: int = 0  # memory its outputs newly take: 0 for in-place ops and views
    inplace: bool = False
    settings: dict[str, Any] = field(default_factory=dict)
    receptive_field: Any = None  # filled in by the analysis

    @property
    def output_shape(self) -> Shape | None:
        return self.output_shapes[0] if self.output_shapes else None


@dataclass
class Edge:
    src: int
    dst: int
    shape: Shape | None


@dataclass
class LayerGraph:
    """The operations of one forward pass and the module hierarchy they belong to."""

    input_shape: Shape
    nodes: list[Node]
    edges: list[Edge]
    modules: dict[str, str]  # module path -> class name, for every module that ran ("" is the model), and name holders

    def children_of(self, path: str) -> list[str]:
        """Direct sub-modules of ``path`` that ran, in the order they were first called."""
        prefix = f"{path}." if path else ""
        depth = path.count(".") + 1 if path else 0
        return [p for p in self.modules if p.startswith(prefix) and p != path and p.count(".") == depth]

    def nodes_in(self, path: str) -> list[Node]:
        """Nodes recorded inside the module at ``path`` (all of them for the model)."""
        if not path:
            return list(self.nodes)
        from cnn_explorer.models.analysis.ops import inside

        return [n for n in self.nodes if inside(n.scope, path)]

    def to_dict(self) -> dict:
        """Everything recorded, as JSON-ready data (for the analysis cache)."""
        def field(rf):
            return rf.to_dict() if hasattr(rf, "to_dict") else rf

        return {"input_shape": list(self.input_shape), "modules": dict(self.modules),
                "nodes": [{"id": n.id, "name": n.name, "op": n.op, "kind": n.kind, "scope": n.scope,
                           "inputs": list(n.inputs), "output_shapes": [list(s) for s in n.output_shapes],
                           "params": n.params, "macs": n.macs, "activation_bytes": n.activation_bytes,
                           "inplace": n.inplace, "settings": n.settings, "receptive_field": field(n.receptive_field)}
                          for n in self.nodes],
                "edges": [[e.src, e.dst, list(e.shape) if e.shape is not None else None] for e in self.edges]}

    @classmethod
    def from_dict(cls, data: dict) -> LayerGraph:
        """The graph ``to_dict`` wrote (lists that were tuples are tuples again)."""
        from cnn_explorer.models.analysis.receptive_field import Field

        def tuples(value):
            return tuple(tuples(v) for v in value) if isinstance(value, list) else value

        def field(rf):
            if isinstance(rf, dict):
                return Field(tuple(rf["size"]), tuple(rf["stride"]), tuple(rf["padding"]))
            return rf

        nodes = [Node(id=n["id"], name=n["name"], op=n["op"], kind=n["kind"], scope=n["scope"],
                      inputs=list(n["inputs"]), output_shapes=[tuple(s) for s in n["output_shapes"]],
                      params=n["params"], macs=n["macs"], activation_bytes=n["activation_bytes"],
                      inplace=n["inplace"], settings={k: tuples(v) for k, v in n["settings"].items()},
                      receptive_field=field(n["receptive_field"]))
                 for n in data["nodes"]]
        edges = [Edge(src, dst, tuple(shape) if shape is not None else None) for src, dst, shape in data["edges"]]
        return cls(input_shape=tuple(data["input_shape"]), nodes=nodes, edges=edges, modules=dict(data["modules"]))

    def blocks(self):
        """Every module that ran, as an ``ops.Block`` by path: what folds, and which nodes it holds."""
        from cnn_explorer.models.analysis.ops import blocks

        return blocks(self)

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)
