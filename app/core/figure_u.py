"""The figure of an encoder-decoder (U-Net, SegNet, DeconvNet) as the U-Net paper draws it: a U of volumes, the
contracting path going down on the left, the expansive path coming up on the right, and the connections that
cross between equal resolutions ("copy and crop", SegNet's pooling indices) drawn as arrows across the U.

Found from the recorded graph alone, never from a model's name: the main path is the longest input-to-output
path; its resolution levels come from the output shapes (one level down for each halving, up for each
doubling); the other paths that leave it and join it again are the skips. It is a U when the levels go down,
then up, and some skip joins a stage on the way down to a stage at the same level on the way up.
Each stage (the layers between two changes of resolution) is one volume, its output; the layer that changed
the resolution (the pooling, the up-convolution, the unpooling) is the arrow into it, as in the paper.
Plain data, no Qt and no torch; ``figure_data.figure_data`` asks for it when the network has no chain trunk.
"""

from __future__ import annotations

import math
from collections import Counter

from cnn_explorer.app.core.figure_data import VOLUME_KINDS, FigureData, Skip, _common_block, _relevant, _sized
from cnn_explorer.widgets.graph.data import GraphData, GraphNode
from cnn_explorer.widgets.graph.layout_u import skip_words

LEVEL_RATIO = 1.5  # a side this much smaller (larger) is a level down (up); 570 → 568 (an unpadded 3×3) is not


def _longest_path(data: GraphData) -> list[int]:
    """The ids of the longest input-to-output path (most nodes), in order: the trunk of an encoder-decoder,
    which its skips shortcut."""
    inputs = [n.id for n in data.nodes if n.kind == "input"]
    if not inputs:
        return []
    order = _relevant(data, inputs[0], data.nodes[-1].id)
    keep = set(order)
    preds: dict[int, list[int]] = {}
    for e in data.edges:
        if e.src in keep and e.dst in keep:
            preds.setdefault(e.dst, []).append(e.src)
    length, back = {order[0]: 1} if order else {}, {}
    for node_id in order[1:]:
        best = max((p for p in preds.get(node_id, ()) if p in length), key=lambda p: length[p], default=None)
        if best is None:
            continue
        length[node_id], back[node_id] = length[best] + 1, best
    if not order or order[-1] not in length:
        return []
    path, node_id = [order[-1]], order[-1]
    while node_id in back:
        node_id = back[node_id]
        path.append(node_id)
    return path[::-1]


def _side(node: GraphNode) -> float:
    shape = node.shape or ()
    return math.sqrt(shape[1] * shape[2]) if len(shape) == 3 else 0.0


def _level_step(before: float, after: float) -> int:
    """Levels between two sides: +1 for each halving, -1 for each doubling, 0 for a small change."""
    ratio = before / after
    if ratio >= LEVEL_RATIO:
        return max(1, round(math.log2(ratio)))
    if ratio <= 1 / LEVEL_RATIO:
        return -max(1, round(math.log2(1 / ratio)))
    return 0


def _top(node: GraphNode) -> str:
    return node.blocks[0] if node.blocks else node.name.split(".")[0]


def _title(members: list[GraphNode]) -> str:
    """What a stage's layers are: "2× Conv 3×3", "Conv 3×3 + Conv 1×1"."""
    counts = Counter(n.title for n in members)
    return " + ".join(f"{count}× {title}" if count > 1 else title for title, count in counts.items())


