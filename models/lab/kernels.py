"""The kernels of a network as pictures: the first layer's filters as colour tiles (AlexNet's famous 96),
a deeper layer's kernels as a grid of out × in channels with paging, and weight histograms.

Captum has nothing for this; it is reading ``weight`` tensors and scaling them to 0..255.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from cnn_explorer.models.lab.errors import LabError

NORMALIZE_MODES = ("filter", "layer")


def _scale(values: np.ndarray, axes: tuple[int, ...] | None) -> np.ndarray:
    """Min–max scaling to 0..255 over ``axes`` (None: all), as uint8; a constant block becomes mid-grey."""
    low = values.min(axis=axes, keepdims=True)
    high = values.max(axis=axes, keepdims=True)
    span = high - low
    scaled = np.where(span > 0, (values - low) / np.where(span > 0, span, 1), 0.5)
    return np.clip(np.rint(scaled * 255), 0, 255).astype(np.uint8)


def module_of(model: nn.Module, layer: str) -> nn.Module:
    """The module a layer name refers to (``features.0``, or ``layer1.0.relu:1`` for a module's second call)."""
    path = layer.split(":")[0]
    try:
        return model.get_submodule(path) if path else model
    except AttributeError:
        raise LabError(f"no module named {path!r} in this model") from None


def conv_layers(model: nn.Module) -> list[str]:
    """Module paths of the 2-d convolutions, in definition order."""
    return [name for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]


def first_conv(model: nn.Module) -> str:
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d) and module.in_channels in (1, 3) and module.groups == 1:
            return name
    raise LabError("this model has no first convolution on the image (1 or 3 input channels)")


def kernel_weights(model: nn.Module, layer: str) -> torch.Tensor:
    module = module_of(model, layer)
    weight = getattr(module, "weight", None)
    if not isinstance(weight, torch.Tensor) or weight.dim() != 4:
        raise LabError(f"{layer} ({type(module).__name__}) has no convolution kernels to show")
    return weight.detach().float().cpu()


@dataclass
class FirstLayerTiles:
    layer: str
    tiles: np.ndarray  # N×kh×kw×3 uint8: one tile per output channel
    normalize: str

    def mosaic(self, columns: int | None = None, gap: int = 1, zoom: int = 1) -> np.ndarray:
        return tile_mosaic(self.tiles, columns, gap, zoom)


def first_layer_tiles(model: nn.Module, layer: str | None = None, normalize: str = "filter") -> FirstLayerTiles:
    """The filters of the first convolution (or ``layer``, which must see 1 or 3 channels) as colour tiles:
    RGB for a colour input, grey for a grayscale one. ``normalize``: ``"filter"`` scales each tile to its own
    range (shows every filter's pattern); ``"layer"`` uses one range for all (shows which are strong)."""
    if normalize not in NORMALIZE_MODES:
        raise LabError(f"normalize must be one of {', '.join(NORMALIZE_MODES)}, not {normalize!r}")
    layer = layer or first_conv(model)
    weight = kernel_weights(model, layer).numpy()  # out × in × kh × kw
    if weight.shape[1] not in (1, 3):
        raise LabError(f"{layer} sees {weight.shape[1]} channels: colour tiles need 1 or 3; use kernel_grid")
    tiles = weight.transpose(0, 2, 3, 1)  # out × kh × kw × in
    tiles = _scale(tiles, (1, 2, 3) if normalize == "filter" else None)
    if tiles.shape[3] == 1:
        tiles = np.repeat(tiles, 3, axis=3)
    return FirstLayerTiles(layer, np.ascontiguousarray(tiles), normalize)


