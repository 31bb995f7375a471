"""Folding without Qt: ``FoldState`` (which blocks are folded) and the block helpers of graph_layout, on a
hand-built GraphData. Run with Qt blocked (tests/qt_free/conftest.py)."""

from __future__ import annotations

from cnn_explorer.widgets.graph.fold_state import FoldState
from cnn_explorer.widgets.graph.data import GraphBlock, GraphData, GraphEdge, GraphNode
from cnn_explorer.widgets.graph.layout import (
    BLOCK_KIND,
    enclosing_blocks,
    fold_graph,
    innermost_foldable,
    node_counts,
    outermost_foldable,
)

def _net() -> GraphData:
    """input → stage1 [stage1.0 [a, b, add], stage1.1 [a, b, add]] → wrap [wrap.inner [wrap.inner.x [p, q],
    wrap.inner.r]] → fc → postprocess [nms, topk, gather, boxes].

    ``wrap`` and ``wrap.inner`` hold the same nodes; ``postprocess`` holds nodes whose names do not begin with
    its path (the containment comes from ``blocks``/``parents``, never from the names)."""
    layout = [("input", "input", ())]
    for i in range(2):
        for op in ("a", "b", "add"):
            layout.append((f"stage1.{i}.{op}", "merge" if op == "add" else "conv",
                           ("stage1", f"stage1.{i}", f"stage1.{i}.{op}")))
    layout += [("wrap.inner.x.p", "conv", ("wrap", "wrap.inner", "wrap.inner.x", "wrap.inner.x.p")),
               ("wrap.inner.x.q", "norm", ("wrap", "wrap.inner", "wrap.inner.x", "wrap.inner.x.q")),
               ("wrap.inner.r", "activation", ("wrap", "wrap.inner", "wrap.inner.r")),
               ("fc", "linear", ("fc",))]
    layout += [(name, "other", ("postprocess",)) for name in ("nms", "topk", "gather", "boxes")]
    nodes = [GraphNode(id=i, name=name, title=name, shape=(8, 4, 4), params=10 * i, kind=kind,
                       scope=blocks[-1] if blocks else "", blocks=blocks)
             for i, (name, kind, blocks) in enumerate(layout)]
    edges = [GraphEdge(i, i + 1, (8, 4, 4)) for i in range(len(nodes) - 1)]

    def block(path, type_name, foldable, parents=()):
        return GraphBlock(path, type_name, foldable, parents)

    blocks = {"": block("", "Net", False), "stage1": block("stage1", "Stage", True)}
    for i in range(2):
        blocks[f"stage1.{i}"] = block(f"stage1.{i}", "Residual", True, ("stage1",))
        for op in ("a", "b"):
            blocks[f"stage1.{i}.{op}"] = block(f"stage1.{i}.{op}", "Conv2d", False, ("stage1", f"stage1.{i}"))
    blocks |= {"wrap": block("wrap", "Wrapper", True),
               "wrap.inner": block("wrap.inner", "Inner", True, ("wrap",)),
               "wrap.inner.x": block("wrap.inner.x", "X", True, ("wrap", "wrap.inner")),
               "fc": block("fc", "Linear", False),
               "postprocess": block("postprocess", "Post-processing", True)}
    return GraphData("toy", nodes, edges, blocks)


DEFAULT = {"stage1", "wrap", "postprocess"}


# -- the block helpers -----------------------------------------------------------------------------------

def test_block_helpers_read_blocks_and_parents():
    data = _net()
    counts = node_counts(data)
    assert counts["stage1"] == 6 and counts["stage1.0"] == 3 and counts["wrap"] == counts["wrap.inner"] == 3
    assert counts["postprocess"] == 4 and "" not in counts
    assert outermost_foldable(data) == ["stage1", "wrap", "postprocess"]
    assert outermost_foldable(data, "stage1") == ["stage1.0", "stage1.1"]
    assert outermost_foldable(data, "wrap") == ["wrap.inner"]
    assert enclosing_blocks(data, "stage1.0.a") == ("stage1", "stage1.0", "stage1.0.a")  # a layer's blocks
    assert enclosing_blocks(data, "stage1.0") == ("stage1", "stage1.0")  # a block's parents and itself
    assert enclosing_blocks(data, "nms") == ("postprocess",) and enclosing_blocks(data, "") == ()
    assert innermost_foldable(data, data.node_by_name("stage1.0.a").blocks) == "stage1.0"
    assert innermost_foldable(data, data.blocks["stage1.0"].parents) == "stage1"
    assert innermost_foldable(data, enclosing_blocks(data, "stage1.0")) == "stage1.0"
    assert innermost_foldable(data, data.node_by_name("nms").blocks) == "postprocess"
    assert innermost_foldable(data, ("fc",)) is None and innermost_foldable(data, ()) is None


