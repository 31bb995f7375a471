"""YOLO v1 (Redmon, Divvala, Girshick & Farhadi, "You Only Look Once: Unified, Real-Time Object Detection",
CVPR 2016).

Fig. 3 of the paper: a 448×448×3 input, 24 convolutional layers (1×1 reductions followed by 3×3 convs, as
in GoogLeNet but without Inception modules), LeakyReLU(0.1) after every layer but the last, then two fully
connected layers. The output is an S×S grid (S = 7) whose cells each hold B = 2 boxes (x, y, w, h,
confidence) and C = 20 class probabilities: 7×7×(2·5 + 20) = 7×7×30.

The defaults are the paper's network. ``layout``, ``hidden``, ``batch_norm`` and ``head`` make the reduced
classroom detector ``shapes_yolo`` (a few channels, a 224×224 input, and two changes YOLOv2 made: batch norm
after each conv, and a convolutional head in place of the fully connected layers, which learns from far fewer
images because each cell is predicted from its own part of the map);
``decode`` turns the grid into boxes and ``yolo_v1_loss`` is the paper's sum-squared training loss (section 2.2).
"""

from __future__ import annotations

import torch
from torch import nn

# (kernel, filters, stride) for a conv, "M" for a 2×2/2 max pool: the darknet layout of Fig. 3.
DARKNET_LAYOUT = [
    (7, 64, 2), "M",
    (3, 192, 1), "M",
    (1, 128, 1), (3, 256, 1), (1, 256, 1), (3, 512, 1), "M",
    *[(1, 256, 1), (3, 512, 1)] * 4, (1, 512, 1), (3, 1024, 1), "M",
    *[(1, 512, 1), (3, 1024, 1)] * 2, (3, 1024, 1), (3, 1024, 2),
    (3, 1024, 1), (3, 1024, 1),
]


# A reduced darknet for 224×224 inputs (stride 32 → a 7×7 grid) with a fraction of the channels: shapes_yolo.
SHAPES_LAYOUT = [
    (3, 16, 2), "M",
    (3, 32, 1), "M",
    (3, 64, 1), "M",
    (1, 32, 1), (3, 64, 1), "M",
    (1, 64, 1), (3, 128, 1), (3, 128, 1), (1, 32, 1),
]


def darknet_features(layout=DARKNET_LAYOUT, batch_norm: bool = False) -> nn.Sequential:
    layers = []
    in_channels = 3
    for item in layout:
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        kernel, filters, stride = item
        layers.append(nn.Conv2d(in_channels, filters, kernel, stride=stride, padding=kernel // 2,
                                bias=not batch_norm))
        if batch_norm:
            layers.append(nn.BatchNorm2d(filters))
        layers.append(nn.LeakyReLU(0.1, inplace=True))
        in_channels = filters
    return nn.Sequential(*layers)


def _out_channels(layout) -> int:
    return [item for item in layout if item != "M"][-1][1]


class YOLOv1(nn.Module):
    def __init__(self, grid: int = 7, boxes: int = 2, num_classes: int = 20, dropout: float = 0.5, *,
                 layout=DARKNET_LAYOUT, hidden: int = 4096, batch_norm: bool = False, head: str = "fc"):
        super().__init__()
        self.grid, self.boxes, self.num_classes = grid, boxes, num_classes
        self.cell_size = boxes * 5 + num_classes
        self.features = darknet_features(layout, batch_norm)  # 448 → 7×7×1024
        channels = _out_channels(layout)
        self.head = head
        if head == "fc":  # the paper's: two fully connected layers over the whole 7×7 map
            self.classifier = nn.Sequential(
                nn.Linear(channels * grid * grid, hidden), nn.LeakyReLU(0.1, inplace=True), nn.Dropout(dropout),
                nn.Linear(hidden, grid * grid * self.cell_size),
            )
        elif head == "conv":  # YOLOv2's change: each cell predicted by convs from its own place of the map
            self.classifier = nn.Sequential(
                nn.Conv2d(channels, hidden, 3, padding=1), nn.LeakyReLU(0.1, inplace=True),
                nn.Conv2d(hidden, self.cell_size, 1),
            )
        else:
            raise ValueError(f"head is 'fc' or 'conv', not {head!r}")

    def forward(self, x):
        if self.head == "conv":
            return self.classifier(self.features(x)).permute(0, 2, 3, 1)  # (N, S, S, B·5 + C)
        x = self.classifier(self.features(x).flatten(1))
        return x.view(-1, self.grid, self.grid, self.cell_size)  # (N, 7, 7, 30)