def tile_mosaic(tiles: np.ndarray, columns: int | None = None, gap: int = 1, zoom: int = 1,
                fill: int = 255) -> np.ndarray:
    """N tiles (N×h×w or N×h×w×3) in one image, ``columns`` wide (about square by default), ``gap`` pixels
    of ``fill`` between them, each pixel repeated ``zoom`` times."""
    tiles = np.asarray(tiles)
    if zoom > 1:
        tiles = tiles.repeat(zoom, axis=1).repeat(zoom, axis=2)
    n, h, w = tiles.shape[:3]
    columns = columns or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / columns)
    shape = (rows * (h + gap) - gap, columns * (w + gap) - gap) + tiles.shape[3:]
    out = np.full(shape, fill, dtype=tiles.dtype)
    for i in range(n):
        r, c = divmod(i, columns)
        out[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = tiles[i]
    return out


@dataclass
class KernelPage:
    layer: str
    tiles: np.ndarray  # rows×cols×kh×kw uint8 (rows: output channels, columns: input channels)
    out_range: tuple[int, int]  # output channels [start, stop) on this page
    in_range: tuple[int, int]
    page: tuple[int, int]  # (row page, column page)
    pages: tuple[int, int]  # number of pages down and across
    shape: tuple[int, int, int, int]  # the layer's whole weight: out × in/groups × kh × kw
    groups: int
    normalize: str

    def mosaic(self, gap: int = 1, zoom: int = 1) -> np.ndarray:
        rows, cols = self.tiles.shape[:2]
        flat = self.tiles.reshape(rows * cols, *self.tiles.shape[2:])
        return tile_mosaic(flat, cols, gap, zoom)


def kernel_grid(model: nn.Module, layer: str, page: tuple[int, int] = (0, 0), rows: int = 16, columns: int = 16,
                normalize: str = "layer") -> KernelPage:
    """The kernels of ``layer`` as a grid, one row per output channel and one column per input channel (per
    group for a grouped convolution), ``rows`` × ``columns`` to a page. ``normalize``: ``"layer"`` (one range
    for the layer, so strong and weak kernels show as such) or ``"filter"`` (each kernel to its own range)."""
    if normalize not in NORMALIZE_MODES:
        raise LabError(f"normalize must be one of {', '.join(NORMALIZE_MODES)}, not {normalize!r}")
    if rows < 1 or columns < 1:
        raise LabError("a page needs at least one row and one column")
    weight = kernel_weights(model, layer).numpy()
    out_channels, in_channels = weight.shape[:2]
    pages = (math.ceil(out_channels / rows), math.ceil(in_channels / columns))
    pr, pc = page
    if not (0 <= pr < pages[0] and 0 <= pc < pages[1]):
        raise LabError(f"page {page} is outside {pages[0]}×{pages[1]} pages of {layer}'s kernels")
    out_range = (pr * rows, min(out_channels, (pr + 1) * rows))
    in_range = (pc * columns, min(in_channels, (pc + 1) * columns))
    scaled = _scale(weight, (2, 3) if normalize == "filter" else None)
    tiles = scaled[out_range[0]:out_range[1], in_range[0]:in_range[1]]
    groups = getattr(module_of(model, layer), "groups", 1)
    return KernelPage(layer, np.ascontiguousarray(tiles), out_range, in_range, page, pages, tuple(weight.shape),
                      groups, normalize)


@dataclass
class Histogram:
    layer: str
    counts: np.ndarray  # int64, len bins
    edges: np.ndarray  # float64, len bins + 1
    count: int
    mean: float
    std: float
    min: float
    max: float


def weight_histogram(model: nn.Module, layer: str, bins: int = 64, with_bias: bool = False) -> Histogram:
    """The histogram of ``layer``'s weights (and bias with ``with_bias``)."""
    module = module_of(model, layer)
    tensors = [getattr(module, "weight", None)] + ([getattr(module, "bias", None)] if with_bias else [])
    tensors = [t for t in tensors if isinstance(t, torch.Tensor)]
    if not tensors:
        raise LabError(f"{layer} ({type(module).__name__}) has no weights")
    values = torch.cat([t.detach().float().cpu().flatten() for t in tensors]).numpy()
    counts, edges = np.histogram(values, bins=bins)
    return Histogram(layer, counts, edges, int(values.size), float(values.mean()), float(values.std()),
                     float(values.min()), float(values.max()))


def weight_histograms(model: nn.Module, bins: int = 64) -> list[Histogram]:
    """A histogram for every layer that holds a ``weight`` (convolutions, linear layers, norms)."""
    return [weight_histogram(model, name, bins) for name, m in model.named_modules()
            if isinstance(getattr(m, "weight", None), torch.Tensor) and next(m.children(), None) is None]
