"""A predictor for the live view: one frame in (H×W×3 uint8 RGB), one ``LiveResult`` of numpy arrays out.

It runs torchvision's detectors (Faster R-CNN, RetinaNet, SSD300, SSDlite, FCOS), Mask R-CNN, Keypoint R-CNN,
the semantic segmenters (FCN, DeepLabV3, LR-ASPP) and the zoo's classifiers (top-5), with the preprocess, the
forward pass and the postprocess timed separately. Class names come from the weights' categories
(``meta["categories"]``, known without downloading anything).

The CUDA path (written for the GPU; on the CPU the same code runs without the CUDA parts):

- the frame goes as uint8 into a pinned host buffer and up with a non-blocking copy; it is turned into floats
  and normalized on the GPU (4× less to upload than floats);
- the forward pass runs under ``torch.inference_mode()`` and, for fp16/bf16, ``torch.autocast``; the model is
  ``channels_last`` (tensor cores like NHWC), cuDNN autotunes for the fixed frame size;
- ``warmup()`` runs it on a frame of the expected size before the first real one (cuDNN's autotuning, lazy
  CUDA initialization and the allocator's first blocks are paid there);
- masks are thresholded into one instance map and blended into the frame, class maps coloured and blended,
  on the GPU: one small uint8 image comes back, not N full-size float masks;
- everything the frame needs comes back with non-blocking copies into pinned memory and one
  ``synchronize()``: the one host sync of our own per frame (the detectors' own NMS syncs inside the model);
- the stages are timed with CUDA events, read after that sync.

CUDA running out of memory is a ``LiveError`` that suggests a smaller input or the CPU.

The devices are resolved and named in devices.py, ``LiveResult`` is in results.py and the overlays are blended
in overlay.py; this module holds ``Predictor`` and names those too (``from ...predictor import LiveResult``).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from cnn_explorer.models.live.accel import accelerate
from cnn_explorer.models.live.devices import check_live_size, device_name, is_oom, resolve_device
from cnn_explorer.models.live.draw import palette
from cnn_explorer.models.live.errors import LiveError, one_line
from cnn_explorer.models.live.overlay import blend_indexed, region_outline  # noqa: F401 (re-exported)
from cnn_explorer.models.live.results import DETECTION_TASKS, LiveResult

LIVE_TASKS = DETECTION_TASKS + ("semantic_segmentation", "classification")
PRECISIONS = {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
TOP_K = 5


@dataclass
class _Prepared:
    inputs: object  # a list of CHW float tensors (detectors) or an NCHW tensor
    image: torch.Tensor  # the frame on the device, H×W×3 uint8
    frame_size: tuple[int, int]
    input_size: tuple[int, int]


def _categories(entry) -> tuple[list[str], list[str]]:
    """(class names, keypoint names) from the weights' meta; generic names when the model has none."""
    if entry.source == "torchvision":
        from torchvision.models import get_model_weights

        meta = get_model_weights(entry.name).DEFAULT.meta
        return list(meta.get("categories") or []), list(meta.get("keypoint_names") or [])
    def names(value) -> list[str]:  # the zoo's facts hold them as one string, ", " between the names
        return [n.strip() for n in value.split(",")] if isinstance(value, str) else list(value or [])

    return names(entry.facts.get("categories")), names(entry.facts.get("keypoint_names"))


# -- the predictor -----------------------------------------------------------------------------------------

