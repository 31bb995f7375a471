"""Handing work back to the Qt GUI thread: ``gui_post()`` is the ``post`` that the request runner
(``core/requests.py``, which has no Qt) and the Live tab's threads use to deliver their results."""

from __future__ import annotations

import sys
from typing import Callable

_POSTER = None

#: How long a thread running Python keeps the GIL once another thread asks for it (Python's default: 5 ms).
SWITCH_INTERVAL_S = 0.0005


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
