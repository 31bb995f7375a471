"""The ``cnn-explorer`` command: the desktop explorer, and the scripting commands beside it.

    cnn-explorer [MODEL]                       open the explorer window
    cnn-explorer list [--task T] [--json]      the zoo
    cnn-explorer summary MODEL [...]           per-layer table and totals (--json for scripts)
    cnn-explorer export MODEL --onnx FILE      ONNX file, checked
    cnn-explorer graph MODEL --out FILE.svg    the layer graph as an .svg or .png (--unfold: every layer)

Bad input ends with a one-line message on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys

COMMANDS = ("list", "summary", "export", "graph")
EXIT_BAD_INPUT = 2


class CliError(Exception):
    """Bad input: printed as one line, exit code 2."""


def _input_size(parser_args) -> tuple[int, int] | None:
    return tuple(parser_args.input_size) if parser_args.input_size else None


def _weights_arg(value: str | None) -> str:
    return value or "pretrained"


def _progress_to_stderr(done: int, total: int) -> None:
    if total:
        print(f"\rdownloading weights: {100 * done // total:3d}%", end="", file=sys.stderr, flush=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cnn-explorer", description="Look inside the famous CNNs.")
    commands = parser.add_subparsers(dest="command", required=True)

    list_cmd = commands.add_parser("list", help="list the zoo")
    list_cmd.add_argument("--task", help="only this task (classification, detection, ...)")
    list_cmd.add_argument("--json", action="store_true", help="machine-readable output")

    summary = commands.add_parser("summary", help="per-layer table and totals of a model")
    summary.add_argument("model")
    summary.add_argument("--input-size", nargs=2, type=int, metavar=("H", "W"))
    summary.add_argument("--weights", metavar="PATH",
                         help="a .pt/.pth/.safetensors state dict, or 'pretrained' (default) or 'random'")
    summary.add_argument("--json", action="store_true", help="machine-readable output (stable)")

    export = commands.add_parser("export", help="export a model to ONNX")
    export.add_argument("model")
    export.add_argument("--onnx", required=True, metavar="FILE")
    export.add_argument("--input-size", nargs=2, type=int, metavar=("H", "W"))
    export.add_argument("--weights", metavar="PATH")

    graph = commands.add_parser("graph", help="draw the layer graph to an .svg or .png file")
    graph.add_argument("model")
    graph.add_argument("--out", required=True, metavar="FILE", help="FILE.svg or FILE.png")
    graph.add_argument("--unfold", action="store_true", help="unfold every block (default: blocks folded)")
    graph.add_argument("--input-size", nargs=2, type=int, metavar=("H", "W"))
    graph.add_argument("--theme", choices=("light", "dark", "high_contrast"), default="light")
    return parser


def _window_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--size wants WIDTHxHEIGHT, e.g. 1024x768, not {text!r}") from None
    if not (200 <= w <= 16384 and 200 <= h <= 16384):
        raise argparse.ArgumentTypeError(f"--size {text}: width and height must be 200 to 16384 pixels")
    return w, h


def gui_parser() -> argparse.ArgumentParser:
    """The window's own command line: ``cnn-explorer [MODEL] [options]``."""
    from cnn_explorer.widgets.theme import THEMES

    parser = argparse.ArgumentParser(prog="cnn-explorer", description="Look inside the famous CNNs.")
    parser.add_argument("model", nargs="?", help="zoo model to open (default: the last one, or alexnet)")
    parser.add_argument("--view", choices=("graph", "summary"), default="graph")
    parser.add_argument("--weights", default="pretrained", metavar="pretrained|random|PATH")
    parser.add_argument("--input-size", nargs=2, type=int, metavar=("H", "W"))
    parser.add_argument("--theme", choices=THEMES)
    parser.add_argument("--font-scale", type=float, metavar="S", help="text scale, e.g. 1.5")
    parser.add_argument("--presentation", action="store_true", help="start full screen with large text")
    parser.add_argument("--size", type=_window_size, metavar="WxH", help="window size, e.g. 1024x768")
    parser.add_argument("--select", metavar="LAYER", help="select this layer once the model is shown")
    parser.add_argument("--fold-all", action="store_true", help="fold every block once the model is shown")
    parser.add_argument("--unfold-all", action="store_true", help="unfold every block once the model is shown")
    parser.add_argument("--screenshot", metavar="FILE.png",
                        help="save a picture of the window once the model is drawn, then exit (the user's "
                             "settings are neither read nor changed)")
    return parser


def _check_screenshot_path(path: str) -> None:
    from pathlib import Path

    shot = Path(path)
    if shot.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise CliError(f"cannot write {shot.name}: --screenshot must end in .png or .jpg")
    if not shot.parent.is_dir():
        raise CliError(f"cannot write {shot}: folder {shot.parent} does not exist")


