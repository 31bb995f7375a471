"""What makes the live models fast, measured with ``benchmarks/live_accel.py`` and ``benchmarks/live.py``
(figures in docs/benchmarks.md) and kept because it won:

- ``CudaGraphed``: a module replayed from a CUDA graph captured on its first input of each shape. The live
  models are launch-bound on a big GPU (MobileNet-sized layers: thousands of tiny kernels a frame, each paid for
  in Python and in the driver), so replaying the whole sequence as one graph is the biggest win. Used for the
  whole model of a segmenter or classifier, and for a detector's backbone (and SSD's head): their pre- and
  post-processing have data-dependent shapes and host syncs that a graph cannot hold. ``torch.compile`` was
  measured too and lost to the graph on every model (and costs 25–40 s of compiling at start).
- ``ssd_postprocess``: torchvision's SSD post-processing loops over the 91 COCO classes in Python, with a
  host sync in each (a boolean mask); this is the same computation vectorized over the classes (per-class top
  k, score threshold, class-aware NMS, best ``detections_per_img``), with one sync. torchvision has no
  vectorized variant, hence this one.
- ``CachedAnchors``: a detector's anchors depend only on the input's and the feature maps' shapes, which are
  fixed for a camera; torchvision computes them (on the CPU, then copies them to the GPU) every frame.

No Qt; used by ``predictor.py``.
"""

from __future__ import annotations

import logging
import types

import torch
import torch.nn.functional as F
from torch import nn

log = logging.getLogger(__name__)


def _flatten(args) -> list[torch.Tensor]:
    out = []
    for a in args:
        if isinstance(a, torch.Tensor):
            out.append(a)
        elif isinstance(a, (list, tuple)):
            out.extend(_flatten(a))
        else:
            raise TypeError(f"a graphed module takes tensors, not {type(a).__name__}")
    return out


def _rebuild(args, flat: list[torch.Tensor]):
    it = iter(flat)

    def build(a):
        if isinstance(a, torch.Tensor):
            return next(it)
        return type(a)(build(x) for x in a)

    return tuple(build(a) for a in args)


class CudaGraphed(nn.Module):
    """``module`` replayed from a CUDA graph captured on the first call of each input shape.

    The outputs are the graph's own tensors: valid until the next call (the live predictor reads them before
    the next frame). A capture that fails (an op that syncs or allocates on the host) turns the module back to
    eager for good, with one warning."""

    MAX_SHAPES = 4

    def __init__(self, module: nn.Module, autocast_dtype: torch.dtype | None = None):
        super().__init__()
        self.module = module
        self.autocast_dtype = autocast_dtype
        self._graphs: dict[tuple, tuple] = {}
        self.failed: str | None = None

    def _run(self, args):
        if self.autocast_dtype is None:
            return self.module(*args)
        # cache_enabled=False: the casts of the weights are recorded in the graph, not cached outside it
        with torch.autocast("cuda", dtype=self.autocast_dtype, cache_enabled=False):
            return self.module(*args)

    def _capture(self, args):
        flat = [t.clone() for t in _flatten(args)]
        static_args = _rebuild(args, flat)
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(2):  # warm up on a side stream (cuDNN picks its kernels) before capturing
                self._run(static_args)
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            out = self._run(static_args)
        return graph, flat, out

    def forward(self, *args):
        if self.failed is not None or not torch.cuda.is_available():
            return self._run(args)
        flat = _flatten(args)
        key = tuple((tuple(t.shape), t.dtype, t.device, t.is_contiguous(memory_format=torch.channels_last))
                    for t in flat)
        entry = self._graphs.get(key)
        if entry is None:
            if len(self._graphs) >= self.MAX_SHAPES:
                self._graphs.clear()
            try:
                entry = self._graphs[key] = self._capture(args)
            except Exception as error:  # noqa: BLE001 - eager still works; say why once
                self.failed = f"{type(error).__name__}: {str(error).splitlines()[0][:160] if str(error) else ''}"
                log.warning("CUDA graph capture of %s failed, running it eagerly: %s",
                            type(self.module).__name__, self.failed)
                torch.cuda.synchronize()
                return self._run(args)
        graph, static_flat, out = entry
        for dst, src in zip(static_flat, flat):
            dst.copy_(src)
        graph.replay()
        return out


