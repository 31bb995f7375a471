"""The ``cnn-explorer`` command: the desktop explorer, and the scripting commands beside it.

    cnn-explorer [MODEL]                       open the explorer window
    cnn-explorer list [--task T] [--json]      the zoo
    cnn-explorer summary MODEL [...]           per-layer table and totals (--json for scripts)
    cnn-explorer export MODEL --onnx FILE      ONNX file, checked
    cnn-explorer graph MODEL --out FILE.svg    the layer graph as an .svg or .png (--unfold: every layer)
                                               (--slide 16:9|4:3: slides, .png or a multi-page .pdf)
    cnn-explorer figure MODEL --out FILE.svg   the trunk as a row of 3-D volumes, as lectures draw it
    cnn-explorer predict MODEL --image IMG|DIR the top-5 classes (the lab, app/cli_lab.py)
    cnn-explorer visualize MODEL --image IMG --method M --out FILE   what the lab shows, to a file

Bad input ends with a one-line message on stderr and exit code 2, never a traceback; Ctrl+C ends quietly
with 130. Nothing heavy is imported before it is needed: ``list``, ``--help`` and the rejection of a bad
name or flag import no torch, and a ``summary`` made before comes from the analysis cache without it.
"""

from __future__ import annotations

import argparse
import difflib
import errno
import json
import os
import sys

COMMANDS = ("list", "summary", "export", "graph", "predict", "visualize", "bench-live", "detect", "compare",
            "figure")
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """Bad input: printed as one line, exit code 2."""


def error_line(text: str) -> None:
    """One line on stderr; nowhere when stderr is closed (never on stdout, where it would corrupt --json)."""
    stream = sys.stderr
    if stream is None:
        return
    try:
        print(text, file=stream, flush=True)
    except (OSError, ValueError):
        pass


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line and a hint, instead of a usage block."""

    def error(self, message: str):
        error_line(f"{self.prog}: error: {message} (see '{self.prog} --help')")
        raise SystemExit(EXIT_BAD_INPUT)


def _input_size(args) -> tuple[int, int] | None:
    return tuple(args.input_size) if args.input_size else None


def nonempty(value: str) -> str:
    """An option's value that cannot be empty (an empty one would silently mean the default)."""
    if not value.strip():
        raise argparse.ArgumentTypeError("needs a value, not ''")
    return value


def weights_option(value: str) -> str:
    if not value.strip():
        raise argparse.ArgumentTypeError("--weights needs 'pretrained', 'random' or a file path, not ''")
    return value


def _progress_to_stderr(done: int, total: int) -> None:
    if total and sys.stderr is not None:
        print(f"\rdownloading weights: {100 * done // total:3d}%", end="", file=sys.stderr, flush=True)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="cnn-explorer", description="Look inside the famous CNNs.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

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
    graph.add_argument("--size", type=_window_size, metavar="WxH", help="slides of this many pixels, e.g. 1920x1080")

    figure = commands.add_parser("figure", help="the trunk as a row of 3-D volumes (the lectures' AlexNet "
                                                "figure) to an .svg or .png file")
    figure.add_argument("model")
    figure.add_argument("--out", required=True, metavar="FILE", help="FILE.svg or FILE.png")
    figure.add_argument("--size", type=_window_size, default=(1920, 1080), metavar="WxH",
                        help="picture size in pixels (default 1920x1080)")
    figure.add_argument("--input-size", nargs=2, type=int, metavar=("H", "W"))
    figure.add_argument("--theme", choices=("light", "dark", "high_contrast"), default="light")

    from cnn_explorer.app import cli_lab

    cli_lab.add_commands(commands)  # predict, visualize: the lab's commands
    from cnn_explorer.app import cli_live

    cli_live.add_commands(commands)  # bench-live, detect: the live view's commands
    from cnn_explorer.app import cli_charts

    cli_charts.add_commands(commands)  # compare: the Charts tab's table
    return parser


def _slide(text: str) -> tuple[int, int]:
    """A slide's shape: 16:9 → 1920×1080, 4:3 → 1440×1080."""
    from cnn_explorer.app.export import SLIDES

    if text.strip() not in SLIDES:
        raise argparse.ArgumentTypeError(f"--slide wants one of {', '.join(SLIDES)}, not {text!r}")
    return SLIDES[text.strip()]


