"""The microscope (like OpenAI Microscope): for every channel of a layer, the ``k`` images of a folder that
excite it most and the ``k`` that excite it least, each cropped to the receptive field of its strongest
(resp. weakest) position, beside the channel's optimized image (``optimize.py``, the channel objective).

It is top-9 generalized, not a second search: the same one batched pass over the folder with a forward hook
(``top9.folder_scores``), which already keeps every channel's maximum and minimum per image, and the same
``.npz`` cache keyed by folder contents, model, weights and layer. Top-9 is the one-channel, top-only case;
the microscope reads every channel out of that pass. A channel's score in an image is its largest activation
at any position (its smallest, for the bottom-k), as in Zeiler & Fergus. After a ReLU the smallest is 0
in most images: the bottom-k then are ties, in the folder's order; choose the convolution before it. No library offers this search
(Captum, Lucent and Microscope's own code are per-image or per-objective), hence the loop by hand.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cnn_explorer.models.lab.activations import LabModel
from cnn_explorer.models.lab.errors import LabError
from cnn_explorer.models.lab.fields import Box, field_box
from cnn_explorer.models.lab.images import MAX_FOLDER_IMAGES, open_image
from cnn_explorer.models.lab.top9 import Progress, folder_scores

MAX_K = 64


@dataclass
class Example:
    """One dataset example of a channel: the image, its score (the channel's max, or min for a bottom one),
    the unit (channel, y, x) where it is, and the crop of that unit's receptive field."""

    file: str
    score: float
    unit: tuple[int, int, int]
    box: Box
    image: np.ndarray  # h×w×3 uint8


@dataclass
class Channel:
    channel: int
    top: list[Example]  # strongest first
    bottom: list[Example]  # weakest first
    optimized: np.ndarray | None = None  # H×W×3 uint8 (optimize.py), when asked for

    def to_json(self) -> dict:
        def one(e: Example) -> dict:
            return {"file": e.file, "score": e.score, "unit": list(e.unit), "box": e.box.to_dict()}

        return {"channel": self.channel, "top": [one(e) for e in self.top], "bottom": [one(e) for e in self.bottom],
                "optimized": self.optimized is not None}


@dataclass
class AtlasResult:
    layer: str
    folder: str
    channels: list[Channel]
    images: int  # images scored
    skipped: int  # image files beyond the folder limit
    unreadable: list[str]
    cached: bool
    seconds: float
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"method": "atlas", "layer": self.layer, "folder": self.folder, "images": self.images,
                "skipped": self.skipped, "unreadable": len(self.unreadable), "cached": self.cached,
                "seconds": round(self.seconds, 3), "channels": [c.to_json() for c in self.channels]}


def atlas(lab: LabModel, folder: str | os.PathLike, layer: str, channels: list[int] | None = None, k: int = 9,
          bottom: bool = True, batch_size: int = 16, progress: Progress | None = None, use_cache: bool = True,
          cache_root: Path | None = None, limit: int = MAX_FOLDER_IMAGES) -> AtlasResult:
    """The top-``k`` (and bottom-``k``) examples of each of ``channels`` of ``layer`` (all when None) over the
    images of ``folder``. ``progress(done, total)`` is called per batch of images; raise in it to cancel."""
    if not 1 <= k <= MAX_K:
        raise LabError(f"k must be 1 … {MAX_K}, not {k}")
    start = time.perf_counter()
    found = folder_scores(lab, folder, layer, batch_size, progress, use_cache, cache_root, limit)
    scores = found.scores
    count = scores.maxima.shape[1]
    chosen = list(range(count)) if channels is None else [int(c) for c in channels]
    for c in chosen:
        if not 0 <= c < count:
            raise LabError(f"channel {c} is outside {found.layer}'s {count} channels")
    width = scores.map_size[1]
    ranked = []  # per channel: (top indices, bottom indices)
    for c in chosen:
        top = np.argsort(-scores.maxima[:, c], kind="stable")[:k]
        low = np.argsort(scores.minima[:, c], kind="stable")[:k] if bottom else np.zeros(0, np.int64)
        ranked.append((top, low))
    # Each image is read and prepared once, however many channels show it (they share images a lot).
    wanted: dict[int, set[int]] = {}
    for c, (top, low) in zip(chosen, ranked):
        for i in top:
            wanted.setdefault(int(i), set()).add(int(scores.positions[i, c]))
        for i in low:
            wanted.setdefault(int(i), set()).add(int(scores.min_positions[i, c]))
    crops: dict[tuple[int, int], tuple[Box, np.ndarray]] = {}
    for index in sorted(wanted):
        prepared = lab.prepare(open_image(Path(folder) / scores.files[index]))
        for flat in wanted[index]:
            _, box = field_box(found.field, divmod(flat, width), prepared.size)
            crops[(index, flat)] = box, np.ascontiguousarray(
                prepared.display[box.top:box.bottom, box.left:box.right])

    def example(index: int, c: int, values: np.ndarray, positions: np.ndarray) -> Example:
        flat = int(positions[index, c])
        box, pixels = crops[(int(index), flat)]
        return Example(scores.files[index], float(values[index, c]), (c, *divmod(flat, width)), box, pixels)

    result = [Channel(c, [example(i, c, scores.maxima, scores.positions) for i in top],
                      [example(i, c, scores.minima, scores.min_positions) for i in low])
              for c, (top, low) in zip(chosen, ranked)]
    notes = [found.listing.message] if found.listing.skipped else []
    return AtlasResult(found.layer, str(folder), result, len(scores.files), found.listing.skipped, scores.unreadable,
                       found.cached, time.perf_counter() - start, notes)


