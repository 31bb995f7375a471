"""MTCNN (Zhang, Zhang, Li & Qiao, "Joint Face Detection and Alignment using Multi-task Cascaded
Convolutional Networks", IEEE Signal Processing Letters 2016).

Three small CNNs in a cascade (Fig. 1 and 2 of the paper):

- **P-Net** (proposal network), fully convolutional, trained on 12×12 crops: run over an image pyramid it gives
  a face probability and a box regression for every 12×12 window (stride 2);
- **R-Net** (refine network) takes the surviving windows resized to 24×24, rejects most of them and refines
  their boxes;
- **O-Net** (output network) takes them at 48×48 and gives the final score, box and five facial landmarks
  (the eyes, the nose, the mouth's corners).

Between the stages: non-maximum suppression and bounding-box regression, and each box is made square.
Module and parameter names match the learned weights that ``facenet-pytorch`` ships (``pnet.pt``, ``rnet.pt``,
``onet.pt``: P-Net 6,632, R-Net 100,178 and O-Net 389,040 parameters), converted from the authors' Caffe
models; the flattening before the dense layers follows Caffe's (width, height, channel) order.

``MTCNN.forward`` takes either

- a **list** of 3×H×W float images in [0, 1] (what torchvision's detectors take): the cascade runs and a list
  of dicts ``{"boxes", "labels", "scores", "keypoints"}`` comes back, one per image, in its pixels (label 0 is
  "face"; keypoints N×5×3 with visibility 1); or
- an N×3×48×48 **tensor**: each net runs once at the size it was trained on — the 48×48 crop as O-Net sees it,
  average-pooled to 24×24 for R-Net and to 12×12 for P-Net — and the raw outputs come back. This is the pass the
  explorer records for the layer graph, the parameter and MAC counts.
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from torch import nn

#: The five landmarks of O-Net, in its output order.
KEYPOINT_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
PYRAMID_FACTOR = 0.709  # each level of the pyramid is 0.709 of the one before (area halves)
THRESHOLDS = (0.6, 0.7, 0.7)  # face probability a window needs to pass P-Net, R-Net, O-Net


class PNet(nn.Module):
    """Proposal net: 12×12×3 → conv 3×3 (10) → max-pool → conv 3×3 (16) → conv 3×3 (32) → 1×1×2 face/not-face
    and 1×1×4 box offsets. Fully convolutional: an H×W image gives a map of windows at stride 2."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 10, kernel_size=3)
        self.prelu1 = nn.PReLU(10)
        self.pool1 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(10, 16, kernel_size=3)
        self.prelu2 = nn.PReLU(16)
        self.conv3 = nn.Conv2d(16, 32, kernel_size=3)
        self.prelu3 = nn.PReLU(32)
        self.conv4_1 = nn.Conv2d(32, 2, kernel_size=1)  # face classification
        self.conv4_2 = nn.Conv2d(32, 4, kernel_size=1)  # bounding-box regression

    def forward(self, x):
        x = self.prelu1(self.conv1(x))
        x = self.pool1(x)
        x = self.prelu2(self.conv2(x))
        x = self.prelu3(self.conv3(x))
        return torch.softmax(self.conv4_1(x), dim=1), self.conv4_2(x)  # (N×2×h×w, N×4×h×w)


class RNet(nn.Module):
    """Refine net: 24×24×3 → conv 3×3 (28) → pool → conv 3×3 (48) → pool → conv 2×2 (64) → fc 128 → face/not-face
    (2) and box offsets (4)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 28, kernel_size=3)
        self.prelu1 = nn.PReLU(28)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(28, 48, kernel_size=3)
        self.prelu2 = nn.PReLU(48)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3 = nn.Conv2d(48, 64, kernel_size=2)
        self.prelu3 = nn.PReLU(64)
        self.dense4 = nn.Linear(576, 128)
        self.prelu4 = nn.PReLU(128)
        self.dense5_1 = nn.Linear(128, 2)
        self.dense5_2 = nn.Linear(128, 4)

    def forward(self, x):
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.prelu3(self.conv3(x))
        x = x.permute(0, 3, 2, 1).flatten(1)  # Caffe's flattening order, as the weights were learned
        x = self.prelu4(self.dense4(x))
        return torch.softmax(self.dense5_1(x), dim=1), self.dense5_2(x)


class ONet(nn.Module):
    """Output net: 48×48×3 → conv 3×3 (32) → pool → conv 3×3 (64) → pool → conv 3×3 (64) → pool → conv 2×2 (128)
    → fc 256 → face/not-face (2), box offsets (4) and five landmarks (10)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, kernel_size=3)
        self.prelu1 = nn.PReLU(32)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3)
        self.prelu2 = nn.PReLU(64)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3 = nn.Conv2d(64, 64, kernel_size=3)
        self.prelu3 = nn.PReLU(64)
        self.pool3 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv4 = nn.Conv2d(64, 128, kernel_size=2)
        self.prelu4 = nn.PReLU(128)
        self.dense5 = nn.Linear(1152, 256)
        self.prelu5 = nn.PReLU(256)
        self.dense6_1 = nn.Linear(256, 2)
        self.dense6_2 = nn.Linear(256, 4)
        self.dense6_3 = nn.Linear(256, 10)

    def forward(self, x):
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.pool3(self.prelu3(self.conv3(x)))
        x = self.prelu4(self.conv4(x))
        x = x.permute(0, 3, 2, 1).flatten(1)
        x = self.prelu5(self.dense5(x))
        return torch.softmax(self.dense6_1(x), dim=1), self.dense6_2(x), self.dense6_3(x)


