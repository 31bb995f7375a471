"""The lab's commands for ``cnn-explorer``: ``predict`` and ``visualize`` (wired into app/cli.py).

    cnn-explorer predict MODEL --image IMG|DIR [--weights W] [--json]
    cnn-explorer visualize MODEL --image IMG --method featuremaps|kernels|rf|erf|deconv|guided|occlusion|gradcam|top9
                           |gradcampp|scorecam|eigencam|layercam|hirescam|ig|smoothgrad
                           [--layer L] [--unit C,Y,X] [--class NAME|INDEX] [--images DIR] [--weights W] --out FILE
                           [--json]
    cnn-explorer visualize MODEL --method optimize (--class NAME|INDEX | --layer L [--unit C[,Y,X]])
                           [--steps N] [--negative] [--diversity K] --out FILE [--json]
    cnn-explorer visualize DETECTOR --image IMG --method boxcam [--box N] [--threshold S] --out FILE
    cnn-explorer visualize SEGMENTER --image IMG --method segcam [--class NAME|INDEX] --out FILE
    cnn-explorer visualize SSD|YOLO --image IMG --method grid [--unit S[,Y,X] (SSD: scale, cell; YOLO: 0,Y,X or N)]
                           --out FILE

``--box N`` counts the boxes as ``cnn-explorer detect`` lists them at the same ``--threshold`` (0 the best).

The class maps (gradcam and after) write the map to ``.npy`` and its ROAD faithfulness score to ``--json``
(``faithfulness.score``, −1…+1, higher = more faithful).

``visualize`` writes a picture ready for a slide (``.png`` or ``.svg``, drawn with matplotlib's Agg canvas, no
Qt) or the raw array (``.npy``); for ``optimize`` a ``.png`` is the optimized input image itself (the model's
input size and colour mode: ``predict`` reads it back); ``--json`` prints one line describing what was drawn.
Bad input raises ``LabError`` / ``ImageError`` (both ``ValueError``) with a one-line message; cli.py prints it
and exits 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

# The lab's tools (models/lab/tools.py: TOOLS), named here so that --help imports no torch (a test keeps
# the two equal).
METHODS = ("featuremaps", "kernels", "rf", "erf", "deconv", "guided", "occlusion", "gradcam", "top9",
           "gradcampp", "scorecam", "eigencam", "layercam", "hirescam", "ig", "smoothgrad", "optimize", "boxcam",
           "segcam", "grid")
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
    predict.add_argument("--image", required=True, metavar="IMG|DIR", type=nonempty)
    predict.add_argument("--weights", metavar="W", type=weights_option, default="pretrained",
                         help="'pretrained' (default), 'random' or a weights file")
    predict.add_argument("--top", type=int, default=5, metavar="K", help="how many classes (default 5)")
    predict.add_argument("--json", action="store_true", help="one JSON object per image")

    visualize = subparsers.add_parser("visualize",
                                      help="a look inside: feature maps, kernels, fields, ZFNet tools, class maps")
    visualize.add_argument("model")
    visualize.add_argument("--image", metavar="IMG", type=nonempty, help="the image (every method but optimize)")
    visualize.add_argument("--method", required=True, choices=METHODS)
    visualize.add_argument("--layer", metavar="L", type=nonempty,
                           help="a layer name as in 'cnn-explorer summary' (features.0 …)")
    visualize.add_argument("--unit", type=_unit, metavar="C,Y,X", help="a unit of the layer (top9: its channel C)")
    visualize.add_argument("--images", metavar="DIR", type=nonempty, help="the folder top9 searches")
    visualize.add_argument("--weights", metavar="W", type=weights_option, default="pretrained",
                           help="'pretrained' (default), 'random' or a weights file")
    visualize.add_argument("--class", "--target", dest="target_class", metavar="NAME|INDEX", type=nonempty,
                           help="the class a map explains, by name or index (default: the top-1)")
    visualize.add_argument("--occluder", type=int, default=32, metavar="PX", help="occlusion: square size (32)")
    visualize.add_argument("--stride", type=int, default=8, metavar="PX", help="occlusion: stride (8)")
    visualize.add_argument("--fill", type=int, default=128, metavar="LEVEL",
                           help="occlusion: the square's grey level, 0..255 (128)")
    visualize.add_argument("--steps", type=int, metavar="N", help="optimize: steps of gradient ascent (128)")
    visualize.add_argument("--negative", action="store_true", help="optimize: drive the objective down instead")
    visualize.add_argument("--diversity", type=int, default=1, metavar="K",
                           help="optimize: K images at once, pushed apart (1)")
    visualize.add_argument("--box", type=int, default=0, metavar="N",
                           help="boxcam: which box, counted as 'detect' lists them (0: the best)")
    visualize.add_argument("--threshold", type=float, default=0.5, metavar="S",
                           help="boxcam: the score threshold of the boxes, as detect's (0.5)")
    visualize.add_argument("--out", required=True, metavar="FILE", help="FILE.png, FILE.svg or FILE.npy")
    visualize.add_argument("--json", action="store_true", help="print one line describing what was drawn")


def _load(args):
    from cnn_explorer.models.lab.activations import LabModel
    from cnn_explorer.models.zoo.loader import load_model

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


# -- visualize -----------------------------------------------------------------------------------------------

def visualize(args) -> int:
    """One of the lab's tools (``models/lab/tools.py``, the window's too) to a picture or an array."""
    import numpy as np

    from cnn_explorer.app.cli import output_file
    from cnn_explorer.models.lab.errors import LabError
    from cnn_explorer.models.lab.images import open_image
    from cnn_explorer.models.lab.pictures import compose
    from cnn_explorer.models.lab.tools import TOOLS, Options
    from cnn_explorer.widgets.common.files import staged_output

    out = output_file(args.out, "--out", OUT_SUFFIXES)  # before any work: a target that cannot be written
    tool = TOOLS[args.method]
    if args.method == "top9" and not args.images:
        raise LabError("top9 needs --images DIR, the folder to search")
    optimizing = args.method == "optimize"
    if not args.image and not optimizing:
        raise LabError(f"{args.method} needs --image IMG")
    if optimizing:
        _check_optimize(args)
    unit = tuple(args.unit) if args.unit else None
    if unit is not None and len(unit) == 1 and tool.needs_unit:
        raise LabError(f"{args.method} needs a whole unit: --unit C,Y,X")
    image = open_image(args.image) if args.image else None
    lab = _load(args)
    if image is None:  # optimize starts from noise: a grey image gives the input's size and normalization
        h, w = lab.entry.input_size
        image = np.full((h, w, 3), 128, np.uint8)
    prepared = lab.prepare(image)
    target = lab.class_index(args.target_class) if args.target_class is not None else None
    if not 0.0 <= args.threshold <= 1.0:
        raise LabError(f"--threshold must be 0 to 1, not {args.threshold:g}")
    picture = tool.run(lab, prepared, Options(layer=args.layer, unit=unit, target=target, occluder=args.occluder,
                                              stride=args.stride, fill=args.fill, images=args.images, image=image,
                                              box=args.box, threshold=args.threshold,
                                              steps=args.steps, negative=args.negative, diversity=args.diversity))
    describe: dict = {"model": lab.entry.name, "weights": lab.loaded.weights.label, "method": args.method,
                      "image": str(args.image) if args.image else None, **picture.describe}
    if args.method in ("occlusion", "optimize"):
        describe.update(shape=list(np.shape(picture.array)))
    elif args.method not in ("rf", "top9"):
        values = np.asarray(picture.array, dtype=np.float64)
        describe.update(shape=list(np.shape(values)), min=float(np.nanmin(values)), max=float(np.nanmax(values)))
    with staged_output(out) as target:
        if out.suffix.lower() == ".npy":
            with open(target, "wb") as file:  # np.save on a name would add ".npy" to "x.NPY"
                np.save(file, np.asarray(picture.array))
        elif optimizing and out.suffix.lower() == ".png":
            describe["files"] = _save_optimized(picture.array, target, out)
        else:
            compose(picture.title, picture.panels, target, out.suffix[1:].lower(), picture.scales)
    _note_weights(lab)
    describe["out"] = str(out)
    if args.json:
        print(json.dumps(describe, default=_plain))
    return 0


def _check_optimize(args) -> None:
    from cnn_explorer.models.lab.errors import LabError

    if args.target_class is None and not args.layer:
        raise LabError("optimize needs --class NAME|INDEX, or --layer L (with --unit C for a channel, C,Y,X for a "
                       "neuron; the layer's mean activation without)")
    if args.target_class is not None and (args.layer or args.unit):
        raise LabError("optimize takes --class, or --layer with --unit, not both")
    if args.steps is not None and not 1 <= args.steps <= 100_000:
        raise LabError(f"--steps must be 1 … 100000, not {args.steps}")
    if not 1 <= args.diversity <= 64:
        raise LabError(f"--diversity must be 1 … 64 images, not {args.diversity}")


def _save_optimized(array, target, out: Path) -> list[str]:
    """The optimized image(s) as they are, 8-bit, grey for a 1-channel net: the first at ``out`` (written to
    ``target``, staged), the others beside it as ``NAME_2.png`` …; the files written."""
    import numpy as np
    from PIL import Image

    from cnn_explorer.models.lab.optimize import to_uint8

    pixels = np.asarray(array)
    pixels = pixels[None] if pixels.ndim == 3 else pixels
    files = []
    for i, one in enumerate(to_uint8(pixels)):
        image = Image.fromarray(one[:, :, 0], "L") if pixels.shape[-1] == 1 else Image.fromarray(one, "RGB")
        path = target if i == 0 else out.with_name(f"{out.stem}_{i + 1}{out.suffix}")
        image.save(path, format="PNG")
        files.append(str(out if i == 0 else path))
    return files


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
