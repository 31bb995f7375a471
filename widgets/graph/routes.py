"""What a layout gives: ``GraphLayout`` (node centres and sizes, layers, rows) with its ``EdgeRoute``s and the
``Bus`` trunks of concentrated edges. Free of Qt; made by ``layout.layout_graph`` (and ``layout_lr``,
``layout_u``).

Coordinates are in scene pixels: node centres, y growing downwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class EdgeRoute:
    src: int
    dst: int
    shape: str
    points: list[tuple[float, float]]  # from the source's port to the target's port
    bus: int | None = None  # index into GraphLayout.buses for a concentrated edge, else None
    orthogonal: bool = False  # left to right: a route of straight runs (to another row, or below a row)
    label: tuple[str, ...] = ()  # a skip of an encoder–decoder: what it carries, e.g. ("copy and crop", "512×64×64")
    label_at: tuple[float, float] | None = None  # where the label's line runs: its words above, its shape below


@dataclass
class Bus:
    """A vertical trunk shared by concentrated edges: from (x, top) to (x, bottom)."""

    x: float
    top: float
    bottom: float


@dataclass
class GraphLayout:
    centers: list[tuple[float, float]]
    sizes: list[tuple[float, float]]
    layers: list[int]
    edges: list[EdgeRoute]
    buses: list[Bus] = field(default_factory=list)
    width: float = 0.0
    height: float = 0.0
    direction: str = "tb"  # "tb": layers top to bottom; "lr": left to right, wrapped into rows (bands)
    bands: list[int] = field(default_factory=list)  # left to right: the row of each node
    u_shape: bool = False  # an encoder–decoder drawn as a U (layout_u.py): rows by resolution, skips across

    def rect(self, index: int) -> tuple[float, float, float, float]:
        """(left, top, width, height) of node ``index``."""
        (x, y), (w, h) = self.centers[index], self.sizes[index]
        return (x - w / 2, y - h / 2, w, h)