# -- the cascade's steps (boxes are N×4 x1 y1 x2 y2 in the image's pixels) ------------------------------------

def pyramid_scales(height: int, width: int, min_face_size: float, factor: float = PYRAMID_FACTOR) -> list[float]:
    """The scales at which P-Net's 12×12 window covers faces from ``min_face_size`` pixels up to the whole
    image: the first maps a min-size face to 12 pixels, each next one is ``factor`` of the one before."""
    scale = 12.0 / min_face_size
    side = min(height, width) * scale
    scales = []
    while side >= 12:
        scales.append(scale)
        scale *= factor
        side *= factor
    return scales


def pack_levels(sizes: list[tuple[int, int]]) -> tuple[list[tuple[int, int]], int, int]:
    """Shelf packing of the pyramid's levels (largest first) into one mosaic as wide as the largest: each level
    goes on the first shelf with room beside it, else on a new shelf below. Offsets are even. Returns the
    (y, x) of each level and the mosaic's height and width."""
    width = sizes[0][1] + sizes[0][1] % 2
    shelves: list[list[int]] = []  # [y, height, next free x]
    places = []
    for h, w in sizes:
        shelf = next((s for s in shelves if s[2] + w <= width and h <= s[1]), None)
        if shelf is None:
            y = shelves[-1][0] + shelves[-1][1] if shelves else 0
            shelf = [y, h + h % 2, 0]
            shelves.append(shelf)
        places.append((shelf[0], shelf[2]))
        shelf[2] += w + w % 2
    return places, shelves[-1][0] + shelves[-1][1], width


def pyramid_mosaic(image: torch.Tensor, sizes, places, height: int, width: int) -> torch.Tensor:
    """The pyramid's levels of ``image`` (1×3×H×W) area-resampled (``F.interpolate(mode="area")``, as
    facenet-pytorch does for these weights) into one 1×3×height×width mosaic, channels-last: on the CPU P-Net's
    convolutions and pooling run 3× faster on it than on channels-first tensors."""
    mosaic = image.new_zeros((1, 3, height, width)).contiguous(memory_format=torch.channels_last)
    for (lh, lw), (y, x) in zip(sizes, places):
        mosaic[:, :, y:y + lh, x:x + lw] = F.interpolate(image, size=(lh, lw), mode="area")
    return mosaic


def normalize(image: torch.Tensor) -> torch.Tensor:
    """[0, 1] pixels to the nets' input: (255·x − 127.5) / 128."""
    return image * (255.0 / 128.0) - (127.5 / 128.0)