def run_gui(argv: list[str]) -> int:
    args = gui_parser().parse_args(argv)
    try:
        if args.screenshot:
            _check_screenshot_path(args.screenshot)
    except CliError as error:
        print(f"cnn-explorer: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    from cnn_explorer.app.launch import run_gui as launch

    return launch(args)


def _cmd_list(args) -> int:
    from cnn_explorer.models.registry import TASKS, list_entries

    if args.task and args.task not in TASKS:
        raise CliError(f"unknown task {args.task!r}; tasks are: {', '.join(TASKS)}")
    entries = list_entries(args.task)
    if args.json:
        print(json.dumps([e.to_dict() for e in entries], indent=1))
        return 0
    print(f"{'name':<40} {'task':<22} {'year':>4}  {'input':>9}  {'source':<11} family")
    for e in entries:
        size = f"{e.input_size[0]}×{e.input_size[1]}"
        print(f"{e.name:<40} {e.task:<22} {e.year:>4}  {size:>9}  {e.source:<11} {e.family}")
    print(f"{len(entries)} models")
    return 0


def _load(args):
    from cnn_explorer.models.loader import check_input_size, load_model

    check_input_size(_input_size(args))
    return load_model(args.model, weights=_weights_arg(args.weights),
                      progress=None if getattr(args, "json", False) else _progress_to_stderr)


def _cmd_summary(args) -> int:
    from cnn_explorer.app.view_data import field_of
    from cnn_explorer.models.analysis import weight_layer_depth
    from cnn_explorer.models.loader import summarize
    from cnn_explorer.widgets import format as fmt

    loaded = _load(args)
    summary = summarize(loaded, _input_size(args))
    if args.json:
        print(json.dumps(summary.to_json()))
        return 0
    print(f"# {summary.model}: input {'×'.join(map(str, summary.input_shape))} — {loaded.weights.message}")
    name_width = min(max(len(n.name) for n in summary.layers), 48)
    print(f"{'layer':<{name_width}}  {'type':<22} {'output shape':<20} {'params':>11} {'MACs':>9}  receptive field")
    for node in summary.layers:
        shape = fmt.shape(node.output_shape[1:], empty="—") if node.output_shape else "—"
        print(f"{node.name:<{name_width}}  {node.op[:22]:<22} {shape[:20]:<20} {node.params:>11,} "
              f"{fmt.compact(node.macs):>9}  {fmt.receptive_field(field_of(node.receptive_field))}")
    print(f"total params {summary.total_params:,} (trainable {summary.trainable_params:,}), "
          f"MACs {summary.total_macs / 1e9:.3f} G, activations {summary.activation_bytes / 2**20:.1f} MiB, "
          f"{len(summary.layers)} operations, depth {weight_layer_depth(summary.graph)} weight layers, "
          f"analyzed in {summary.seconds:.2f} s")
    return 0


def _cmd_export(args) -> int:
    from cnn_explorer.models.export import export_onnx

    loaded = _load(args)
    files = export_onnx(loaded.model, loaded.input_shape(_input_size(args)), args.onnx)
    size = sum(f.stat().st_size for f in files)
    print(f"wrote {', '.join(map(str, files))}: {size / 2**20:.1f} MiB, checked by onnx.checker")
    return 0


def _cmd_graph(args) -> int:
    from pathlib import Path

    from cnn_explorer.models.loader import check_input_size, load_model, summarize

    out = Path(args.out)
    if out.suffix.lower() not in (".svg", ".png"):
        raise CliError(f"cannot write {out.name}: --out must end in .svg or .png")
    if not out.parent.is_dir():
        raise CliError(f"cannot write {out}: folder {out.parent} does not exist")
    check_input_size(_input_size(args))
    summary = summarize(load_model(args.model, weights="random"), _input_size(args))
    try:
        count = _write_graph_image(summary, out, unfold=args.unfold, theme=args.theme)
    except OSError as error:
        raise CliError(str(error)) from None
    print(f"wrote {out}: {count} nodes of {summary.model} ({'unfolded' if args.unfold else 'blocks folded'})")
    return 0


def _write_graph_image(summary, path, *, unfold: bool = False, theme: str = "light") -> int:
    """Draw the layer graph of ``summary`` into an .svg or .png file without opening a window: folded (every
    outermost block) unless ``unfold``. Returns the number of nodes drawn."""
    import os

    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from cnn_explorer.app.view_data import graph_data_from
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


def run_command(argv: list[str]) -> int:
    from cnn_explorer.models.export import ExportError
    from cnn_explorer.models.loader import AnalysisError, InputSizeError
    from cnn_explorer.models.registry import UnknownModelError
    from cnn_explorer.models.weights import WeightsError

    args = _parser().parse_args(argv)
    handlers = {"list": _cmd_list, "summary": _cmd_summary, "export": _cmd_export, "graph": _cmd_graph}
    try:
        return handlers[args.command](args)
    except (CliError, UnknownModelError, InputSizeError, WeightsError, AnalysisError, ExportError) as error:
        print(f"cnn-explorer: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in COMMANDS:
        try:
            return run_command(argv)
        except BrokenPipeError:  # the reader (e.g. `head`) closed the pipe: not an error
            sys.stderr.close()
            return 0
    return run_gui(argv)


if __name__ == "__main__":
    sys.exit(main())
