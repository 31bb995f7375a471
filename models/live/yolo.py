"""YOLO v1 as a live detector: the paper's network (models/zoo/paper/yolo_v1.py) inside a module whose forward
takes what torchvision's detectors take (a list of 3×H×W tensors in [0, 1]) and gives what they give (one dict
of ``boxes`` in the image's pixels, ``scores`` and ``labels`` per image). It resizes each image to the
network's input, normalizes it, runs the grid, decodes it and keeps the best boxes (non-maximum suppression).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cnn_explorer.models.zoo.paper.yolo_v1 import YOLOv1, decode

#: PASCAL VOC's 20 classes, the paper's (Table/Fig. 6 of the paper), after a background entry as torchvision's
#: detectors have: label 0 is never given.
VOC_CATEGORIES = ["__background__", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair",
                  "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
                  "train", "tvmonitor"]
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class FixedSize:
    """What the live predictor reads of a detector's transform: the input size it resizes every image to."""

    def __init__(self, size: tuple[int, int]):
        self.fixed_size = tuple(size)


def to_input(images: list[torch.Tensor], size: tuple[int, int]) -> torch.Tensor:
    """3×H×W images in [0, 1] → one N×3×h×w batch at ``size``, ImageNet-normalized (as the trained shapes
    detector saw its frames: bilinear with antialiasing)."""
    batch = []
    for image in images:
        x = image.unsqueeze(0).float()
        if tuple(x.shape[-2:]) != tuple(size):
            x = F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False, antialias=True)
        batch.append(x)
    x = torch.cat(batch)
    mean = torch.tensor(IMAGENET_MEAN, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return (x - mean) / std


class YOLODetector(nn.Module):
    """``net`` (a ``YOLOv1``) as a torchvision-style detector; ``categories[label]`` names a detection."""

    def __init__(self, net: YOLOv1, input_size: tuple[int, int], categories: list[str] | None = None, *,
                 score_thresh: float = 0.2, nms_thresh: float = 0.5, detections_per_img: int = 100):
        super().__init__()
        self.net = net
        self.transform = FixedSize(input_size)
        self.categories = list(categories or VOC_CATEGORIES[: net.num_classes + 1])
        self.score_thresh = score_thresh
        self.nms_thresh = nms_thresh
        self.detections_per_img = detections_per_img

    def forward(self, images: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        out = self.net(to_input(images, self.transform.fixed_size))
        results = []
        for grid, image in zip(out, images):
            results += decode(grid.unsqueeze(0), self.net.boxes, tuple(image.shape[-2:]),
                              score_threshold=self.score_thresh, nms_threshold=self.nms_thresh,
                              max_detections=self.detections_per_img)
        return results


def _categories(entry) -> list[str] | None:
    own = entry.facts.get("categories")
    if isinstance(own, str):
        return [name.strip() for name in own.split(",")]
    return list(own) if own else None


def live_model(model: nn.Module, entry) -> nn.Module:
    """The model the live predictor runs: a YOLO v1 network wrapped as a detector, anything else as it is."""
    if isinstance(model, YOLOv1):
        return YOLODetector(model, tuple(entry.input_size), _categories(entry))
    return model
