"""Starting the window from the command line (``cli.py`` parses it), and ``--screenshot``: wait until the
model (and the zoo's counts) are drawn, save a picture, exit."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from cnn_explorer.app.cli import error_line
from cnn_explorer.app.window.gui_thread import application
from cnn_explorer.app.window.main_window import MainWindow
from cnn_explorer.app.window.settings import APPLICATION, ORGANIZATION, remove_scratch, scratch_settings

# --screenshot waits at most this long for the zoo browser's parameter counts (first run only: then cached).
ZOO_COUNT_WAIT_S = 120
SCREENSHOT_TIMEOUT_MS = 300_000
EXIT_INTERRUPTED = 130


class Screenshot:
    """Saves the window once the model is shown, then ends the event loop with an exit code."""

    def __init__(self, app: QApplication, window: MainWindow, path: Path):
        self.app, self.window, self.path = app, window, path
        self.code = 0
        self.done = False
        QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, self._too_slow)

    def model_shown(self) -> None:
        if not self.done:
            self.done = True
            self._wait_for_zoo_counts(time.monotonic() + ZOO_COUNT_WAIT_S)

    def _wait_for_zoo_counts(self, deadline: float) -> None:
        # The picture shows the zoo's parameter counts too: they are counted in the background (once; then
        # cached), so wait for them, but not forever; and a large graph's new drawing (a text size, an
        # arrangement, an unfold all) is made over several turns.
        busy = self.window.param_counter.is_busy() or self.window.graph.is_rebuilding()
        if busy and time.monotonic() < deadline:
            QTimer.singleShot(200, lambda: self._wait_for_zoo_counts(deadline))
        else:
            QTimer.singleShot(600, self._take)

    def _take(self) -> None:
        from cnn_explorer.widgets.common.files import staged_output
        from cnn_explorer.widgets.common.picture import png_bytes

        self.window.error_box.close()
        try:
            with staged_output(self.path) as target:
                image = self.window.grab().toImage()
                if self.path.suffix.lower() == ".png":
                    target.write_bytes(png_bytes(image))
                elif not image.save(str(target)):
                    raise OSError(f"cannot write {self.path}")
        except OSError as error:
            error_line(f"cnn-explorer: error: {error}")
            self.code = 2
        self._finish(self.code)

    def failed(self, message: str) -> None:
        if not self.done:  # a script asked for a picture of this model: say why there is none
            error_line(f"cnn-explorer: error: {message}")
            self.done = True
            self._finish(2)

    def _too_slow(self) -> None:
        if not self.done:
            error_line("cnn-explorer: the model was not ready after 300 s; saving the window as it is")
            self.done = True
            self.code = 1
            self._take()

    def _finish(self, code: int) -> None:
        self.code = code
        self.window.close()
        self.app.exit(code)


def run_gui(args) -> int:
    """Open the window for parsed ``args`` (see ``cli.gui_parser``)."""
    try:
        return _run_gui(args)
    finally:
        remove_scratch()  # --screenshot's settings: nothing is left behind in the temporary folder


def _run_gui(args) -> int:
    from PySide6.QtCore import qInstallMessageHandler

    from cnn_explorer.app.explorer.export import quiet_size_hints

    qInstallMessageHandler(quiet_size_hints)  # the offscreen platform's warning, on every window shown
    app = application()
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("CNN Explorer")
    scripted = bool(args.screenshot)
    window = MainWindow(args.model, weights=args.weights, view=args.view,
                        input_size=tuple(args.input_size) if args.input_size else None, theme=args.theme,
                        settings=scratch_settings() if scripted else None,
                        restore_geometry=not (args.size or scripted))
    if args.font_scale:
        window.classroom.set_font_scale(args.font_scale)
    if args.size:
        window.resize(*args.size)
        window.fit_docks()
    if args.presentation:
        window.classroom.toggle_presentation()
    else:
        window.show()
    if args.direction or args.compact:  # the graph's arrangement, in the mode it starts in
        window.classroom.set_arrangement(direction=args.direction, compact=True if args.compact else None)
    shot = Screenshot(app, window, Path(args.screenshot)) if scripted else None

    def when_shown(name: str) -> None:
        if args.fold_all:
            window.graph.fold_all()
        if args.unfold_all:
            window.graph.unfold_all()
        if args.select and not window.select_layer(args.select):
            if shot is not None:  # a script asked for a picture of a layer that is not there
                shot.failed(f"no layer {args.select!r} in {name}")
                return
            error_line(f"cnn-explorer: no layer {args.select!r} in {name}")
        if shot is not None:
            shot.model_shown()

    def when_failed(message: str) -> None:
        if shot is None:
            error_line(f"cnn-explorer: {message}")
        else:
            shot.failed(message)

    window.model_shown.connect(when_shown)
    window.load_failed.connect(when_failed)
    interrupted = _close_on_sigint(app, window)
    code = app.exec()
    if interrupted:
        return EXIT_INTERRUPTED
    return shot.code if shot is not None else code


def _close_on_sigint(app: QApplication, window: MainWindow) -> list:
    """Ctrl+C in the terminal closes the window (its threads stop cleanly) and the app exits 130. Qt's event
    loop does not let Python run signal handlers, so a timer wakes the interpreter five times a second."""
    interrupted: list = []

    def on_sigint(signum, frame) -> None:
        if not interrupted:
            interrupted.append(True)
            window.close()
            app.exit(EXIT_INTERRUPTED)

    signal.signal(signal.SIGINT, on_sigint)
    waker = QTimer(window)
    waker.timeout.connect(lambda: None)
    waker.start(200)
    return interrupted
