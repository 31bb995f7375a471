"""Quality against the synthetic source's ground truth: recall at IoU 0.5 and mean IoU for boxes, pixel IoU for
class maps. Plain numpy; the figures the issue's goals are stated in (recall ≥ 0.9, pixel IoU ≥ 0.8)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box of ``a`` (N×4) with every box of ``b`` (M×4), boxes as x1 y1 x2 y2: an N×M array."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)))
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    w = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    h = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = w * h
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


@dataclass
class DetectionQuality:
    truths: int  # ground-truth boxes
    predictions: int
    matched: int  # truths matched one-to-one by a prediction at IoU ≥ the threshold
    iou_sum: float  # the sum over truths of the best IoU any prediction reaches

    @property
    def recall(self) -> float:
        return self.matched / self.truths if self.truths else 1.0

    @property
    def precision(self) -> float:
        return self.matched / self.predictions if self.predictions else (1.0 if not self.truths else 0.0)

    @property
    def mean_iou(self) -> float:
        return self.iou_sum / self.truths if self.truths else 1.0

    def __add__(self, other: "DetectionQuality") -> "DetectionQuality":
        return DetectionQuality(self.truths + other.truths, self.predictions + other.predictions,
                                self.matched + other.matched, self.iou_sum + other.iou_sum)


def detection_quality(pred_boxes, truth_boxes, *, pred_labels=None, truth_labels=None,
                      iou_threshold: float = 0.5) -> DetectionQuality:
    """Greedy one-to-one matching, best IoU first. With both ``pred_labels`` and ``truth_labels`` a prediction
    only matches a truth of its class; without, any box counts (a model trained on other classes)."""
    iou = box_iou(truth_boxes, pred_boxes)  # truths × predictions
    truths, predictions = iou.shape
    if pred_labels is not None and truth_labels is not None and iou.size:
        same = np.asarray(truth_labels).reshape(-1, 1) == np.asarray(pred_labels).reshape(1, -1)
        iou = np.where(same, iou, 0.0)
    best = iou.max(axis=1) if predictions else np.zeros(truths)
    matched = 0
    if iou.size:
        pairs = np.argwhere(iou >= iou_threshold)
        order = np.argsort(-iou[pairs[:, 0], pairs[:, 1]], kind="stable")
        used_t, used_p = set(), set()
        for t, p in pairs[order]:
            if t not in used_t and p not in used_p:
                used_t.add(t)
                used_p.add(p)
        matched = len(used_t)
    return DetectionQuality(truths, predictions, matched, float(best.sum()))


@dataclass
class PixelQuality:
    intersection: int
    union: int

    @property
    def iou(self) -> float:
        return self.intersection / self.union if self.union else 1.0

    def __add__(self, other: "PixelQuality") -> "PixelQuality":
        return PixelQuality(self.intersection + other.intersection, self.union + other.union)


def pixel_quality(pred_map, truth_map, *, classes=None, background: int = 0) -> PixelQuality:
    """Intersection and union of the foreground (``classes`` None: any class but ``background``, a model
    trained on other classes) or summed over ``classes`` (each class's pixels against its own)."""
    pred = np.asarray(pred_map)
    truth = np.asarray(truth_map)
    if pred.shape != truth.shape:
        raise ValueError(f"class maps of different sizes: {pred.shape} and {truth.shape}")
    if classes is None:
        p, t = pred != background, truth != background
        return PixelQuality(int(np.count_nonzero(p & t)), int(np.count_nonzero(p | t)))
    inter = union = 0
    for c in classes:
        p, t = pred == c, truth == c
        inter += int(np.count_nonzero(p & t))
        union += int(np.count_nonzero(p | t))
    return PixelQuality(inter, union)


def pixel_iou(pred_map, truth_map, *, classes=None, background: int = 0) -> float:
    """Pixel IoU of two class maps (see ``pixel_quality``); 1.0 when both are empty."""
    return pixel_quality(pred_map, truth_map, classes=classes, background=background).iou


class QualityMeter:
    """Accumulates the quality of live results against their frames' ground truth (``result.truth``).

    Detections count when their score is at least ``score_threshold``. Classes are compared by name when the
    model's categories are the synthetic source's (a model trained on the shapes), else class-agnostically."""

    def __init__(self, score_threshold: float = 0.5, iou_threshold: float = 0.5):
        self.score_threshold = score_threshold
        self.iou_threshold = iou_threshold
        self.detection = DetectionQuality(0, 0, 0, 0.0)
        self.pixels = PixelQuality(0, 0)
        self.frames = 0

    @staticmethod
    def _same_classes(result, truth) -> bool:
        return list(result.categories[: len(truth.classes)]) == list(truth.classes)

    def add(self, result) -> None:
        truth = getattr(result, "truth", None)
        if truth is None:
            return
        self.frames += 1
        if result.task in ("detection", "instance_segmentation", "keypoints"):
            keep = result.scores >= self.score_threshold
            labelled = self._same_classes(result, truth)
            self.detection += detection_quality(
                result.boxes[keep], truth.boxes, iou_threshold=self.iou_threshold,
                pred_labels=result.labels[keep] if labelled else None, truth_labels=truth.labels if labelled else None)
            if result.instance_map is not None:
                self.pixels += pixel_quality(result.instance_map >= 0, truth.instance_map >= 0, background=False)
        elif result.class_map is not None:
            classes = range(1, len(truth.classes)) if self._same_classes(result, truth) else None
            self.pixels += pixel_quality(result.class_map, truth.label_map, classes=classes)

    def to_json(self) -> dict:
        data = {"frames": self.frames}
        if self.detection.truths:
            data.update(recall_at_iou=round(self.detection.recall, 4), iou_threshold=self.iou_threshold,
                        mean_iou=round(self.detection.mean_iou, 4), precision=round(self.detection.precision, 4),
                        score_threshold=self.score_threshold)
        if self.pixels.union:
            data["pixel_iou"] = round(self.pixels.iou, 4)
        return data