def u_figure(data: GraphData) -> FigureData | None:
    """The U figure of ``data``, or None when it is not an encoder-decoder with skips across."""
    nodes = {n.id: n for n in data.nodes}
    path = _longest_path(data)
    if len(path) < 3 or nodes[path[0]].kind != "input" or len(nodes[path[0]].shape or ()) != 3:
        return None
    # Stages: runs of volume layers at one level (and in one top-level module); a run's first layer, when it
    # changed the level, is the arrow into the stage.
    stages: list[dict] = [{"via": None, "members": [nodes[path[0]]], "level": 0}]
    stage_of: dict[int, int] = {path[0]: 0}
    level, side = 0, _side(nodes[path[0]])
    for node_id in path[1:]:
        node = nodes[node_id]
        if node.kind in VOLUME_KINDS:
            if len(node.shape or ()) != 3 or min(node.shape) < 1:
                return None  # a classifier's vector: not an encoder-decoder
            step = _level_step(side, _side(node))
            level, side = level + step, _side(node)
            last = stages[-1]
            if step:
                stages.append({"via": node, "members": [], "level": level})
            elif len(stages) == 1 or (last["members"] and _top(last["members"][-1]) != _top(node)):
                stages.append({"via": None, "members": [node], "level": level})
            else:
                last["members"].append(node)
        stage_of[node_id] = len(stages) - 1
    levels = [s["level"] for s in stages]
    bottom = levels.index(max(levels))
    if max(levels) == 0 or any(a > b for a, b in zip(levels[:bottom], levels[1:bottom + 1])) \
            or any(a < b for a, b in zip(levels[bottom:], levels[bottom + 1:])):
        return None
    skips = _skips(data, path, nodes, stages, stage_of)
    if not any(s.src < bottom < s.dst and levels[s.src] == levels[s.dst] for s in skips):
        return None
    rows = {value: row for row, value in enumerate(sorted(set(levels)))}
    raw = []
    names = _names(stages, data)
    for stage, name in zip(stages, names):
        members, via = stage["members"], stage["via"]
        shown = members or [via]
        last = shown[-1]
        if len(raw) == 0:
            title, kind = "Input", "input"
        else:
            title = _title(shown)
            kind = last.kind if len(shown) == 1 else ("conv" if any(n.kind == "conv" for n in shown) else last.kind)
        raw.append((name, title, kind, tuple(last.shape), None,
                    {"level": rows[stage["level"]], "via": via.title if via is not None else ""}))
    figure = _sized(raw, data.title, "u")
    figure.skips = skips
    return figure


def _names(stages: list[dict], data: GraphData) -> list[str]:
    """Each stage's name: the module that holds it with the layer that led in ("down1", "up1"), else the one
    that holds its own layers ("encoder.blocks.1", "decoder.0"), else its layer's own name."""
    def common(nodes: list[GraphNode]) -> str:
        return _common_block(nodes) if nodes else ""

    first = [common([s["via"], *s["members"]] if s["via"] is not None else s["members"]) for s in stages]
    taken = Counter(first)
    names = []
    for i, (stage, name) in enumerate(zip(stages, first)):
        if i == 0:
            names.append("input")
            continue
        if not name or taken[name] > 1:
            name = common(stage["members"])
        if not name or name in names:
            last = (stage["members"] or [stage["via"]])[-1]
            name = last.label or last.name
        names.append(name)
    return names


def _skips(data: GraphData, path: list[int], nodes: dict, stages: list[dict], stage_of: dict) -> list[Skip]:
    """The paths that leave the main path and join it again further on, as skips between stages."""
    position = {node_id: i for i, node_id in enumerate(path)}
    succ: dict[int, list[int]] = {}
    for e in data.edges:
        succ.setdefault(e.src, []).append(e.dst)
    found: dict[tuple[int, int], str] = {}
    for e in data.edges:
        if e.src not in position:
            continue
        via, current = [], e.dst
        while current not in position and len(via) < len(nodes):
            via.append(nodes[current])
            nexts = succ.get(current, [])
            if not nexts:
                break
            current = nexts[0]
        if current not in position or position[current] - position[e.src] <= 1:
            continue
        src, dst = stage_of[e.src], stage_of[current]
        stage = stages[src]
        if stage["via"] is not None and stage["via"].id == e.src and src > 0 \
                and stages[src - 1]["level"] == stages[dst]["level"] != stage["level"]:
            src -= 1  # the map that left at the change of resolution: the stage it left (SegNet's indices)
        if dst - src > 1:
            found.setdefault((src, dst), skip_words(data, nodes[e.src], nodes[e.dst], nodes[e.src].shape)[0])
    return [Skip(src, dst, label) for (src, dst), label in sorted(found.items())]
