"""What made a detector's box, what made a segmenter's class region: Grad-CAM for the models that do not end in
one class score. No Qt.

**Boxes** (``box_cam``): the box's score (pytorch-grad-cam's ``FasterRCNNBoxScoreTarget``: the score of the
output box that overlaps the chosen one most with the same label, plus that overlap; see ``BoxScore``) mapped
with HiResCAM (Draelos & Carin 2020, pytorch-grad-cam's ``HiResCAM``: Σ_c ∂score/∂A_c ⊙ A_c, Grad-CAM with
each position weighted by its own gradient). Plain Grad-CAM weighs each channel by its gradient averaged over
the whole map, so a box's map lights up wherever the same channels fire — every circle for one circle's box:
on the shapes YOLO its maximum fell inside the box for 32 % of the boxes, HiResCAM's for 84 %. The boxes are
listed by the live view's ``Predictor`` — the code ``cnn-explorer detect`` runs — and counted as
``LiveResult.kept`` lists them (best first, at the threshold), so that box N here is box N there. The gradient
pass runs the very model that found the boxes, on the same pixels.

The maps are taken where each detector's head reads its features: the FPN's output levels (Faster R-CNN,
RetinaNet, FCOS), the maps SSD's and SSDlite's heads read, the last layer of the shapes YOLO before its
grid. A box is predicted from one level, so the levels' maps are *summed* as they are (upsampled to the
finest), not normalized one by one and averaged as pytorch-grad-cam's ``BaseCAM`` does (a level that saw
nothing of the box would be stretched to full strength), and the part of the map over the detector's own
padding (torchvision pads its input to a multiple of 32) is cut off before the map is laid over the image.
Hence the hooks here and ``torch.autograd.grad``, not ``GradCAM``: its ``ActivationsAndGradients`` pairs maps
and gradients by order and skips a level the score does not reach.

MTCNN has no feature map on the image's grid: its final score is O-Net's, on a 48×48 crop of the image (P-Net's
pyramid only proposes). Its map is the box score's gradient with respect to the pixels, |∂score/∂pixel| summed
over the colours and smoothed (a Gaussian of 1 % of the image's side): where a change of the image would change
that face's score.

**Class regions** (``seg_cam``): Seg-Grad-CAM (Vinogradova et al. 2020): Grad-CAM of the sum of one class's
logits over the pixels predicted as that class (pytorch-grad-cam's ``SemanticSegmentationTarget``), at the
layer where the segmenter's head reads (torchvision's: the last ReLU of ``classifier``; the shapes U-Net: the
last decoder block) or the layer asked for.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnn_explorer.models.lab.errors import LabError

DEFAULT_THRESHOLD = 0.5  # detect's


# -- boxes ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Detection:
    number: int  # N of ``--box N``: its place in detect's list
    box: tuple[float, float, float, float]  # x1 y1 x2 y2 in the image's pixels
    label: int
    name: str
    score: float

    def to_json(self) -> dict:
        return {"box": self.number, "xyxy": [round(v, 2) for v in self.box], "label": self.label, "name": self.name,
                "score": round(self.score, 5)}


@dataclass
class BoxCam:
    model: str
    detections: list[Detection]
    chosen: Detection
    cam: np.ndarray  # H×W float32 at the image's resolution, ≥ 0
    method: str  # "hirescam" or "input-gradient"
    layers: list[str]  # where the maps were taken
    map_size: tuple[int, int]  # (h, w) of the finest map before it was laid over the image
    threshold: float

    def to_json(self) -> dict:
        return {"method": "boxcam", "explanation": self.method, "box": self.chosen.to_json(),
                "boxes": len(self.detections), "threshold": self.threshold, "layers": self.layers,
                "map_size": list(self.map_size), "resolution": "image", "shape": list(self.cam.shape),
                "min": float(self.cam.min()), "max": float(self.cam.max())}


_PREDICTORS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # lab → its predictor
_FOUND: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # lab → (the last image's key, its boxes)


def predictor_for(lab):
    """The live view's predictor on a copy of the lab's model, as ``detect`` makes it (stills: faces from 20
    pixels), kept for the lab's next box."""
    from cnn_explorer.models.live.predictor import Predictor

    predictor = _PREDICTORS.get(lab)
    if predictor is None:
        predictor = _PREDICTORS[lab] = Predictor(lab.entry.name, device=str(lab.device), loaded=lab.loaded,
                                                 min_face_size=20, cuda_graphs=False)  # graphs take no hooks
    return predictor


