"""The explorer's own commands for ``cnn-explorer`` (wired into app/cli.py's registry): ``list``, ``summary``,
``export``, ``graph`` and ``figure``. Only argparse is imported here: the zoo's index, torch and Qt come when a
command runs, and a ``summary`` made before comes from the analysis cache without torch."""

from __future__ import annotations

import argparse
import json
import sys

from cnn_explorer.app.cli import CliError, input_size, output_file, weights_option, window_size


def add_commands(commands) -> None:
    """Add ``list``, ``summary``, ``export``, ``graph`` and ``figure`` to the sub-command parser."""
    list_cmd = commands.add_parser("list", help="list the zoo")
    list_cmd.add_argument("--task", help="only this task (classification, detection, ...)")
    list_cmd.add_argument("--json", action="store_true", help="machine-readable output")

    summary = commands.add_parser("summary", help="per-layer table and totals of a model")
    summary.add_argument("model")
    summary.add_argument("--input-size", nargs=2, type=int, metavar=("H", "W"))
    summary.add_argument("--weights", metavar="PATH", type=weights_option, default="pretrained",
                         help="a .pt/.pth/.safetensors state dict, or 'pretrained' (default) or 'random'")
    summary.add_argument("--json", action="store_true", help="machine-readable output (stable)")
    summary.add_argument("--shape", choices=("chw", "hwc"), default="chw",
                         help="write shapes channels first (C×H×W, default) or last (H×W×C, as the lectures do)")

    export = commands.add_parser("export", help="export a model to ONNX")
    export.add_argument("model")
    export.add_argument("--onnx", required=True, metavar="FILE")
    export.add_argument("--input-size", nargs=2, type=int, metavar=("H", "W"))
    export.add_argument("--weights", metavar="PATH", type=weights_option, default="pretrained")

    graph = commands.add_parser("graph", help="draw the layer graph to an .svg or .png file")
    graph.add_argument("model")
    graph.add_argument("--out", required=True, metavar="FILE", help="FILE.svg or FILE.png")
    graph.add_argument("--unfold", action="store_true", help="unfold every block (default: blocks folded)")
    graph.add_argument("--input-size", nargs=2, type=int, metavar=("H", "W"))
    graph.add_argument("--theme", choices=("light", "dark", "high_contrast"), default="light")
    graph.add_argument("--slide", type=_slide, metavar="16:9|4:3",
                       help="fit slides of this shape (1920×1080 or 1440×1080): readable labels, split into "
                            "pages when too large (FILE.pdf: one PDF; FILE.png: FILE-1.png, FILE-2.png …)")
    graph.add_argument("--size", type=window_size, metavar="WxH", help="slides of this many pixels, e.g. 1920x1080")

    figure = commands.add_parser("figure", help="the network as 3-D volumes (the lectures' AlexNet figure; "
                                                "a U for U-Net/SegNet) to an .svg or .png file")
    figure.add_argument("model")
    figure.add_argument("--out", required=True, metavar="FILE", help="FILE.svg or FILE.png")
    figure.add_argument("--size", type=window_size, default=(1920, 1080), metavar="WxH",
                        help="picture size in pixels (default 1920x1080)")
    figure.add_argument("--input-size", nargs=2, type=int, metavar=("H", "W"))
    figure.add_argument("--theme", choices=("light", "dark", "high_contrast"), default="light")


def _progress_to_stderr(done: int, total: int) -> None:
    if total and sys.stderr is not None:
        print(f"\rdownloading weights: {100 * done // total:3d}%", end="", file=sys.stderr, flush=True)


def _slide(text: str) -> tuple[int, int]:
    """A slide's shape: 16:9 → 1920×1080, 4:3 → 1440×1080."""
    from cnn_explorer.app.explorer.export import SLIDES

    if text.strip() not in SLIDES:
        raise argparse.ArgumentTypeError(f"--slide wants one of {', '.join(SLIDES)}, not {text!r}")
    return SLIDES[text.strip()]


def _cmd_list(args) -> int:
    from cnn_explorer.models.zoo.index import TASKS, entries, task_of

    task = None
    if args.task:
        task = task_of(args.task)
        if task is None:
            raise CliError(f"unknown task {args.task!r}; tasks are: {', '.join(TASKS)}")
    found = entries(task)
    if args.json:
        print(json.dumps([{k: v for k, v in e.items() if k != "data_dependent"} for e in found], indent=1))
        return 0
    lines = [f"{'name':<40} {'task':<22} {'year':>4}  {'input':>9}  {'source':<11} family"]
    for e in found:
        size = f"{e['input_size'][0]}×{e['input_size'][1]}"
        lines.append(f"{e['name']:<40} {e['task']:<22} {e['year']:>4}  {size:>9}  {e['source']:<11} {e['family']}")
    lines.append(f"{len(found)} models")
    print("\n".join(lines))
    return 0