# -- the window's command line -----------------------------------------------------------------------------

def _window_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--size wants WIDTHxHEIGHT, e.g. 1024x768, not {text!r}") from None
    if not (200 <= w <= 16384 and 200 <= h <= 16384):
        raise argparse.ArgumentTypeError(f"--size {text}: width and height must be 200 to 16384 pixels")
    return w, h


def gui_parser() -> argparse.ArgumentParser:
    """The window's own command line: ``cnn-explorer [MODEL] [options]``; ``--help`` lists the commands too."""
    commands = "\n".join(f"  cnn-explorer {name:<8} {what}" for name, what in (
        ("list", "the zoo (--task, --json)"), ("summary", "per-layer table and totals of a model (--json)"),
        ("export", "a model as a checked ONNX file"), ("graph", "the layer graph as an .svg or .png file"),
        ("figure", "the trunk as a row of 3-D volumes, the lectures' figure (.svg or .png)"),
        ("predict", "the top-5 classes of an image or of every image in a folder"),
        ("visualize", "feature maps, kernels, receptive fields, deconvnet, occlusion, Grad-CAM, top-9 to a file"),
        ("compare", "2–4 models side by side: parameters, MACs, depth, receptive field (--json)")))
    parser = _Parser(prog="cnn-explorer", description="Look inside the famous CNNs: opens the explorer window.",
                     epilog=f"commands (cnn-explorer COMMAND --help for each):\n{commands}",
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", nargs="?", help="zoo model to open (default: the last one, or alexnet)")
    parser.add_argument("--view", choices=("graph", "summary", "lab"), default="graph",
                        help="the tab shown first (lab: look inside with a sample image)")
    parser.add_argument("--weights", default="pretrained", type=weights_option, metavar="pretrained|random|PATH")
    parser.add_argument("--input-size", nargs=2, type=int, metavar=("H", "W"))
    parser.add_argument("--theme", choices=("light", "dark", "high_contrast"))
    parser.add_argument("--font-scale", type=float, metavar="S", help="text scale, e.g. 1.5")
    parser.add_argument("--presentation", action="store_true", help="start full screen with large text")
    parser.add_argument("--direction", choices=("tb", "lr"),
                        help="the graph top to bottom, or left to right in rows that fit the screen")
    parser.add_argument("--compact", action="store_true", help="draw conv + norm + activation (+ pool) as one node")
    parser.add_argument("--size", type=_window_size, metavar="WxH", help="window size, e.g. 1024x768")
    parser.add_argument("--select", metavar="LAYER", help="select this layer once the model is shown")
    parser.add_argument("--fold-all", action="store_true", help="fold every block once the model is shown")
    parser.add_argument("--unfold-all", action="store_true", help="unfold every block once the model is shown")
    parser.add_argument("--screenshot", metavar="FILE.png",
                        help="save a picture of the window once the model is drawn, then exit (the user's "
                             "settings are neither read nor changed)")
    return parser


def _check_gui_args(args) -> None:
    from pathlib import Path

    from cnn_explorer.models.zoo_index import UnknownModelError, check_input_size, lookup

    if args.model is not None and not args.model.strip():
        raise CliError("the model name is empty; see 'cnn-explorer list'")
    if args.screenshot:
        shot = Path(args.screenshot)
        if shot.suffix.lower() not in (".png", ".jpg", ".jpeg"):
            raise CliError(f"cannot write {shot.name}: --screenshot must end in .png or .jpg")
        if shot.is_dir() or not shot.parent.is_dir():
            raise CliError(f"cannot write {shot}: folder {shot.parent} does not exist" if not shot.parent.is_dir()
                           else f"cannot write {shot}: it is a folder")
        if args.model is not None:
            try:
                lookup(args.model)
            except UnknownModelError as error:
                raise CliError(str(error)) from None
    if args.font_scale is not None and not (0.5 <= args.font_scale <= 4):
        raise CliError(f"--font-scale {args.font_scale:g}: the text scale must be 0.5 to 4")
    facts = None
    if args.model is not None:
        try:
            facts = lookup(args.model)
        except UnknownModelError:
            pass  # the window says so, and keeps its model
    try:
        check_input_size(_input_size(args), facts)
    except ValueError as error:
        raise CliError(str(error)) from None


def run_gui(argv: list[str]) -> int:
    args = gui_parser().parse_args(argv)
    _check_gui_args(args)
    from cnn_explorer.app.launch import run_gui as launch

    return launch(args)


# -- the commands ------------------------------------------------------------------------------------------

def _cmd_list(args) -> int:
    from cnn_explorer.models.zoo_index import TASKS, entries, task_of

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
    from cnn_explorer.models.loader import load_model

    return load_model(args.model, weights=args.weights, structure_only=structure_only,
                      progress=None if getattr(args, "json", False) else _progress_to_stderr)


def _summary_entry(args) -> dict:
    """What ``summary`` prints: from the analysis cache when this model, size and weights were analyzed before
    (no torch needed), else analyzed now (and cached)."""
    from cnn_explorer.models import cache
    from cnn_explorer.models.zoo_index import check_input_size, lookup

    facts = lookup(args.model)
    size = _input_size(args)
    check_input_size(size, facts)
    entry = cache.AnalysisCache().get(cache.key(facts["name"], size or tuple(facts["input_size"]), args.weights))
    if entry is not None:
        return entry
    from cnn_explorer.models.loader import cache_entry, summarize

    loaded = _load(args, structure_only=True)
    return cache_entry(summarize(loaded, size), loaded.weights)


def _cmd_summary(args) -> int:
    from cnn_explorer.widgets import format as fmt

    entry = _summary_entry(args)
    summary = entry["summary"]
    if args.json:
        print(json.dumps(summary))
        return 0
    from types import SimpleNamespace

    from cnn_explorer.models import naming

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
                 f"MACs {summary['total_macs'] / 1e9:.3f} G, activations {summary['activation_bytes'] / 2**20:.1f} MiB, "
                 f"{len(layers)} operations, depth {entry['depth']} weight layers, analyzed in {entry['seconds']:.2f} s")
    print("\n".join(lines))
    return 0


