"""Handing work back to the Qt GUI thread: ``gui_post()`` is the ``post`` that the request runner
(``core/requests.py``, which has no Qt) and the Live tab's threads use to deliver their results."""

from __future__ import annotations

from typing import Callable

_POSTER = None


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
