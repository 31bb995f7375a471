"""The lab's commands for ``cnn-explorer``: ``predict`` and ``visualize`` (wired into app/cli.py).

    cnn-explorer predict MODEL --image IMG|DIR [--weights W] [--json]
    cnn-explorer visualize MODEL --image IMG --method featuremaps|kernels|rf|erf|deconv|guided|occlusion|gradcam|top9
                           [--layer L] [--unit C,Y,X] [--images DIR] [--weights W] --out FILE [--json]

``visualize`` writes a picture ready for a slide (``.png`` or ``.svg``, drawn with matplotlib's Agg canvas,
no Qt) or the raw array (``.npy``); ``--json`` prints one line describing what was drawn. Bad input raises
``LabError`` / ``ImageError`` (both ``ValueError``) with a one-line message; cli.py prints it and exits 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

METHODS = ("featuremaps", "kernels", "rf", "erf", "deconv", "guided", "occlusion", "gradcam", "top9")
OUT_SUFFIXES = (".png", ".svg", ".npy")


def _unit(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.replace(" ", "").split(","))
    except ValueError:
        values = ()
    if len(values) not in (1, 3) or any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"--unit wants C,Y,X (or C), non-negative integers, not {text!r}")
    return values


def add_commands(subparsers) -> None:
    """Add ``predict`` and ``visualize`` to the ``cnn-explorer`` sub-command parser."""
    from cnn_explorer.app.cli import nonempty, weights_option

    predict = subparsers.add_parser("predict", help="top-5 classes of an image, or of every image in a folder")
    predict.add_argument("model")
    predict.add_argument("--image", required=True, metavar="IMG|DIR")
    predict.add_argument("--weights", metavar="W", type=weights_option, default="pretrained",
                         help="'pretrained' (default), 'random' or a weights file")
    predict.add_argument("--top", type=int, default=5, metavar="K", help="how many classes (default 5)")
    predict.add_argument("--json", action="store_true", help="one JSON object per image")

    visualize = subparsers.add_parser("visualize", help="a look inside: feature maps, kernels, fields, ZFNet tools")
    visualize.add_argument("model")
    visualize.add_argument("--image", required=True, metavar="IMG")
    visualize.add_argument("--method", required=True, choices=METHODS)
    visualize.add_argument("--layer", metavar="L", type=nonempty,
                           help="a layer name as in 'cnn-explorer summary' (features.0 …)")
    visualize.add_argument("--unit", type=_unit, metavar="C,Y,X", help="a unit of the layer (top9: its channel C)")
    visualize.add_argument("--images", metavar="DIR", help="the folder top9 searches")
    visualize.add_argument("--weights", metavar="W", type=weights_option, default="pretrained",
                           help="'pretrained' (default), 'random' or a weights file")
    visualize.add_argument("--target", type=int, metavar="CLASS", help="occlusion/gradcam: the class (default: top-1)")
    visualize.add_argument("--occluder", type=int, default=32, metavar="PX", help="occlusion: square size (32)")
    visualize.add_argument("--stride", type=int, default=8, metavar="PX", help="occlusion: stride (8)")
    visualize.add_argument("--fill", type=int, default=128, metavar="LEVEL",
                           help="occlusion: the square's grey level, 0..255 (128)")
    visualize.add_argument("--out", required=True, metavar="FILE", help="FILE.png, FILE.svg or FILE.npy")
    visualize.add_argument("--json", action="store_true", help="print one line describing what was drawn")


def _load(args):
    from cnn_explorer.models.lab.activations import LabModel
    from cnn_explorer.models.loader import load_model

    return LabModel(load_model(args.model, weights=args.weights))


def _note_weights(lab) -> None:
    """Say that the weights are random, once the work has succeeded (a failure is one line alone)."""
    if lab.loaded.weights.label == "random":
        print(f"note: {lab.loaded.weights.message}", file=sys.stderr)


# -- predict -------------------------------------------------------------------------------------------------

def predict(args) -> int:
    from cnn_explorer.models.lab.errors import LabError
    from cnn_explorer.models.lab.images import ImageError, list_images, open_image

    source = Path(args.image)
    if not source.exists():
        raise ImageError(f"no such image or folder: {source}")
    if args.top < 1:
        raise LabError("--top must be at least 1")
    paths, notes = [source], []
    if source.is_dir():
        listing = list_images(source)
        paths = list(listing.paths)
        if listing.skipped:
            notes.append(f"note: {listing.message}")
    lab = _load(args)
    if not lab.is_classifier:
        raise LabError(f"{lab.entry.name} is a {lab.entry.task.replace('_', ' ')} model: predict ranks classes "
                       "of a classifier")
    failures = 0
    for path in paths:
        try:
            predictions = lab.predict(open_image(path), k=args.top)
        except ImageError as error:
            if len(paths) == 1:
                raise
            failures += 1
            line = json.dumps({"image": str(path), "error": str(error)}) if args.json else f"{path}: error: {error}"
            print(line, flush=True)
            continue
        if args.json:
            print(json.dumps({"image": str(path), "model": lab.entry.name, "weights": lab.loaded.weights.label,
                              "top": [{"index": p.index, "name": p.name, "probability": round(p.probability, 6)}
                                      for p in predictions]}), flush=True)
        else:
            print(f"{path}: " + " | ".join(f"{p.name} {100 * p.probability:.1f}%" for p in predictions), flush=True)
    if failures == len(paths):
        raise ImageError(f"none of the {len(paths)} images in {source} could be read")
    for note in notes:  # after the work: a failure is its one line alone
        print(note, file=sys.stderr)
    _note_weights(lab)
    return 0


# -- pictures ------------------------------------------------------------------------------------------------

def _save_figure(panels: list[dict], out: Path, title: str) -> None:
    """Panels side by side: each {"image": H×W(×3) array, "title": str, "cmap": name, "box": (t, l, b, r) or
    list of them, "colorbar": bool}."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    n = len(panels)
    fig = Figure(figsize=(4.2 * n, 4.8), dpi=150, facecolor="white")
    axes = fig.subplots(1, n, squeeze=False)[0]
    for ax, panel in zip(axes, panels):
        image = panel["image"]
        shown = ax.imshow(image, cmap=panel.get("cmap", "gray" if image.ndim == 2 else None),
                          interpolation="nearest", vmin=panel.get("vmin"), vmax=panel.get("vmax"))
        ax.set_title(panel.get("title", ""), fontsize=12)
        ax.set_xticks([])
        ax.set_yticks([])
        boxes = panel.get("boxes", [])
        for box, colour in boxes:
            top, left, bottom, right = box
            ax.add_patch(Rectangle((left - 0.5, top - 0.5), right - left, bottom - top, fill=False,
                                   edgecolor=colour, linewidth=2))
        if panel.get("colorbar"):
            fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
    fig.suptitle(title, fontsize=14)
    fig.tight_layout()
    fig.savefig(out, format=out.suffix[1:].lower(), facecolor="white")