def test_fold_graph_follows_blocks_not_names():
    data = _net()
    graph = fold_graph(data, {"postprocess", "stage1.1"})
    keys = [n.key for n in graph.nodes]
    assert keys[-1] == "postprocess" and not {"nms", "topk"} & set(keys)
    assert "stage1.1" in keys and "stage1.1.a" not in keys and "stage1.0.a" in keys
    block = graph.nodes[keys.index("stage1.1")]
    assert block.kind == BLOCK_KIND and block.shape == "8×4×4" and block.blocks == ("stage1", "stage1.1")
    assert graph.nodes[keys.index("stage1.0.a")].blocks == ("stage1", "stage1.0", "stage1.0.a")


# -- FoldState -----------------------------------------------------------------------------------------------

def test_default_and_given_folded_sets():
    data = _net()
    state = FoldState(data)
    assert state.folded == state.default() == DEFAULT
    assert state.foldable == {"stage1", "stage1.0", "stage1.1", "wrap", "wrap.inner", "wrap.inner.x",
                              "postprocess"}
    assert FoldState(data, ["stage1.0", "fc", "no.such", ""]).folded == {"stage1.0"}  # only foldable blocks
    assert FoldState(data, ()).folded == set()
    assert FoldState().folded == set() and not FoldState().fold("stage1")  # no data: nothing to fold


def test_fold_and_unfold_one_block():
    state = FoldState(_net(), ())
    assert state.fold("stage1.0") and state.folded == {"stage1.0"}
    assert not state.fold("stage1.0")  # already folded
    assert not state.fold("fc") and not state.fold("stage1.0.a") and not state.fold("")  # no foldable blocks
    assert state.unfold("stage1.0") and state.folded == set()
    assert not state.unfold("stage1.0")  # nothing to open
    assert not state.unfold("fc")


def test_unfold_opens_one_level():
    state = FoldState(_net())
    assert state.unfold("stage1")
    assert state.folded == {"stage1.0", "stage1.1", "wrap", "postprocess"}  # the next level comes folded
    assert state.unfold("wrap")
    # wrap.inner holds the same nodes as wrap: skipped, the level below it comes folded
    assert state.folded == {"stage1.0", "stage1.1", "wrap.inner.x", "postprocess"}
    assert state.next_level("stage1") == ["stage1.0", "stage1.1"]


def test_unfold_an_inner_block_opens_the_folded_blocks_around_it():
    state = FoldState(_net())
    assert state.unfold("stage1.0")  # hidden in the folded stage1: both open
    assert state.folded == {"stage1.1", "wrap", "postprocess"}


def test_fold_all_and_unfold_all():
    state = FoldState(_net(), {"stage1.0", "wrap.inner.x"})
    assert state.fold_all() and state.folded == DEFAULT
    assert not state.fold_all()  # no change
    assert state.unfold_all() and state.folded == set()
    assert not state.unfold_all()
    assert state.reset({"wrap"}) and state.folded == {"wrap"}


def test_reveal_unfolds_what_hides_a_layer_or_block():
    state = FoldState(_net())
    assert state.hidden_by("stage1.1.b") == "stage1"
    assert state.reveal("stage1.1.b")
    assert state.hidden_by("stage1.1.b") is None and state.visible_key("stage1.1.b") == "stage1.1.b"
    assert state.folded == {"stage1.0", "wrap", "postprocess"}
    assert not state.reveal("stage1.1.b")  # already in sight
    assert state.reveal("wrap.inner.x.q") and state.visible_key("wrap.inner.x.q") == "wrap.inner.x.q"
    assert state.reveal("topk") and "postprocess" not in state.folded
    # a block is revealed, not opened
    state = FoldState(_net())
    assert state.reveal("wrap.inner.x") and state.folded == {"stage1", "wrap.inner.x", "postprocess"}
    assert not state.reveal("stage1")  # nothing around it is folded
    assert not state.reveal("no such layer")


def test_the_node_that_shows_a_layer_or_block():
    state = FoldState(_net())
    assert state.visible_key("stage1.0.a") == "stage1"
    assert state.visible_key("stage1.0") == "stage1" and state.visible_key("stage1") == "stage1"
    assert state.visible_key("nms") == "postprocess"
    assert state.visible_key("fc") == "fc" and state.visible_key("input") == "input"
    assert state.hidden_by("stage1") is None and state.hidden_by("stage1.0") == "stage1"
    state.unfold_all()
    assert state.visible_key("stage1") is None  # an open block is a frame, no node
    assert state.visible_key("stage1.0.a") == "stage1.0.a"
    assert state.visible_key("no such layer") is None


def test_the_block_a_fold_folds():
    state = FoldState(_net(), ())
    assert state.fold_target("stage1.0.a") == "stage1.0"
    assert state.fold_target("stage1.0") == "stage1"  # a block folds into the block around it
    assert state.fold_target("stage1") is None and state.fold_target("fc") is None
    assert state.fold_target("wrap.inner.r") == "wrap.inner"
    assert state.fold_target("boxes") == "postprocess"
    assert state.enclosing("stage1.1") == ("stage1", "stage1.1")
    assert state.enclosing("wrap.inner.r") == ("wrap", "wrap.inner", "wrap.inner.r")


# -- without Qt -------------------------------------------------------------------------------------------