# -- the output grid: decoding and the training loss ----------------------------------------------------------
#
# A cell's B boxes are (x, y, √w, √h, confidence): x, y the centre's offset within the cell (0 to 1), √w, √h
# the square roots of the box's width and height as fractions of the image; then C class probabilities.


def _split(out: torch.Tensor, boxes: int):
    """(N, S, S, B·5 + C) → boxes (N, S, S, B, 5) and class scores (N, S, S, C)."""
    n, s = out.shape[:2]
    return out[..., : boxes * 5].reshape(n, s, s, boxes, 5), out[..., boxes * 5:]


def grid_boxes(out: torch.Tensor, boxes: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The grid's boxes as image fractions x1 y1 x2 y2 (N, S, S, B, 4), their confidences (N, S, S, B) and the
    cells' class scores (N, S, S, C)."""
    b, classes = _split(out, boxes)
    s = out.shape[1]
    cells = torch.arange(s, device=out.device, dtype=out.dtype)
    cx = (b[..., 0] + cells.view(1, 1, s, 1)) / s  # columns run along the third axis
    cy = (b[..., 1] + cells.view(1, s, 1, 1)) / s
    w, h = b[..., 2].clamp(0, 1) ** 2, b[..., 3].clamp(0, 1) ** 2
    xyxy = torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1)
    return xyxy, b[..., 4], classes


def decode(out: torch.Tensor, boxes: int, image_size: tuple[int, int], *, score_threshold: float = 0.2,
           nms_threshold: float = 0.5, max_detections: int = 100) -> list[dict[str, torch.Tensor]]:
    """The grid ``out`` (N, S, S, B·5 + C) as torchvision-style detections, one dict per image: ``boxes``
    (x1 y1 x2 y2 in pixels of ``image_size`` (H, W)), ``scores`` (the paper's class-specific confidence:
    the box's confidence × its cell's class probability), ``labels`` (class index + 1: 0 is the background).
    Boxes below ``score_threshold`` are dropped, then non-maximum suppression per class."""
    from torchvision.ops import batched_nms

    xyxy, confidence, classes = grid_boxes(out.float(), boxes)
    probability, label = classes.clamp(0, 1).max(dim=-1)  # (N, S, S)
    scores = confidence.clamp(0, 1) * probability.unsqueeze(-1)  # (N, S, S, B)
    labels = label.unsqueeze(-1).expand_as(scores)
    h, w = image_size
    scale = torch.tensor([w, h, w, h], dtype=xyxy.dtype, device=xyxy.device)
    results = []
    for i in range(out.shape[0]):
        keep = scores[i].reshape(-1) >= score_threshold
        bx = (xyxy[i].reshape(-1, 4)[keep] * scale)
        bx = torch.stack([bx[:, 0].clamp(0, w), bx[:, 1].clamp(0, h), bx[:, 2].clamp(0, w), bx[:, 3].clamp(0, h)], 1)
        sc, lb = scores[i].reshape(-1)[keep], labels[i].reshape(-1)[keep]
        kept = batched_nms(bx, sc, lb, nms_threshold)[:max_detections]
        results.append({"boxes": bx[kept], "scores": sc[kept], "labels": lb[kept] + 1})
    return results