def _load(args, structure_only: bool = False):
    from cnn_explorer.models.zoo.loader import load_model

    return load_model(args.model, weights=args.weights, structure_only=structure_only,
                      progress=None if getattr(args, "json", False) else _progress_to_stderr)


def _summary_entry(args) -> dict:
    """What ``summary`` prints: from the analysis cache when this model, size and weights were analyzed before
    (no torch needed), else analyzed now (and cached)."""
    from cnn_explorer.models.analysis import cache
    from cnn_explorer.models.zoo.index import check_input_size, lookup

    facts = lookup(args.model)
    size = input_size(args)
    check_input_size(size, facts)
    entry = cache.AnalysisCache().get(cache.key(facts["name"], size or tuple(facts["input_size"]), args.weights))
    if entry is not None:
        return entry
    from cnn_explorer.models.zoo.loader import cache_entry, summarize

    loaded = _load(args, structure_only=True)
    return cache_entry(summarize(loaded, size), loaded.weights)


def _structure(args):
    """The summary ``graph`` and ``figure`` draw: from the analysis cache when this model was analyzed before at
    this size, without torch (any weights of a zoo model have the same graph, save a detector's, whose graph
    follows its data: its random-weights analysis only, as drawn below); else analyzed now (and cached)."""
    from cnn_explorer.models.analysis import cache
    from cnn_explorer.models.analysis.model_summary import summary_from_entry
    from cnn_explorer.models.zoo.index import check_input_size, lookup

    facts = lookup(args.model)
    size = input_size(args)
    check_input_size(size, facts)
    store = cache.AnalysisCache()
    for weights in ("random",) if facts.get("data_dependent") else ("random", "pretrained"):
        entry = store.get(cache.key(facts["name"], size or tuple(facts["input_size"]), weights))
        if entry is not None:
            try:
                return summary_from_entry(entry)
            except (KeyError, TypeError, ValueError, IndexError):
                pass  # a damaged entry: analyzed again below, and overwritten
    from cnn_explorer.models.zoo.loader import load_model, summarize

    return summarize(load_model(args.model, weights="random", structure_only=True), size)


def _cmd_summary(args) -> int:
    from cnn_explorer.widgets.common import format as fmt
    entry = _summary_entry(args)
    summary = entry["summary"]
    if args.json:
        print(json.dumps(summary))
        return 0
    from types import SimpleNamespace

    from cnn_explorer.models.analysis import naming
    fmt.set_shape_order(args.shape)
    layers = summary["layers"]
    # The lecture's names first where the paper has them: "conv1 (features.0)".
    labels = naming.layer_names(naming.family_of(summary["model"]),
                                [SimpleNamespace(name=layer["name"], op=layer["type"], kind="module")
                                 for layer in layers])
    names = [f"{labels[layer['name']]} ({layer['name']})" if layer["name"] in labels else layer["name"]
             for layer in layers]
    lines = [f"# {summary['model']}: input {'×'.join(map(str, summary['input_shape']))} — {entry['weights_message']}"]
    name_width = min(max((len(name) for name in names), default=5), 48)
    lines.append(f"{'layer':<{name_width}}  {'type':<22} {'output shape':<20} {'params':>11} {'MACs':>9}  "
                 "receptive field")
    for layer, name in zip(layers, names):
        shape = fmt.shape(layer["output_shape"][1:], empty="—") if layer["output_shape"] else "—"
        lines.append(f"{name:<{name_width}}  {layer['type'][:22]:<22} {shape[:20]:<20} "
                     f"{layer['params']:>11,} {fmt.compact(layer['macs']):>9}  "
                     f"{fmt.receptive_field(_field(layer['receptive_field']))}")
    lines.append(f"total params {summary['total_params']:,} (trainable {summary['trainable_params']:,}), "
                 f"{fmt.macs(summary['total_macs'])}, activations {summary['activation_bytes'] / 2**20:.1f} MiB, "
                 f"{len(layers)} operations, depth {entry['depth']} weight layers, analyzed in {entry['seconds']:.2f} s")
    print("\n".join(lines))
    return 0


def _field(rf):
    from cnn_explorer.widgets.explorer.layer_info import Field

    if isinstance(rf, dict):
        return Field(tuple(rf["size"]), tuple(rf["stride"]), tuple(rf["padding"]))
    return rf


