"""The live view's commands for ``cnn-explorer``: ``bench-live`` and ``detect`` (wired into app/cli.py).

    cnn-explorer bench-live --model M --source synthetic|FILE|DIR|INDEX --frames N --device cpu|cuda
                            [--size H W] [--precision fp32|fp16|bf16] [--fps F] [--json]
    cnn-explorer detect MODEL --image IMG|DIR [--weights W] [--json] [--out DIR]

``detect --out DIR`` writes ``NAME.png`` for each image ``NAME.*``; where that name is taken (an input, a file
already there, ``x.png`` of this run for ``x.jpg``) the picture is ``NAME-2.png`` (``-3`` …) instead: nothing is
ever written over, the printed line (or the JSON's ``"out"``) gives the name used, and a note on stderr says so.

Bad input raises ``LiveError`` / ``SourceError`` (``cnn_explorer.models.live.errors``, both ``ValueError``)
with a one-line message; cli.py prints it and exits 2. Only argparse, json and sys are imported here: torch,
numpy and OpenCV come when a command runs.
"""

from __future__ import annotations

import argparse
import json
import sys

PRECISIONS = ("fp32", "fp16", "bf16")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"wants a positive whole number, not {text!r}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"wants a number from 0 to 1, not {text!r}")
    return value


MAX_TIMEOUT = 86_400.0  # a day


