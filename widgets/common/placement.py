"""Where a detection's label goes, so that no label covers another: arithmetic on (x, y, w, h) tuples,
used by the live view's painter and, through ``app/live``, by the pictures the command line draws. No Qt."""

from __future__ import annotations

import numpy as np

Rect = tuple[float, float, float, float]  # x, y, width, height


class LabelPlacer:
    """The labels of one picture, placed one by one so that none covers another: a label goes above its box,
    else just inside its top, else below it, else further down inside it; the first of these places that
    covers no label placed before and stays inside ``bounds`` (the picture). When every place covers one, the
    place that covers the least.

    The labels placed are kept in one array, and each new label's candidate places are compared with all of
    them at once: a random-weight detector at threshold 0 finds 300 boxes, and a loop over the pairs took a
    second of the GUI thread per frame."""

    def __init__(self, bounds: Rect):
        self.bounds = bounds
        self._placed = np.empty((32, 4))
        self._count = 0

    def place(self, box: Rect, size: tuple[float, float]) -> Rect:
        """Where the label of ``box`` (``size``: its width and height) goes; it counts as placed from now."""
        bounds = self.bounds
        x, y, bw, bh = box
        w, h = size
        left = min(max(x, bounds[0]), max(bounds[0], bounds[0] + bounds[2] - w))
        tops = [y - h, y, y + bh] + [y + k * h for k in range(1, 8) if y + (k + 1) * h <= y + bh]
        inside = [(left, top, w, h) for top in tops if bounds[1] <= top and top + h <= bounds[1] + bounds[3]]
        candidates = inside or [(left, max(bounds[1], y), w, h)]
        spot = candidates[self._first_free(candidates, left, w, h)] if self._count else candidates[0]
        if self._count == len(self._placed):
            self._placed = np.concatenate([self._placed, np.empty_like(self._placed)])
        self._placed[self._count] = spot
        self._count += 1
        return spot

    def _first_free(self, candidates: list[Rect], left: float, w: float, h: float) -> int:
        others = self._placed[:self._count]  # the candidates share their left and width
        across = np.minimum(left + w, others[:, 0] + others[:, 2]) - np.maximum(left, others[:, 0])
        others, across = others[across > 0], across[across > 0]
        tops = np.array([c[1] for c in candidates])[:, None]
        down = np.minimum(tops + h, others[:, 1] + others[:, 3]) - np.maximum(tops, others[:, 1])
        covered = (np.clip(down, 0, None) * across).sum(axis=1)
        free = np.flatnonzero(covered == 0)
        return int(free[0]) if free.size else int(np.argmin(covered))
