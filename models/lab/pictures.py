"""The lab's pictures, in numpy: colour maps, heat-map overlays, feature-map mosaics, and the composition of a
tool's panels into one picture for a slide. No Qt and no torch: the window's lab and ``cnn-explorer
visualize`` draw the same pixels from these (``tools.py`` makes the panels; the window shows them, the
command line composes them with ``compose``).

Colour maps come from matplotlib's tables (a dependency of Captum, and listed in ``pyproject.toml``), read
into 256-entry lookup tables.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

#: The Grad-CAM overlay: this much of the input, the rest the heat map (the window's choice since the lab began).
OVERLAY_INPUT = 0.45
HEAT_MAP = "inferno"


@lru_cache(maxsize=16)
def _lut(name: str) -> np.ndarray:
    from matplotlib import colormaps

    table = colormaps[name](np.linspace(0.0, 1.0, 256))[:, :3]
    lut = np.clip(np.rint(table * 255), 0, 255).astype(np.uint8)
    lut.setflags(write=False)
    return lut


def lut(name: str = "viridis", background: tuple[int, int, int] | None = None) -> np.ndarray:
    """A 256×3 uint8 lookup table of matplotlib's colour map ``name``; entry 0 is ``background`` (the gap
    between tiles of a mosaic) when given."""
    table = np.array(_lut(name))
    if background is not None:
        table[0] = background
    return table


def colored(values: np.ndarray, low: float, high: float, name: str = "viridis") -> np.ndarray:
    """A 2-d map through a colour map, ``low``…``high`` to its ends (NaN: grey), as H×W×3 uint8."""
    span = high - low if high > low else 1.0
    index = np.clip(np.nan_to_num((np.asarray(values, np.float64) - low) / span, nan=0.0) * 255, 0, 255)
    image = _lut(name)[index.astype(np.uint8)]
    image[np.isnan(values)] = 128
    return np.ascontiguousarray(image)


def overlay(display: np.ndarray, heat: np.ndarray, name: str = HEAT_MAP, top: float | None = None) -> np.ndarray:
    """A heat map (0 … ``top``, by default its maximum) blended over the H×W×3 uint8 input it explains."""
    top = (float(np.nanmax(heat)) if heat.size else 0.0) if top is None else float(top)
    coloured = colored(heat, 0.0, top if top > 0 else 1.0, name)
    blend = OVERLAY_INPUT * display.astype(np.float32) + (1 - OVERLAY_INPUT) * coloured
    return np.ascontiguousarray(blend.astype(np.uint8))


def gray_to_rgb(image: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.repeat(image[:, :, None], 3, axis=2) if image.ndim == 2 else image)


# -- feature-map mosaics -------------------------------------------------------------------------------------------

def scale_to_uint8(values: np.ndarray, mode: str, global_range: tuple[float, float] | None = None
                   ) -> tuple[np.ndarray, float, float]:
    """C×H×W float values to 1..255 (0 is kept for the gaps): per channel, per layer, or over
    ``global_range``. Returns (uint8 array, low, high) where low..high is the range of the colour bar."""
    values = np.asarray(values, dtype=np.float32)
    lo_all, hi_all = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if mode == "channel":
        low = values.min(axis=(1, 2), keepdims=True)
        span = values.max(axis=(1, 2), keepdims=True) - low
        scale = np.where(span > 0, 254.0 / np.where(span > 0, span, 1), 0).astype(np.float32)
    else:
        lo, hi = (global_range if mode == "global" and global_range else (lo_all, hi_all))
        low = np.float32(lo)
        scale = np.float32(254.0 / (hi - lo)) if hi > lo else np.float32(0)
        lo_all, hi_all = lo, hi
    scaled = values - low
    scaled *= scale
    np.clip(scaled, 0, 254, out=scaled)
    scaled += 1.5  # round to 1..255
    return scaled.astype(np.uint8), lo_all, hi_all


def tile(maps: np.ndarray, columns: int | None = None, gap: int = 1) -> tuple[np.ndarray, int]:
    """C×h×w uint8 tiles in one C-contiguous image about as wide as tall, ``gap`` pixels of 0 between them."""
    n, h, w = maps.shape
    columns = columns or max(1, math.ceil(math.sqrt(n * h / max(w, 1))))
    rows = math.ceil(n / columns)
    padded = np.zeros((rows * columns, h + gap, w + gap), np.uint8)
    padded[:n, :h, :w] = maps
    image = padded.reshape(rows, columns, h + gap, w + gap).transpose(0, 2, 1, 3).reshape(
        rows * (h + gap), columns * (w + gap))
    return np.ascontiguousarray(image[:rows * (h + gap) - gap, :columns * (w + gap) - gap]), columns


def channel_order(values: np.ndarray, sort: str) -> np.ndarray:
    """Tile index → channel: channel order, or by mean or max activation (largest first)."""
    if sort == "mean":
        return np.argsort(-values.mean(axis=(1, 2)), kind="stable")
    if sort == "max":
        return np.argsort(-values.max(axis=(1, 2)), kind="stable")
    return np.arange(values.shape[0])


def mosaic_gap(tile_shape: tuple[int, int], gap: int = 1) -> int:
    return gap if min(tile_shape) > 2 else 1


# -- a picture for a slide ----------------------------------------------------------------------------------------

TITLE_PX = 44  # the strip of the picture's title
CAPTION_PX = 34  # the strip of each panel's caption
MARGIN_PX = 16
PANEL_PX = 400  # panels are enlarged by a whole factor to about this height (never made smaller)


def zoom_factor(panels: list[tuple[str, np.ndarray]]) -> int:
    """The whole factor every panel is enlarged by (pixels repeated, so each stays pixel-exact)."""
    tallest = max(image.shape[0] for _, image in panels)
    return max(1, PANEL_PX // max(tallest, 1))


CAPTION_LINE_PX = 17  # one line of a caption (11 pt at 100 dpi)
CAPTION_CHAR_PX = 7.5  # the width of an average character of it
CAPTION_LINES = 2  # a caption is wrapped to at most two lines


def _captions(panels: list[tuple[str, np.ndarray]], zoom: int) -> list[str]:
    """Each caption wrapped to its panel's width."""
    import textwrap

    return ["\n".join(textwrap.wrap(caption, max(8, int(image.shape[1] * zoom / CAPTION_CHAR_PX)),
                                     max_lines=CAPTION_LINES, placeholder=" …"))
            for caption, image in panels]


