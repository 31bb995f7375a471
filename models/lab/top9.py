"""Top-9 (Zeiler & Fergus, Fig. 2): the nine images of a folder that excite a feature map most, each cropped
to the receptive field of its strongest unit, beside the deconvnet projection of that unit.

A "unit" here is a channel of a layer, as in the paper: in each image the channel's largest activation, at
whatever position, is its score, and the patch is the receptive field of that position. Captum has no such
search; it is a batched loop over the folder with a forward hook on the layer (so the layer must be a module
layer; any call of a shared module works).

One pass over the folder scores every channel of the layer at once, so the cache (one ``.npz`` per folder
contents, model, weights and layer, under ``$CNN_EXPLORER_CACHE_DIR/top9`` or ``~/.cache/cnn-explorer/top9``)
answers any channel of that layer afterwards. The pass keeps each channel's weakest activation too (its
minimum and where), so that the microscope (``atlas.py``, every channel's top-k and bottom-k images) is this
same pass and this same cache: top-9 is its one-channel, top-only case. The folder's contents are its image files' names, sizes and
modification times; the weights are a fingerprint of the parameters' values. Writes are atomic (a temporary
file moved into place; those of interrupted writes are removed once an hour old); a cache file that cannot be
read or does not match is ignored and recomputed, and a cache that cannot be written is one warning.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from cnn_explorer.models.analysis.cache import remove_stale_partials, warn_once
from cnn_explorer.models.lab.activations import LabModel, find_node, require_map
from cnn_explorer.models.lab.attribution import _CallCatcher, project, signed_to_uint8
from cnn_explorer.models.lab.errors import LabError
from cnn_explorer.models.lab.fields import Box, field_box
from cnn_explorer.models.lab.images import MAX_FOLDER_IMAGES, ImageError, list_images, open_image
from cnn_explorer.models.lab.kernels import module_of

Progress = Callable[[int, int], None]
CACHE_FORMAT = 2  # 2: minima and their positions too (the microscope's bottom-k)


def cache_dir() -> Path:
    env = os.environ.get("CNN_EXPLORER_CACHE_DIR")
    base = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cnn-explorer"
    return base / "top9"


def weights_fingerprint(model: nn.Module) -> str:
    """A digest of every parameter and buffer: shape, sum, and the first and last values (fast, and any
    training or another file changes it)."""
    digest = hashlib.blake2b(digest_size=16)
    with torch.no_grad():
        for name, tensor in list(model.state_dict().items()):
            flat = tensor.detach().flatten().float().cpu()
            digest.update(name.encode())
            digest.update(str(tuple(tensor.shape)).encode())
            if flat.numel():
                digest.update(np.asarray([float(flat.sum()), float(flat.abs().sum())]).tobytes())
                digest.update(flat[:16].numpy().tobytes())
                digest.update(flat[-16:].numpy().tobytes())
    return digest.hexdigest()


def folder_fingerprint(paths) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for path in paths:
        stat = path.stat()
        digest.update(f"{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


@dataclass
class Scores:
    """Every channel's strongest and weakest activation in every image of the folder, and where they are."""

    files: list[str]  # names, in the folder's order (unreadable ones excluded)
    maxima: np.ndarray  # N×C float32
    positions: np.ndarray  # N×C int32: flat index y·W + x of the maximum
    map_size: tuple[int, int]  # the layer's H, W
    unreadable: list[str]  # "name: why"
    minima: np.ndarray  # N×C float32
    min_positions: np.ndarray  # N×C int32


@dataclass
class Patch:
    file: str
    score: float
    unit: tuple[int, int, int]
    box: Box  # the receptive field in input pixels, clipped
    image: np.ndarray  # h×w×3 uint8: the input pixels of the field
    projection: np.ndarray  # h×w×3 uint8: the deconvnet projection of the unit, same crop


@dataclass
class Top9Result:
    layer: str
    channel: int
    patches: list[Patch]
    images: int  # images scored
    skipped: int  # image files beyond the folder limit
    unreadable: list[str]
    cached: bool
    seconds: float
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"method": "top9", "layer": self.layer, "channel": self.channel, "images": self.images,
                "skipped": self.skipped, "unreadable": len(self.unreadable), "cached": self.cached,
                "seconds": round(self.seconds, 3),
                "patches": [{"file": p.file, "score": p.score, "unit": list(p.unit), "box": p.box.to_dict()}
                            for p in self.patches]}


