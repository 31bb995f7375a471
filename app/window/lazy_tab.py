"""A tab of the main window built the first time it is opened (the lab, Live, Figure, Charts): a placeholder
page at start, so that a view's imports (numpy, pyqtgraph, OpenCV) and widgets cost the window's start
nothing; an action in the View menu with the tab's shortcut; the view (``make()``) put in the placeholder's
place when the tab is first shown or asked for. The one way of doing this: a view subclasses ``LazyTab``."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QAction, QKeySequence

from cnn_explorer.widgets.common.panels import message_page


def add_action(window, name: str, text: str, keys: str | None, slot, menu: str, before=None) -> QAction:
    """An action of ``window`` (so its shortcut works everywhere) in menu ``menu``, before ``before``."""
    action = QAction(text, window)
    action.setObjectName(name)
    if keys:
        action.setShortcut(QKeySequence(keys))
    action.triggered.connect(lambda checked=False: slot())
    window.addAction(action)
    window.actions_by_name[name] = action
    target = getattr(window, "menus", {}).get(menu)
    if target is not None:
        target.insertAction(before, action) if before else target.addAction(action)
    return action


class _Room(QObject):
    """One per window: while a wide tab is current the zoo and inspector docks are hidden, and while a tab with
    its own model is (Live) the explorer's toolbar and the status bar's facts and message about the explorer's
    model too;
    on any other tab, and when the window closes (before it saves its state), they are as the user had them."""

    MODEL_FACTS = ("totals_label", "weights_label", "device_label", "time_label")  # in the status bar

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.wide: set[int] = set()  # the wide tabs' indices
        self.own_model: set[int] = set()  # the indices of tabs with a model of their own
        self.hidden: dict = {}  # widget: visible before it was hidden
        window.installEventFilter(self)
        window.tabs.currentChanged.connect(self.follow)

    @classmethod
    def of(cls, window) -> "_Room":
        room = getattr(window, "_wide_room", None)
        if room is None:
            room = window._wide_room = cls(window)
        return room

    def follow(self, index: int) -> None:
        names = (("zoo_dock", "inspector_dock") if index in self.wide else ()) + \
                (("toolbar", *self.MODEL_FACTS) if index in self.own_model else ())
        wanted = [w for w in (getattr(self.window, name, None) for name in names) if w is not None]
        for widget in [w for w in self.hidden if w not in wanted]:  # from one wide tab to another: kept
            widget.setVisible(self.hidden.pop(widget))
        for widget in wanted:
            if widget not in self.hidden:
                self.hidden[widget] = widget.isVisible()
                widget.hide()
        if index in self.own_model:  # a passing message is about the explorer's model ("… weights …")
            self.window.statusBar().clearMessage()

    def restore(self) -> None:
        for widget, visible in self.hidden.items():
            widget.setVisible(visible)
        self.hidden.clear()

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        if watched is self.window and event.type() == QEvent.Close:
            self.restore()
        return False


class LazyTab:
    """Subclasses set ``name``, ``title``, ``action_text``, ``shortcut`` and ``waiting`` and give ``make()``
    (the view, built once) and ``page_of(view)`` (its widget); ``opened(view, first)`` runs each time the tab
    is shown and ``left(view)`` each time another tab is."""

    name = title = action_text = shortcut = waiting = ""
    wide = False  # the docks make room while it is shown
    own_model = False  # it shows a model of its own: the explorer's toolbar and model facts step aside

    def __init__(self, window):
        self.window = window
        self.built = None
        self._building = False
        self._inside = False
        self.placeholder = message_page(window, f"{self.name}_placeholder")
        self.placeholder.setText(self.waiting)
        self.index = window.add_tab(self.placeholder, self.title)
        if self.wide:
            _Room.of(window).wide.add(self.index)
        if self.own_model:
            _Room.of(window).own_model.add(self.index)
        self.action = add_action(window, f"{self.name}_tab", self.action_text, self.shortcut, self.show, "View",
                                 window.actions_by_name.get("fit"))
        window.tabs.currentChanged.connect(self._tab_changed)

    def make(self):
        raise NotImplementedError

    def page_of(self, view):
        return view

    def opened(self, view, first: bool) -> None:
        pass

    def left(self, view) -> None:
        pass

    def build(self):
        """The view, put in place of the placeholder the first time it is needed."""
        if self.built is None:
            if self._building:
                raise RuntimeError(f"the {self.title} tab is being built")
            self._building = True
            try:
                view = self.make()
                tabs = self.window.tabs
                current = tabs.currentIndex()
                tabs.blockSignals(True)  # the swap is not the user changing tabs
                try:
                    tabs.removeTab(self.index)
                    tabs.insertTab(self.index, self.page_of(view), self.title)
                    tabs.setCurrentIndex(current)
                finally:
                    tabs.blockSignals(False)
                self.placeholder.deleteLater()
                self.built = view
            finally:
                self._building = False
        return self.built

    def is_current(self) -> bool:
        return self.window.tabs.currentIndex() == self.index

    def show(self) -> None:
        if not self.is_current():
            self.window.tabs.setCurrentIndex(self.index)  # _tab_changed opens it
        else:
            self._tab_changed(self.index)

    def _tab_changed(self, index: int) -> None:
        if index == self.index and not self._inside and not self._building:
            first = self.built is None
            self._inside = True
            self.opened(self.build(), first)
        elif index != self.index and self._inside:
            self._inside = False
            if self.built is not None:
                self.left(self.built)
