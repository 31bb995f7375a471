"""Folding a GraphData for display, free of Qt: the block helpers (which module paths hold a layer, which
blocks can fold) and ``fold_graph``, which collapses the nodes of every folded block into one node for the
block (and in compact mode a conv with the norm, activation and pool after it into one node); edges are
re-routed to it and duplicates merged. The result, a ``FoldedGraph``, is what ``layout.layout_graph`` places.
``merge_runs`` draws runs of compact conv nodes as one node (an encoder–decoder's stages: ``layout_u.fold_stages``
says which).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence, Set
from dataclasses import dataclass, replace

from cnn_explorer.widgets.common import format
from cnn_explorer.widgets.graph.data import GraphData

BLOCK_KIND = "block"  # kind of a visible node that stands for a folded block


# -- blocks -----------------------------------------------------------------------------------------
# Which module paths hold which is decided in models/analysis/ops.py and arrives as ``GraphNode.blocks`` and
# ``GraphBlock.parents``; nothing here reads it out of the path strings.

def enclosing_blocks(data: GraphData, key: str) -> tuple[str, ...]:
    """The module paths that hold the layer or block ``key``, outermost first: a layer's ``blocks``, or a
    block's ``parents`` and the block itself; () for the model (``""``) or an unknown key."""
    node = data.node_by_name(key)
    if node is not None:
        return node.blocks
    block = data.blocks.get(key)
    return (*block.parents, key) if block is not None and key else ()


def node_counts(data: GraphData) -> Counter[str]:
    """Number of graph nodes inside each module path."""
    counts: Counter[str] = Counter()
    for node in data.nodes:
        counts.update(node.blocks)
    return counts


def foldable_paths(data: GraphData) -> set[str]:
    return {path for path, block in data.blocks.items() if block.foldable}


def outermost_foldable(data: GraphData, within: str = "") -> list[str]:
    """The foldable blocks inside ``within`` (the whole model for "") that no other foldable block inside
    ``within`` encloses, in recording order."""
    foldable = foldable_paths(data)
    found = []
    for path, block in data.blocks.items():
        if path == within or path not in foldable or not data.block_in_block(path, within):
            continue
        if not any(p in foldable and p != within and data.block_in_block(p, within) for p in block.parents):
            found.append(path)
    return found


def innermost_foldable(data: GraphData, paths: Sequence[str], foldable: Set[str] | None = None) -> str | None:
    """The innermost foldable block among ``paths``, module paths outermost first: a node's ``blocks``, a
    block's ``parents``, or ``enclosing_blocks(data, key)``. ``foldable``: foldable_paths(data), when the
    caller has it."""
    foldable = foldable_paths(data) if foldable is None else foldable
    return next((p for p in reversed(paths) if p in foldable), None)


# -- folding ----------------------------------------------------------------------------------------

@dataclass
class VisibleNode:
    key: str  # the layer name, or the block path of a folded block
    title: str
    subtitle: str  # the block path for a folded block, "" for a layer
    shape: str  # the output shape as text (format.shape), "" when none; compact: "96×55×55 → 27×27"
    params: int
    kind: str  # one of KINDS, or BLOCK_KIND
    scope: str  # the module path of the layer's block, or the folded block's own path
    members: list[int]  # ids of the GraphNodes it stands for
    blocks: tuple[str, ...] = ()  # the module paths that hold it, outermost first (a folded block: itself last)
    merged: tuple[str, ...] = ()  # compact mode: the titles of the layers drawn inside this one (ReLU, MaxPool)
    output: str = ""  # what leaves the node, as text: ``shape``, or compact the last merged layer's output

    @property
    def is_block(self) -> bool:
        return self.kind == BLOCK_KIND


@dataclass
class VisibleEdge:
    src: int  # index into FoldedGraph.nodes
    dst: int
    shape: str  # the tensor shape carried, as text (format.shape)


@dataclass
class FoldedGraph:
    nodes: list[VisibleNode]
    edges: list[VisibleEdge]
    index_of_id: dict[int, int]  # GraphNode id -> index of the visible node that shows it

    def index_of_key(self, key: str) -> int | None:
        return next((i for i, n in enumerate(self.nodes) if n.key == key), None)


# Compact mode: a layer of a MAIN_KINDS kind takes in the chain of layers that follow it alone, as lectures draw
# "conv + BN + ReLU (+ pool)" as one box: at most one of each FOLLOWER_KINDS kind, a pool, dropout or reshape
# ending it (a pool that no conv took in takes the flatten after it).
MAIN_KINDS = ("conv", "linear", "pool")
FOLLOWER_KINDS = {"conv": ("norm", "activation", "pool"), "linear": ("norm", "activation", "dropout"),
                  "pool": ("reshape",)}
