"""The microscope (like OpenAI Microscope): for every channel of a layer, the ``k`` images of a folder that
excite it most and the ``k`` that excite it least, each cropped to the receptive field of its strongest
(resp. weakest) position, beside the channel's optimized image (``optimize.py``, the channel objective).

It is top-9 generalized, not a second search: the same one batched pass over the folder with a forward hook
(``top9.folder_scores``), which already keeps every channel's maximum and minimum per image, and the same
``.npz`` cache keyed by folder contents, model, weights and layer. Top-9 is the one-channel, top-only case;
the microscope reads every channel out of that pass. Beside that entry, under its key, the microscope keeps
what it makes from the pass: the examples' crops (per ``k``, bottom or not, and channels asked) and the
channels' optimized images, so that a second run over the same folder reads no image and optimizes nothing. A channel's score in an image is its largest activation
at any position (its smallest, for the bottom-k), as in Zeiler & Fergus. After a ReLU the smallest is 0
in most images: the bottom-k then are ties, in the folder's order; choose the convolution before it. No library offers this search
(Captum, Lucent and Microscope's own code are per-image or per-objective), hence the loop by hand.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cnn_explorer.models.analysis.cache import warn_once
from cnn_explorer.models.lab.activations import LabModel
from cnn_explorer.models.lab.errors import LabError
from cnn_explorer.models.lab.fields import Box, field_box
from cnn_explorer.models.lab.images import MAX_FOLDER_IMAGES, open_image
from cnn_explorer.models.lab.top9 import Progress, folder_scores, save_npz

MAX_K = 64
CROPS_FORMAT = 1
OPTIMIZED_FORMAT = 1


@dataclass
class Example:
    """One dataset example of a channel: the image, its score (the channel's max, or min for a bottom one),
    the unit (channel, y, x) where it is, and the crop of that unit's receptive field."""

    file: str
    score: float
    unit: tuple[int, int, int]
    box: Box
    image: np.ndarray  # h×w×3 uint8 (a view of its image, shared by the examples of that image)


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
    cached: bool  # the pass over the folder came from the cache
    seconds: float
    notes: list[str] = field(default_factory=list)
    crops_cached: bool = False  # the examples' crops came from the cache too (no image read)
    cache_file: Path | None = None  # the pass's cache entry (None without the cache)
    weights: str = ""  # the weights' fingerprint

    def to_json(self) -> dict:
        return {"method": "atlas", "layer": self.layer, "folder": self.folder, "images": self.images,
                "skipped": self.skipped, "unreadable": len(self.unreadable), "cached": self.cached,
                "crops_cached": self.crops_cached,
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
    wanted: dict[int, set[int]] = {}  # image index: the flat positions of its examples
    for c, (top, low) in zip(chosen, ranked):
        for i in top:
            wanted.setdefault(int(i), set()).add(int(scores.positions[i, c]))
        for i in low:
            wanted.setdefault(int(i), set()).add(int(scores.min_positions[i, c]))
    crops_file = _crops_file(found.cache_file, k, bottom, None if channels is None else chosen)
    crops = _load_crops(crops_file, scores.files, wanted) if crops_file is not None else None
    crops_cached = crops is not None
    if crops is None:
        crops = _cut(lab, folder, scores.files, found.field, width, wanted)
        if crops_file is not None:
            try:
                _save_crops(crops_file, scores.files, crops)
            except OSError as error:  # as the pass's cache: it costs time, not results
                warn_once(f"atlas:{crops_file.parent}", "cannot write the microscope's crops in %s (%s)",
                          crops_file.parent, error.strerror or error)

    def example(index: int, c: int, values: np.ndarray, positions: np.ndarray) -> Example:
        flat = int(positions[index, c])
        box, pixels = crops[(int(index), flat)]
        return Example(scores.files[index], float(values[index, c]), (c, *divmod(flat, width)), box, pixels)

    result = [Channel(c, [example(i, c, scores.maxima, scores.positions) for i in top],
                      [example(i, c, scores.minima, scores.min_positions) for i in low])
              for c, (top, low) in zip(chosen, ranked)]
    notes = [found.listing.message] if found.listing.skipped else []
    return AtlasResult(found.layer, str(folder), result, len(scores.files), found.listing.skipped, scores.unreadable,
                       found.cached, time.perf_counter() - start, notes, crops_cached, found.cache_file, found.weights)


# -- the crops, cut once and kept beside the pass's cache entry (in its folder's atlas/) --------------------------
# A second microscope of the same folder, layer and model would otherwise read and prepare every example image
# again (most of a cached run: 3.0 of its 3.7 s for zfnet_shapes' features.4 over 500 images). The entry holds,
# per example image, the smallest rectangle of its display image that covers all its examples' fields (an
# image shared by many channels is stored once), and the clipped box of each (image, position).

Crops = dict[tuple[int, int], tuple[Box, np.ndarray]]  # (image index, flat position): (box, h×w×3 uint8)


def _cut(lab: LabModel, folder, files: list[str], field_, width: int, wanted: dict[int, set[int]]) -> Crops:
    """Each wanted image read and prepared once, however many channels show it (they share images a lot).
    A crop is a view of its image's display, not a copy: a deep layer's fields cover most of the image, and
    512 channels × 18 examples of copies would be 1.4 GB at 224 × 224."""
    crops: Crops = {}
    for index in sorted(wanted):
        prepared = lab.prepare(open_image(Path(folder) / files[index]))
        for flat in sorted(wanted[index]):
            _, box = field_box(field_, divmod(flat, width), prepared.size)
            crops[(index, flat)] = box, prepared.display[box.top:box.bottom, box.left:box.right]
    return crops


def _crops_file(scores_file: Path | None, k: int, bottom: bool, channels: list[int] | None) -> Path | None:
    """The crops' entry: the pass's key (folder contents, model, weights, layer) and what was asked of it."""
    if scores_file is None:
        return None
    asked = hashlib.blake2b(f"{CROPS_FORMAT}\n{k}\n{bottom}\n{channels}".encode(), digest_size=8).hexdigest()
    return scores_file.parent / "atlas" / f"{scores_file.stem}-{asked}.npz"


def _save_crops(path: Path, files: list[str], crops: Crops) -> None:
    by_image: dict[int, list[tuple[Box, np.ndarray]]] = {}
    for (index, _), crop in crops.items():
        by_image.setdefault(index, []).append(crop)
    parts, table, offset = [], [], 0
    for index, pieces in sorted(by_image.items()):
        top, left = min(b.top for b, _ in pieces), min(b.left for b, _ in pieces)
        bottom, right = max(b.bottom for b, _ in pieces), max(b.right for b, _ in pieces)
        canvas = np.zeros((bottom - top, right - left, 3), np.uint8)  # what no field covers stays 0, unread
        for box, pixels in pieces:
            canvas[box.top - top:box.bottom - top, box.left - left:box.right - left] = pixels
        table.append([index, top, left, bottom, right, offset])
        parts.append(canvas.ravel())
        offset += canvas.size
    pairs = [[i, flat, *box.to_list()] for (i, flat), (box, _) in crops.items()]
    save_npz(path, compressed=True, format=np.int64(CROPS_FORMAT),
             files=np.asarray([files[t[0]] for t in table], dtype=str), rects=np.asarray(table, np.int64),
             pairs=np.asarray(pairs, np.int64).reshape(-1, 6),
             pixels=np.concatenate(parts) if parts else np.zeros(0, np.uint8))


def _load_crops(path: Path, files: list[str], wanted: dict[int, set[int]]) -> Crops | None:
    """The cached crops, or None when there are none or they do not hold every wanted example of these files."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if int(data["format"]) != CROPS_FORMAT:
                return None
            names, rects, pairs, pixels = (data["files"].tolist(), data["rects"], data["pairs"], data["pixels"])
        images = {}
        for name, (index, top, left, bottom, right, offset) in zip(names, rects.tolist()):
            if files[index] != name:
                return None
            size = (bottom - top) * (right - left) * 3
            if offset + size > pixels.size:
                return None
            images[index] = top, left, pixels[offset:offset + size].reshape(bottom - top, right - left, 3)
        crops: Crops = {}
        for index, flat, *box in pairs.tolist():
            top, left, picture = images[index]
            box = Box(*box)
            crops[(index, flat)] = box, picture[box.top - top:box.bottom - top, box.left - left:box.right - left]
    except Exception:  # missing, truncated, not an npz, another layout: cut again
        return None
    if any((index, flat) not in crops for index, flats in wanted.items() for flat in flats):
        return None
    return crops


def optimize_channels(lab: LabModel, result: AtlasResult, steps: int = 64, progress=None) -> None:
    """Fill each channel's ``optimized`` image: ``steps`` of ``optimize.optimize`` on the channel objective
    (modest: a preview beside the examples, not a study). ``progress(done, total)`` per channel; raise to
    cancel. The images are kept beside the pass's cache entry (when ``result`` has one), per channel: the
    optimization is seeded, so a channel's image depends only on the model, its weights, the layer, the
    steps and the input's size and normalization, which key the entry; a later run optimizes only the
    channels not yet kept."""
    from cnn_explorer.models.lab.optimize import objective_for, optimize

    prepared = lab.prepare(open_image(Path(result.folder) / result.channels[0].top[0].file))
    path = None
    if result.cache_file is not None:
        parts = (OPTIMIZED_FORMAT, lab.entry.name, lab.loaded.weights.label, result.weights, result.layer, steps,
                 tuple(prepared.tensor.shape), prepared.mean, prepared.std)
        key = hashlib.blake2b("\n".join(map(str, parts)).encode(), digest_size=16).hexdigest()
        path = result.cache_file.parent / "atlas" / f"optimized-{key}.npz"
    kept = _load_optimized(path) if path is not None else {}
    made = False
    for i, channel in enumerate(result.channels):
        if channel.channel not in kept:
            objective = objective_for(lab, prepared, "channel", result.layer, (channel.channel,))
            kept[channel.channel] = optimize(lab, prepared, objective, steps=steps).images[0]
            made = True
        channel.optimized = kept[channel.channel]
        if progress:
            progress(i + 1, len(result.channels))
    if made and path is not None:
        order = sorted(kept)
        try:
            save_npz(path, format=np.int64(OPTIMIZED_FORMAT), channels=np.asarray(order, np.int64),
                     images=np.stack([kept[c] for c in order]))
        except OSError as error:
            warn_once(f"atlas:{path.parent}", "cannot write the microscope's optimized images in %s (%s)",
                      path.parent, error.strerror or error)


def _load_optimized(path: Path) -> dict[int, np.ndarray]:
    """The kept optimized images by channel ({} when none can be read)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if int(data["format"]) != OPTIMIZED_FORMAT:
                return {}
            channels, images = data["channels"], data["images"]
        if images.dtype != np.uint8 or images.ndim != 4 or len(images) != len(channels):
            return {}
        return {int(c): image for c, image in zip(channels, images)}
    except Exception:  # missing, truncated, not an npz: optimize again
        return {}


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
