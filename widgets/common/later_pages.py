"""Pages of a ``QTabWidget`` made after it, so that a panel's first opening does not wait for pages it does not
show: each of them waits as a blank page in its tab, and is made one per turn of the event loop after
(``steps.later``), or at once when its tab is chosen or the page is asked for (``make``). The Charts tab's pages and the lab's Kernels and
Tools pages are made so (a pyqtgraph plot takes 10-20 ms to make, 30-80 ms on the busy 2-core machine)."""

from __future__ import annotations

from collections.abc import Generator

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QTabWidget, QWidget

from cnn_explorer.widgets.common.steps import later


class LaterPages(QObject):
    """``pages``: {name: (title, make)} in ``tabs``' order from tab ``first``, ``make()`` returning the page, or a
    generator that returns it: made in the background, such a page takes a turn for each of its ``yield``s (a page
    of several plots, a plot a turn), and asked for, it is finished at once. ``made(name, page)`` is called once
    each page is in its tab."""

    def __init__(self, tabs: QTabWidget, pages: dict, made, first: int = 0):
        super().__init__(tabs)
        self.tabs = tabs
        self._waiting = {name: (first + i, title, make) for i, (name, (title, make)) in enumerate(pages.items())}
        self._made = made
        self._begun: dict = {}  # name -> the generator of a page made a step a turn, begun
        for _, title, _ in self._waiting.values():
            tabs.addTab(QWidget(tabs), title)
        tabs.currentChanged.connect(self._tab_chosen)  # before any slot connected later
        later(self._make_next, self)

    def waiting(self, name: str | None = None) -> bool:
        """Whether page ``name`` (any page when None) is not made yet."""
        return bool(self._waiting) if name is None else name in self._waiting

    def make(self, name: str) -> None:
        """Make page ``name`` now, in its tab's place (nothing if it is made)."""
        if name not in self._waiting:
            return
        steps = self._steps(name)
        while (page := _step(steps)) is None:
            pass
        self._insert(name, page)

    def _steps(self, name: str):
        """Page ``name``'s generator where it was begun, else what its ``make()`` gives."""
        return self._begun.pop(name, None) or self._waiting[name][2]()

    def _insert(self, name: str, page: QWidget) -> None:
        index, title, _ = self._waiting.pop(name)
        blank, current = self.tabs.widget(index), self.tabs.currentIndex()
        self.tabs.blockSignals(True)  # the swap is not the user changing pages
        try:
            self.tabs.removeTab(index)
            self.tabs.insertTab(index, page, title)
            self.tabs.setCurrentIndex(current)
        finally:
            self.tabs.blockSignals(False)
        blank.deleteLater()
        self._made(name, page)

    def make_all(self) -> None:
        for name in list(self._waiting):
            self.make(name)

    def make_until(self, found) -> None:
        """Make the pages waiting, in order, until ``found()`` is true (all of them if it never is)."""
        while self._waiting and not found():
            self.make(next(iter(self._waiting)))

    def _tab_chosen(self, index: int) -> None:
        name = next((n for n, (i, _, _) in self._waiting.items() if i == index), None)
        if name is not None:
            self.make(name)

    def _make_next(self) -> None:
        """A page, or a step of the one being made, in this turn."""
        if not self._waiting:
            return
        name = next(iter(self._waiting))
        steps = self._steps(name)
        page = _step(steps)
        if page is None:
            self._begun[name] = steps
        else:
            self._insert(name, page)
        later(self._make_next, self)


def _step(steps) -> QWidget | None:
    """The page ``make()`` gave, or the next step of its generator: None while steps remain, then the page."""
    if not isinstance(steps, Generator):
        return steps
    try:
        next(steps)
    except StopIteration as end:
        return end.value
    return None