ENDING_KINDS = ("pool", "dropout", "reshape")
SHORT_NAMES = {"BatchNorm": "BN"}  # a merged layer's name in a stage's box (``merge_runs``), as block titles say it


def compact_chains(data: GraphData) -> dict[int, int]:
    """GraphNode id -> id of the main layer (a conv or linear) whose node it is drawn in, in compact mode;
    only the followers are keys. The kinds come from the data (models/analysis/ops.py decides them)."""
    succs: dict[int, set[int]] = {}
    preds: dict[int, set[int]] = {}
    for edge in data.edges:
        succs.setdefault(edge.src, set()).add(edge.dst)
        preds.setdefault(edge.dst, set()).add(edge.src)
    by_id = {node.id: node for node in data.nodes}
    foldable = foldable_paths(data)

    def frames(node):  # the blocks drawn around it: a chain never crosses a block's border
        return tuple(p for p in node.blocks if p in foldable)

    owner: dict[int, int] = {}
    for node in data.nodes:
        if node.kind not in MAIN_KINDS or node.id in owner:
            continue
        allowed, seen, current = FOLLOWER_KINDS[node.kind], set(), node
        while len(succs.get(current.id, ())) == 1:
            nxt = by_id.get(next(iter(succs[current.id])))
            if (nxt is None or preds.get(nxt.id) != {current.id} or nxt.kind not in allowed or nxt.kind in seen
                    or frames(nxt) != frames(node) or nxt.id in owner):
                break
            owner[nxt.id] = node.id
            seen.add(nxt.kind)
            current = nxt
            if nxt.kind in ENDING_KINDS:
                break
    return owner


def fold_graph(data: GraphData, folded: set[str] | frozenset[str], compact: bool = False) -> FoldedGraph:
    """The graph as shown with the blocks in ``folded`` collapsed (a block inside a folded block is hidden
    with it); ``compact``: a conv or linear layer and the norm, activation and pool that follow it alone are
    one node, keyed by the conv (see ``compact_chains``)."""
    folded = {p for p in folded if p in data.blocks and data.blocks[p].foldable}
    owner = compact_chains(data) if compact else {}
    names = {node.id: node.name for node in data.nodes} if owner else {}
    rep_of: dict[int, str] = {}  # GraphNode id -> key of its visible node
    members: dict[str, list[int]] = {}
    order: list[str] = []
    by_id = {}
    for node in data.nodes:
        by_id[node.id] = node
        key = next((p for p in node.blocks if p in folded), None) if folded else None
        if key is None:  # layers and blocks never share a key
            key = "\0" + (names[owner[node.id]] if node.id in owner else node.name)
        rep_of[node.id] = key
        if key not in members:
            members[key] = []
            order.append(key)
        members[key].append(node.id)

    outgoing_outside: set[int] = set()
    for edge in data.edges:
        if rep_of.get(edge.src) != rep_of.get(edge.dst):
            outgoing_outside.add(edge.src)

    nodes: list[VisibleNode] = []
    index_of_key: dict[str, int] = {}
    for key in order:
        ids = members[key]
        index_of_key[key] = len(nodes)
        if key.startswith("\0"):
            node, last = by_id[ids[0]], by_id[ids[-1]]
            # E1 (vocabulary): the lecture's name first ("conv1 · Conv 11×11 /4"); several outputs said in words.
            output = format.outputs(last.outputs, last.shape)
            # Compact: the conv's own output first (what the inspector shows for it), then what leaves the node
            # after its pool: "96×55×55 → 27×27", never the pool's shape alone under the conv's name.
            shape = output if last.outputs or last is node else format.shape_change(node.shape, last.shape)
            nodes.append(VisibleNode(key=node.name, title=f"{node.label} · {node.title}" if node.label else node.title,
                                     subtitle="", shape=shape, output=output,
                                     params=sum(by_id[i].params for i in ids), kind=node.kind, scope=node.scope,
                                     members=ids, blocks=node.blocks,
                                     merged=tuple(by_id[i].title for i in ids[1:])))
            continue
        block = data.blocks[key]
        exits = [i for i in ids if i in outgoing_outside]
        output = by_id[exits[-1] if exits else ids[-1]]
        # The block's output, and how many other tensors (of other shapes) leave it.
        other_shapes = {by_id[i].shape for i in exits} - {output.shape}
        shape = format.shape(output.shape, len(other_shapes) + output.extra_outputs)
        shape = format.outputs(block.outputs) if block.outputs else shape  # E1: "5 maps: P2–P6, …", not "(+4)"
        nodes.append(VisibleNode(key=key, title=block.type_name, subtitle=key, shape=shape, output=shape,
                                 params=sum(by_id[i].params for i in ids), kind=BLOCK_KIND, scope=key,
                                 members=ids, blocks=(*block.parents, key)))

    edges: list[VisibleEdge] = []
    seen: set[tuple[int, int]] = set()
    for edge in data.edges:
        if edge.src not in rep_of or edge.dst not in rep_of:
            continue
        src, dst = index_of_key[rep_of[edge.src]], index_of_key[rep_of[edge.dst]]
        if src == dst or (src, dst) in seen:
            continue
        seen.add((src, dst))
        edges.append(VisibleEdge(src, dst, format.shape(edge.shape)))
    index_of_id = {node_id: index_of_key[key] for node_id, key in rep_of.items()}
    return FoldedGraph(nodes=nodes, edges=edges, index_of_id=index_of_id)