def _channel_mosaic(fmap: np.ndarray) -> np.ndarray:
    """All channels of a C×H×W map, each scaled to its own range, in one image (NaN gaps)."""
    import numpy as np

    from cnn_explorer.models.lab.kernels import tile_mosaic

    low = fmap.min(axis=(1, 2), keepdims=True)
    span = fmap.max(axis=(1, 2), keepdims=True) - low
    scaled = np.where(span > 0, (fmap - low) / np.where(span > 0, span, 1), 0.0).astype(np.float32)
    gap = 1 if fmap.shape[1] >= 8 else 0
    return tile_mosaic(scaled, gap=gap, fill=np.nan)


def _overlay(display: np.ndarray, heat: np.ndarray) -> np.ndarray:
    import numpy as np

    from matplotlib import colormaps

    top = float(heat.max())
    norm = heat / top if top > 0 else heat
    coloured = colormaps["jet"](norm)[:, :, :3]
    return np.clip(0.55 * display / 255.0 + 0.45 * coloured, 0, 1)


# -- visualize -----------------------------------------------------------------------------------------------

def visualize(args) -> int:
    import numpy as np

    from cnn_explorer.app.cli import output_file
    from cnn_explorer.models.lab import attribution, fields, kernels
    from cnn_explorer.widgets.files import staged_output
    from cnn_explorer.models.lab.activations import default_map_layer, find_node, require_map
    from cnn_explorer.models.lab.errors import LabError
    from cnn_explorer.models.lab.images import open_image

    out = output_file(args.out, "--out", OUT_SUFFIXES)  # before any work: a target that cannot be written
    if args.method == "top9" and not args.images:
        raise LabError("top9 needs --images DIR, the folder to search")
    method = args.method
    unit = tuple(args.unit) if args.unit else None
    if unit is not None and len(unit) == 1 and method not in ("top9", "featuremaps"):
        raise LabError(f"{method} needs a whole unit: --unit C,Y,X")
    image = open_image(args.image)
    lab = _load(args)
    prepared = lab.prepare(image)
    graph = lab.graph(prepared)
    name = lab.entry.name

    def layer_or(default):
        """The layer asked for, else ``default()`` (looked up only then: a model may have no default)."""
        return find_node(graph, args.layer).name if args.layer else default()

    def unit_or_centre(layer):
        node = find_node(graph, layer)
        require_map(node)
        if unit is not None:
            return unit
        _, _, h, w = node.output_shape
        return (0, h // 2, w // 2)

    describe: dict = {"model": name, "weights": lab.loaded.weights.label, "method": method, "image": str(args.image)}
    title = f"{name} — {method}"
    if method == "featuremaps":
        layer = layer_or(lambda: lab.map_layers(prepared)[0])
        array = lab.feature_map(prepared, layer)
        panels = [{"image": prepared.display, "title": "input"},
                  {"image": _channel_mosaic(array), "title": f"{layer}: {array.shape[0]} maps", "cmap": "viridis"}]
        describe.update(layer=layer)
    elif method == "kernels":
        layer = args.layer.split(":")[0] if args.layer else kernels.first_conv(lab.model)
        weight = kernels.kernel_weights(lab.model, layer)
        array = weight.numpy()
        if array.shape[1] in (1, 3):
            picture = kernels.first_layer_tiles(lab.model, layer).mosaic(zoom=max(1, 24 // array.shape[2]))
            panels = [{"image": picture, "title": f"{layer}: {array.shape[0]} filters {array.shape[2]}×{array.shape[3]}"}]
        else:
            page = kernels.kernel_grid(lab.model, layer)
            panels = [{"image": page.mosaic(zoom=max(1, 12 // array.shape[2])),
                       "title": f"{layer}: out {page.out_range[0]}–{page.out_range[1] - 1} × "
                                f"in {page.in_range[0]}–{page.in_range[1] - 1} of {array.shape[0]}×{array.shape[1]}"}]
        describe.update(layer=layer)
    elif method == "rf":
        layer = layer_or(lambda: default_map_layer(graph).name)
        result = fields.receptive_field(lab, prepared, layer, unit_or_centre(layer))
        array = np.asarray(result.clipped.to_list(), dtype=np.int64)
        panels = [{"image": prepared.display, "title": f"{layer} unit {result.unit}",
                   "boxes": [(result.clipped.to_list(), "red")]}]
        describe.update(result.to_json())
    elif method == "erf":
        layer = layer_or(lambda: default_map_layer(graph).name)
        result = fields.effective_receptive_field(lab, prepared, layer, unit_or_centre(layer))
        array = result.heatmap
        boxes = [(result.theoretical.to_list(), "red")]
        if result.support:
            boxes.append((result.support.to_list(), "cyan"))
        panels = [{"image": prepared.display, "title": "input (red: theoretical field)", "boxes": boxes[:1]},
                  {"image": array, "title": "|∂unit/∂input| (cyan: support)", "cmap": "magma", "boxes": boxes,
                   "colorbar": True}]
        describe.update(result.to_json())
    elif method in ("deconv", "guided"):
        layer = layer_or(lambda: default_map_layer(graph).name)
        result = attribution.project(lab, prepared, layer, unit, method)
        array = result.attribution
        panels = [{"image": prepared.display, "title": "input"},
                  {"image": result.picture, "title": f"{method}: {layer} unit {result.unit}"}]
        describe.update(result.to_json())
    elif method == "occlusion":
        result = attribution.occlusion(lab, prepared, size=args.occluder, stride=args.stride, target=args.target,
                                       layer=args.layer, fill=args.fill)
        array = np.stack([result.probability, result.activation])
        extent_note = f"square {result.size}px, stride {result.stride}px"
        panels = [{"image": prepared.display, "title": f"input ({extent_note})"},
                  {"image": result.probability, "title": f"p({result.target_name})", "cmap": "jet", "colorbar": True},
                  {"image": result.activation, "title": f"{result.layer} map {result.channel}", "cmap": "jet",
                   "colorbar": True}]
        describe.update(result.to_json())
    elif method == "gradcam":
        result = attribution.grad_cam(lab, prepared, target=args.target, layer=args.layer)
        array = result.heatmap
        panels = [{"image": prepared.display, "title": "input"},
                  {"image": _overlay(prepared.display, result.heatmap),
                   "title": f"Grad-CAM {result.target_name} ({result.layer})"}]
        describe.update(result.to_json())
    else:  # top9
        from cnn_explorer.models.lab.top9 import top9

        layer = layer_or(lambda: default_map_layer(graph).name)
        channel = unit[0] if unit else lab.strongest_unit(prepared, layer)[0]
        result = top9(lab, args.images, layer, channel)
        size = max(max(p.image.shape[0], p.image.shape[1]) for p in result.patches)
        padded = np.full((2, len(result.patches), size, size, 3), 255, np.uint8)
        for i, p in enumerate(result.patches):
            padded[0, i, :p.image.shape[0], :p.image.shape[1]] = p.image
            padded[1, i, :p.projection.shape[0], :p.projection.shape[1]] = p.projection
        array = padded
        from cnn_explorer.models.lab.kernels import tile_mosaic

        panels = [{"image": tile_mosaic(padded[1], 3, gap=4), "title": "deconvnet projections"},
                  {"image": tile_mosaic(padded[0], 3, gap=4), "title": "image patches"}]
        title = f"{name} — top-9 of {layer} channel {channel}"
        describe.update(result.to_json())
    if method == "occlusion":
        describe.update(shape=list(np.shape(array)), maps=["probability", "activation"])
    elif method not in ("rf", "top9"):
        values = np.asarray(array, dtype=np.float64)
        describe.update(shape=list(np.shape(array)), min=float(np.nanmin(values)), max=float(np.nanmax(values)))
    with staged_output(out) as target:
        if out.suffix.lower() == ".npy":
            with open(target, "wb") as file:  # np.save on a name would add ".npy" to "x.NPY"
                np.save(file, np.asarray(array))
        else:
            _save_figure(panels, target, title)
    _note_weights(lab)
    describe["out"] = str(out)
    if args.json:
        print(json.dumps(describe, default=_plain))
    return 0


def _plain(value):
    import numpy as np

    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, tuple):
        return list(value)
    return str(value)


HANDLERS = {"predict": predict, "visualize": visualize}
