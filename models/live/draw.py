"""Pictures of live results, drawn with OpenCV on RGB arrays (the CLI's ``--out`` files, snapshots): boxes with
class names and scores, keypoint skeletons, and the class legend of a segmentation. Masks and class maps are
already blended into ``result.overlay`` by the predictor (on the GPU where there is one)."""

from __future__ import annotations

import colorsys

import numpy as np

#: COCO's person skeleton, as pairs of keypoint indices (nose, eyes, ears, shoulders, elbows, wrists, hips …).
COCO_SKELETON = ((15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7), (6, 8),
                 (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6))


def palette(n: int = 256, *, black_background: bool = True) -> np.ndarray:
    """``n`` distinct, saturated RGB colours (n×3 uint8), the same for a class id everywhere. Entry 0 is black
    for a segmentation (its background); boxes ask for ``black_background=False``: a detector whose first
    class is real (MTCNN's "face", the shapes detector's first shape) would draw black boxes."""
    colours = np.zeros((n, 3), np.uint8)
    for i in range(1 if black_background else 0, n):
        h = (i * 0.61803398875) % 1.0
        s = 0.65 + 0.35 * ((i * 7) % 3) / 2
        v = 0.95 - 0.25 * ((i * 5) % 2)
        colours[i] = [round(255 * c) for c in colorsys.hsv_to_rgb(h, s, v)]
    return colours


def _text_size(text: str, scale: float) -> tuple[int, int, int]:
    import cv2

    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    return w, h, base


def _text(image, text: str, x: int, y: int, colour, scale: float = 0.5) -> None:
    """``text`` on a box of ``colour`` whose bottom-left corner is (x, y)."""
    import cv2

    w, h, base = _text_size(text, scale)
    y = max(y, h + base + 1)
    cv2.rectangle(image, (x, y - h - base - 2), (x + w + 4, y), tuple(int(c) for c in colour), -1)
    lum = 0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2]
    cv2.putText(image, text, (x + 2, y - base), cv2.FONT_HERSHEY_SIMPLEX, scale,
                (0, 0, 0) if lum > 140 else (255, 255, 255), 1, cv2.LINE_AA)


def draw_result(image: np.ndarray, result, *, score_threshold: float | None = None, placer=None) -> np.ndarray:
    """``result`` drawn over ``image`` (H×W×3 uint8 RGB; ``result.overlay`` is used when it has one). A new
    array; ``image`` is not changed. ``placer(bounds).place(box, size)`` (x, y, w, h tuples) says where a box's
    label goes so that labels never cover each other (the live view's ``widgets/common/placement``); without
    it a label sits above its box."""
    import cv2

    canvas = np.ascontiguousarray(result.overlay if result.overlay is not None else image).copy()
    colours = palette(black_background=False)
    scale = max(0.4, min(canvas.shape[:2]) / 900)
    thick = max(1, round(min(canvas.shape[:2]) / 300))
    keep = np.ones(len(result.scores), bool) if score_threshold is None else result.scores >= score_threshold
    labels = placer((0, 0, canvas.shape[1], canvas.shape[0])) if placer is not None else None
    for i in np.flatnonzero(keep):
        x1, y1, x2, y2 = (int(round(v)) for v in result.boxes[i])
        colour = tuple(int(c) for c in colours[int(result.labels[i]) % 256])
        cv2.rectangle(canvas, (x1, y1), (max(x1, x2 - 1), max(y1, y2 - 1)), colour, thick)
        text = f"{result.names[i]} {result.scores[i]:.2f}"
        if labels is None:
            _text(canvas, text, x1, y1, colour, scale)
        else:
            w, h, base = _text_size(text, scale)
            spot = labels.place((x1, y1, x2 - x1, y2 - y1), (w + 4, h + base + 2))
            _text(canvas, text, int(spot[0]), int(spot[1] + spot[3]), colour, scale)
        if result.keypoints is not None and i < len(result.keypoints):
            points = result.keypoints[i]
            for a, b in COCO_SKELETON if len(points) == 17 else ():  # a face's 5 landmarks: points only
                if a < len(points) and b < len(points) and points[a, 2] > 0 and points[b, 2] > 0:
                    cv2.line(canvas, (int(points[a, 0]), int(points[a, 1])), (int(points[b, 0]), int(points[b, 1])),
                             colour, thick, cv2.LINE_AA)
            for x, y, v in points:
                if v > 0:
                    cv2.circle(canvas, (int(x), int(y)), thick + 2, (255, 255, 255), -1, cv2.LINE_AA)
    if result.class_map is not None:
        y = 0
        for name, count in result.classes_present().items():
            index = result.categories.index(name) if name in result.categories else 0
            y += int(22 * scale / 0.5)
            _text(canvas, f"{name} {100 * count / result.class_map.size:.0f}%", 4, y, palette()[index], scale)
    if result.top:
        _text(canvas, " | ".join(f"{name} {100 * p:.0f}%" for _, name, p in result.top[:3]), 4,
              int(24 * scale / 0.5), (255, 255, 255), scale)
    return canvas
