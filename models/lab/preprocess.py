"""Turn an image into the input a model expects, and say how, step by step.

A torchvision model uses its weights' own transforms (``weights.transforms()``: ImageNet classifiers resize
the shorter side to 256, centre-crop 224 and normalize; segmenters resize and normalize; detectors only
scale to 0..1 and resize and normalize inside the model). The tensor comes from that transform itself.

Every other model gets the documented default:

1. resize so that the image covers the entry's input size, keeping its aspect ratio (bilinear, antialiased);
2. centre-crop to the input size;
3. grayscale (ITU-R 601 luma) for a 1-channel model;
4. scale to 0..1 and normalize: ImageNet's mean and std for 3 channels, mean 0.5 and std 0.5 for 1 channel
   (an entry may give its own as ``facts["normalize_mean"]`` and ``facts["normalize_std"]``, "0.5, 0.5, 0.5").

The trained nets (``lenet5_digits``, ``zfnet_shapes``) were trained on inputs made exactly this way.

The result also holds the image as the model sees it (H×W×3 uint8, before normalization) for display, the
steps as plain data for the GUI, and the geometry that maps input pixels back to the original image.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from cnn_explorer.models.zoo.registry import ModelEntry
from cnn_explorer.models.lab.errors import LabError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
GRAY_MEAN = (0.5,)
GRAY_STD = (0.5,)


@dataclass
class Prepared:
    tensor: torch.Tensor  # 1×C×H×W float32, what the model gets
    display: np.ndarray  # H×W×3 uint8, the same pixels before normalization
    steps: list[dict]  # what was done, in order, as plain data
    source: str  # "weights: AlexNet_Weights.IMAGENET1K_V1" or "default"
    original_size: tuple[int, int]  # (H, W) of the image given
    scale: tuple[float, float] = (1.0, 1.0)  # resized / original, per axis
    offset: tuple[int, int] = (0, 0)  # the crop's top-left corner in the resized image
    mean: tuple[float, ...] = field(default=IMAGENET_MEAN)
    std: tuple[float, ...] = field(default=IMAGENET_STD)

    @property
    def size(self) -> tuple[int, int]:
        return tuple(self.tensor.shape[-2:])

    def to_original(self, box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        """A box (top, left, bottom, right) in input pixels, in the original image's pixels."""
        top, left, bottom, right = box
        sy, sx = self.scale
        oy, ox = self.offset
        return ((top + oy) / sy, (left + ox) / sx, (bottom + oy) / sy, (right + ox) / sx)

    def grey_value(self, level: int = 128) -> torch.Tensor:
        """A grey ``level`` (0..255; mid-grey by default) as the model sees it after normalization, per channel:
        the occluder's colour."""
        mean = torch.tensor(self.mean, dtype=torch.float32)
        std = torch.tensor(self.std, dtype=torch.float32)
        value = (level / 255 - mean) / std
        channels = self.tensor.shape[1]
        return value.expand(channels) if value.numel() == 1 else value


def _weights_of(entry: ModelEntry):
    if entry.source != "torchvision":
        return None
    from torchvision.models import get_model_weights

    try:
        return get_model_weights(entry.name).DEFAULT
    except (ValueError, KeyError):
        return None


def _as_chw(image: np.ndarray) -> torch.Tensor:
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4) or image.dtype != np.uint8:
        raise LabError(f"an image must be an H×W×3 uint8 array, not {image.dtype} {image.shape}")
    rgb = image[:, :, :3]
    if not rgb.flags.writeable or not rgb.flags.c_contiguous:
        rgb = np.array(rgb, order="C")  # torch wants a writable buffer (skimage's samples are read-only)
    return torch.from_numpy(rgb).permute(2, 0, 1)


def _resized_size(h: int, w: int, size) -> tuple[int, int]:
    """torchvision's rule: one number sets the shorter side (the longer keeps the aspect ratio, truncated)."""
    size = list(size) if isinstance(size, (list, tuple)) else [size]
    if len(size) == 2:
        return int(size[0]), int(size[1])
    short, long = (h, w) if h <= w else (w, h)
    new_short, new_long = size[0], int(size[0] * long / short)
    return (new_short, new_long) if h <= w else (new_long, new_short)


def _crop_offset(h: int, w: int, crop: tuple[int, int]) -> tuple[int, int]:
    # torchvision's center_crop: int(round((h - crop_h) / 2.0))
    return int(round((h - crop[0]) / 2.0)), int(round((w - crop[1]) / 2.0))