def _cmd_export(args) -> int:
    from cnn_explorer.models.zoo.index import check_input_size, lookup
    from cnn_explorer.widgets.common.files import staged_output

    out = output_file(args.onnx, "--onnx", (".onnx",))
    check_input_size(input_size(args), lookup(args.model))
    from cnn_explorer.models.analysis.export import export_onnx

    loaded = _load(args)
    with staged_output(out) as target:  # the model and its weights file (over 2 GiB) land together, or neither
        files = [out.parent / f.name for f in export_onnx(loaded.model, loaded.input_shape(input_size(args)), target)]
    size = sum(f.stat().st_size for f in files)
    print(f"wrote {', '.join(map(str, files))}: {size / 2**20:.1f} MiB, checked by onnx.checker")
    return 0


def _cmd_graph(args) -> int:
    from pathlib import Path

    from cnn_explorer.widgets.common.files import staged_output

    page = args.size or args.slide
    if page and Path(args.out).suffix.lower() == ".svg":
        raise CliError(f"cannot write {Path(args.out).name}: slides are written as .png or .pdf")
    if page:
        from cnn_explorer.app.explorer.export import check_page

        try:
            check_page(page)
        except ValueError as error:
            raise CliError(f"--size {page[0]}x{page[1]}: {error}") from None
    out = output_file(args.out, "--out", (".svg", ".png", ".pdf") if page else (".svg", ".png"),
                       "" if page else " (.pdf with --slide or --size)")
    summary = _structure(args)
    folding = "unfolded" if args.unfold else "blocks folded"
    try:
        with staged_output(out) as target:
            if page:
                from cnn_explorer.app.explorer.export import write_graph_slides

                files, pages, count = write_graph_slides(summary, target, page, unfold=args.unfold, theme=args.theme)
            else:
                files, count = [target], _write_graph_image(summary, target, unfold=args.unfold, theme=args.theme)
    except OSError as error:
        raise CliError(str(error)) from None
    files = [out.parent / f.name for f in files]
    if page:
        pages = "1 page" if pages == 1 else f"{pages} pages"
        print(f"wrote {', '.join(map(str, files))}: {count} nodes of {summary.model} ({folding}), "
              f"{pages} of {page[0]}×{page[1]}")
    else:
        print(f"wrote {out}: {count} nodes of {summary.model} ({folding})")
    return 0


def _cmd_figure(args) -> int:
    from cnn_explorer.widgets.common.files import staged_output

    out = output_file(args.out, "--out", (".svg", ".png"))
    from cnn_explorer.app.core.figure_data import figure_from_summary
    from cnn_explorer.app.window.gui_thread import application

    figure = figure_from_summary(_structure(args))
    if not figure.ok:
        raise CliError(f"{figure.message}: no volume figure to draw (try 'cnn-explorer graph')")
    app = application([], headless=True)  # noqa: F841 (drawing needs it alive)
    from cnn_explorer.widgets.figure.volume import export_figure

    try:
        with staged_output(out) as target:
            export_figure(figure, target, args.size, theme=args.theme)
    except OSError as error:
        raise CliError(str(error)) from None
    print(f"wrote {out}: {len(figure.volumes)} volumes of {figure.model}, {args.size[0]}×{args.size[1]}")
    return 0


LONGEST_PICTURE = 4.0  # a graph picture whose sides differ more than this is drawn in rows


def _write_graph_image(summary, path, *, unfold: bool = False, theme: str = "light") -> int:
    """Draw the layer graph of ``summary`` into an .svg or .png file without opening a window: folded (every
    outermost block) unless ``unfold``. Returns the number of nodes drawn."""
    from cnn_explorer.app.core.view_data import graph_data_from
    from cnn_explorer.app.window.gui_thread import application
    from cnn_explorer.widgets.graph.view import GraphView

    app = application([], headless=True)  # noqa: F841 (the view needs it alive)
    view = GraphView()
    data, folded = graph_data_from(summary), (() if unfold else None)
    try:
        view.set_theme(theme)
        view.set_data(data, folded=folded)
        rect = view.scene_rect()
        if max(rect.width() / rect.height(), rect.height() / rect.width()) <= LONGEST_PICTURE:
            view.export_image(path)
            return len(view.visible_nodes())
    finally:
        view.deleteLater()
    # A strip too long to read as one picture (DenseNet unfolded): left to right in rows instead, as the slides
    # arrange it, for one picture of a slide's proportions.
    from cnn_explorer.app.explorer.export import slide_scene
    from cnn_explorer.widgets.graph.offscreen import export_region, write_scene_image

    scene = slide_scene(data, (1920, 1080), folded=folded, theme=theme, compact=False)  # every node
    write_scene_image(scene, path, export_region(scene), data.title)
    return len(scene.graph.nodes)


HANDLERS = {"list": _cmd_list, "summary": _cmd_summary, "export": _cmd_export, "graph": _cmd_graph,
            "figure": _cmd_figure}
