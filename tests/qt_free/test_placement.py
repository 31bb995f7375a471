"""Detection labels never cover each other, and stay inside the picture (widgets/common/placement)."""

from __future__ import annotations

import itertools

from cnn_explorer.widgets.common.placement import LabelPlacer

BOUNDS = (0.0, 0.0, 640.0, 480.0)


def _overlap(a, b) -> float:
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def place_all(boxes, size=(90.0, 18.0)):
    labels = LabelPlacer(BOUNDS)
    return [labels.place(box, size) for box in boxes]


def test_labels_of_boxes_that_share_a_top_do_not_overlap():
    boxes = [(100.0 + 10 * i, 200.0, 120.0, 150.0) for i in range(4)]  # four people side by side, same top
    labels = place_all(boxes)
    assert all(_overlap(a, b) == 0 for a, b in itertools.combinations(labels, 2))
    assert labels[0][1] == 200.0 - 18.0  # the first sits above its box, as before
    for (x, y, w, h), box in zip(labels, boxes):
        assert BOUNDS[0] <= x and x + w <= BOUNDS[2] and BOUNDS[1] <= y and y + h <= BOUNDS[3]
        assert box[1] - h <= y <= box[1] + box[3]  # next to its own box


def test_a_box_at_the_edges_keeps_its_label_in_the_picture():
    (x, y, w, h), = place_all([(600.0, 0.0, 40.0, 30.0)])
    assert y == 0.0 and x + w <= 640.0  # inside its top, moved left from the right edge


def _place_plainly(box, size, placed, bounds):
    """The rule in its plainest words (every candidate against every label): the reference for the fast one."""
    x, y, bw, bh = box
    w, h = size
    left = min(max(x, bounds[0]), max(bounds[0], bounds[0] + bounds[2] - w))
    tops = [y - h, y, y + bh] + [y + k * h for k in range(1, 8) if y + (k + 1) * h <= y + bh]
    inside = [(left, top, w, h) for top in tops if bounds[1] <= top and top + h <= bounds[1] + bounds[3]]
    candidates = inside or [(left, max(bounds[1], y), w, h)]
    return min(candidates, key=lambda label: (sum(_overlap(label, o) for o in placed) > 0,
                                              sum(_overlap(label, o) for o in placed)))


def test_a_crowded_frame_places_each_label_where_the_plain_rule_does():
    """A random-weight detector at threshold 0 finds 300 boxes: each label lands where the plain rule puts it."""
    import random

    chance = random.Random(11)
    for _ in range(8):
        labels, fast, plain = LabelPlacer(BOUNDS), [], []
        for _ in range(chance.choice([5, 40, 150])):
            x, y = chance.uniform(-20, 620), chance.uniform(-20, 460)
            box = (x, y, chance.uniform(1, 300), chance.uniform(1, 300))
            size = (chance.choice([40.0, 90.5]), 18.0)
            fast.append(labels.place(box, size))
            plain.append(_place_plainly(box, size, plain, BOUNDS))
        assert fast == plain
