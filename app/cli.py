"""The ``cnn-explorer`` command: the desktop explorer, and the scripting commands beside it.

    cnn-explorer [MODEL]                       open the explorer window
    cnn-explorer list [--task T] [--json]      the zoo
    cnn-explorer summary MODEL [...]           per-layer table and totals (--json for scripts)
    cnn-explorer export MODEL --onnx FILE      ONNX file, checked
    cnn-explorer graph MODEL --out FILE.svg    the layer graph as an .svg or .png (--unfold: every layer)
                                               (--slide 16:9|4:3: slides, .png or a multi-page .pdf)
    cnn-explorer figure MODEL --out FILE.svg   the trunk as a row of 3-D volumes, as lectures draw it
    cnn-explorer predict MODEL --image IMG|DIR the top-5 classes (the lab, app/lab/cli.py)
    cnn-explorer visualize MODEL --image IMG --method M --out FILE   what the lab shows, to a file

Bad input ends with a one-line message on stderr and exit code 2, never a traceback; Ctrl+C ends quietly
with 130. Nothing heavy is imported before it is needed: ``list``, ``--help`` and the rejection of a bad
name or flag import no torch, and a ``summary`` made before comes from the analysis cache without it.
"""

from __future__ import annotations

import argparse
import difflib
import errno
import os
import sys

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


def input_size(args) -> tuple[int, int] | None:
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


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="cnn-explorer", description="Look inside the famous CNNs.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    for feature in _features():  # each feature adds its commands
        feature.add_commands(commands)
    from cnn_explorer.app.model_options import add_to_commands

    add_to_commands(commands)  # a model file's options, wherever a command takes a model
    return parser


# -- the window's command line -----------------------------------------------------------------------------

def window_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--size wants WIDTHxHEIGHT, e.g. 1024x768, not {text!r}") from None
    if not (200 <= w <= 16384 and 200 <= h <= 16384):
        raise argparse.ArgumentTypeError(f"--size {text}: width and height must be 200 to 16384 pixels")
    return w, h


class _GuiParser(_Parser):
    """The window's parser: ``--help`` lists the commands, which are gathered only then (not at every start)."""

    def format_help(self) -> str:
        commands = "\n".join(f"  cnn-explorer {name:<10} {what}" for name, what in command_help())
        self.epilog = f"commands (cnn-explorer COMMAND --help for each):\n{commands}"
        return super().format_help()