def _seconds(text: str) -> float:
    """A time limit: a finite number of seconds above 0 (``inf`` and ``nan`` are refused; a day at most)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (0.0 < value <= MAX_TIMEOUT):  # also False for nan
        raise argparse.ArgumentTypeError(f"wants a number of seconds above 0 and at most {MAX_TIMEOUT:g}, "
                                         f"not {text!r}")
    return value


def add_commands(subparsers) -> None:
    """Add ``bench-live`` and ``detect`` to the ``cnn-explorer`` sub-command parser."""
    from cnn_explorer.app.cli import nonempty

    bench = subparsers.add_parser("bench-live", help="measure the live pipeline: camera, model-only and "
                                                     "pipeline FPS, latency, dropped frames, quality")
    bench.add_argument("--model", required=True, metavar="M", help="a detector, segmenter or classifier of the zoo")
    bench.add_argument("--source", default="synthetic", metavar="synthetic|FILE|DIR|INDEX", type=nonempty,
                       help="the synthetic moving shapes (default), a video file, an image folder or a camera index")
    bench.add_argument("--frames", type=_positive, default=100, metavar="N", help="results to measure (100)")
    bench.add_argument("--device", default="cpu", metavar="cpu|cuda|cuda:N|mps|auto")
    bench.add_argument("--size", nargs=2, type=_positive, metavar=("H", "W"), help="the network's input size")
    bench.add_argument("--precision", choices=PRECISIONS, default="fp32")
    bench.add_argument("--fps", type=float, metavar="F",
                       help="frames a second of the synthetic source (30, a webcam's) or of an image folder (5); 0: "
                            "as fast as the model takes them (no frame dropped: the model is the bound)")
    bench.add_argument("--weights", default="pretrained", metavar="W",
                       help="'pretrained' (default; random when they cannot be had), 'random' or a weights file")
    bench.add_argument("--threshold", type=_fraction, default=0.5, metavar="S", help="score threshold (0.5)")
    bench.add_argument("--timeout", type=_seconds, default=600.0, metavar="SECONDS", help="give up after (600)")
    bench.add_argument("--json", action="store_true", help="one JSON object")

    detect = subparsers.add_parser("detect", help="boxes, labels and scores (or the classes present) of an "
                                                  "image or of every image in a folder")
    detect.add_argument("model")
    detect.add_argument("--image", required=True, metavar="IMG|DIR", type=nonempty)
    detect.add_argument("--weights", default="pretrained", metavar="W",
                        help="'pretrained' (default; random when they cannot be had), 'random' or a weights file")
    detect.add_argument("--threshold", type=_fraction, default=0.5, metavar="S", help="score threshold (0.5)")
    detect.add_argument("--size", nargs=2, type=_positive, metavar=("H", "W"), help="the network's input size")
    detect.add_argument("--device", default="cpu", metavar="cpu|cuda|cuda:N|mps|auto")
    detect.add_argument("--out", metavar="DIR", type=nonempty,
                        help="write the pictures with boxes, masks and labels here")
    detect.add_argument("--json", action="store_true", help="one JSON object per image")


# -- bench-live --------------------------------------------------------------------------------------------

def _check_device(text: str) -> None:
    """A device that is not here is bad input, before any model is built."""
    from cnn_explorer.models.live.predictor import resolve_device

    resolve_device(text)


def _check_size(size, model: str | dict) -> tuple[int, int] | None:
    """An input size out of range (for this model) is bad input, before any thread starts or file is made."""
    from cnn_explorer.models.live.predictor import check_live_size

    return check_live_size(size, model) if size else None


def bench_live(args) -> int:
    from cnn_explorer.models.live.errors import LiveError
    from cnn_explorer.models.live.pipeline import LivePipeline
    from cnn_explorer.models.live.predictor import Predictor
    from cnn_explorer.models.live.sources import open_source
    from cnn_explorer.models.zoo.index import lookup

    facts = lookup(args.model)  # an unknown name: before anything heavy
    if args.frames < 2:
        raise LiveError("--frames must be at least 2")
    if args.fps is not None and not 0 <= args.fps <= 1000:
        raise LiveError(f"--fps must be 0 (as fast as the model takes frames) to 1000, not {args.fps:g}")
    _check_device(args.device)
    size = _check_size(args.size, facts)
    source = open_source(args.source, fps=args.fps or None, realtime=args.fps != 0)

    def make() -> Predictor:  # built in the inference thread, which owns the model
        return Predictor(args.model, device=args.device, precision=args.precision, size=size,
                         weights=args.weights, score_threshold=args.threshold)

    report = LivePipeline(source, make).bench(frames=args.frames, timeout=args.timeout)
    if args.json:
        print(json.dumps(report))
        return 0
    print(format_report(report))
    return 0


def format_report(r: dict) -> str:
    size = "×".join(map(str, r["input_size"]))
    lines = [f"bench-live {r['model']} ({r['weights_note']}), {r['task'].replace('_', ' ')}",
             f"  device        {r['device_name']}, {r['precision']}, input {size}",
             f"  source        {r['source']}, {r['frames']} frames measured",
             f"  camera        {r['camera_fps']:.1f} FPS"]
    if "model_only_fps" in r:
        lines.append(f"  model only    {r['model_only_fps']:.1f} FPS  (the forward pass alone: "
                     f"{r['model_only_ms']:.1f} ms a frame)")
    ratio = f"  ({r['pipeline_vs_model_only']:.2f} × model only)" if "pipeline_vs_model_only" in r else ""
    bound = "  — limited by the source's frame rate" if r.get("bound_by") == "source" else ""
    lines.append(f"  pipeline      {r['pipeline_fps']:.1f} FPS{ratio}{bound}")
    lines.append(f"  latency       p50 {r['latency_p50_ms']:.1f} ms, p95 {r['latency_p95_ms']:.1f} ms "
                 "(capture to result)")
    lines.append(f"  dropped       {r['frames_dropped']} of {r['frames_captured']} frames captured")
    t = r["timings_ms"]
    if t:
        lines.append("  stages        " + ", ".join(f"{k} {v:.1f} ms" for k, v in t.items()))
    q = r.get("quality")
    if q:
        parts = []
        if "recall_at_iou" in q:
            parts.append(f"recall@IoU{q['iou_threshold']:g} {q['recall_at_iou']:.3f}, mean IoU {q['mean_iou']:.3f}")
        if "pixel_iou" in q:
            parts.append(f"pixel IoU {q['pixel_iou']:.3f}")
        note = " (random weights find nothing)" if r["weights"] == "random" else ""
        lines.append(f"  quality       {'; '.join(parts) or '—'} over {q['frames']} frames{note}")
    return "\n".join(lines)


# -- detect ------------------------------------------------------------------------------------------------

def detect(args) -> int:
    from pathlib import Path

    from cnn_explorer.models.lab.images import ImageError, check_image_file, list_images, open_image
    from cnn_explorer.models.zoo.index import lookup

    # Everything that can be checked cheaply is checked before anything is made: the name, the size, the
    # device, the images, the folder for the pictures (with a probe file). The folder itself is made when the
    # first picture is ready, so that a run that fails before leaves nothing behind.
    facts = lookup(args.model)
    size = _check_size(args.size, facts)
    _check_device(args.device)
    source = Path(args.image)
    if not source.exists():
        raise ImageError(f"no such image or folder: {source}")
    paths = [source]
    if source.is_dir():
        listing = list_images(source)
        paths = list(listing.paths)
        if listing.skipped:
            print(f"note: {listing.message}", file=sys.stderr)
    out = _check_out_folder(Path(args.out)) if args.out else None
    # One image: read before the model is built (a damaged file fails at once, with its one line)
    first = None if source.is_dir() else open_image(check_image_file(source))  # a FIFO is refused, never opened
    from cnn_explorer.models.live.predictor import Predictor

    predictor = Predictor(facts["name"], device=args.device, size=size, weights=args.weights,
                          score_threshold=args.threshold, min_face_size=20)  # stills
    failures = renamed = 0
    noted = False
    written: set[Path] = set()
    for path in paths:
        try:
            image = first if first is not None else open_image(path)
        except ImageError as error:
            if len(paths) == 1:
                raise
            failures += 1
            print(json.dumps({"image": str(path), "error": str(error)}) if args.json else f"{path}: error: {error}",
                  flush=True)
            continue
        result = predictor(image)
        if not noted and predictor.weights != "pretrained":  # with the first result: a run where no image can
            print(f"note: {predictor.weights_message}", file=sys.stderr)  # be read says only that, in one line
        noted = True
        picture = wanted = None
        if out is not None:
            wanted = out / f"{path.stem}.png"
            picture = _write_picture(image, result, args.threshold, wanted, written)
            written.add(picture)
            renamed += picture != wanted
        if args.json:
            data = {"image": str(path), **result.to_json(score_threshold=args.threshold)}
            if picture:
                data["out"] = str(picture)
            print(json.dumps(data), flush=True)
        else:
            taken = f" ({wanted.name} was taken)" if picture is not None and picture != wanted else ""
            print(f"{path}: {_summary_line(result, args.threshold)}" + (f" → {picture}{taken}" if picture else ""),
                  flush=True)
    if renamed:
        print(f"note: {renamed} picture{'s' if renamed > 1 else ''} in {out} got a free name (NAME-2.png …) "
              "because NAME.png was taken; no file was replaced", file=sys.stderr)
    if failures == len(paths):
        raise ImageError(f"none of the {len(paths)} images in {source} could be read")
    return 0


def _check_out_folder(out):
    """``out`` once pictures can be made in it (a folder) or it can be made (in a folder where a file can be
    made); else one line. Nothing is made but a probe file, removed at once."""
    from cnn_explorer.models.live.errors import LiveError
    from cnn_explorer.widgets.common.files import check_writable

    if out.exists() and not out.is_dir():
        raise LiveError(f"--out must be a folder: {out} is a file")
    if not out.exists() and not out.parent.is_dir():
        raise LiveError(f"the folder for --out does not exist: {out.parent}")
    probe = out / PROBE_NAME if out.is_dir() else out
    try:
        check_writable(probe)
    except OSError as error:
        raise LiveError(str(error).replace(f"cannot write {probe}", f"cannot write pictures in {out}")) from None
    return out


PROBE_NAME = ".cnn-explorer-detect.png"  # a name in --out that check_writable's probe stands beside


def _write_picture(image, result, threshold: float, wanted, taken: set):
    """Draw ``result`` over ``image`` and write it as a PNG at ``wanted``, or at the first free name beside it
    (``stem-2.png`` …) when ``wanted`` exists (an input, a file of the user's, a picture of this run) or is in
    ``taken``: nothing is ever written over. The file appears whole or not at all. Returns its path."""
    import cv2

    from cnn_explorer.models.live.draw import draw_result
    from cnn_explorer.models.live.errors import LiveError
    from cnn_explorer.widgets.common.files import free_name, staged_output, write_bytes
    from cnn_explorer.widgets.common.placement import LabelPlacer

    picture = draw_result(image, result, score_threshold=threshold, placer=LabelPlacer)
    ok, data = cv2.imencode(".png", cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
    if not ok:
        raise LiveError(f"cannot encode the picture for {wanted.name}")
    try:
        wanted.parent.mkdir(exist_ok=True)  # made once the first picture is ready
        target = free_name(wanted, taken)
        with staged_output(target) as staged:
            write_bytes(staged, data.tobytes())
    except OSError as error:
        message = str(error) if str(error).startswith("cannot write") else \
            f"cannot write {wanted}: {(error.strerror or str(error)).lower()}"
        raise LiveError(message) from None
    return target


def _summary_line(result, threshold: float) -> str:
    h, w = result.frame_size
    head = f"{w}×{h}, {result.model} ({result.weights_note})"
    if result.class_map is not None:
        total = result.class_map.size
        classes = ", ".join(f"{name} {count} px ({100 * count / total:.1f}%)"
                            for name, count in result.classes_present().items())
        return f"{head}: {classes}"
    if result.top:
        return f"{head}: " + " | ".join(f"{name} {100 * p:.1f}%" for _, name, p in result.top)
    keep = [int(i) for i in result.kept(threshold)]
    if not keep:
        return f"{head}: nothing above score {threshold:g}"
    boxes = "; ".join(f"{result.name_of(int(result.labels[i]))} {result.scores[i]:.2f} "
                      f"[{', '.join(f'{v:.0f}' for v in result.boxes[i])}]" for i in keep)
    return f"{head}: {len(keep)} found: {boxes}"


HANDLERS = {"bench-live": bench_live, "detect": detect}