def _field(rf):
    from cnn_explorer.widgets.layer_info import Field

    if isinstance(rf, dict):
        return Field(tuple(rf["size"]), tuple(rf["stride"]), tuple(rf["padding"]))
    return rf


def output_file(path: str, flag: str, suffixes: tuple[str, ...], hint: str = ""):
    """``path`` as a Path once its suffix is one of ``suffixes`` and it can be written: else one line."""
    from pathlib import Path

    from cnn_explorer.widgets.files import check_writable

    out = Path(path)
    if out.suffix.lower() not in suffixes:
        allowed = suffixes[0] if len(suffixes) == 1 else f"{', '.join(suffixes[:-1])} or {suffixes[-1]}"
        raise CliError(f"cannot write {out.name}: {flag} must end in {allowed}{hint}")
    try:
        check_writable(out)
    except OSError as error:
        raise CliError(str(error)) from None
    return out


def _cmd_export(args) -> int:
    from cnn_explorer.models.zoo_index import check_input_size, lookup
    from cnn_explorer.widgets.files import staged_output

    out = output_file(args.onnx, "--onnx", (".onnx",))
    check_input_size(_input_size(args), lookup(args.model))
    from cnn_explorer.models.export import export_onnx

    loaded = _load(args)
    with staged_output(out) as target:  # the model and its weights file (over 2 GiB) land together, or neither
        files = [out.parent / f.name for f in export_onnx(loaded.model, loaded.input_shape(_input_size(args)), target)]
    size = sum(f.stat().st_size for f in files)
    print(f"wrote {', '.join(map(str, files))}: {size / 2**20:.1f} MiB, checked by onnx.checker")
    return 0