def panel_boxes(panels: list[tuple[str, np.ndarray]]) -> tuple[tuple[int, int], list[tuple[int, int, int, int]]]:
    """The picture's (height, width) and each enlarged panel's (top, left, bottom, right) in it."""
    zoom = zoom_factor(panels)
    top = TITLE_PX + CAPTION_PX + (CAPTION_LINES - 1) * CAPTION_LINE_PX  # the same whatever the captions say
    boxes, left = [], MARGIN_PX
    for _, image in panels:
        h, w = image.shape[0] * zoom, image.shape[1] * zoom
        boxes.append((top, left, top + h, left + w))
        left += w + MARGIN_PX
    height = top + max(b[2] - b[0] for b in boxes) + MARGIN_PX
    return (height, left), boxes


SCALE_PX = 52  # the strip under the panels that holds their colour bars


def compose(title: str, panels: list[tuple[str, np.ndarray]], path, suffix: str,
            scales: dict[int, tuple[float, float, str, str]] | None = None) -> None:
    """Write the panels side by side, each enlarged by a whole factor and pixel-exact, under ``title`` and
    their captions (wrapped to the panel's width): a PNG, or an SVG (text as text, panels as embedded
    pictures). ``scales`` gives panel ``i`` a colour bar under it: (low, high, colour map, label)."""
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colorbar import ColorbarBase
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

    scales = scales or {}
    (height, width), boxes = panel_boxes(panels)
    panels_bottom = height - MARGIN_PX
    height += SCALE_PX if scales else 0
    zoom = zoom_factor(panels)
    dpi = 100
    figure = Figure(figsize=(width / dpi, height / dpi), dpi=dpi, facecolor="white")
    FigureCanvasAgg(figure)
    figure.text(MARGIN_PX / width, 1 - (TITLE_PX / 2) / height, title, ha="left", va="center", fontsize=15,
                weight="bold")
    for (_, image), caption, (top, left, bottom, right) in zip(panels, _captions(panels, zoom), boxes):
        big = gray_to_rgb(image).repeat(zoom, axis=0).repeat(zoom, axis=1)
        # figimage places pixels unscaled, from the bottom-left corner
        figure.figimage(big, xo=left, yo=height - bottom, origin="upper", resize=False)
        figure.text(left / width, 1 - (top - 8) / height, caption, ha="left", va="bottom", fontsize=11,
                    linespacing=1.1)
    for index, (low, high, name, label) in scales.items():
        _, left, _, right = boxes[index]
        bar_top = panels_bottom + 8
        axes = figure.add_axes((left / width, 1 - (bar_top + 14) / height, (right - left) / width, 14 / height))
        bar = ColorbarBase(axes, cmap=colormaps[name], norm=Normalize(low, high if high > low else low + 1),
                           orientation="horizontal")
        bar.ax.tick_params(labelsize=9)
        if label:
            bar.set_label(label, fontsize=9, labelpad=1)
    figure.savefig(path, format=suffix, dpi=dpi, facecolor="white")
