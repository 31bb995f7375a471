"""The Qt GUI thread: ``application()`` makes the one QApplication (the window, the notebook's window and the
command line's drawings); ``gui_post()`` is the ``post`` that the request runner (``core/requests.py``, which has
no Qt) and the Live tab's threads use to deliver their results."""

from __future__ import annotations

import os
import sys
from typing import Callable

_POSTER = None

#: How long a thread running Python keeps the GIL once another thread asks for it (Python's default: 5 ms).
SWITCH_INTERVAL_S = 0.0005


def application(argv: list[str] | None = None, *, headless: bool = False):
    """The QApplication, made the first time (``argv``: its arguments); ``headless``: for drawing without a
    window, on the offscreen platform where there is no display.

    Qt's raster engine hands long runs of spans (a line across a plot, a tall rectangle) to a pool of threads
    and waits for them: on two busy cores each hand-over cost more than the drawing (a Charts page's axes and
    grid took 27.5 ms to paint, 4.2 ms without; benchmarks/paint.py). ``QT_NO_GUI_THREADPOOL`` turns the pool off,
    unless the environment says otherwise; Qt reads it once, before its first drawing."""
    if headless and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("QT_NO_GUI_THREADPOOL", "1")
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])


def share_the_gil() -> None:
    """Let the GUI thread have the GIL back within half a millisecond while a worker runs Python.

    The GUI thread lets go of the GIL many times a turn (in and out of Qt's calls), and each time a
    worker running Python (a model's summary, the lab's jobs, imports) takes it, the GUI thread waited up to the
    whole interval to get it back: with Python's 5 ms, making the lab's three pyqtgraph views took 260-370 ms
    instead of 55 ms beside a busy worker (120 ms at 1 ms, 65-85 ms at 0.5 ms). The worker loses nothing while the
    GUI thread is idle (no one asks for the GIL); a switch costs microseconds."""
    if sys.getswitchinterval() > SWITCH_INTERVAL_S:
        sys.setswitchinterval(SWITCH_INTERVAL_S)


def gui_post() -> Callable[[Callable[[], None]], None]:
    """A ``post`` that runs callables on the Qt GUI thread (queued through a signal)."""
    global _POSTER
    if _POSTER is None:
        from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal

        class _Poster(QObject):
            posted = Signal(object)

            def __init__(self):
                super().__init__()
                self.moveToThread(QCoreApplication.instance().thread())
                self.posted.connect(self._run, Qt.QueuedConnection)

            def _run(self, fn) -> None:
                fn()

        _POSTER = _Poster()
    return _POSTER.posted.emit