def _cmd_graph(args) -> int:
    from pathlib import Path

    from cnn_explorer.models.zoo_index import check_input_size, lookup
    from cnn_explorer.widgets.files import staged_output

    page = args.size or args.slide
    if page and Path(args.out).suffix.lower() == ".svg":
        raise CliError(f"cannot write {Path(args.out).name}: slides are written as .png or .pdf")
    if page:
        from cnn_explorer.app.export import check_page

        try:
            check_page(page)
        except ValueError as error:
            raise CliError(f"--size {page[0]}x{page[1]}: {error}") from None
    out = output_file(args.out, "--out", (".svg", ".png", ".pdf") if page else (".svg", ".png"),
                       "" if page else " (.pdf with --slide or --size)")
    check_input_size(_input_size(args), lookup(args.model))
    from cnn_explorer.models.loader import load_model, summarize

    summary = summarize(load_model(args.model, weights="random", structure_only=True), _input_size(args))
    folding = "unfolded" if args.unfold else "blocks folded"
    try:
        with staged_output(out) as target:
            if page:
                from cnn_explorer.app.export import write_graph_slides

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
    from cnn_explorer.models.zoo_index import check_input_size, lookup
    from cnn_explorer.widgets.files import staged_output

    out = output_file(args.out, "--out", (".svg", ".png"))
    check_input_size(_input_size(args), lookup(args.model))
    from cnn_explorer.app.core.figure_data import figure_from_summary
    from cnn_explorer.models.loader import load_model, summarize

    loaded = load_model(args.model, weights="random", structure_only=True)
    figure = figure_from_summary(summarize(loaded, _input_size(args)))
    if not figure.ok:
        raise CliError(f"{figure.message}: no volume figure to draw (try 'cnn-explorer graph')")
    app = _offscreen_app()  # noqa: F841 (drawing needs it alive)
    from cnn_explorer.widgets.volume_figure import export_figure

    try:
        with staged_output(out) as target:
            export_figure(figure, target, args.size, theme=args.theme)
    except OSError as error:
        raise CliError(str(error)) from None
    print(f"wrote {out}: {len(figure.volumes)} volumes of {figure.model}, {args.size[0]}×{args.size[1]}")
    return 0


def _offscreen_app():
    """A QApplication for drawing without a window (offscreen when there is no display)."""
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication([])


def _write_graph_image(summary, path, *, unfold: bool = False, theme: str = "light") -> int:
    """Draw the layer graph of ``summary`` into an .svg or .png file without opening a window: folded (every
    outermost block) unless ``unfold``. Returns the number of nodes drawn."""
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from cnn_explorer.app.core.view_data import graph_data_from
    from cnn_explorer.widgets.graph_view import GraphView

    app = QApplication.instance() or QApplication([])  # noqa: F841 (the view needs it alive)
    view = GraphView()
    try:
        view.set_theme(theme)
        view.set_data(graph_data_from(summary), folded=() if unfold else None)
        view.export_image(path)
        return len(view.visible_nodes())
    finally:
        view.deleteLater()


HANDLERS = {"list": _cmd_list, "summary": _cmd_summary, "export": _cmd_export, "graph": _cmd_graph,
            "figure": _cmd_figure}


def _handler(command: str):
    if command in HANDLERS:
        return HANDLERS[command]
    from cnn_explorer.app import cli_lab, cli_live

    if command in cli_live.HANDLERS:
        return cli_live.HANDLERS[command]
    from cnn_explorer.app import cli_charts

    if command in cli_charts.HANDLERS:
        return cli_charts.HANDLERS[command]
    return cli_lab.HANDLERS[command]


def _bad_input_errors() -> tuple[type[BaseException], ...]:
    """The errors that mean bad input. Only modules already imported are asked, so that a command that never
    needed torch does not import it to learn its error classes."""
    from cnn_explorer.models.zoo_index import InputSizeError, UnknownModelError

    from cnn_explorer.widgets.files import OutputError

    found: list[type[BaseException]] = [CliError, UnknownModelError, InputSizeError, OutputError]
    for module, names in (("cnn_explorer.models.loader", ("AnalysisError",)),
                          ("cnn_explorer.models.weights", ("WeightsError",)),
                          ("cnn_explorer.models.export", ("ExportError",)),
                          ("cnn_explorer.models.lab.errors", ("LabError",)),
                          ("cnn_explorer.models.live.errors", ("LiveError", "SourceError")),
                          ("cnn_explorer.models.charts", ("ChartsError",))):
        if module in sys.modules:
            found += [getattr(sys.modules[module], name) for name in names]
    return tuple(found)


def _prints_its_answer(args) -> bool:
    """Whether the command's answer is what it prints (not a file it writes)."""
    return args.command in ("list", "summary", "compare", "predict", "bench-live") or getattr(args, "json", False) \
        or (args.command == "detect" and not args.out)


def _stdout_open() -> bool:
    if sys.stdout is None:  # Python found no standard output at start (``>&-``)
        return False
    try:
        descriptor = sys.stdout.fileno()
    except (OSError, ValueError, AttributeError):  # a stream in memory (a caller's, a test's): it is there
        return True
    try:
        os.fstat(descriptor)
    except OSError:  # the descriptor was closed after start
        return False
    return True


