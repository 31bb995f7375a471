"""``cnn-explorer atlas``: the microscope of a layer over a folder (models/lab/atlas.py).

    cnn-explorer atlas MODEL --images DIR --layer L [--channel C] [--k K] [--no-bottom] [--no-optimize]
                       [--steps N] [--weights W] [--out F.png|F.npy] [--json]

The picture has a row per channel (or the one ``--channel``): its optimized image (the channel objective,
``--steps`` of ``optimize``; ``--no-optimize`` leaves it out, much faster), its top-k examples, then its
bottom-k, each cropped to the receptive field of its position. ``.npy`` holds the same picture as an array.
``--json`` prints one line: every channel's examples (file, score, unit, box). The folder's pass is cached
with top-9's. Bad input raises ``LabError`` / ``ImageError`` (one line, exit 2).
"""

from __future__ import annotations

import json
import sys

OUT_SUFFIXES = (".png", ".npy")


def add_commands(subparsers) -> None:
    from cnn_explorer.app.cli import nonempty, weights_option

    atlas = subparsers.add_parser("atlas", help="a microscope: every channel's strongest and weakest images of a "
                                                "folder, beside its optimized image")
    atlas.add_argument("model")
    atlas.add_argument("--images", required=True, metavar="DIR", type=nonempty, help="the folder of images")
    atlas.add_argument("--layer", required=True, metavar="L", type=nonempty,
                       help="a layer name as in 'cnn-explorer summary' (features.0 …)")
    atlas.add_argument("--channel", type=int, metavar="C", help="one channel (default: every channel)")
    atlas.add_argument("--k", type=int, default=9, metavar="K", help="examples per channel and side (9)")
    atlas.add_argument("--no-bottom", action="store_true", help="only the top-k, not the bottom-k")
    atlas.add_argument("--no-optimize", action="store_true", help="no optimized image (much faster)")
    atlas.add_argument("--steps", type=int, default=64, metavar="N", help="optimization steps per channel (64)")
    atlas.add_argument("--weights", metavar="W", type=weights_option, default="pretrained",
                       help="'pretrained' (default), 'random' or a weights file")
    atlas.add_argument("--out", metavar="FILE", help="FILE.png (the picture) or FILE.npy (it as an array)")
    atlas.add_argument("--json", action="store_true", help="print one line: each channel's examples")


def _progress(what: str):
    def report(done: int, total: int) -> None:
        if sys.stderr.isatty():
            print(f"\r{what}: {done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True)
    return report


def atlas(args) -> int:
    from pathlib import Path

    from cnn_explorer.app.cli import output_file
    from cnn_explorer.models.lab.errors import LabError

    out = output_file(args.out, "--out", OUT_SUFFIXES) if args.out else None  # before any work
    if not Path(args.images).is_dir():
        raise LabError(f"--images must be a folder of images: {args.images}")
    if args.channel is not None and args.channel < 0:
        raise LabError(f"--channel must be 0 or more, not {args.channel}")
    if not args.no_optimize and not 1 <= args.steps <= 10_000:
        raise LabError(f"--steps must be 1 … 10000, not {args.steps}")
    if not out and not args.json:
        raise LabError("atlas needs --out FILE.png|FILE.npy or --json (or both)")

    import numpy as np

    from cnn_explorer.models.lab.activations import LabModel
    from cnn_explorer.models.lab.atlas import atlas as microscope, optimize_channels, sheet
    from cnn_explorer.models.zoo.loader import load_model
    from cnn_explorer.widgets.common.files import staged_output

    lab = LabModel(load_model(args.model, weights=args.weights))
    result = microscope(lab, args.images, args.layer, None if args.channel is None else [args.channel], k=args.k,
                        bottom=not args.no_bottom, progress=_progress("scoring images"))
    if not args.no_optimize and out is not None:
        optimize_channels(lab, result, steps=args.steps, progress=_progress("optimizing channels"))
    describe = {"model": lab.entry.name, "weights": lab.loaded.weights.label, **result.to_json()}
    if out is not None:
        picture = sheet(result)
        with staged_output(out) as target:
            if out.suffix.lower() == ".npy":
                with open(target, "wb") as file:
                    np.save(file, picture)
            else:
                from PIL import Image

                Image.fromarray(picture).save(target, format="PNG")
        describe["out"] = str(out)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    if lab.loaded.weights.label == "random":
        print(f"note: {lab.loaded.weights.message}", file=sys.stderr)
    if args.json:
        print(json.dumps(describe))
    return 0


HANDLERS = {"atlas": atlas}
