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
"""

from __future__ import annotations

import contextlib
import os
import platform
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from cnn_explorer.models.live.accel import accelerate
from cnn_explorer.models.live.draw import palette
from cnn_explorer.models.live.errors import LiveError, one_line

DETECTION_TASKS = ("detection", "instance_segmentation", "keypoints")
LIVE_TASKS = DETECTION_TASKS + ("semantic_segmentation", "classification")
PRECISIONS = {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
TOP_K = 5


def region_outline(index: torch.Tensor, where: torch.Tensor, width: int = 2) -> torch.Tensor:
    """The pixels of ``where`` (H×W bool) within ``width`` pixels of another region of ``index`` (H×W: a class
    or an instance per pixel): the inner border of each region. Drawn in the region's colour at full strength
    over the blend, it says which colour was laid over an object however saturated the object's own colours (a
    blend at 50 % over the synthetic source's shapes left the legend hard to match)."""
    edge = torch.zeros_like(where)
    for d in range(1, width + 1):
        edge[d:, :] |= index[d:, :] != index[:-d, :]
        edge[:-d, :] |= index[:-d, :] != index[d:, :]
        edge[:, d:] |= index[:, d:] != index[:, :-d]
        edge[:, :-d] |= index[:, :-d] != index[:, d:]
    return edge & where


# -- devices -----------------------------------------------------------------------------------------------

def resolve_device(device: str | torch.device = "cpu") -> torch.device:
    """``cpu``, ``cuda``, ``cuda:N``, ``mps`` or ``auto`` (CUDA, else MPS, else the CPU) as a torch device;
    a ``LiveError`` when it is not here."""
    text = str(device).strip().lower()
    if text == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        return torch.device("mps" if mps is not None and mps.is_available() else "cpu")
    try:
        dev = torch.device(text)
    except (RuntimeError, ValueError):
        raise LiveError(f"unknown device {device!r}: use cpu, cuda, cuda:N, mps or auto") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            why = "this torch has no CUDA" if torch.version.cuda is None else "no CUDA GPU was found"
            raise LiveError(f"device {text}: CUDA is not available here ({why}); use the CPU (--device cpu)",
                            suggestions=("cpu",))
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise LiveError(f"device {text}: there are {torch.cuda.device_count()} CUDA devices (0 to "
                            f"{torch.cuda.device_count() - 1})", suggestions=("cpu",))
        return torch.device("cuda", dev.index if dev.index is not None else torch.cuda.current_device())
    if dev.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise LiveError("device mps: Apple's Metal (MPS) is not available here; use the CPU (--device cpu)",
                            suggestions=("cpu",))
        return dev
    if dev.type != "cpu":
        raise LiveError(f"unknown device {device!r}: use cpu, cuda, cuda:N, mps or auto")
    return dev


def _cpu_name() -> str:
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "CPU"


def device_name(device: torch.device) -> str:
    """A person's name for the device: the GPU's model, or the CPU's with its core and thread counts."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple GPU (MPS)"
    return f"{_cpu_name()} ({os.cpu_count()} cores, {torch.get_num_threads()} torch threads)"


def _is_oom(error: BaseException) -> bool:
    oom = getattr(torch, "OutOfMemoryError", None) or getattr(torch.cuda, "OutOfMemoryError", None)
    return (oom is not None and isinstance(error, oom)) or "out of memory" in str(error).lower()


def check_live_size(size: tuple[int, int], model: str | dict | None = None) -> tuple[int, int]:
    """An input size (H, W) the live view can run: within the zoo's range for ``model`` (a name or its facts;
    ``check_input_size``: detectors have a smaller cap) and 32 pixels a side at least. Needs no model: the
    command line asks before it starts anything."""
    from cnn_explorer.models.zoo.index import check_input_size

    size = (int(size[0]), int(size[1]))
    check_input_size(size, model)
    if min(size) < 32:
        raise LiveError(f"input {size[0]}×{size[1]} is too small for the live view: 32 pixels a side at least")
    return size


# -- results -----------------------------------------------------------------------------------------------

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

    def to_json(self, score_threshold: float | None = None) -> dict:
        data = {"model": self.model, "task": self.task, "weights": self.weights, "weights_note": self.weights_note,
                "device": self.device,
                "precision": self.precision, "frame_size": list(self.frame_size),
                "input_size": list(self.input_size),
                "timings_ms": {k: round(v, 3) for k, v in self.timings.items()}}
        if self.task in DETECTION_TASKS:
            keep = np.ones(len(self.scores), bool) if score_threshold is None else self.scores >= score_threshold
            detections = []
            for i in np.flatnonzero(keep):
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
    MTCNN looks for (40 pixels suits a camera; ``detect`` on stills asks for the model's own 20).

    Use it from one thread (the inference thread owns it)."""

    def __init__(self, model_name: str, device: str = "cpu", precision: str = "fp32",
                 size: tuple[int, int] | None = None, *, weights: str = "pretrained", score_threshold: float = 0.5,
                 mask_threshold: float = 0.5, opacity: float = 0.5, overlay: bool = True,
                 channels_last: bool | None = None, max_instances: int = 32, cuda_graphs: bool = True,
                 min_face_size: float = 40.0, progress=None):
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
        loaded = load_model(facts["name"], weights=weights, progress=progress)
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
            if _is_oom(error):
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

    def _blend_indexed(self, frame: torch.Tensor, index: torch.Tensor, colours: torch.Tensor,
                       where: torch.Tensor) -> torch.Tensor:
        """``frame`` (H×W×3 uint8) with ``colours[index]`` blended in at ``opacity`` where ``where`` (H×W), and
        each region's outline in its colour at full strength (``region_outline``). On the GPU in half precision;
        on the CPU with OpenCV's SIMD lookup and blend (4× faster than torch's float arithmetic on two cores)."""
        outline = region_outline(index, where)
        if frame.device.type == "cpu":
            import cv2

            image = frame.numpy()
            lut = np.zeros((1, 256, 3), np.uint8)
            lut[0, : min(256, len(colours))] = colours[:256].numpy()
            index8 = index.clamp(0, 255).to(torch.uint8).numpy()
            colour = cv2.LUT(cv2.merge([index8, index8, index8]), lut)
            blended = cv2.addWeighted(image, 1.0 - self.opacity, colour, self.opacity, 0.0)
            keep = ~where.numpy()
            blended[keep] = image[keep]
            edge = outline.numpy()
            blended[edge] = colour[edge]
            return torch.from_numpy(blended)
        colour = colours[index.long().clamp(min=0)]
        alpha = where.unsqueeze(-1).to(torch.float16) * self.opacity
        out = frame.to(torch.float16) * (1 - alpha) + colour.to(torch.float16) * alpha
        return torch.where(outline.unsqueeze(-1), colour.to(torch.uint8), out.round_().clamp_(0, 255).to(torch.uint8))

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
                    fetch["overlay"] = self._blend_indexed(prepared.image, on_top, colours, on_top >= 0)
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
                fetch["overlay"] = self._blend_indexed(prepared.image, class_map, self._palette, where)
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
            if _is_oom(error):
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
            if _is_oom(error):
                raise self._oom_error(images[0].shape[:2]) from None
            raise LiveError(f"{self.name} failed: {one_line(error)[:300]}") from None
        n = len(prepared) * max(1, repeat)
        return n / seconds, 1000 * seconds / n

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