def run_command(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if _prints_its_answer(args) and not _stdout_open():
        error_line(f"cnn-explorer: error: standard output is closed: {args.command} would print its answer "
                   "nowhere")
        return EXIT_BAD_INPUT
    try:
        return _handler(args.command)(args)
    except Exception as error:  # noqa: BLE001 - bad input is one line; anything else is re-raised
        if isinstance(error, _bad_input_errors()):
            error_line(f"cnn-explorer: error: {error}")
            return EXIT_BAD_INPUT
        raise


def _near_command(word: str) -> str | None:
    """A subcommand that ``word`` looks like a typo of (``sumary`` → ``summary``), unless it is a zoo name."""
    if word.startswith("-") or word in COMMANDS:
        return None
    close = difflib.get_close_matches(word.lower(), COMMANDS, n=1, cutoff=0.75)
    if not close:
        return None
    from cnn_explorer.models.zoo_index import UnknownModelError, lookup

    try:
        lookup(word)
        return None
    except UnknownModelError:
        return close[0]


_OUTPUT_ERRNOS = {errno.ENOSPC, errno.EIO, errno.EBADF, errno.EFBIG, errno.EDQUOT}


def _flush_stdout() -> None:
    """Write what is buffered now, so a full disk or a closed pipe is noticed here, not at exit."""
    if sys.stdout is not None:
        sys.stdout.flush()


def _silence_stdout() -> None:
    """The reader went away: send what is left (and the interpreter's last flush) to /dev/null."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, AttributeError, ValueError):
        pass


def _exit_on_sigint(signum, frame) -> None:
    """Ctrl+C ends the command at once, quietly, with 130. (A KeyboardInterrupt can land inside code that
    swallows it, such as a library's import, and the command would then run on to its end.) An output being
    written is removed: the user's file under that name stays as it was."""
    from cnn_explorer.widgets.files import discard_staged

    discard_staged()
    os._exit(EXIT_INTERRUPTED)


def _leave_without_teardown(code: int) -> None:
    """End a process that imported torch at once, its outputs flushed and its exit handlers run (the Live tab's
    threads are joined by one).

    The interpreter's teardown of torch's ~2,000 modules takes 0.37 s on the 2-core machine (``python -c
    "import torch"`` 1.38 s, with ``os._exit`` 1.01 s), a third of a cached ``summary``; and torch imports
    Triton, whose bindings print some 30 lines of "nanobind: leaked …" at teardown. Nothing is left to do by
    then: files are closed (``with`` blocks), caches written (atomically), the window closed, and a worker
    thread still running has nothing to hand over."""
    if "torch" not in sys.modules:
        return
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # the reader went away, or the stream is closed: nothing more to say
            pass
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    if argv is None:  # the real command (not a call from Python): Ctrl+C must always end it
        import signal

        signal.signal(signal.SIGINT, _exit_on_sigint)
        argv = sys.argv[1:]
        code = _main(argv)
        _leave_without_teardown(code)
        return code
    return _main(argv)


def _main(argv: list[str]) -> int:
    from cnn_explorer.models.torch_import import install

    install()  # the import tricks that make a first model faster (no torch imported here)
    try:
        if argv and argv[0] in COMMANDS:
            code = run_command(argv)
        elif argv and (near := _near_command(argv[0])):
            error_line(f"cnn-explorer: error: unknown command {argv[0]!r}; did you mean '{near}'? "
                       "(see 'cnn-explorer --help')")
            return EXIT_BAD_INPUT
        else:
            code = run_gui(argv)
        _flush_stdout()
        return code
    except CliError as error:
        error_line(f"cnn-explorer: error: {error}")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        _silence_stdout()
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader (e.g. `head`) closed the pipe: not an error
        _silence_stdout()
        return 0
    except OSError as error:
        if error.errno in _OUTPUT_ERRNOS:  # stdout is a full disk, a bad descriptor …
            _silence_stdout()
            error_line(f"cnn-explorer: error: cannot write the output: {error.strerror or error}")
            return EXIT_BAD_INPUT
        raise


if __name__ == "__main__":  # python -m cnn_explorer.app.cli: run the module the others import, not a copy
    from cnn_explorer.app.cli import main as canonical_main

    sys.exit(canonical_main())