def _load(path: Path, files: list[str], channels: int) -> Scores | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            if int(data["format"]) != CACHE_FORMAT:
                return None
            scores = Scores(list(data["files"].tolist()), data["maxima"].astype(np.float32),
                            data["positions"].astype(np.int32), tuple(int(v) for v in data["map_size"]),
                            list(data["unreadable"].tolist()), data["minima"].astype(np.float32),
                            data["min_positions"].astype(np.int32))
    except Exception:  # missing, truncated, not an npz, keys missing: recompute
        return None
    n = len(scores.files)
    if any(a.shape != (n, channels) for a in (scores.maxima, scores.positions, scores.minima, scores.min_positions)) \
            or not set(scores.files) <= set(files):
        return None
    return scores


def _save(path: Path, scores: Scores) -> None:
    save_npz(path, format=np.int64(CACHE_FORMAT), files=np.asarray(scores.files, dtype=str), maxima=scores.maxima,
             positions=scores.positions, map_size=np.asarray(scores.map_size),
             unreadable=np.asarray(scores.unreadable, dtype=str), minima=scores.minima,
             min_positions=scores.min_positions)


def save_npz(path: Path, compressed: bool = False, **arrays) -> None:
    """Write ``arrays`` to ``path`` atomically (a temporary file moved into place: a reader never sees half an
    entry); the temporary files of interrupted writes, an hour old, are removed afterwards."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=path.stem, suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            (np.savez_compressed if compressed else np.savez)(out, **arrays)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    remove_stale_partials(path.parent)


def score_folder(lab: LabModel, paths, layer: str, batch_size: int = 16,
                 progress: Progress | None = None) -> Scores:
    """One pass over the images: each channel's maximum and minimum over positions, per image."""
    batch_size = min(batch_size, lab.max_batch)
    node = None
    module = None
    catcher = None
    files, maxima, positions, minima, min_positions, unreadable = [], [], [], [], [], []
    map_size = (0, 0)
    total = len(paths)
    try:
        for first in range(0, total, batch_size):
            tensors, names = [], []
            for path in paths[first:first + batch_size]:
                try:
                    prepared = lab.prepare(open_image(path))
                except ImageError as error:
                    unreadable.append(f"{path.name}: {error}")
                    continue
                if node is None:
                    node = find_node(lab.graph(prepared), layer)
                    require_map(node)
                    if node.kind != "module":
                        raise LabError(f"{node.name} is a functional operation; top-9 hooks module layers")
                    module = module_of(lab.model, node.scope)
                    call = int(node.name.split(":")[1]) if ":" in node.name else 0
                    catcher = _CallCatcher(module, call)
                    map_size = tuple(node.output_shape[2:])
                tensors.append(prepared.tensor)
                names.append(path.name)
            if tensors:
                same = all(t.shape == tensors[0].shape for t in tensors)
                groups = [torch.cat(tensors)] if same else [t for t in tensors]  # detectors: sizes differ
                outs = []
                with torch.no_grad():
                    for batch in groups:
                        catcher.reset()
                        lab.model(batch.to(lab.device))
                        outs.append(catcher.value.float().cpu())
                values = torch.cat(outs) if same else torch.cat([o for o in outs])
                flat = values.flatten(2)  # N×C×(H·W)
                best = flat.max(2)
                maxima.append(best.values.numpy())
                positions.append(best.indices.to(torch.int32).numpy())
                worst = flat.min(2)
                minima.append(worst.values.numpy())
                min_positions.append(worst.indices.to(torch.int32).numpy())
                files.extend(names)
            if progress:
                progress(min(first + batch_size, total), total)
    finally:
        if catcher is not None:
            catcher.handle.remove()
    if not files:
        raise ImageError(f"none of the {total} images could be read ({unreadable[0] if unreadable else ''})")
    return Scores(files, np.concatenate(maxima).astype(np.float32), np.concatenate(positions).astype(np.int32),
                  map_size, unreadable, np.concatenate(minima).astype(np.float32),
                  np.concatenate(min_positions).astype(np.int32))


@dataclass
class FolderScores:
    """``Scores`` of a folder for a layer, whether they came from the cache, and the folder's listing."""

    scores: Scores
    cached: bool
    listing: object  # images.Listing
    field: object  # the layer's receptive field (fields.Field)
    layer: str  # the layer's code name
    cache_file: Path | None = None  # the scores' cache entry (None without the cache): the microscope's
    #                                 crops and optimized images sit beside it, under the same key
    weights: str = ""  # the weights' fingerprint (weights_fingerprint)


