"""The encoder–decoder finder of the U layout (widgets/graph/layout_u.py) without Qt, on hand-built graphs:
what makes a U is the sizes of the maps and the edges across, never a name. Run with Qt blocked."""

from __future__ import annotations

from cnn_explorer.widgets.graph.layout_u import find_u


def _u_net(levels: int = 3, base: int = 64):
    """input, then per level a conv (the skip's tap) and a pool; back up: an up-conv, a concatenation with the
    tap, a conv; the heights halve and double. Returns heights, edges, edge heights."""
    heights, edges = [base], []
    taps = []
    last = 0
    for level in range(levels):
        heights.append(base >> level)  # conv at this level
        edges.append((last, len(heights) - 1))
        taps.append(len(heights) - 1)
        heights.append(base >> (level + 1))  # pool
        edges.append((len(heights) - 2, len(heights) - 1))
        last = len(heights) - 1
    for level in reversed(range(levels)):
        heights.append(base >> level)  # up-conv
        edges.append((last, len(heights) - 1))
        heights.append(base >> level)  # cat with the tap
        edges += [(len(heights) - 2, len(heights) - 1), (taps[level], len(heights) - 1)]
        last = len(heights) - 1
    edge_heights = [heights[s] for s, _ in edges]
    return heights, edges, edge_heights


def test_a_u_net_goes_down_comes_up_and_skips_across():
    heights, edges, edge_heights = _u_net()
    u = find_u(heights, edges, edge_heights)
    assert u is not None
    assert len(u.skips) == 3 and all(u.band[edges[i][0]] == u.band[edges[i][1]] for i in u.skips)
    assert max(u.band) == 3 and u.band[0] == 0 and u.band[len(heights) - 1] == 0
    assert all(u.arm[edges[i][0]] == "enc" and u.arm[edges[i][1]] == "dec" for i in u.skips)


def test_a_chain_a_single_skip_level_and_a_net_that_stays_down_are_no_u():
    chain = [64, 64, 32, 32, 16, 8, 8]
    pairs = [(i, i + 1) for i in range(len(chain) - 1)]
    assert find_u(chain, pairs, chain[:-1]) is None
    heights, edges, edge_heights = _u_net(levels=1)  # one level: a branch, not an encoder–decoder
    assert find_u(heights, edges, edge_heights) is None
    heights, edges, edge_heights = _u_net()
    cut = heights.index(8) + 2  # the output not back up: only the first decoder step
    kept = [(i, e) for i, e in enumerate(edges) if max(e) < cut]
    assert find_u(heights[:cut], [e for _, e in kept], [edge_heights[i] for i, _ in kept]) is None
    # A layer without a map (a classifier's vector) is no U either.
    assert find_u(heights[:-1] + [None], edges, edge_heights) is None
