"""Work done in small steps on the GUI thread, one step per turn of the event loop for the whole application:
``later(fn, owner)`` queues ``fn``; one timer runs the queue's first step, and the next one turn later.

Why one queue: a chain of ``QTimer.singleShot(0, …)`` is run from Qt's posted events, which the event loop
drains without running timers in between, so two chains (the Charts tab's pages, the comparison's bar plots, the
lab's pages) ran back to back: one stall of their sum (1.3 s measured by benchmarks/heartbeat.py as the Lab tab
first opened), however small each step. From one queue behind a 1 ms timer, each step is a turn of its own:
paint, input and the other timers come in between.
"""

from __future__ import annotations

from collections import deque

from PySide6.QtCore import QCoreApplication, QObject, QTimer

_queue = None


def _alive(qobject: QObject) -> bool:
    """The Qt object behind ``qobject`` is not deleted (Qt deletes a widget's children with it)."""
    try:
        qobject.objectName()
    except RuntimeError:  # "Internal C++ object … already deleted"
        return False
    return True


class _Queue(QObject):
    def __init__(self):
        super().__init__(QCoreApplication.instance())
        self.steps: deque = deque()
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(1)  # a real timer: the turn's posted events and timers come first
        self.timer.timeout.connect(self._run_one)

    def add(self, fn, owner) -> None:
        self.steps.append((fn, owner))
        if not self.timer.isActive():
            self.timer.start()

    def _run_one(self) -> None:
        while self.steps:
            fn, owner = self.steps.popleft()
            if owner is None or _alive(owner):
                fn()
                break
        if self.steps:
            self.timer.start()


def later(fn, owner: QObject | None = None) -> None:
    """Run ``fn()`` on the GUI thread in a turn of its own, after the steps queued before it (not if ``owner`` was
    deleted meanwhile). Call it from the GUI thread."""
    global _queue
    if _queue is None or not _alive(_queue):
        _queue = _Queue()
    _queue.add(fn, owner)