def folder_scores(lab: LabModel, folder: str | os.PathLike, layer: str, batch_size: int = 16,
                  progress: Progress | None = None, use_cache: bool = True, cache_root: Path | None = None,
                  limit: int = MAX_FOLDER_IMAGES) -> FolderScores:
    """Every channel of ``layer`` scored over ``folder``: one batched pass, or the cache of an earlier one.
    ``progress(done, total)`` is called per batch of images; raise in it to cancel (nothing is cached)."""
    listing = list_images(folder, limit)
    paths = list(listing.paths)
    # The layer, resolved by the graph of the first readable image (a lecture name and a code name are one
    # cache entry), and its channel count.
    first_image = None
    for path in paths:
        try:
            first_image = lab.prepare(open_image(path))
            break
        except ImageError:
            continue
    node = None
    if first_image is not None:
        node = find_node(lab.graph(first_image), layer)
        require_map(node)
        layer = node.name
    weights = weights_fingerprint(lab.model)
    key = hashlib.blake2b(digest_size=20)
    for part in (lab.entry.name, lab.loaded.weights.label, weights, layer,
                 folder_fingerprint(paths), str(Path(folder).resolve())):
        key.update(part.encode() + b"\n")
    cache_file = (cache_root or cache_dir()) / f"{key.hexdigest()}.npz"
    names = [p.name for p in paths]
    scores = _load(cache_file, names, node.output_shape[1]) if use_cache and node is not None else None
    cached = scores is not None
    if scores is None:
        scores = score_folder(lab, paths, layer, batch_size, progress)
        if use_cache:
            try:
                _save(cache_file, scores)
            except OSError as error:  # a read-only cache, or one that is a file: it costs time, not results
                warn_once(f"top9:{cache_file.parent}", "cannot write the top-9 cache in %s (%s); going on without it",
                          cache_file.parent, error.strerror or error)
    elif progress:
        progress(len(paths), len(paths))
    return FolderScores(scores, cached, listing, node.receptive_field, layer, cache_file if use_cache else None,
                        weights)


def crop(lab: LabModel, folder: str | os.PathLike, name: str, field, position: tuple[int, int]):
    """(the prepared image ``name`` of ``folder``, the receptive field of ``position`` in it, the field's
    input pixels h×w×3 uint8)."""
    prepared = lab.prepare(open_image(Path(folder) / name))
    _, box = field_box(field, position, prepared.size)
    return prepared, box, np.ascontiguousarray(prepared.display[box.top:box.bottom, box.left:box.right])


def top9(lab: LabModel, folder: str | os.PathLike, layer: str, channel: int, k: int = 9, batch_size: int = 16,
         progress: Progress | None = None, use_cache: bool = True, cache_root: Path | None = None,
         limit: int = MAX_FOLDER_IMAGES) -> Top9Result:
    """The ``k`` images of ``folder`` whose ``channel`` of ``layer`` responds most (see the module's doc).
    ``progress(done, total)`` is called per batch of images; raise in it to cancel."""
    start = time.perf_counter()
    found = folder_scores(lab, folder, layer, batch_size, progress, use_cache, cache_root, limit)
    scores, cached, listing = found.scores, found.cached, found.listing
    channels = scores.maxima.shape[1]
    if not 0 <= channel < channels:
        raise LabError(f"channel {channel} is outside {layer}'s {channels} channels")
    order = np.argsort(-scores.maxima[:, channel], kind="stable")[:k]
    patches = []
    width = scores.map_size[1]
    for index in order:
        name = scores.files[index]
        y, x = divmod(int(scores.positions[index, channel]), width)
        prepared, box, pixels = crop(lab, folder, name, found.field, (y, x))
        projection = project(lab, prepared, layer, (channel, y, x), "deconv")
        picture = signed_to_uint8(projection.attribution.transpose(1, 2, 0)[box.top:box.bottom, box.left:box.right])
        if picture.shape[2] == 1:
            picture = np.repeat(picture, 3, axis=2)
        patches.append(Patch(name, float(scores.maxima[index, channel]), (channel, y, x), box,
                             pixels, np.ascontiguousarray(picture)))
    notes = [listing.message] if listing.skipped else []
    return Top9Result(layer, channel, patches, len(scores.files), listing.skipped, scores.unreadable, cached,
                      time.perf_counter() - start, notes)
