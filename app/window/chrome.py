"""The window's chrome: the status bar (the step, a progress bar, Cancel, and the current model's facts) and the
toolbar (the input size, the find box, a few layer actions, the model's name)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (QDockWidget, QLabel, QLineEdit, QProgressBar, QPushButton, QSizePolicy, QSpinBox,
                               QToolBar, QWidget)

from cnn_explorer.app.explorer.vocabulary import totals_tip, window_title
from cnn_explorer.widgets.common import format as fmt
from cnn_explorer.widgets.common.panels import DockTitleBar

TOOLBAR = (("fit", "Fit"), ("fold_all", "Fold all"), ("unfold_all", "Unfold all"), ("prev_layer", "◀ Prev"),
           ("next_layer", "Next ▶"))


class FittingTabs(QObject):
    """The central tabs, all in sight: where their titles are wider than the tabs' room (1024 px with the zoo
    and the inspector beside, or larger text), the long ones take their short form ("Graph", "Table"; the
    full one is the tab's tooltip), so that no tab hides behind the tab bar's scroll arrows."""

    SHORT = {"Layer graph": "Graph", "Summary table": "Table"}

    def __init__(self, tabs):
        super().__init__(tabs)
        self.tabs = tabs
        tabs.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        if event.type() in (QEvent.Resize, QEvent.FontChange, QEvent.StyleChange):
            self.fit()
        return False

    def fit(self) -> None:
        bar = self.tabs.tabBar()
        full = {short: title for title, short in self.SHORT.items()}
        for i in range(bar.count()):  # the full titles first, to measure them
            title = full.get(bar.tabText(i), bar.tabText(i))
            bar.setTabText(i, title)
            if title in self.SHORT:
                bar.setTabToolTip(i, title)
        if bar.sizeHint().width() > self.tabs.width():
            for i in range(bar.count()):
                bar.setTabText(i, self.SHORT.get(bar.tabText(i), bar.tabText(i)))


def _label(parent, name: str, text: str = "") -> QLabel:
    (widget := QLabel(text, parent)).setObjectName(name)
    return widget


def add_dock(window, name: str, title: str, widget: QWidget, area, shortcut: str | None):
    """A closable, movable, floatable dock of ``window``; returns it and its View › Show … toggle."""
    dock = QDockWidget(title, window)
    dock.setObjectName(f"{name}_dock")
    dock.setWidget(widget)
    dock.setTitleBarWidget(DockTitleBar(dock))
    dock.setFeatures(QDockWidget.DockWidgetClosable | QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable)
    window.addDockWidget(area, dock)
    toggle = dock.toggleViewAction()
    toggle.setText(f"Show &{title[0].lower()}{title[1:]}")
    if shortcut:
        toggle.setShortcut(QKeySequence(shortcut))
    window.addAction(toggle)  # its keys work with the menu bar hidden
    return dock, toggle


class StatusBar:
    """The status bar's widgets: what is being done (with progress and Cancel), then the model's facts."""

    FACTS = ("totals_label", "weights_label", "device_label", "time_label")

    def __init__(self, window, cancel):
        bar = self.bar = window.statusBar()
        bar.setObjectName("status_bar")
        bar.setSizeGripEnabled(False)
        self.step_label = _label(window, "step_label")
        self.progress = QProgressBar(window)
        self.progress.setObjectName("progress")
        self.progress.setMaximumWidth(160)
        self.progress.setTextVisible(False)
        self.progress.setRange(0, 0)
        self.cancel_button = QPushButton("Cancel", window)
        self.cancel_button.setObjectName("cancel_button")
        self.cancel_button.setToolTip("Cancel loading (Esc)")
        self.cancel_button.clicked.connect(cancel)
        self.device_label, self.weights_label = _label(window, "device_label", "cpu"), _label(window, "weights_label")
        self.totals_label, self.time_label = _label(window, "totals_label"), _label(window, "time_label")
        for widget in (self.step_label, self.progress, self.cancel_button):
            bar.addWidget(widget)
        for widget in self.facts():
            bar.addPermanentWidget(widget)
        self.set_busy(False)

    def facts(self) -> list[QWidget]:
        return [getattr(self, name) for name in self.FACTS]

    def set_busy(self, busy: bool, text: str = "") -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        if busy:
            self.progress.setRange(0, 0)
        self.step_label.setText(text if busy else "")

    def show_progress(self, step: str, percent: int) -> None:
        self.step_label.setText(step + ("" if percent < 0 else f" {percent}%"))
        self.progress.setRange(0, 0 if percent < 0 else 100)
        self.progress.setValue(max(percent, 0))

    def show_result(self, result, previous=None) -> None:
        """The model's facts: its totals (the depth as the papers count it in the tip), weights, device, time;
        and its news: a failure, or its weights when they differ from those of ``previous``, the model shown
        before. Whatever was said of that one (its weights, cut short: "resnet50: pretrained weights un…")
        goes: it would name a model no longer shown."""
        if result.error:
            self.bar.showMessage(f"{result.name}: {result.error}", 15000)
        elif previous is None or previous.weights_message != result.weights_message:
            self.bar.showMessage(f"{result.name}: {result.weights_message}", 10000)
        else:
            self.bar.clearMessage()
        self.device_label.setText(f"device: {result.device}")
        label = result.weights_label
        self.weights_label.setText(f"weights: {'file' if label.startswith('file:') else label}")
        self.weights_label.setToolTip(result.weights_message)
        t = result.totals
        self.totals_label.setText(f"{fmt.short(t.params)} params · {fmt.macs(t.macs)}" if t else "")
        self.totals_label.setToolTip(totals_tip(t) if t else "")
        self.time_label.setText(f"{result.seconds:.2f} s")
        self.time_label.setToolTip("time to build the model, load its weights and record its graph")


class Toolbar:
    """The input size (Enter applies it), the find box, the layer actions of ``TOOLBAR``, the model's name."""

    def __init__(self, window, actions: dict, size_edited, find_next):
        bar = self.bar = QToolBar("Tools", window)
        bar.setObjectName("tools_toolbar")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonTextOnly)
        window.addToolBar(Qt.TopToolBarArea, bar)
        bar.addWidget(QLabel(" Input ", window))
        self.input_h, self.input_w = QSpinBox(window), QSpinBox(window)
        for spin, name in ((self.input_h, "input_height"), (self.input_w, "input_width")):
            spin.setObjectName(name)
            spin.setRange(8, 4096)
            spin.setValue(224)
            spin.setKeyboardTracking(False)
            spin.setToolTip("Input size (height × width): change it and press Enter to see the shapes change")
            spin.editingFinished.connect(size_edited)
        bar.addWidget(self.input_h)
        bar.addWidget(QLabel(" × ", window))
        bar.addWidget(self.input_w)
        bar.addSeparator()
        self.find_box = QLineEdit(window)
        self.find_box.setObjectName("find_box")
        self.find_box.setPlaceholderText("Find layer (Ctrl+F)")
        self.find_box.setClearButtonEnabled(True)
        self.find_box.setMaximumWidth(260)
        self.find_box.returnPressed.connect(find_next)
        bar.addWidget(self.find_box)
        bar.addSeparator()
        for name, label in TOOLBAR:
            action = actions[name]
            button = bar.addAction(label)
            button.setToolTip(f"{action.text().replace('&', '')} ({action.shortcut().toString()})")
            button.triggered.connect(action.trigger)
        spacer = QWidget(window)
        spacer.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)
        bar.addWidget(spacer)
        self.model_label = _label(window, "model_label")
        bar.addWidget(self.model_label)

    def input_size(self) -> tuple[int, int]:
        return self.input_h.value(), self.input_w.value()

    def show_input_size(self, size: tuple[int, int]) -> None:
        for spin, value in ((self.input_h, size[0]), (self.input_w, size[1])):
            blocked = spin.blockSignals(True)
            spin.setValue(value)
            spin.blockSignals(blocked)

    def show_model(self, name: str, totals) -> None:
        self.model_label.setText(f"<b>{name}</b> ")
        self.bar.window().setWindowTitle(window_title(name, totals))

    def show_model_label(self, shown: bool) -> None:
        """In presentation the graph's heading names the model: without the label the toolbar fits 1024 px."""
        for action in self.bar.actions():
            if self.bar.widgetForAction(action) is self.model_label:
                action.setVisible(shown)