def _rgb(image) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] < 3 or image.dtype != np.uint8:
        raise LabError(f"an image must be an H×W×3 uint8 array, not {image.dtype} {image.shape}")
    image = image[:, :, :3]
    return np.array(image, order="C") if not image.flags.writeable or not image.flags.c_contiguous else image


def detections(lab, image: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> list[Detection]:
    """The boxes ``detect`` lists for ``image`` at ``threshold``, in its order."""
    return _detections(lab, _rgb(image), threshold)[0]


def _detections(lab, image, threshold):
    if lab.entry.task != "detection":
        raise LabError(f"{lab.entry.name} is a {lab.entry.task.replace('_', ' ')} model: boxcam explains a "
                       "detector's boxes")
    import hashlib

    predictor = predictor_for(lab)
    key = (image.shape, hashlib.blake2b(image.tobytes(), digest_size=16).hexdigest(), float(threshold))
    last = _FOUND.get(lab)
    if last is not None and last[0] == key:  # another box of the same image: listed already
        return last[1], predictor
    predictor.score_threshold = threshold
    result = predictor(image)
    found = [Detection(n, tuple(float(v) for v in result.boxes[i]), int(result.labels[i]),
                       result.name_of(int(result.labels[i])), float(result.scores[i]))
             for n, i in enumerate(result.kept(threshold))]
    _FOUND[lab] = (key, found)
    return found, predictor


class BoxScore:
    """The score a box map explains, as pytorch-grad-cam's ``FasterRCNNBoxScoreTarget`` defines it: the output
    box that overlaps the chosen one most, if by IoU > 0.5, gives its IoU plus its score. Written again for two
    reasons: a detector may give the very same box for two classes (SSD does) and the library's target takes the
    first of them whatever its label, finds the label wrong and gives 0 (here the label is matched first); and
    it moves the box to CUDA whenever CUDA exists, wherever the model is."""

    def __init__(self, label: int, box: tuple[float, float, float, float], iou_threshold: float = 0.5):
        self.label, self.box, self.iou_threshold = label, torch.tensor([box], dtype=torch.float32), iou_threshold

    def __call__(self, output: dict) -> torch.Tensor:
        boxes, scores = output["boxes"], output["scores"]
        same = torch.nonzero(output["labels"] == self.label).flatten()
        if len(same) == 0:
            return boxes.new_zeros(())
        ious = _iou(self.box.to(boxes.device, boxes.dtype), boxes[same])
        best = int(ious.argmax())
        if float(ious[best].detach()) <= self.iou_threshold:
            return boxes.new_zeros(())
        return ious[best] + scores[same[best]]


def _iou(box: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """IoU of ``box`` (1×4) with each of ``boxes`` (N×4); a box of no area is 1 with its exact copy. Not
    torchvision's ``box_iou``: its 0/0 for such a box (an untrained detector gives them) is NaN, and so would be
    every gradient of the map."""
    lt = torch.maximum(box[:, :2], boxes[:, :2])
    rb = torch.minimum(box[:, 2:], boxes[:, 2:])
    inter = (rb - lt).clamp(min=0).prod(1)

    def area(b):
        return (b[:, 2] - b[:, 0]).clamp(min=0) * (b[:, 3] - b[:, 1]).clamp(min=0)

    iou = inter / (area(box) + area(boxes) - inter).clamp(min=1e-9)
    return torch.where((boxes == box).all(1), torch.ones_like(iou), iou)


def _forget_anchors(model: nn.Module) -> None:
    """Anchors cached by an inference-mode pass cannot be saved for a backward pass: made again."""
    from cnn_explorer.models.live.accel import CachedAnchors

    for module in model.modules():
        if isinstance(module, CachedAnchors):
            module.clear()


def detector_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Where a detector's head reads its features (see the module's docstring); [] when there is no such map
    on the image's grid (MTCNN)."""
    from cnn_explorer.models.live.yolo import YOLODetector

    backbone = getattr(model, "backbone", None)
    fpn = getattr(backbone, "fpn", None)
    if fpn is not None:  # Faster R-CNN, RetinaNet, FCOS: the pyramid's levels
        return [(f"backbone.fpn.layer_blocks.{i}", m) for i, m in enumerate(fpn.layer_blocks)]
    if backbone is not None and hasattr(backbone, "extra"):  # SSD, SSDlite: each map its head reads
        features = backbone.features
        first = ([("backbone.features", features)] if type(backbone).__name__ == "SSDFeatureExtractorVGG"
                 else [(f"backbone.features.{i}", m) for i, m in enumerate(features)])
        return first + [(f"backbone.extra.{i}", m) for i, m in enumerate(backbone.extra)]
    if isinstance(model, YOLODetector):  # the last map before the grid's predictions
        return [("net.features", model.net.features)]
    return []


def _geometry(model: nn.Module, x: torch.Tensor) -> tuple[tuple[int, int], tuple[int, int]]:
    """(padded, used) (h, w) of the network's input for image ``x``: torchvision's transform resizes and pads
    to a multiple of 32; the YOLO wrapper resizes to its input (no padding)."""
    transform = getattr(model, "transform", None)
    if isinstance(transform, nn.Module):
        with torch.no_grad():
            images, _ = transform([x.detach()])
        padded = tuple(int(v) for v in images.tensors.shape[-2:])
        return padded, tuple(int(v) for v in images.image_sizes[0])
    size = tuple(getattr(transform, "fixed_size", x.shape[-2:]))
    return size, size


def _grad_cams(model, layers, run) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Run ``run()`` (it returns the score) with the outputs of ``layers`` kept; (maps, their gradients). A
    layer run more than once keeps each of its outputs."""
    kept: list[torch.Tensor] = []

    def hook(_module, _args, output):
        if isinstance(output, torch.Tensor) and output.requires_grad:
            kept.append(output)

    handles = [module.register_forward_hook(hook) for _, module in layers]
    try:
        with torch.enable_grad():
            score = run()
            if not score.requires_grad:
                raise LabError("the chosen box was not found again in the gradient pass")
            grads = torch.autograd.grad(score, kept, allow_unused=True) if kept else []
    finally:
        for handle in handles:
            handle.remove()
    return kept, list(grads)


def cam_maps(maps: list[torch.Tensor], grads: list[torch.Tensor | None], kind: str = "hirescam") -> list[torch.Tensor]:
    """Each map (1×C×h×w) and its gradient as an h×w map, ReLU applied; a map the score does not reach gives
    zeros. ``kind`` "gradcam": Σ_c mean(∂score/∂A_c) · A_c (one weight per channel, over the whole map);
    "hirescam": Σ_c ∂score/∂A_c ⊙ A_c (Draelos & Carin 2020: each position weighted by its own gradient, so
    the map stays where the score reads, the box's cells, not wherever the same channels fire)."""
    from pytorch_grad_cam import GradCAM, HiResCAM

    out = []
    for a, g in zip(maps, grads):
        a = a.detach().float().cpu()
        if g is None:
            out.append(torch.zeros(a.shape[-2:]))
            continue
        acts, grad = a.numpy(), g.detach().float().cpu().numpy()
        if kind == "gradcam":
            weights = GradCAM.get_cam_weights(None, None, None, None, None, grad)  # the channels' mean gradients
            cam = (weights[:, :, None, None] * acts).sum(1)
        else:
            cam = HiResCAM.get_cam_image(None, None, None, None, acts, grad, False)
        out.append(torch.from_numpy(np.maximum(np.asarray(cam, np.float32)[0], 0)))
    return out


def box_cam(lab, image: np.ndarray, box: int = 0, threshold: float = DEFAULT_THRESHOLD) -> BoxCam:
    """The map of what made box ``box`` of ``detect``'s list for ``image`` at ``threshold`` (see the module)."""
    image = _rgb(image)
    found, predictor = _detections(lab, image, threshold)
    if not found:
        raise LabError(f"{lab.entry.name} found no box at score ≥ {threshold:g} in this image: nothing to explain"
                       " (a lower score threshold finds more)")
    if not 0 <= box < len(found):
        raise LabError(f"box {box} is out of range: {lab.entry.name} found {len(found)} box"
                       f"{'es' if len(found) > 1 else ''} at score ≥ {threshold:g} (0–{len(found) - 1})")
    chosen = found[box]
    model = predictor.model
    _forget_anchors(model)
    target = BoxScore(chosen.label, chosen.box)
    h, w = image.shape[:2]
    x = torch.from_numpy(image).permute(2, 0, 1).float().div(255.0)  # as the predictor feeds it
    layers = detector_layers(model)
    if not layers:
        return _input_gradient(lab, model, x, target, found, chosen, threshold)
    x = x.to(predictor.device).requires_grad_(True)
    maps, grads = _grad_cams(model, layers, lambda: target(model([x])[0]))
    cams = cam_maps(maps, grads, "hirescam")
    padded, used = _geometry(model, x)
    finest = max((c.shape for c in cams), key=lambda s: s[0] * s[1])
    total = torch.zeros(finest)
    for cam in cams:
        total += F.interpolate(cam[None, None], size=finest, mode="bilinear", align_corners=False)[0, 0]
    # the part over the image, not the padding, laid over the image
    uh, uw = max(1, round(finest[0] * used[0] / padded[0])), max(1, round(finest[1] * used[1] / padded[1]))
    over = F.interpolate(total[None, None, :uh, :uw], size=(h, w), mode="bilinear", align_corners=False)[0, 0]
    cam = np.ascontiguousarray(over.clamp(min=0).numpy().astype(np.float32))
    names = [name for name, _ in layers]
    return BoxCam(lab.entry.name, found, chosen, cam, "hirescam", names, tuple(int(v) for v in finest), threshold)


def _input_gradient(lab, model, x, target, found, chosen, threshold) -> BoxCam:
    import cv2

    x = x.requires_grad_(True)
    with torch.enable_grad():
        score = target(model([x])[0])
        if not score.requires_grad:
            raise LabError("the chosen box was not found again in the gradient pass")
        (grad,) = torch.autograd.grad(score, [x])
    h, w = x.shape[-2:]
    saliency = grad.abs().sum(0).cpu().numpy().astype(np.float32)
    sigma = max(1.0, 0.01 * min(h, w))
    cam = cv2.GaussianBlur(saliency, (0, 0), sigma)
    return BoxCam(lab.entry.name, found, chosen, np.ascontiguousarray(cam), "input-gradient", ["input"],
                  (int(h), int(w)), threshold)


def peak(cam: np.ndarray) -> tuple[float, float]:
    """(x, y) of the map's maximum: the centre of the pixels that hold it. A coarse map upsampled bilinearly is
    flat over the outer half of its border cells, where the first pixel of the flat part (``argmax``) would
    lie on the image's edge, not where the cell is."""
    top = float(cam.max())
    ys, xs = np.nonzero(cam >= top - 1e-6 * max(abs(top), 1e-12))
    return float(xs.mean()), float(ys.mean())


# -- class regions ------------------------------------------------------------------------------------------------

@dataclass
class SegCam:
    model: str
    target: int
    target_name: str
    layer: str
    cam: np.ndarray  # h×w at the layer's resolution
    heatmap: np.ndarray  # H×W at the input's resolution (bilinear)
    region: np.ndarray  # H×W bool: the pixels predicted as the class
    present: dict[int, tuple[str, int]] = field(default_factory=dict)  # class → (name, predicted pixels), largest first

    def to_json(self) -> dict:
        return {"method": "segcam", "target": self.target, "target_name": self.target_name, "layer": self.layer,
                "map_size": list(self.cam.shape), "resolution": "input", "shape": list(self.heatmap.shape),
                "region_pixels": int(self.region.sum()),
                "classes_present": {name: count for name, count in self.present.values()},
                "min": float(self.heatmap.min()), "max": float(self.heatmap.max())}


def _logits(output) -> torch.Tensor:
    return output["out"] if isinstance(output, dict) else output


def segmenter_layer(lab, prepared) -> str:
    """The layer Seg-Grad-CAM looks at by default: the last ReLU of a torchvision segmenter's head (where it
    reads the features it classifies), the last block of a U-Net's way up, else the lab's default map layer."""
    from cnn_explorer.models.lab.activations import default_map_layer

    model = lab.model
    classifier = getattr(model, "classifier", None)
    if isinstance(classifier, nn.Module):
        relus = [name for name, m in classifier.named_modules() if isinstance(m, (nn.ReLU, nn.Hardswish))]
        if relus:
            return f"classifier.{relus[-1]}"
    ups = getattr(model, "ups", None)
    if isinstance(ups, nn.ModuleList) and len(ups):
        return f"ups.{len(ups) - 1}"
    return default_map_layer(lab.graph(prepared)).name


def seg_cam(lab, image, target: int | None = None, layer: str | None = None, kind: str = "gradcam") -> SegCam:
    """Seg-Grad-CAM of class ``target`` (default: the largest class other than the background) at ``layer``."""
    from pytorch_grad_cam.utils.model_targets import SemanticSegmentationTarget

    from cnn_explorer.models.lab.activations import class_name
    from cnn_explorer.models.lab.kernels import module_of

    if lab.entry.task != "semantic_segmentation":
        raise LabError(f"{lab.entry.name} is a {lab.entry.task.replace('_', ' ')} model: segcam explains a "
                       "segmenter's class regions")
    prepared = lab.prepare(image)
    names = lab.categories or []
    x = prepared.tensor.to(lab.device)
    with torch.no_grad():
        logits = _logits(lab.model(x))[0]
    classes = logits.argmax(0)
    counts = torch.bincount(classes.flatten(), minlength=logits.shape[0])
    present = {int(i): (class_name(names, int(i)), int(counts[i])) for i in torch.argsort(-counts) if counts[i]}
    if target is None:
        order = [int(i) for i in torch.argsort(-counts) if counts[i]]
        background = 0 if names and names[0].strip("_").lower() == "background" else None
        target = next((i for i in order if i != background), order[0])
    if not 0 <= target < logits.shape[0]:
        raise LabError(f"class {target} is outside the model's {logits.shape[0]} classes")
    region = (classes == target)
    if not bool(region.any()):
        raise LabError(f"no pixel is predicted as “{class_name(names, target)}” in this image: nothing to explain "
                       f"(present: {', '.join(name for name, _ in present.values())})")
    layer = layer or segmenter_layer(lab, prepared)
    module = module_of(lab.model, layer.split(":")[0])
    score_of = SemanticSegmentationTarget(target, region.float().cpu().numpy())
    xg = x.clone().requires_grad_(True)
    maps, grads = _grad_cams(lab.model, [(layer, module)], lambda: score_of(_logits(lab.model(xg))[0]))
    if not maps:
        raise LabError(f"{layer} gives no map the class's score depends on: choose another layer")
    cam = cam_maps(maps[-1:], grads[-1:], kind)[0]
    heat = F.interpolate(cam[None, None], size=tuple(prepared.size), mode="bilinear", align_corners=False)[0, 0]
    return SegCam(lab.entry.name, int(target), class_name(names, target), layer,
                  np.ascontiguousarray(cam.numpy().astype(np.float32)),
                  np.ascontiguousarray(heat.clamp(min=0).numpy().astype(np.float32)),
                  region.cpu().numpy(), present)