class Predictor:
    """A zoo model ready for frames on ``device`` at ``precision``.

    ``size`` (H, W): the input the network sees. Detectors resize inside the model (torchvision's transform):
    SSD to exactly ``size``, the others to fit within it keeping the aspect; segmenters and classifiers get the
    frame resized to it (segmenters: the frame's own size by default; classifiers: their zoo input size).
    Boxes, masks and class maps always come back in the frame's pixels. ``min_face_size``: the smallest face
    MTCNN looks for (40 pixels suits a camera; ``detect`` on stills asks for the model's own 20). ``loaded``: a
    ``LoadedModel`` to use instead of loading ``model_name`` (the lab's explanations); a copy of it is used.

    Use it from one thread (the inference thread owns it)."""

    def __init__(self, model_name: str, device: str = "cpu", precision: str = "fp32",
                 size: tuple[int, int] | None = None, *, weights: str = "pretrained", score_threshold: float = 0.5,
                 mask_threshold: float = 0.5, opacity: float = 0.5, overlay: bool = True,
                 channels_last: bool | None = None, max_instances: int = 32, cuda_graphs: bool = True,
                 min_face_size: float = 40.0, progress=None, loaded=None):
        from cnn_explorer.models.zoo.loader import load_model
        from cnn_explorer.models.zoo.index import lookup

        facts = lookup(model_name)  # UnknownModelError for a bad name
        if facts["task"] not in LIVE_TASKS:
            raise LiveError(f"{facts['name']} is a {facts['task'].replace('_', ' ')} model: the live view runs "
                            "detectors, segmenters and classifiers")
        if precision not in PRECISIONS:
            raise LiveError(f"unknown precision {precision!r}: use fp32, fp16 or bf16")
        self.device = resolve_device(device)
        if precision == "fp16" and self.device.type == "cpu":
            raise LiveError("fp16 needs a GPU; on the CPU use fp32 or bf16", suggestions=("fp32",))
        if precision == "bf16" and self.device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise LiveError(f"{device_name(self.device)} has no bf16; use fp16 or fp32", suggestions=("fp16",))
        if size is not None:
            size = check_live_size(size, facts)
        import copy

        if loaded is not None:  # a model loaded already (the lab's): this one changes it, so it takes a copy
            loaded = copy.copy(loaded)
            loaded.model = copy.deepcopy(loaded.model)
        else:
            loaded = load_model(facts["name"], weights=weights, progress=progress)
            if loaded.entry.source in ("file", "object"):  # the user's module is shared with the explorer: the
                loaded.model = copy.deepcopy(loaded.model)  # live view moves and converts a copy of its own
        self.entry = loaded.entry
        self.name = loaded.entry.name
        self.task = loaded.entry.task
        self.weights = loaded.weights.label
        self.weights_message = loaded.weights.message
        self.precision = precision
        self.size = size
        self.device_name = device_name(self.device)
        from cnn_explorer.models.live.yolo import live_model  # YOLO v1: its grid decoded to boxes (with NMS) like torchvision's detectors

        live = live_model(loaded.model, loaded.entry)
        self.categories, self.keypoint_names = _categories(loaded.entry)
        if not self.categories:
            self.categories = list(getattr(live, "categories", None) or [])
        if not self.categories and self.task == "semantic_segmentation":
            self.categories = ["background"]
        self.background = 0 if self.categories and self.categories[0].strip("_").lower() == "background" else None
        self.mask_threshold = mask_threshold
        self.opacity = opacity
        self.overlay = overlay
        self.max_instances = max(1, min(int(max_instances), 255))
        self.channels_last = self.device.type == "cuda" if channels_last is None else channels_last
        self._autocast_dtype = PRECISIONS[precision]
        self._pinned: torch.Tensor | None = None
        self._upload_done = None
        self.warm = False
        model = live.eval()
        for p in model.parameters():
            p.requires_grad_(False)
        self._configure_size(model)
        if hasattr(model, "min_face_size"):  # MTCNN: its pyramid starts where a face of this many pixels is 12
            model.min_face_size = float(min_face_size)
        try:
            model = model.to(self.device)
            if self.channels_last:
                model = model.to(memory_format=torch.channels_last)
        except RuntimeError as error:
            if is_oom(error):
                raise self._oom_error(self.size or tuple(self.entry.input_size)) from None
            raise
        self._native_size: tuple[int, int] | None = None
        self._default_limits = self._transform_limits(model)
        self.model = accelerate(model, self.task, self.device, self._autocast_dtype, graphs=cuda_graphs)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # the frame size is fixed: let cuDNN pick its fastest kernels
        self._mean = torch.tensor(IMAGENET_MEAN, device=self.device).view(1, 3, 1, 1)
        self._std = torch.tensor(IMAGENET_STD, device=self.device).view(1, 3, 1, 1)
        self._palette = torch.from_numpy(palette(256)).to(self.device)
        self.score_threshold = score_threshold

    # -- settings ------------------------------------------------------------------------------------------

    def _configure_size(self, model) -> None:
        if self.task not in DETECTION_TASKS or self.size is None:
            return
        transform = getattr(model, "transform", None)
        if transform is None:
            return
        h, w = self.size
        if getattr(transform, "fixed_size", None) is not None:  # SSD, SSDlite: exactly this size
            transform.fixed_size = (h, w)
        else:  # R-CNNs, RetinaNet, FCOS: the frame scaled to fit within h×w
            transform.min_size = (min(h, w),)
            transform.max_size = max(h, w)

    @staticmethod
    def _transform_limits(model) -> tuple[int, int] | None:
        transform = getattr(model, "transform", None)
        if transform is None or getattr(transform, "fixed_size", None) is not None:
            return None
        return transform.min_size[-1], transform.max_size

    def _fit_frame(self, h: int, w: int) -> None:
        """With no input size chosen, an R-CNN, RetinaNet or FCOS sees the frame at its own size, never scaled
        up (torchvision's transform would enlarge a 640×480 frame to 1066×800: 2.8× the pixels, for nothing a
        camera frame holds); frames larger than the transform's limits are scaled down as before."""
        if self.size is not None or self._default_limits is None or self._native_size == (h, w):
            return
        low, high = self._default_limits
        scale = min(1.0, low / min(h, w), high / max(h, w))
        transform = self.model.transform
        transform.min_size = (max(1, round(min(h, w) * scale)),)
        transform.max_size = max(1, round(max(h, w) * scale))
        self._native_size = (h, w)

    @property
    def score_threshold(self) -> float:
        return self._score_threshold

    @score_threshold.setter
    def score_threshold(self, value: float) -> None:
        """Detections below it are dropped inside the model already (less NMS and mask-head work)."""
        self._score_threshold = float(value)
        if self.task in DETECTION_TASKS:
            heads = getattr(self.model, "roi_heads", None)
            if heads is not None and hasattr(heads, "score_thresh"):
                heads.score_thresh = self._score_threshold
            elif hasattr(self.model, "score_thresh"):
                self.model.score_thresh = self._score_threshold

    def input_size_for(self, frame_size: tuple[int, int]) -> tuple[int, int]:
        """The (H, W) the network sees for a frame of ``frame_size``."""
        h, w = frame_size
        if self.task == "classification":
            return self.size or tuple(self.entry.input_size)
        if self.task == "semantic_segmentation":
            return self.size or (h, w)
        transform = getattr(self.model, "transform", None)
        if transform is None:
            return (h, w)
        if getattr(transform, "fixed_size", None) is not None:
            return tuple(transform.fixed_size)
        scale = min(transform.min_size[-1] / min(h, w), transform.max_size / max(h, w))
        return (int(h * scale), int(w * scale))

    def describe(self) -> str:
        size = f", input {self.size[0]}×{self.size[1]}" if self.size else ""
        return f"{self.name} ({self.weights_note}) on {self.device_name}, {self.precision}{size}"

    @property
    def weights_note(self) -> str:
        return {"random": "random weights", "pretrained": "pretrained weights"}.get(
            self.weights, f"weights from {self.weights.removeprefix('file:')}")

    # -- stages --------------------------------------------------------------------------------------------

    def _autocast(self):
        if self._autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self._autocast_dtype)

    def _upload(self, image: np.ndarray) -> torch.Tensor:
        """The frame on the device as H×W×3 uint8: on CUDA through a pinned buffer, copied without blocking."""
        if self.device.type == "cpu":
            return torch.from_numpy(image)
        if self.device.type != "cuda":
            return torch.from_numpy(image).to(self.device)
        if self._pinned is None or self._pinned.shape != image.shape:
            self._pinned = torch.empty(image.shape, dtype=torch.uint8, pin_memory=True)
            self._upload_done = None
        elif self._upload_done is not None:
            self._upload_done.synchronize()  # the last copy out of the buffer has finished (long since, in practice)
        self._pinned.numpy()[...] = image
        on_device = self._pinned.to(self.device, non_blocking=True)
        self._upload_done = torch.cuda.Event()
        self._upload_done.record()
        return on_device

    @staticmethod
    def _as_rgb(image: np.ndarray) -> np.ndarray:
        image = np.asarray(image)
        if image.ndim == 2:
            image = np.repeat(image[:, :, None], 3, axis=2)
        if image.ndim != 3 or image.shape[2] not in (3, 4) or min(image.shape[:2]) < 1:
            raise LiveError(f"a frame must be H×W×3 RGB, not an array of shape {tuple(image.shape)}")
        if image.shape[2] == 4:
            image = image[:, :, :3]
        if image.dtype != np.uint8:
            image = np.clip(image, 0, 255).astype(np.uint8)
        if not image.flags.writeable:  # torch wants writable arrays (it never writes to this one)
            image = image.copy()
        return np.ascontiguousarray(image)

    def preprocess(self, image: np.ndarray) -> _Prepared:
        """Upload and normalize: the network's input, on the device."""
        image = self._as_rgb(image)
        h, w = image.shape[:2]
        frame = self._upload(image)
        x = frame.permute(2, 0, 1).unsqueeze(0).float().div_(255.0)  # 1×3×H×W in [0, 1], on the device
        if self.task in DETECTION_TASKS:  # the model's own transform resizes and normalizes
            self._fit_frame(h, w)
            return _Prepared([x[0]], frame, (h, w), self.input_size_for((h, w)))
        size = self.input_size_for((h, w))
        if size != (h, w):
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        if self.entry.in_channels == 1:
            x = x.mean(dim=1, keepdim=True)
        else:
            x = (x - self._mean) / self._std
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return _Prepared(x, frame, (h, w), size)

    def infer(self, prepared: _Prepared):
        """The forward pass alone."""
        with self._autocast():
            return self.model(prepared.inputs)

    def _gpu_side(self, raw, prepared: _Prepared) -> dict[str, torch.Tensor]:
        """Everything the frame needs, still on the device: small tensors and at most one overlay image."""
        h, w = prepared.frame_size
        if self.task in DETECTION_TASKS:
            out = raw[0]
            scores = out["scores"].float()
            order = scores.argsort(descending=True)  # no sync: the order is computed on the device
            fetch = {"boxes": out["boxes"].float()[order], "scores": scores[order], "labels": out["labels"][order]}
            if "keypoints" in out:
                fetch["keypoints"] = out["keypoints"].float()[order]
            if "masks" in out:
                order = order[: self.max_instances]
                masks = out["masks"][order, 0] > self.mask_threshold  # N×H×W, highest score first
                if masks.shape[0]:
                    # the highest-scoring instance that covers a pixel is the one on top (argmax: first maximum)
                    on_top = torch.where(masks.any(0), masks.to(torch.uint8).argmax(0),
                                         torch.full((h, w), -1, dtype=torch.long, device=masks.device))
                else:
                    on_top = torch.full((h, w), -1, dtype=torch.long, device=prepared.image.device)
                fetch["instance_map"] = on_top.to(torch.int16)
                if self.overlay:
                    labels = fetch["labels"][: self.max_instances]
                    colours = self._palette[labels % 256] if labels.numel() else self._palette[:1]
                    fetch["overlay"] = blend_indexed(prepared.image, on_top, colours, on_top >= 0, self.opacity)
            return fetch
        if self.task == "semantic_segmentation":
            logits = raw["out"] if isinstance(raw, dict) else raw
            classes = logits.argmax(1, keepdim=True)  # 1×1×h×w
            if tuple(classes.shape[2:]) != (h, w):
                classes = F.interpolate(classes.to(torch.uint8), size=(h, w), mode="nearest")
            class_map = classes[0, 0].to(torch.uint8)
            fetch = {"class_map": class_map}
            if self.overlay:
                where = class_map != self.background if self.background is not None else torch.ones_like(class_map,
                                                                                                         dtype=torch.bool)
                fetch["overlay"] = blend_indexed(prepared.image, class_map, self._palette, where, self.opacity)
            return fetch
        logits = raw if isinstance(raw, torch.Tensor) else raw[0]
        probs = torch.softmax(logits.float(), dim=1)[0]
        top = probs.topk(min(TOP_K, probs.numel()))
        return {"top_p": top.values, "top_i": top.indices}

    def _fetch(self, tensors: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
        """To the host: on CUDA, non-blocking copies into pinned memory and one synchronize."""
        if self.device.type == "cuda":
            host = {k: v.to("cpu", non_blocking=True) for k, v in tensors.items()}
            torch.cuda.current_stream(self.device).synchronize()  # the one host sync of the frame
            return {k: v.numpy() for k, v in host.items()}
        return {k: v.cpu().numpy() for k, v in tensors.items()}

    def _result(self, host: dict[str, np.ndarray], prepared: _Prepared) -> LiveResult:
        result = LiveResult(self.name, self.task, self.weights, self.device_name, self.precision,
                            prepared.frame_size, prepared.input_size, self.categories)
        if "boxes" in host:
            result.boxes = host["boxes"].astype(np.float32, copy=False).reshape(-1, 4)
            result.scores = host["scores"].astype(np.float32, copy=False)
            result.labels = host["labels"].astype(np.int64, copy=False)
        if "keypoints" in host:
            result.keypoints = host["keypoints"].astype(np.float32, copy=False)
        result.instance_map = host.get("instance_map")
        result.class_map = host.get("class_map")
        result.overlay = host.get("overlay")
        if "top_p" in host:
            result.top = [(int(i), result.name_of(int(i)), float(p)) for p, i in zip(host["top_p"], host["top_i"])]
        return result

    def postprocess(self, raw, prepared: _Prepared) -> LiveResult:
        """The outputs as numpy in the frame's pixels; masks and class maps blended into ``overlay``."""
        return self._result(self._fetch(self._gpu_side(raw, prepared)), prepared)

    # -- one frame -----------------------------------------------------------------------------------------

    def __call__(self, image: np.ndarray) -> LiveResult:
        """Preprocess, infer and postprocess one frame, each timed (ms in ``result.timings``)."""
        cuda = self.device.type == "cuda"
        size = tuple(np.shape(image)[:2])
        try:
            with torch.inference_mode():
                start = time.perf_counter()
                if cuda:
                    events = [torch.cuda.Event(enable_timing=True) for _ in range(3)]
                    events[0].record()
                prepared = self.preprocess(image)
                t1 = time.perf_counter()
                if cuda:
                    events[1].record()
                raw = self.infer(prepared)
                t2 = time.perf_counter()
                if cuda:
                    events[2].record()
                result = self.postprocess(raw, prepared)  # on CUDA: the frame's one sync
                end = time.perf_counter()
        except LiveError:
            raise
        except RuntimeError as error:
            if is_oom(error):
                raise self._oom_error(size) from None
            raise LiveError(f"{self.name} failed on a {size[0]}×{size[1]} frame: {one_line(error)[:300]}") from None
        if cuda:  # the events are complete after the sync
            pre = events[0].elapsed_time(events[1])
            infer = events[1].elapsed_time(events[2])
            result.timings = {"preprocess": pre, "infer": infer,
                              "postprocess": max(0.0, 1000 * (end - start) - pre - infer)}
        else:
            result.timings = {"preprocess": 1000 * (t1 - start), "infer": 1000 * (t2 - t1),
                              "postprocess": 1000 * (end - t2)}
        result.done = time.perf_counter()
        return result

    def _oom_error(self, size) -> LiveError:
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        h, w = size
        return LiveError(f"{self.device_name} ran out of memory running {self.name} on {h}×{w} frames: try a "
                         "smaller input (--size) or the CPU (--device cpu)", suggestions=("smaller input", "cpu"))

    def warmup(self, frame_size: tuple[int, int] = (480, 640), iterations: int = 2) -> float:
        """Run a few frames of ``frame_size`` through before the first real one; seconds it took."""
        start = time.perf_counter()
        rng = np.random.default_rng(0)
        image = rng.integers(0, 256, size=(*frame_size, 3), dtype=np.uint8)
        for _ in range(max(1, iterations)):
            self(image)
        self.warm = True
        return time.perf_counter() - start

    def model_only(self, images: list[np.ndarray], repeat: int = 1) -> tuple[float, float]:
        """The forward pass alone on ``images`` (already uploaded and normalized, back to back): (frames a
        second, milliseconds a frame)."""
        if not images:
            raise LiveError("model_only needs at least one image")
        try:
            with torch.inference_mode():
                prepared = [self.preprocess(image) for image in images]
                self.infer(prepared[0])  # one more warm-up on these very inputs
                self._sync()
                start = time.perf_counter()
                for _ in range(max(1, repeat)):
                    for p in prepared:
                        self.infer(p)
                self._sync()
                seconds = time.perf_counter() - start
        except RuntimeError as error:
            if is_oom(error):
                raise self._oom_error(images[0].shape[:2]) from None
            raise LiveError(f"{self.name} failed: {one_line(error)[:300]}") from None
        n = len(prepared) * max(1, repeat)
        return n / seconds, 1000 * seconds / n

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