def optimize_channels(lab: LabModel, result: AtlasResult, steps: int = 64, progress=None) -> None:
    """Fill each channel's ``optimized`` image: ``steps`` of ``optimize.optimize`` on the channel objective
    (modest: a preview beside the examples, not a study). ``progress(done, total)`` per channel; raise to
    cancel."""
    from cnn_explorer.models.lab.optimize import objective_for, optimize

    prepared = lab.prepare(open_image(Path(result.folder) / result.channels[0].top[0].file))
    for i, channel in enumerate(result.channels):
        objective = objective_for(lab, prepared, "channel", result.layer, (channel.channel,))
        channel.optimized = optimize(lab, prepared, objective, steps=steps).images[0]
        if progress:
            progress(i + 1, len(result.channels))


def sheet(result: AtlasResult, cell: int = 64, gap: int = 8) -> np.ndarray:
    """The microscope as one picture (H×W×3 uint8, for a slide or ``atlas --out F.png``): a row per channel,
    its number, its optimized image (when made), its top-k examples, then its bottom-k, each enlarged (nearest
    neighbour, pixel-exact) to ``cell`` pixels square."""
    from PIL import Image, ImageDraw

    def fit(pixels: np.ndarray) -> np.ndarray:
        h, w = pixels.shape[:2]
        scale = cell / max(h, w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        out = np.full((cell, cell, 3), 255, np.uint8)
        resized = np.asarray(Image.fromarray(np.ascontiguousarray(pixels[..., :3])).resize(size, Image.NEAREST))
        out[:size[1], :size[0]] = resized
        return out

    label = 40
    k_top = max((len(c.top) for c in result.channels), default=0)
    k_bottom = max((len(c.bottom) for c in result.channels), default=0)
    has_optimized = any(c.optimized is not None for c in result.channels)
    groups = [1 if has_optimized else 0, k_top, k_bottom]
    width = label + sum(n * (cell + 2) + gap for n in groups if n)
    row = cell + 4
    canvas = np.full((row * len(result.channels), width, 3), 255, np.uint8)
    for r, channel in enumerate(result.channels):
        y = r * row + 2
        x = label
        parts = [[channel.optimized] if has_optimized else [], [e.image for e in channel.top],
                 [e.image for e in channel.bottom]]
        for n, pictures in zip(groups, parts):
            if not n:
                continue
            for i, pixels in enumerate(pictures):
                if pixels is not None:
                    canvas[y:y + cell, x + i * (cell + 2):x + i * (cell + 2) + cell] = fit(pixels)
            x += n * (cell + 2) + gap
    picture = Image.fromarray(canvas)
    draw = ImageDraw.Draw(picture)
    for r, channel in enumerate(result.channels):
        draw.text((4, r * row + cell // 2 - 5), f"c{channel.channel}", fill=(0, 0, 0))
    return np.asarray(picture)
