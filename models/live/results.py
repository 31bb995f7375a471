"""What the live predictor found in one frame: ``LiveResult``, numpy arrays in the frame's pixels (boxes,
scores, labels, keypoints, instance and class maps, the blended overlay, a classifier's top classes), its
timings, and its JSON form. ``DETECTION_TASKS``: the tasks whose results are detections.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

DETECTION_TASKS = ("detection", "instance_segmentation", "keypoints")


@dataclass
class LiveResult:
    """What the predictor found in one frame, as numpy arrays in the frame's pixels."""

    model: str
    task: str
    weights: str  # "pretrained", "random" or "file:PATH"
    device: str
    precision: str
    frame_size: tuple[int, int]  # (H, W) of the frame
    input_size: tuple[int, int]  # (H, W) the network saw
    categories: list[str] = field(repr=False)
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))  # N×4 x1 y1 x2 y2
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    labels: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    keypoints: np.ndarray | None = None  # N×K×3 (x, y, visibility)
    instance_map: np.ndarray | None = field(default=None, repr=False)  # H×W int16: the instance on top, -1 none
    class_map: np.ndarray | None = field(default=None, repr=False)  # H×W uint8 class ids
    overlay: np.ndarray | None = field(default=None, repr=False)  # H×W×3 uint8: masks / class map blended in
    top: list[tuple[int, str, float]] = field(default_factory=list)  # classifiers: (index, name, probability)
    timings: dict[str, float] = field(default_factory=dict)  # milliseconds: preprocess, infer, postprocess
    frame_index: int = -1
    timestamp: float = 0.0  # when the frame was captured (perf_counter seconds)
    done: float = 0.0  # when this result was ready
    truth: object = field(default=None, repr=False)  # the synthetic source's ground truth for the frame

    @property
    def weights_note(self) -> str:
        return {"random": "random weights", "pretrained": "pretrained weights"}.get(
            self.weights, f"weights from {self.weights.removeprefix('file:')}")

    @property
    def names(self) -> list[str]:
        return [self.name_of(int(i)) for i in self.labels]

    def name_of(self, index: int) -> str:
        return self.categories[index] if 0 <= index < len(self.categories) else f"class {index}"

    @property
    def latency(self) -> float:
        """Seconds from the frame's capture to this result."""
        return self.done - self.timestamp if self.timestamp and self.done else 0.0

    def masks(self) -> np.ndarray:
        """N×H×W bool: the pixels where each instance is on top (instance segmentation)."""
        if self.instance_map is None:
            return np.zeros((len(self.boxes), *self.frame_size), bool)
        return self.instance_map[None] == np.arange(len(self.boxes), dtype=np.int16)[:, None, None]

    def classes_present(self) -> dict[str, int]:
        """Segmenters: class name → pixel count, largest first."""
        if self.class_map is None:
            return {}
        counts = np.bincount(self.class_map.ravel(), minlength=len(self.categories))
        return {self.name_of(i): int(counts[i]) for i in np.argsort(-counts, kind="stable") if counts[i]}

    def kept(self, score_threshold: float | None = None) -> np.ndarray:
        """The indices of the detections scored at least ``score_threshold`` (all when None), best first: the
        boxes as ``detect`` lists them and ``visualize --box N`` counts them."""
        if score_threshold is None:
            return np.arange(len(self.scores))
        return np.flatnonzero(self.scores >= score_threshold)

    def to_json(self, score_threshold: float | None = None) -> dict:
        data = {"model": self.model, "task": self.task, "weights": self.weights, "weights_note": self.weights_note,
                "device": self.device,
                "precision": self.precision, "frame_size": list(self.frame_size),
                "input_size": list(self.input_size),
                "timings_ms": {k: round(v, 3) for k, v in self.timings.items()}}
        if self.task in DETECTION_TASKS:
            detections = []
            for i in self.kept(score_threshold):
                item = {"box": [round(float(v), 2) for v in self.boxes[i]], "label": int(self.labels[i]),
                        "name": self.name_of(int(self.labels[i])), "score": round(float(self.scores[i]), 5)}
                if self.keypoints is not None:
                    item["keypoints"] = [[round(float(v), 2) for v in p] for p in self.keypoints[i]]
                if self.instance_map is not None:
                    item["mask_pixels"] = int((self.instance_map == i).sum())
                detections.append(item)
            data["detections"] = detections
        elif self.task == "semantic_segmentation":
            data["classes"] = [{"name": n, "pixels": c} for n, c in self.classes_present().items()]
        else:
            data["top"] = [{"index": i, "name": n, "probability": round(p, 6)} for i, n, p in self.top]
        return data