class CachedAnchors(nn.Module):
    """A detector's anchor generator whose anchors are computed once per input and feature-map shape."""

    def __init__(self, generator: nn.Module):
        super().__init__()
        self.generator = generator
        self._cache: dict[tuple, list[torch.Tensor]] = {}

    def clear(self) -> None:
        """Forget the anchors (made under ``inference_mode``, they cannot take part in a backward pass)."""
        self._cache.clear()

    def forward(self, image_list, feature_maps):
        key = (tuple(image_list.tensors.shape), tuple(tuple(image_list_size) for image_list_size in
                                                      image_list.image_sizes),
               tuple(tuple(f.shape[-2:]) for f in feature_maps), feature_maps[0].dtype, feature_maps[0].device)
        anchors = self._cache.get(key)
        if anchors is None:
            if len(self._cache) > 8:
                self._cache.clear()
            anchors = self._cache[key] = self.generator(image_list, feature_maps)
        return anchors


def ssd_postprocess(self, head_outputs: dict[str, torch.Tensor], image_anchors: list[torch.Tensor],
                    image_shapes: list[tuple[int, int]]) -> list[dict[str, torch.Tensor]]:
    """torchvision's ``SSD.postprocess_detections``, vectorized over the classes (bound to an SSD model)."""
    from torchvision.ops import batched_nms, boxes as box_ops

    bbox_regression = head_outputs["bbox_regression"]
    pred_scores = F.softmax(head_outputs["cls_logits"], dim=-1)
    num_classes = pred_scores.size(-1)
    device = pred_scores.device
    detections = []
    for boxes, scores, anchors, image_shape in zip(bbox_regression, pred_scores, image_anchors, image_shapes):
        boxes = self.box_coder.decode_single(boxes, anchors)
        boxes = box_ops.clip_boxes_to_image(boxes, image_shape)
        scores = scores[:, 1:]  # class 0 is the background
        k = min(self.topk_candidates, scores.size(0))
        top_scores, top_index = scores.topk(k, dim=0)  # k × (C-1): each class's best k anchors
        top_scores, top_index = top_scores.t(), top_index.t()  # class by class, as torchvision concatenates them
        labels = torch.arange(1, num_classes, device=device)[:, None].expand(num_classes - 1, k)
        keep = top_scores > self.score_thresh  # the one host sync of the frame (a boolean mask)
        top_scores, labels, anchor_index = top_scores[keep], labels[keep], top_index[keep]
        picked = batched_nms(boxes[anchor_index], top_scores, labels, self.nms_thresh)[: self.detections_per_img]
        detections.append({"boxes": boxes[anchor_index[picked]], "scores": top_scores[picked],
                           "labels": labels[picked]})
    return detections


def accelerate(model: nn.Module, task: str, device: torch.device, autocast_dtype: torch.dtype | None,
               graphs: bool = True) -> nn.Module:
    """``model`` with what won applied (in place where it is a detector's part); the model to call."""
    from torchvision.models.detection.ssd import SSD

    detector = task in ("detection", "instance_segmentation", "keypoints")
    if isinstance(model, SSD):
        model.postprocess_detections = types.MethodType(ssd_postprocess, model)
    for owner in (model, getattr(model, "rpn", None)):
        generator = getattr(owner, "anchor_generator", None) if owner is not None else None
        if generator is not None and not isinstance(generator, CachedAnchors):
            owner.anchor_generator = CachedAnchors(generator)
    if not graphs or device.type != "cuda":
        return model
    if not detector:
        return CudaGraphed(model, autocast_dtype)
    backbone = getattr(model, "backbone", None)
    if backbone is not None and not isinstance(backbone, CudaGraphed):
        model.backbone = CudaGraphed(backbone, autocast_dtype)
    if isinstance(model, SSD) and not isinstance(model.head, CudaGraphed):
        model.head = CudaGraphed(model.head, autocast_dtype)
    return model
