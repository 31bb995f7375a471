"""The left-to-right rows (widgets/graph/layout_lr.py) without Qt: the row packing was made fast (a bisection
per row instead of a walk over every layer); its rows must be the ones the walking packing chose, on real
networks folded and unfolded, for wide and narrow screens. The walking packing is kept here as the oracle."""

from __future__ import annotations

import random

import pytest

from cnn_explorer.app.core.view_data import graph_data_from
from cnn_explorer.models.zoo.loader import load_model, summarize
from cnn_explorer.widgets.graph import layout_lr
from cnn_explorer.widgets.graph.fold_state import FoldState
from cnn_explorer.widgets.graph.layout import fold_graph, layout_graph

MAX_ROWS = layout_lr.MAX_ROWS


def _bands_walking(widths: list[float], gap: float, heights, band_gap: float, aspect: float | None,
           reserve: float, clean: list[bool] | None = None) -> list[int]:
    """The row of each layer: consecutive layers, as many rows as make the whole largest on a screen of
    ``aspect`` (one row without it). ``heights(first, last)``: the height of a row of those layers;
    ``clean[i]``: whether a row may end after layer i without cutting a block in two (preferred)."""
    count = len(widths)
    if aspect is None or count < 2:
        return [0] * count
    clean = clean or [True] * count
    prefix = [0.0]
    for w in widths:
        prefix.append(prefix[-1] + w)

    def pack(limit: float) -> list[int]:
        """Rows filled from the left up to ``limit`` wide (a layer wider than that gets a row of its own),
        ended after the last layer that cuts no block when that leaves the row at least a third full."""
        starts, start = [], 0
        while start < count:
            used, end = widths[start], start + 1
            while end < count and used + gap + widths[end] <= limit:
                used += gap + widths[end]
                end += 1
            if end < count and not clean[end - 1]:
                better = next((k + 1 for k in range(end - 2, start - 1, -1)
                               if clean[k] and prefix[k + 1] - prefix[start] + gap * (k - start) >= limit / 3),
                              None)
                end = better or end
            starts.append(start)
            start = end
        assignment = []
        for band, first in enumerate(starts):
            last = starts[band + 1] if band + 1 < len(starts) else count
            assignment += [band] * (last - first)
        return assignment

    def score(assignment: list[int]) -> float:
        rows, height, widest, first = assignment[-1] + 1, reserve, 0.0, 0
        height += band_gap * (rows - 1)
        for index in range(1, count + 1):
            if index == count or assignment[index] != assignment[first]:
                widest = max(widest, sum(widths[first:index]) + gap * (index - 1 - first))
                height += heights(first, index - 1)
                first = index
        return min(aspect / widest, 1.0 / height)

    total = sum(widths) + gap * (count - 1)
    best, best_scale = [0] * count, score([0] * count)
    for rows in range(2, min(count, MAX_ROWS) + 1):
        low, high = max(widths), total  # the narrowest limit that packs into ``rows`` rows
        for _ in range(16):
            middle = (low + high) / 2
            low, high = (low, middle) if pack(middle)[-1] + 1 <= rows else (middle, high)
        assignment = pack(high)
        scale = score(assignment)
        if scale > best_scale * 1.0001:
            best, best_scale = assignment, scale
    return best


def _layouts(data, folded, compact, aspect):
    """The left-to-right layout of ``data`` as the scene makes it (sizes from the titles' lengths)."""
    fold = FoldState(data, folded)
    graph = fold_graph(data, fold.folded, compact=compact)
    sizes = [(40.0 + 7.0 * len(node.title), 46.0 + 9.0 * (node.key.count(".") % 3)) for node in graph.nodes]
    groups = [next((p for p in reversed(n.blocks) if p in fold.foldable and p != n.key), None) for n in graph.nodes]
    return layout_graph(graph, sizes, hgap=40.0, vgap=60.0, groups=groups, direction="lr", aspect=aspect,
                        reserve=30.0)


@pytest.mark.parametrize("name", ["resnet18", "densenet121", "googlenet"])
def test_the_fast_packing_makes_the_rows_the_walking_one_made(name, monkeypatch):
    data = graph_data_from(summarize(load_model(name, weights="random")))
    for folded in (None, set()):  # the outermost blocks folded, and every block unfolded
        for compact in (False, True):
            for aspect in (16 / 9, 4 / 3, 0.8):
                fast = _layouts(data, folded, compact, aspect)
                with monkeypatch.context() as patch:
                    patch.setattr(layout_lr, "_bands", _bands_walking)
                    walking = _layouts(data, folded, compact, aspect)
                assert fast.bands == walking.bands, (name, folded, compact, aspect)
                assert fast.centers == walking.centers and (fast.width, fast.height) == (walking.width,
                                                                                       walking.height)
                if folded == set() and not compact and aspect == 4 / 3:
                    assert max(fast.bands) >= 1  # a whole unfolded network wraps into rows


def test_the_fast_packing_on_random_rows():
    chance = random.Random(7)
    for _ in range(200):
        count = chance.randint(1, 120)
        widths = [chance.choice([20.0, 35.5, 80.0, 150.25, 400.0]) for _ in range(count)]
        clean = [chance.random() < 0.4 for _ in range(count)]
        tall = [chance.uniform(30, 300) for _ in range(count)]

        def heights(first, last):
            return max(tall[first:last + 1])

        aspect = chance.choice([None, 0.5, 4 / 3, 16 / 9, 3.0])
        args = (widths, 24.0, heights, 40.0, aspect, 20.0, clean)
        assert layout_lr._bands(*args) == _bands_walking(*args)