def _iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU of boxes ``a`` and ``b`` (..., 4) elementwise."""
    w = (torch.minimum(a[..., 2], b[..., 2]) - torch.maximum(a[..., 0], b[..., 0])).clamp(min=0)
    h = (torch.minimum(a[..., 3], b[..., 3]) - torch.maximum(a[..., 1], b[..., 1])).clamp(min=0)
    inter = w * h
    area = lambda x: (x[..., 2] - x[..., 0]).clamp(min=0) * (x[..., 3] - x[..., 1]).clamp(min=0)  # noqa: E731
    return inter / (area(a) + area(b) - inter).clamp(min=1e-9)


def encode_targets(truths: list[tuple[torch.Tensor, torch.Tensor]], grid: int, num_classes: int):
    """Each image's boxes (M×4, x1 y1 x2 y2 as image fractions) and labels (M, class indices 0..C-1) as grid
    targets: per cell, whether an object's centre falls in it, that object's box (x1 y1 x2 y2 fractions) and
    one-hot class: (N, S, S) bool, (N, S, S, 4), (N, S, S, C). The paper: one object per cell (here the
    largest when several centres share a cell)."""
    n = len(truths)
    has = torch.zeros(n, grid, grid, dtype=torch.bool)
    box = torch.zeros(n, grid, grid, 4)
    cls = torch.zeros(n, grid, grid, num_classes)
    for i, (bx, lb) in enumerate(truths):
        if not len(bx):
            continue
        area = (bx[:, 2] - bx[:, 0]) * (bx[:, 3] - bx[:, 1])
        for j in torch.argsort(area).tolist():  # smallest first: the largest ends up in a shared cell
            cx, cy = float(bx[j, 0] + bx[j, 2]) / 2, float(bx[j, 1] + bx[j, 3]) / 2
            col, row = min(grid - 1, max(0, int(cx * grid))), min(grid - 1, max(0, int(cy * grid)))
            has[i, row, col] = True
            box[i, row, col] = bx[j]
            cls[i, row, col] = 0
            cls[i, row, col, int(lb[j])] = 1
    return has, box, cls


def yolo_v1_loss(out: torch.Tensor, has: torch.Tensor, box: torch.Tensor, cls: torch.Tensor, boxes: int, *,
                 lambda_coord: float = 5.0, lambda_noobj: float = 0.5, confidence_target: str = "iou"):
    """The paper's sum-squared loss, summed over the grid and averaged over the batch: λcoord on the centre
    offsets and on √w, √h of the predictor "responsible" for an object (of the cell's B, the one whose box
    has the highest IoU with it); the confidence of that predictor pulled to its IoU with the object
    (``confidence_target`` "iou", the paper's) or to 1 ("one"), the other predictors' confidences pulled to 0
    with weight λnoobj; class probabilities only in cells that hold an object."""
    s = out.shape[1]
    b, classes = _split(out, boxes)
    pred_xyxy, confidence, _ = grid_boxes(out, boxes)
    cells = torch.arange(s, dtype=out.dtype, device=out.device)
    # the targets in the prediction's terms: offsets in the cell, √w, √h
    tx = (box[..., 0] + box[..., 2]) / 2 * s - cells.view(1, 1, s)
    ty = (box[..., 1] + box[..., 3]) / 2 * s - cells.view(1, s, 1)
    tw, th = (box[..., 2] - box[..., 0]).clamp(min=0).sqrt(), (box[..., 3] - box[..., 1]).clamp(min=0).sqrt()
    iou = _iou(pred_xyxy.detach(), box.unsqueeze(3))  # (N, S, S, B)
    responsible = torch.zeros_like(iou, dtype=torch.bool).scatter_(3, iou.argmax(3, keepdim=True), True)
    responsible &= has.unsqueeze(3)
    r = responsible.to(out.dtype)
    coord = ((b[..., 0] - tx.unsqueeze(3)) ** 2 + (b[..., 1] - ty.unsqueeze(3)) ** 2
             + (b[..., 2] - tw.unsqueeze(3)) ** 2 + (b[..., 3] - th.unsqueeze(3)) ** 2)
    target = iou if confidence_target == "iou" else torch.ones_like(iou)
    obj = (confidence - target) ** 2
    noobj = confidence ** 2
    class_error = ((classes - cls) ** 2).sum(-1) * has.to(out.dtype)
    total = (lambda_coord * (coord * r).sum() + (obj * r).sum() + lambda_noobj * (noobj * (1 - r)).sum()
             + class_error.sum())
    return total / out.shape[0]