def merge_runs(graph: FoldedGraph, data: GraphData, runs: list[list[int]]) -> FoldedGraph:
    """``graph`` with each run of its compact conv nodes (indices into ``graph.nodes``, a chain in order, a
    conv first; dropouts between them count too) drawn as one node, keyed and selected by the run's first conv, titled as the papers name a stage ("3× Conv
    3×3"), its shape the first conv's output and what leaves the last ("256×175×175 → 88×88", as a compact
    node says it). Edges are re-routed to it and duplicates merged."""
    by_id = {node.id: node for node in data.nodes}
    run_of = {v: k for k, run in enumerate(runs) for v in run}
    nodes: list[VisibleNode] = []
    new_index: dict[int, int] = {}
    for i, node in enumerate(graph.nodes):
        k = run_of.get(i)
        if k is None:
            new_index[i] = len(nodes)
            nodes.append(node)
            continue
        run = runs[k]
        if i != run[0]:
            new_index[i] = new_index[run[0]]
            continue
        new_index[i] = len(nodes)
        units = [graph.nodes[v] for v in run]
        convs = [by_id[u.members[0]] for u in units if u.kind == "conv"]
        first, last = convs[0], by_id[units[-1].members[-1]]
        counts = Counter(c.title for c in convs)  # "3× Conv 3×3", "Conv 7×7 + Conv 1×1"
        title = " + ".join(f"{n}× {t}" if n > 1 else t for t, n in counts.items())
        if all(c.label for c in convs):  # the lecture's names: "conv3_1–conv3_3 · 3× Conv 3×3"
            title = f"{convs[0].label}–{convs[-1].label} · {title}"
        output = units[-1].output
        plain = format.shape(last.shape)
        shape = format.shape_change(first.shape, last.shape)
        if output != plain and not (last.kind == "pool" and last.extra_outputs):  # several outputs: said after
            # the change of shape (a max pool's indices are said by the arrow that hands them to the unpooling)
            shape = shape + output[len(plain):] if output.startswith(plain) else output
        merged = tuple(dict.fromkeys(t for u in units for t in (u.merged if u.kind == "conv" else (u.title,))))
        nodes.append(VisibleNode(key=units[0].key, title=title, subtitle="", shape=shape, output=output,
                                 params=sum(u.params for u in units), kind=units[0].kind, scope=units[0].scope,
                                 members=[m for u in units for m in u.members], blocks=units[0].blocks,
                                 merged=merged))
    edges: list[VisibleEdge] = []
    seen: set[tuple[int, int]] = set()
    for edge in graph.edges:
        src, dst = new_index[edge.src], new_index[edge.dst]
        if src == dst or (src, dst) in seen:
            continue
        seen.add((src, dst))
        edges.append(VisibleEdge(src, dst, edge.shape))
    index_of_id = {node_id: new_index[i] for node_id, i in graph.index_of_id.items()}
    # Tight as a stage's box is, its norm goes by the lectures' short name, and so in its neighbours: "+ BN + ReLU".
    nodes = [replace(node, merged=tuple(SHORT_NAMES.get(t, t) for t in node.merged)) if node.merged else node
             for node in nodes]
    return FoldedGraph(nodes=nodes, edges=edges, index_of_id=index_of_id)