def gui_parser() -> argparse.ArgumentParser:
    """The window's own command line: ``cnn-explorer [MODEL] [options]``; ``--help`` lists the commands too."""
    parser = _GuiParser(prog="cnn-explorer", description="Look inside the famous CNNs: opens the explorer window.",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", nargs="?", help="zoo model or model file (net.py:Name, module:Name, .onnx, .pt2, "
                        "TorchScript) to open (default: the last one, or alexnet)")
    from cnn_explorer.app.core.features import features

    tabs = [f.name for f in features() if f.tab is not None]
    parser.add_argument("--view", choices=("graph", "summary", *tabs), default="graph",
                        help="the tab shown first (lab: look inside with a sample image)")
    parser.add_argument("--weights", default="pretrained", type=weights_option, metavar="pretrained|random|PATH")
    parser.add_argument("--input-size", nargs=2, type=int, metavar=("H", "W"))
    from cnn_explorer.app.model_options import add_options

    add_options(parser)
    parser.add_argument("--theme", choices=("light", "dark", "high_contrast"))
    parser.add_argument("--font-scale", type=float, metavar="S", help="text scale, e.g. 1.5")
    parser.add_argument("--presentation", action="store_true", help="start full screen with large text")
    parser.add_argument("--direction", choices=("tb", "lr"),
                        help="the graph top to bottom, or left to right in rows that fit the screen")
    parser.add_argument("--compact", action="store_true", help="draw conv + norm + activation (+ pool) as one node")
    parser.add_argument("--size", type=window_size, metavar="WxH", help="window size, e.g. 1024x768")
    parser.add_argument("--select", metavar="LAYER", help="select this layer once the model is shown")
    parser.add_argument("--fold-all", action="store_true", help="fold every block once the model is shown")
    parser.add_argument("--unfold-all", action="store_true", help="unfold every block once the model is shown")
    parser.add_argument("--screenshot", metavar="FILE.png",
                        help="save a picture of the window once the model is drawn, then exit (the user's "
                             "settings are neither read nor changed)")
    return parser


def _check_gui_args(args) -> None:
    from pathlib import Path

    from cnn_explorer.models.zoo.index import UnknownModelError, check_input_size, lookup

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
        check_input_size(input_size(args), facts)
    except ValueError as error:
        raise CliError(str(error)) from None


def run_gui(argv: list[str]) -> int:
    args = gui_parser().parse_args(argv)
    _check_gui_args(args)
    from cnn_explorer.app.model_options import remember

    remember(args)
    from cnn_explorer.app.launch import run_gui as launch

    return launch(args)


def output_file(path: str, flag: str, suffixes: tuple[str, ...], hint: str = ""):
    """``path`` as a Path once its suffix is one of ``suffixes`` and it can be written: else one line."""
    from pathlib import Path

    from cnn_explorer.widgets.common.files import check_writable

    out = Path(path)
    if out.suffix.lower() not in suffixes:
        allowed = suffixes[0] if len(suffixes) == 1 else f"{', '.join(suffixes[:-1])} or {suffixes[-1]}"
        raise CliError(f"cannot write {out.name}: {flag} must end in {allowed}{hint}")
    try:
        check_writable(out)
    except OSError as error:
        raise CliError(str(error)) from None
    return out


def _features():
    """The command line's registry: each feature's commands (``app/core/features.py``): each module adds its
    commands (``add_commands``) and runs them (``HANDLERS``), importing only argparse until a command runs."""
    from cnn_explorer.app.core.features import cli_modules

    return cli_modules()


def command_help() -> list[tuple[str, str]]:
    """(command, its one-line help) of every command the features give, as ``--help`` lists them."""
    subparsers = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    return [(action.dest, action.help or "") for action in subparsers._choices_actions]


def commands() -> list[str]:
    """Every command the features give (``HANDLERS``), in their order."""
    return [name for feature in _features() for name in feature.HANDLERS]


def _handler(command: str):
    return next(feature.HANDLERS[command] for feature in _features() if command in feature.HANDLERS)


def _bad_input_errors() -> tuple[type[BaseException], ...]:
    """The errors that mean bad input. Only modules already imported are asked, so that a command that never
    needed torch does not import it to learn its error classes."""
    from cnn_explorer.models.zoo.index import InputSizeError, UnknownModelError

    from cnn_explorer.widgets.common.files import OutputError

    found: list[type[BaseException]] = [CliError, UnknownModelError, InputSizeError, OutputError]
    for module, names in (("cnn_explorer.models.zoo.loader", ("AnalysisError",)),
                          ("cnn_explorer.models.zoo.weights", ("WeightsError",)),
                          ("cnn_explorer.models.analysis.export", ("ExportError",)),
                          ("cnn_explorer.models.lab.errors", ("LabError",)),
                          ("cnn_explorer.models.live.errors", ("LiveError", "SourceError")),
                          ("cnn_explorer.models.charts", ("ChartsError",)),
                          ("cnn_explorer.models.files.errors", ("ModelFileError",))):
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
        from cnn_explorer.app.model_options import remember

        remember(args)
        return _handler(args.command)(args)
    except Exception as error:  # noqa: BLE001 - bad input is one line; anything else is re-raised
        if isinstance(error, _bad_input_errors()):
            error_line(f"cnn-explorer: error: {error}")
            return EXIT_BAD_INPUT
        raise


def _near_command(word: str) -> str | None:
    """A subcommand that ``word`` looks like a typo of (``sumary`` → ``summary``), unless it is a zoo name."""
    if word.startswith("-") or word in commands():
        return None
    close = difflib.get_close_matches(word.lower(), commands(), n=1, cutoff=0.75)
    if not close:
        return None
    from cnn_explorer.models.zoo.index import UnknownModelError, lookup

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
    from cnn_explorer.widgets.common.files import discard_staged

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
    from cnn_explorer.models.runtime.torch_import import install

    install()  # the import tricks that make a first model faster (no torch imported here)
    try:
        if argv and argv[0] in commands():
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