def _display(chw: torch.Tensor) -> np.ndarray:
    image = chw.clamp(0, 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return np.ascontiguousarray(image)


def _with_torchvision_weights(entry: ModelEntry, weights, chw: torch.Tensor) -> Prepared:
    from torchvision.transforms import functional as F

    transform = weights.transforms()
    h, w = chw.shape[-2:]
    name = f"weights: {type(weights).__name__}.{weights.name}"
    resize = getattr(transform, "resize_size", None)
    crop = getattr(transform, "crop_size", None)
    mean, std = getattr(transform, "mean", None), getattr(transform, "std", None)
    interpolation = getattr(transform, "interpolation", F.InterpolationMode.BILINEAR)
    antialias = getattr(transform, "antialias", True)
    steps, shown, scale, offset = [], chw.float(), (1.0, 1.0), (0, 0)
    if resize is not None:
        new_h, new_w = _resized_size(h, w, resize)
        shown = F.resize(shown, [new_h, new_w], interpolation=interpolation, antialias=antialias)
        scale = (new_h / h, new_w / w)
        steps.append({"step": "resize", "size": list(resize), "to": [new_h, new_w],
                      "interpolation": interpolation.value, "antialias": bool(antialias),
                      "note": "shorter side" if len(resize) == 1 else "exact"})
    if crop is not None:
        crop = tuple(crop) * (2 // len(crop))
        offset = _crop_offset(*shown.shape[-2:], crop)
        shown = F.center_crop(shown, list(crop))
        steps.append({"step": "center_crop", "size": list(crop), "offset": list(offset)})
    steps.append({"step": "to_float", "range": [0.0, 1.0]})
    if mean is not None:
        steps.append({"step": "normalize", "mean": list(mean), "std": list(std)})
    else:
        steps.append({"step": "note", "text": "the model resizes and normalizes inside (its transform)"})
    tensor = transform(chw).unsqueeze(0).float()  # the weights' own transform makes the tensor
    return Prepared(tensor=tensor, display=_display(shown), steps=steps, source=name, original_size=(h, w),
                    scale=scale, offset=offset, mean=tuple(mean or (0.0, 0.0, 0.0)), std=tuple(std or (1.0, 1.0, 1.0)))


def _default(entry: ModelEntry, chw: torch.Tensor, input_size: tuple[int, int] | None) -> Prepared:
    from torchvision.transforms import functional as F

    target = tuple(input_size or entry.input_size)
    h, w = chw.shape[-2:]
    cover = max(target[0] / h, target[1] / w)
    new_h, new_w = max(target[0], round(h * cover)), max(target[1], round(w * cover))
    shown = F.resize(chw.float(), [new_h, new_w], interpolation=F.InterpolationMode.BILINEAR, antialias=True)
    offset = _crop_offset(new_h, new_w, target)
    shown = F.center_crop(shown, list(target))
    steps = [{"step": "resize", "size": [new_h, new_w], "to": [new_h, new_w], "interpolation": "bilinear",
              "antialias": True, "note": f"covers {target[0]}×{target[1]}, aspect kept"},
             {"step": "center_crop", "size": list(target), "offset": list(offset)}]
    custom = {key: tuple(float(v) for v in str(entry.facts[f"normalize_{key}"]).split(","))
              for key in ("mean", "std") if f"normalize_{key}" in entry.facts}
    if entry.in_channels == 1:
        r, g, b = shown[0], shown[1], shown[2]
        shown = (0.299 * r + 0.587 * g + 0.114 * b).unsqueeze(0)
        steps.append({"step": "grayscale", "weights": [0.299, 0.587, 0.114]})
        mean, std = tuple(custom.get("mean", GRAY_MEAN)), tuple(custom.get("std", GRAY_STD))
    elif entry.in_channels == 3:
        mean, std = tuple(custom.get("mean", IMAGENET_MEAN)), tuple(custom.get("std", IMAGENET_STD))
    else:
        raise LabError(f"{entry.name} takes {entry.in_channels} input channels; the lab opens 1- or 3-channel models")
    shown = shown.round().clamp(0, 255)  # the display image is uint8: the tensor is made from the same values
    steps.append({"step": "to_float", "range": [0.0, 1.0]})
    steps.append({"step": "normalize", "mean": list(mean), "std": list(std)})
    tensor = normalize(shown / 255.0, mean, std).unsqueeze(0)
    return Prepared(tensor=tensor.float(), display=_display(shown), steps=steps, source="default",
                    original_size=(h, w), scale=(new_h / h, new_w / w), offset=offset, mean=mean, std=std)


def normalize(x: torch.Tensor, mean, std) -> torch.Tensor:
    """(x − mean) / std per channel; ``x`` is C×H×W or N×C×H×W in 0..1."""
    shape = (-1, 1, 1)
    return (x - torch.tensor(mean, dtype=x.dtype).view(shape)) / torch.tensor(std, dtype=x.dtype).view(shape)


def prepare(entry: ModelEntry, image: np.ndarray, input_size: tuple[int, int] | None = None) -> Prepared:
    """The input for ``entry`` made from ``image`` (H×W×3 uint8): the weights' transforms when the entry has
    torchvision weights (and no other ``input_size`` is asked for), else the default (module docstring)."""
    chw = _as_chw(image)
    weights = None if input_size else _weights_of(entry)
    if weights is not None:
        return _with_torchvision_weights(entry, weights, chw)
    return _default(entry, chw, input_size)


def describe_steps(steps: list[dict]) -> str:
    """The steps as one line of text: ``resize 256 (shorter side) → center crop 224×224 → …``."""
    parts = []
    for s in steps:
        if s["step"] == "resize":
            parts.append(f"resize to {s['to'][0]}×{s['to'][1]} ({s.get('note', '')})")
        elif s["step"] == "center_crop":
            parts.append(f"center crop {s['size'][0]}×{s['size'][1]}")
        elif s["step"] == "grayscale":
            parts.append("grayscale")
        elif s["step"] == "to_float":
            parts.append("0..1")
        elif s["step"] == "normalize":
            parts.append("normalize mean " + ", ".join(f"{m:.3f}" for m in s["mean"])
                         + " std " + ", ".join(f"{v:.3f}" for v in s["std"]))
        else:
            parts.append(s.get("text", s["step"]))
    return " → ".join(parts)