def apply_regression(boxes: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """Bounding-box regression: each side moves by its offset times the box's width or height."""
    size = (boxes[:, 2:4] - boxes[:, 0:2]).repeat(1, 2)
    return boxes + offsets * size


def make_square(boxes: torch.Tensor) -> torch.Tensor:
    """Each box grown to a square on the same centre (the next net's input is square)."""
    centre = (boxes[:, 0:2] + boxes[:, 2:4]) / 2
    half = (boxes[:, 2:4] - boxes[:, 0:2]).max(dim=1, keepdim=True).values / 2
    return torch.cat([centre - half, centre + half], dim=1)


def crops(image: torch.Tensor, boxes: torch.Tensor, size: int) -> torch.Tensor:
    """The boxes of ``image`` (1×3×H×W, already normalized) resampled to size×size, in one batch; outside the
    image counts as black, as in the authors' code."""
    from torchvision.ops import roi_align

    black = -127.5 / 128.0
    rois = torch.cat([torch.zeros(len(boxes), 1, dtype=boxes.dtype, device=boxes.device), boxes], dim=1)
    # roi_align pads with zeros: shift so that zero is black, and back
    out = roi_align(image - black, rois, output_size=(size, size), spatial_scale=1.0, sampling_ratio=-1,
                    aligned=True)
    return out + black


def nms_min(boxes: torch.Tensor, scores: torch.Tensor, threshold: float) -> torch.Tensor:
    """Non-maximum suppression with overlap measured as intersection over the smaller box (the final step of
    the authors' code: a face box inside another one is dropped). The indices kept, best first."""
    order = scores.argsort(descending=True)
    boxes = boxes[order]
    area = (boxes[:, 2] - boxes[:, 0]).clamp(min=0) * (boxes[:, 3] - boxes[:, 1]).clamp(min=0)
    lt = torch.maximum(boxes[:, None, :2], boxes[None, :, :2])
    rb = torch.minimum(boxes[:, None, 2:], boxes[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(dim=2)
    overlap = inter / torch.minimum(area[:, None], area[None, :]).clamp(min=1e-6)
    keep = []
    removed = torch.zeros(len(boxes), dtype=torch.bool)
    overlap = overlap.cpu()
    for i in range(len(boxes)):
        if removed[i]:
            continue
        keep.append(i)
        removed |= overlap[i] > threshold
    return order[torch.tensor(keep, dtype=torch.long, device=order.device)]


@contextlib.contextmanager
def _one_cpu_thread(device: torch.device):
    """On the CPU the cascade runs on one thread: its nets are tiny (the paper's point is real time on a CPU)
    and it is some hundred small operations, each of which would otherwise wait for every thread of the pool;
    on a busy machine that wait, not the arithmetic, is what a frame costs (measured: 1.4 s a 640×480 frame on
    two threads of a loaded 2-core machine, 0.1 s on one)."""
    if device.type != "cpu" or torch.get_num_threads() == 1:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


class MTCNN(nn.Module):
    """The cascade of the three nets (see the module's docstring for the two kinds of input)."""

    def __init__(self, min_face_size: float = 20.0, thresholds=THRESHOLDS, factor: float = PYRAMID_FACTOR):
        super().__init__()
        self.pnet = PNet()
        self.rnet = RNet()
        self.onet = ONet()
        # The recording pass only: the 48×48 input average-pooled to R-Net's 24×24 and P-Net's 12×12.
        self.to_24 = nn.AvgPool2d(2)
        self.to_12 = nn.AvgPool2d(4)
        self.min_face_size = float(min_face_size)
        self.thresholds = tuple(float(t) for t in thresholds)
        self.factor = float(factor)
        self.score_thresh = self.thresholds[2]  # the live view's slider: final scores below it are dropped

    def forward(self, x):
        if isinstance(x, torch.Tensor):
            return self.pnet(self.to_12(x)), self.rnet(self.to_24(x)), self.onet(x)
        return [self.detect(image) for image in x]

    # -- the cascade ------------------------------------------------------------------------------------------

    def _proposals(self, image: torch.Tensor) -> torch.Tensor:
        """Stage 1: P-Net over the pyramid. N×9 rows: box (4), score, regression offsets (4), in the image's
        pixels, after NMS within each level (IoU 0.5) and across levels (IoU 0.7).

        The levels are packed into one mosaic and P-Net runs once over it: it has no padding, so a window that
        lies inside one level sees exactly what it would see on that level alone (the levels sit at even
        offsets, so its stride-2 grid is the level's own); windows across a seam are ignored."""
        from torchvision.ops import batched_nms, nms

        _, _, h, w = image.shape
        layout = self._layout(h, w, image.device)
        if layout is None:
            return image.new_zeros((0, 9))
        sizes, places, height, width, level_of, scale_of, origin = layout
        probs, offsets = self.pnet(pyramid_mosaic(image, sizes, places, height, width))
        face = probs[0, 1]
        ys, xs = torch.nonzero((face >= self.thresholds[0]) & (level_of[: face.shape[0], : face.shape[1]] >= 0),
                               as_tuple=True)
        if len(ys) == 0:
            return image.new_zeros((0, 9))
        level = level_of[ys, xs]
        cells = torch.stack([xs, ys], dim=1)
        corner = (cells - origin[level]).to(image.dtype) * 2  # stride 2 in the level's own pixels
        scale = scale_of[level, None]
        rows = torch.cat([corner / scale, (corner + 12) / scale, face[ys, xs, None], offsets[0, :, ys, xs].T.float()],
                         dim=1)
        rows = rows[batched_nms(rows[:, :4], rows[:, 4], level, 0.5)]
        return rows[nms(rows[:, :4], rows[:, 4], 0.7)]

    def _layout(self, h: int, w: int, device: torch.device):
        """The pyramid of an h×w image packed into a mosaic, and for each cell of P-Net's output map the level
        whose window it is (−1 across a seam), each level's scale and the cell where it starts; kept for the
        next frame of the same size."""
        key = (h, w, self.min_face_size, self.factor, str(device))
        if getattr(self, "_layout_key", None) == key:
            return self._layout_value
        scales = pyramid_scales(h, w, self.min_face_size, self.factor)
        value = None
        if scales:
            sizes = [(int(h * s + 1), int(w * s + 1)) for s in scales]
            places, height, width = pack_levels(sizes)
            level_of = torch.full((height // 2, width // 2), -1, dtype=torch.long)
            for level, ((lh, lw), (y, x)) in enumerate(zip(sizes, places)):
                rows, cols = (lh - 12) // 2 + 1, (lw - 12) // 2 + 1  # the windows wholly inside this level
                level_of[y // 2:y // 2 + rows, x // 2:x // 2 + cols] = level
            origin = torch.tensor([(x // 2, y // 2) for y, x in places], dtype=torch.long)
            value = (sizes, places, height, width, level_of.to(device),
                     torch.tensor(scales, dtype=torch.float32, device=device), origin.to(device))
        self._layout_key, self._layout_value = key, value
        return value

    def detect(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        """The faces in one 3×H×W image in [0, 1]: torchvision-style detections in its pixels."""
        with _one_cpu_thread(image.device):
            return self._detect(image)

    def _detect(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        from torchvision.ops import nms

        image = normalize(image.float().unsqueeze(0))
        device = image.device
        nothing = {"boxes": torch.zeros((0, 4), device=device), "labels": torch.zeros(0, dtype=torch.long,
                                                                                       device=device),
                   "scores": torch.zeros(0, device=device), "keypoints": torch.zeros((0, 5, 3), device=device)}
        rows = self._proposals(image)
        if len(rows) == 0:
            return nothing
        boxes = make_square(apply_regression(rows[:, :4], rows[:, 5:9]))
        # Stage 2: R-Net on the proposals at 24×24
        probs, offsets = self.rnet(crops(image, boxes, 24))
        keep = probs[:, 1] > self.thresholds[1]
        boxes, scores, offsets = boxes[keep], probs[keep, 1], offsets[keep]
        if len(boxes) == 0:
            return nothing
        keep = nms(boxes, scores, 0.7)
        boxes = make_square(apply_regression(boxes[keep], offsets[keep]))
        # Stage 3: O-Net at 48×48: score, box and landmarks
        probs, offsets, marks = self.onet(crops(image, boxes, 48))
        keep = probs[:, 1] > max(self.thresholds[2], self.score_thresh)
        boxes, scores, offsets, marks = boxes[keep], probs[keep, 1], offsets[keep], marks[keep]
        if len(boxes) == 0:
            return nothing
        size = boxes[:, 2:4] - boxes[:, 0:2]
        points = torch.stack([boxes[:, None, 0] + marks[:, 0:5] * size[:, None, 0],
                              boxes[:, None, 1] + marks[:, 5:10] * size[:, None, 1]], dim=2)  # N×5×2
        boxes = apply_regression(boxes, offsets)
        keep = nms_min(boxes, scores, 0.7)
        boxes, scores, points = boxes[keep], scores[keep], points[keep]
        _, _, h, w = image.shape
        boxes = torch.stack([boxes[:, 0].clamp(0, w), boxes[:, 1].clamp(0, h), boxes[:, 2].clamp(0, w),
                             boxes[:, 3].clamp(0, h)], dim=1)
        keypoints = torch.cat([points, torch.ones_like(points[:, :, :1])], dim=2)
        return {"boxes": boxes, "labels": torch.zeros(len(boxes), dtype=torch.long, device=device),
                "scores": scores, "keypoints": keypoints}
