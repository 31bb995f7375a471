"""The explorer's main window: the zoo on the left, the layer graph (and the summary table) in the middle,
the inspector on the right, and everything a teacher needs in front of a class.

The window holds plain data only. Building a model, loading its weights and recording its graph run in
``ModelWorker``'s thread; only the drawing of the graph happens here, on the GUI thread.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, QSettings, QStandardPaths, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QFont, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QApplication, QDialog, QDialogButtonBox, QDockWidget,
                               QFileDialog, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QMainWindow, QMessageBox,
                               QProgressBar, QPushButton, QSizePolicy, QSpinBox, QStackedWidget, QStyle,
                               QTableWidget, QTableWidgetItem, QTabWidget, QToolBar, QToolButton, QVBoxLayout,
                               QWidget)

from cnn_explorer.app.model_worker import ModelFailure, ModelRequest, ModelResult, ModelWorker, ParamCounter
from cnn_explorer.widgets.graph_layout import innermost_foldable
from cnn_explorer.widgets.graph_view import GraphView
from cnn_explorer.widgets.inspector import Inspector
from cnn_explorer.widgets.layer_info import LayerDetails, format_bytes, format_short
from cnn_explorer.widgets.summary_table import SummaryTable
from cnn_explorer.widgets.theme import THEME_LABELS, THEMES, apply_theme
from cnn_explorer.widgets.zoo_browser import ZooBrowser

ORGANIZATION = "CNN Explorer"
APPLICATION = "cnn-explorer"
DEFAULT_MODEL = "alexnet"
DEFAULT_THEME = "light"

# Font scales that Ctrl+plus / Ctrl+minus step through; presentation mode multiplies the chosen one.
FONT_SCALES = (0.8, 0.9, 1.0, 1.1, 1.25, 1.4, 1.6, 1.8, 2.0, 2.4, 2.8)
PRESENTATION_FACTOR = 1.4
MIN_POINT_SIZE = 10.0  # the 1.0 scale is never smaller than this: legible on a projector
# Going to a layer (next/previous, find, a table row) zooms the graph in to at least this, so that the
# labels of the layer are legible however small the screen.
READABLE_ZOOM = 0.9
# --screenshot waits at most this long for the zoo browser's parameter counts (first run only: then cached).
ZOO_COUNT_WAIT_S = 120

_BASE_FONT: QFont | None = None


def app_settings() -> QSettings:
    """The explorer's settings (an INI file in the user's config folder)."""
    return QSettings(QSettings.IniFormat, QSettings.UserScope, ORGANIZATION, APPLICATION)


def default_cache_dir() -> Path:
    env = os.environ.get("CNN_EXPLORER_CACHE_DIR")
    if env:
        return Path(env)
    base = QStandardPaths.writableLocation(QStandardPaths.GenericCacheLocation) or str(Path.home() / ".cache")
    return Path(base) / "cnn-explorer"


def _base_font() -> QFont:
    """The application font at scale 1, taken once (scaling changes the application font itself)."""
    global _BASE_FONT
    if _BASE_FONT is None:
        font = QFont(QApplication.font())
        if font.pointSizeF() > 0 and font.pointSizeF() < MIN_POINT_SIZE:
            font.setPointSizeF(MIN_POINT_SIZE)
        _BASE_FONT = font
    return QFont(_BASE_FONT)


class _DockTitleBar(QWidget):
    """A dock's title bar drawn with the window's font. Qt draws its own dock titles in a font of their
    own that the classroom font scale does not reach."""

    def __init__(self, dock: QDockWidget):
        super().__init__(dock)
        self.setObjectName("dock_title")
        self.setAttribute(Qt.WA_StyledBackground, True)
        self.label = QLabel(f"<b>{dock.windowTitle()}</b>", self)
        float_button = QToolButton(self)
        float_button.setIcon(self.style().standardIcon(QStyle.SP_TitleBarNormalButton))
        float_button.setToolTip("Float / dock")
        float_button.setAutoRaise(True)
        float_button.clicked.connect(lambda: dock.setFloating(not dock.isFloating()))
        close_button = QToolButton(self)
        close_button.setIcon(self.style().standardIcon(QStyle.SP_TitleBarCloseButton))
        close_button.setToolTip("Hide (View menu brings it back)")
        close_button.setAutoRaise(True)
        close_button.clicked.connect(dock.close)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 2, 2)
        layout.setSpacing(2)
        layout.addWidget(self.label, 1)
        layout.addWidget(float_button)
        layout.addWidget(close_button)


class MainWindow(QMainWindow):
    """The explorer. ``model_shown(name)`` is emitted once a model's graph (or its error page) is drawn;
    ``load_failed(message)`` when a request could not be served and the previous model stays."""

    model_shown = Signal(str)
    load_failed = Signal(str)

    def __init__(self, model: str | None = None, *, weights: str = "pretrained", view: str = "graph",
                 input_size: tuple[int, int] | None = None, theme: str | None = None,
                 settings: QSettings | None = None, cache_dir: str | os.PathLike | None = None,
                 restore_geometry: bool = True):
        super().__init__()
        self.setObjectName("main_window")
        self.setWindowTitle("CNN Explorer")
        self.setAttribute(Qt.WA_WindowPropagation)
        self.settings = settings or app_settings()
        self._result: ModelResult | None = None
        self._pending: ModelRequest | None = None
        self._weights = weights
        self._selected = ""
        self._syncing = False
        self._presentation = False
        self._was_maximized = False
        self._font_scale = float(self.settings.value("font_scale", 1.0) or 1.0)
        self._theme = theme or str(self.settings.value("theme", DEFAULT_THEME) or DEFAULT_THEME)
        if self._theme not in THEMES:
            self._theme = DEFAULT_THEME
        self._find_matches: list[str] = []
        self._find_text = ""
        self._closing = False

        # -- the panels --------------------------------------------------------------------------------
        self.graph = GraphView(self)
        self.graph.setObjectName("graph_view")
        self.graph_message = QLabel(self)
        self.graph_message.setObjectName("graph_message")
        self.graph_message.setAlignment(Qt.AlignCenter)
        self.graph_message.setWordWrap(True)
        self.graph_message.setMargin(40)
        self.graph_message.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.graph_stack = QStackedWidget(self)
        self.graph_stack.addWidget(self.graph)
        self.graph_stack.addWidget(self.graph_message)
        self._show_message_page("Loading the zoo…")

        self.table = SummaryTable(self)
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("central_tabs")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.graph_stack, "Layer graph")
        self.tabs.addTab(self.table, "Summary table")
        self.setCentralWidget(self.tabs)

        self.zoo = ZooBrowser(self)
        self.zoo_dock = self._dock("Model zoo", "zoo_dock", self.zoo, Qt.LeftDockWidgetArea)
        self.inspector = Inspector(self)
        self.inspector_dock = self._dock("Inspector", "inspector_dock", self.inspector, Qt.RightDockWidgetArea)

        self.error_box = QMessageBox(self)
        self.error_box.setObjectName("error_box")
        self.error_box.setIcon(QMessageBox.Warning)
        self.error_box.setWindowTitle("CNN Explorer")
        self.error_box.setStandardButtons(QMessageBox.Ok)

        self._build_status_bar()
        self._build_actions()
        self._build_toolbar()
        self._build_menus()

        # -- the workers -----------------------------------------------------------------------------------
        self.worker = ModelWorker(self)
        self.worker.zoo_listed.connect(self._on_zoo_listed)
        self.worker.progress.connect(self._on_progress)
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        cache = Path(cache_dir) if cache_dir else default_cache_dir()
        self.param_counter = ParamCounter(cache / "param_counts.json", self)
        self.param_counter.counted.connect(self.zoo.set_param_count)

        # -- wiring ------------------------------------------------------------------------------------------
        self.zoo.model_chosen.connect(self._on_zoo_chosen)
        self.zoo.name_entered.connect(self.open_model)
        self.graph.node_selected.connect(self._on_node_selected)
        self.table.layer_selected.connect(self._on_row_selected)

        self.resize(1440, 900)
        self.fit_docks()
        if restore_geometry:
            self._restore_window_state()
        self.apply_theme(self._theme)
        self.set_font_scale(self._font_scale)
        if view == "summary":
            self.tabs.setCurrentWidget(self.table)

        # The zoo first, then the model: the worker runs them in this order.
        self.worker.list_zoo()
        start = model or str(self.settings.value("last_model", DEFAULT_MODEL) or DEFAULT_MODEL)
        self._startup_model = start
        self.open_model(start, weights=weights, input_size=input_size)

    # ==== building the window ==============================================================================
    def fit_docks(self) -> None:
        """Give the docks a share of the window's width that leaves the graph most of it (at 1024 pixels:
        about 250 for the zoo and 245 for the inspector; in presentation a third for the inspector)."""
        width = self.width()
        if self._presentation:  # the zoo is hidden: the inspector's large text gets more room
            self.resizeDocks([self.inspector_dock], [int(max(280, min(520, 0.33 * width)))], Qt.Horizontal)
            return
        zoo = int(max(250, min(330, 0.23 * width)))
        inspector = int(max(240, min(400, 0.24 * width)))
        self.resizeDocks([self.zoo_dock, self.inspector_dock], [zoo, inspector], Qt.Horizontal)

    def _dock(self, title: str, name: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setTitleBarWidget(_DockTitleBar(dock))
        dock.setFeatures(QDockWidget.DockWidgetClosable | QDockWidget.DockWidgetMovable
                         | QDockWidget.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        return dock

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        bar.setObjectName("status_bar")
        bar.setSizeGripEnabled(False)
        self.step_label = QLabel(self)
        self.step_label.setObjectName("step_label")
        self.progress = QProgressBar(self)
        self.progress.setObjectName("progress")
        self.progress.setMaximumWidth(160)
        self.progress.setTextVisible(False)
        self.progress.setRange(0, 0)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setObjectName("cancel_button")
        self.cancel_button.setToolTip("Cancel loading (Esc)")
        self.cancel_button.clicked.connect(self.cancel_loading)
        self.device_label = QLabel("cpu", self)
        self.device_label.setObjectName("device_label")
        self.weights_label = QLabel(self)
        self.weights_label.setObjectName("weights_label")
        self.totals_label = QLabel(self)
        self.totals_label.setObjectName("totals_label")
        self.time_label = QLabel(self)
        self.time_label.setObjectName("time_label")
        bar.addWidget(self.step_label)
        bar.addWidget(self.progress)
        bar.addWidget(self.cancel_button)
        for label in (self.totals_label, self.weights_label, self.device_label, self.time_label):
            bar.addPermanentWidget(label)
        self._set_busy(False)

    def _action(self, text: str, slot, shortcut=None, *, tip: str = "", checkable: bool = False,
                name: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            shortcuts = shortcut if isinstance(shortcut, list) else [shortcut]
            action.setShortcuts([QKeySequence(s) for s in shortcuts])
        action.setShortcutContext(Qt.WindowShortcut)
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.setCheckable(checkable)
        if name:
            action.setObjectName(name)
        action.triggered.connect(slot)
        self.addAction(action)  # active even when the menu bar is hidden (presentation)
        return action

    def _build_actions(self) -> None:
        a = self._action
        self.open_action = a("&Open model…", self.focus_zoo_filter, QKeySequence.Open,
                             tip="Type a model's name in the zoo filter", name="open_model")
        self.weights_pretrained_action = a("&Pretrained weights", lambda: self.set_weights("pretrained"),
                                           checkable=True, tip="Use published weights when they can be had")
        self.weights_random_action = a("&Random weights", lambda: self.set_weights("random"), checkable=True,
                                       tip="Random initialization")
        self.weights_file_action = a("Weights from &file…", self.choose_weights_file, "Ctrl+Shift+O",
                                     tip="Load a .pt/.pth/.safetensors state dict")
        group = QActionGroup(self)
        for action in (self.weights_pretrained_action, self.weights_random_action):
            group.addAction(action)
        self._update_weights_actions()

        self.export_png_action = a("Export graph as &PNG…", lambda: self.export_graph_dialog("png"), "Ctrl+E")
        self.export_svg_action = a("Export graph as &SVG…", lambda: self.export_graph_dialog("svg"),
                                   "Ctrl+Shift+E")
        self.export_csv_action = a("Export summary as &CSV…", lambda: self.export_summary_dialog("csv"))
        self.export_md_action = a("Export summary as &Markdown…", lambda: self.export_summary_dialog("md"))
        self.quit_action = a("&Quit", self.close, "Ctrl+Q")

        self.find_action = a("&Find layer…", self.focus_find, QKeySequence.Find, name="find_layer")
        self.next_layer_action = a("&Next layer", lambda: self.step_layer(+1), ["N", "PgDown"],
                                   name="next_layer")
        self.prev_layer_action = a("&Previous layer", lambda: self.step_layer(-1), ["P", "PgUp"],
                                   name="previous_layer")
        self.fit_action = a("&Fit graph to window", self.fit_graph, "F", name="fit")
        self.fold_action = a("F&old block of selection", self.fold_selected, "[", name="fold")
        self.unfold_action = a("&Unfold selected block", self.unfold_selected, "]", name="unfold")
        self.fold_all_action = a("Fold &all blocks", self.fold_all, "Ctrl+[", name="fold_all")
        self.unfold_all_action = a("Unfold all b&locks", self.unfold_all, "Ctrl+]", name="unfold_all")
        self.cancel_action = a("&Cancel loading / leave presentation", self.escape, "Esc", name="cancel")

        self.graph_tab_action = a("Layer &graph", lambda: self.tabs.setCurrentIndex(0), "Ctrl+1")
        self.table_tab_action = a("Summary &table", lambda: self.tabs.setCurrentIndex(1), "Ctrl+2")
        self.zoo_toggle = self.zoo_dock.toggleViewAction()
        self.zoo_toggle.setText("Show &zoo browser")
        self.zoo_toggle.setShortcut(QKeySequence("Alt+1"))
        self.inspector_toggle = self.inspector_dock.toggleViewAction()
        self.inspector_toggle.setText("Show &inspector")
        self.inspector_toggle.setShortcut(QKeySequence("Alt+2"))
        for action in (self.zoo_toggle, self.inspector_toggle):
            self.addAction(action)

        self.zoom_in_action = a("&Larger text", self.zoom_in, [QKeySequence.ZoomIn, "Ctrl+="], name="zoom_in")
        self.zoom_out_action = a("&Smaller text", self.zoom_out, QKeySequence.ZoomOut, name="zoom_out")
        self.zoom_reset_action = a("&Normal text size", self.zoom_reset, "Ctrl+0", name="zoom_reset")
        self.presentation_action = a("&Presentation (full screen, large text)", self.toggle_presentation,
                                     "F11", checkable=True, name="presentation")
        self.theme_actions: dict[str, QAction] = {}
        theme_group = QActionGroup(self)
        theme_keys = {"light": "Ctrl+Shift+L", "dark": "Ctrl+Shift+D", "high_contrast": "Ctrl+Shift+H"}
        for theme in THEMES:
            action = a(f"{THEME_LABELS[theme]} theme", lambda checked=False, t=theme: self.apply_theme(t),
                       theme_keys[theme], checkable=True, name=f"theme_{theme}")
            theme_group.addAction(action)
            self.theme_actions[theme] = action

        self.shortcuts_action = a("&Keyboard shortcuts", self.show_shortcuts, QKeySequence.HelpContents)
        self.about_action = a("&About CNN Explorer", self.show_about)

    def _build_toolbar(self) -> None:
        bar = QToolBar("Tools", self)
        bar.setObjectName("tools_toolbar")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonTextOnly)
        self.addToolBar(Qt.TopToolBarArea, bar)
        self.toolbar = bar
        bar.addWidget(QLabel(" Input ", self))
        self.input_h = QSpinBox(self)
        self.input_w = QSpinBox(self)
        for spin, name in ((self.input_h, "input_height"), (self.input_w, "input_width")):
            spin.setObjectName(name)
            spin.setRange(8, 4096)
            spin.setValue(224)
            spin.setKeyboardTracking(False)
            spin.setToolTip("Input size (height × width): change it and press Enter to see the shapes change")
            spin.editingFinished.connect(self._input_size_edited)
        bar.addWidget(self.input_h)
        bar.addWidget(QLabel(" × ", self))
        bar.addWidget(self.input_w)
        bar.addSeparator()
        self.find_box = QLineEdit(self)
        self.find_box.setObjectName("find_box")
        self.find_box.setPlaceholderText("Find layer (Ctrl+F)")
        self.find_box.setClearButtonEnabled(True)
        self.find_box.setMaximumWidth(260)
        self.find_box.returnPressed.connect(self.find_next)
        bar.addWidget(self.find_box)
        bar.addSeparator()
        for action, label in ((self.fit_action, "Fit"), (self.fold_all_action, "Fold all"),
                              (self.unfold_all_action, "Unfold all"), (self.prev_layer_action, "◀ Prev"),
                              (self.next_layer_action, "Next ▶")):
            button_action = bar.addAction(label)
            button_action.setToolTip(f"{action.text().replace('&', '')} ({action.shortcut().toString()})")
            button_action.triggered.connect(action.trigger)
        spacer = QWidget(self)
        spacer.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)
        bar.addWidget(spacer)
        self.model_label = QLabel(self)
        self.model_label.setObjectName("model_label")
        bar.addWidget(self.model_label)

    def _build_menus(self) -> None:
        menus = self.menuBar()
        file_menu = menus.addMenu("&File")
        file_menu.addAction(self.open_action)
        weights_menu = file_menu.addMenu("&Weights")
        weights_menu.addActions([self.weights_pretrained_action, self.weights_random_action,
                                 self.weights_file_action])
        file_menu.addSeparator()
        file_menu.addActions([self.export_png_action, self.export_svg_action, self.export_csv_action,
                              self.export_md_action])
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)

        layer_menu = menus.addMenu("&Layers")
        layer_menu.addActions([self.find_action, self.next_layer_action, self.prev_layer_action])
        layer_menu.addSeparator()
        layer_menu.addActions([self.fold_action, self.unfold_action, self.fold_all_action, self.unfold_all_action])
        layer_menu.addSeparator()
        layer_menu.addAction(self.cancel_action)

        view_menu = menus.addMenu("&View")
        view_menu.addActions([self.graph_tab_action, self.table_tab_action, self.fit_action])
        view_menu.addSeparator()
        view_menu.addActions([self.zoo_toggle, self.inspector_toggle])
        view_menu.addSeparator()
        view_menu.addActions([self.presentation_action, self.zoom_in_action, self.zoom_out_action,
                              self.zoom_reset_action])
        theme_menu = view_menu.addMenu("T&heme")
        theme_menu.addActions(list(self.theme_actions.values()))

        help_menu = menus.addMenu("&Help")
        help_menu.addActions([self.shortcuts_action, self.about_action])
        self.menus = {"File": file_menu, "Layers": layer_menu, "View": view_menu, "Help": help_menu}

    # ==== settings ===========================================================================================
    def _restore_window_state(self) -> None:
        geometry = self.settings.value("geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        state = self.settings.value("window_state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)

    def save_settings(self) -> None:
        self.settings.setValue("theme", self._theme)
        self.settings.setValue("font_scale", self._font_scale)
        if not self._presentation:
            self.settings.setValue("geometry", self.saveGeometry())
            self.settings.setValue("window_state", self.saveState())
        if self._result is not None:
            self.settings.setValue("last_model", self._result.name)
        self.settings.sync()

    def closeEvent(self, event) -> None:  # noqa: N802
        self._closing = True
        self.save_settings()
        self.error_box.close()
        self.worker.shutdown(wait=True)
        self.param_counter.shutdown(wait=True)
        super().closeEvent(event)

    # ==== opening models =====================================================================================
    def open_model(self, name: str, *, weights: str | None = None,
                   input_size: tuple[int, int] | None = None) -> ModelRequest | None:
        """Ask the worker for ``name``. The window keeps showing the current model until it arrives."""
        name = (name or "").strip()
        if not name or self._closing:
            return None
        if weights is not None:
            self._weights = weights
            self._update_weights_actions()
        request = self.worker.submit(name, self._weights, input_size)
        self._pending = request
        self.param_counter.pause()
        self._set_busy(True, f"Opening {name}…")
        return request

    def reload(self, *, weights: str | None = None, input_size: tuple[int, int] | None = None):
        if self._result is None:
            return self.open_model(self._startup_model, weights=weights, input_size=input_size)
        return self.open_model(self._result.name, weights=weights,
                               input_size=input_size or self._result.request.input_size)

    def current_model(self) -> str:
        return self._result.name if self._result else ""

    def current_result(self) -> ModelResult | None:
        return self._result

    def is_loading(self) -> bool:
        return self._pending is not None

    def cancel_loading(self) -> None:
        if self._pending is not None:
            self.worker.cancel(self._pending.id)
            self._set_busy(True, "Cancelling…")

    def escape(self) -> None:
        if self._pending is not None:
            self.cancel_loading()
        elif self._presentation:
            self.toggle_presentation()

    def _on_zoo_chosen(self, name: str) -> None:
        if self._result is not None and name == self._result.name and self._pending is None:
            return
        self.open_model(name)

    def _on_zoo_listed(self, items) -> None:
        self.zoo.set_entries(items)
        cached = self.param_counter.cached()
        for item in items:
            self.zoo.set_param_count(item.name, cached.get(item.name))
        if self._result is not None:
            self.zoo.set_current(self._result.name)
        if not self._closing:
            self.param_counter.start([item.name for item in items])

    def _on_progress(self, request_id: int, step: str, percent: int) -> None:
        if self._pending is None or request_id != self._pending.id:
            return
        self.step_label.setText(step + ("" if percent < 0 else f" {percent}%"))
        if percent < 0:
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, 100)
            self.progress.setValue(percent)

    def _resume_counting_later(self) -> None:
        # Counting parameters for the zoo waits until the model is shown and drawn.
        QTimer.singleShot(1500, self, lambda: None if self._pending is not None or self._closing
                          else self.param_counter.resume())

    def _on_failed(self, failure: ModelFailure) -> None:
        if self._pending is None or failure.request.id != self._pending.id:
            return  # a stale request: a newer one is on its way
        self._pending = None
        self._resume_counting_later()
        self._set_busy(False)
        if failure.kind == "cancelled":
            self.statusBar().showMessage(f"Loading {failure.request.name} was cancelled.", 8000)
            if self._result is None:
                self._show_message_page(f"Loading {failure.request.name} was cancelled.<br>"
                                        "Choose a model in the zoo (Ctrl+O).")
        else:
            self.show_error(failure.message)
        if self._result is not None:
            self.zoo.set_current(self._result.name)
            self._weights = self._result.request.weights
            self._update_weights_actions()
            self._show_input_size(self._result.input_size)
        elif failure.kind == "cancelled":
            pass
        elif failure.kind in ("unknown_model", "input_size") and failure.request.name != DEFAULT_MODEL:
            # Nothing shown yet (a bad name on the command line): open the default model instead.
            self.open_model(DEFAULT_MODEL)
        elif failure.kind == "weights":
            self.open_model(failure.request.name, weights="pretrained")
        else:
            self._show_message_page(failure.message)
        self.load_failed.emit(failure.message)

    def _on_finished(self, result: ModelResult) -> None:
        if self._pending is None or result.request.id != self._pending.id:
            return  # superseded while on its way
        self._pending = None
        self._resume_counting_later()
        self._set_busy(False)
        self.show_result(result)

    def show_result(self, result: ModelResult) -> None:
        """Put a worker's result on screen (GUI thread: only drawing happens here)."""
        previous = self._result
        self._result = result
        self._selected = ""
        self._find_matches = []
        self.zoo.set_current(result.name)
        self.settings.setValue("last_model", result.name)
        self.setWindowTitle(f"CNN Explorer — {result.name}")
        self.model_label.setText(f"<b>{result.name}</b> ")
        self._show_input_size(result.input_size)
        self._weights = result.request.weights
        self._update_weights_actions()
        self.graph.set_data(result.graph)
        if result.graph is not None:
            self.graph_stack.setCurrentWidget(self.graph)
        if result.error:
            self._show_message_page(f"<h2>{result.name}</h2><p>{result.error}</p>"
                                    "<p>Its entry in the zoo, the totals the model could give and the inspector's "
                                    "overview are still here; the graph is not.</p>")
        title = f"{result.name} at {result.input_size[0]}×{result.input_size[1]}"
        self.table.set_rows(result.rows, result.totals, title=title)
        self.inspector.show_overview(result.overview)
        self._update_status(result)
        if result.error:
            self.statusBar().showMessage(f"{result.name}: {result.error}", 15000)
        elif previous is None or previous.weights_message != result.weights_message:
            self.statusBar().showMessage(f"{result.name}: {result.weights_message}", 10000)
        QTimer.singleShot(0, lambda name=result.name: self.model_shown.emit(name))

    def _show_message_page(self, html: str) -> None:
        self.graph_message.setText(html)
        self.graph_stack.setCurrentWidget(self.graph_message)

    def _update_status(self, result: ModelResult) -> None:
        self.device_label.setText(f"device: {result.device}")
        label = result.weights_label
        weights = "file" if label.startswith("file:") else label
        self.weights_label.setText(f"weights: {weights}")
        self.weights_label.setToolTip(result.weights_message)
        if result.totals is not None:
            t = result.totals
            self.totals_label.setText(f"{format_short(t.params)} params · {t.macs / 1e9:.2f} GMACs")
            self.totals_label.setToolTip(f"{t.params:,} parameters, {t.macs:,} MACs, "
                                         f"{format_bytes(t.memory)} of activations, {t.layers} layers")
        else:
            self.totals_label.setText("")
        self.time_label.setText(f"{result.seconds:.2f} s")
        self.time_label.setToolTip("time to build the model, load its weights and record its graph")

    def _set_busy(self, busy: bool, text: str = "") -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        if busy:
            self.progress.setRange(0, 0)
        self.step_label.setText(text if busy else "")

    def show_error(self, message: str) -> None:
        """A clear message, never a traceback: in the status bar and in a (non-blocking) message box."""
        self.statusBar().showMessage(message, 15000)
        self.error_box.setText(message)
        if not self._closing:
            self.error_box.open()

    # ==== weights and input size ===========================================================================
    def _update_weights_actions(self) -> None:
        self.weights_pretrained_action.setChecked(self._weights == "pretrained")
        self.weights_random_action.setChecked(self._weights == "random")

    def set_weights(self, weights: str) -> None:
        if self._result is None or weights != self._result.request.weights:
            self.reload(weights=weights)

    def choose_weights_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Weights file", str(Path.home()),
                                              "Weights (*.pt *.pth *.safetensors *.bin);;All files (*)")
        if path:
            self.load_weights_file(path)

    def load_weights_file(self, path: str) -> ModelRequest | None:
        return self.reload(weights=path)

    def _show_input_size(self, size: tuple[int, int]) -> None:
        for spin, value in ((self.input_h, size[0]), (self.input_w, size[1])):
            blocked = spin.blockSignals(True)
            spin.setValue(value)
            spin.blockSignals(blocked)

    def _input_size_edited(self) -> None:
        if self._result is None:
            return
        size = (self.input_h.value(), self.input_w.value())
        if size != tuple(self._result.input_size):
            self.reload(input_size=size)

    # ==== selection: graph, table and inspector in step =======================================================
    def _details_of(self, name: str) -> LayerDetails | None:
        if self._result is None:
            return None
        return self._result.details.get(name) or self._result.blocks.get(name)

    def _show_details(self, name: str) -> None:
        details = self._details_of(name)
        if details is not None:
            self.inspector.show_details(details)
        elif self._result is not None:
            self.inspector.show_overview(self._result.overview)

    def _on_node_selected(self, name: str) -> None:
        if self._syncing:
            return
        self._selected = name
        self._show_details(name)
        self._syncing = True
        try:
            if name in (self._result.details if self._result else {}):
                self.table.select_layer(name)
            else:
                self.table.clear_selection()
        finally:
            self._syncing = False

    def _on_row_selected(self, name: str) -> None:
        if self._syncing:
            return
        self._selected = name
        self._show_details(name)
        self._syncing = True
        try:
            self.graph.select_node(name)
            self._ensure_readable()
        finally:
            self._syncing = False

    def _ensure_readable(self) -> None:
        """Zoom in (around the selection, which select_node centred) when the graph is too small to read."""
        if self.graph.selected_node() is not None and self.graph.zoom() < READABLE_ZOOM:
            self.graph.set_zoom(READABLE_ZOOM)

    def select_layer(self, name: str) -> bool:
        """Select ``name`` (a layer, or a block path) in the graph, the table and the inspector."""
        if self._details_of(name) is None:
            return False
        self._selected = name
        self._show_details(name)
        self._syncing = True
        try:
            self.graph.select_node(name)
            self._ensure_readable()
            if not self.table.select_layer(name):
                self.table.clear_selection()
        finally:
            self._syncing = False
        return True

    def selected_layer(self) -> str:
        return self._selected

    def step_layer(self, step: int) -> None:
        """Select the next (+1) or previous (-1) layer, in the table's order (the network's order unless
        the table is sorted)."""
        if self._result is None or not self._result.rows:
            return
        names = [r.name for r in self.table.rows()] or [r.name for r in self._result.rows]
        if self._selected in names:
            index = names.index(self._selected) + step
        elif self._selected and self._selected in self._result.blocks:
            inside = [i for i, n in enumerate(names) if self._inside(n, self._selected)]
            index = (max(inside) + 1 if step > 0 else min(inside) - 1) if inside else 0
        else:
            index = 0 if step > 0 else len(names) - 1
        self.select_layer(names[max(0, min(index, len(names) - 1))])

    def _inside(self, name: str, path: str) -> bool:
        node = self._result.graph.node_by_name(name) if self._result and self._result.graph else None
        scope = node.scope if node is not None else name
        return scope == path or scope.startswith(path + ".")

    # ==== finding and folding ====================================================================================
    def focus_zoo_filter(self) -> None:
        self.zoo_dock.show()
        self.zoo_dock.raise_()
        self.zoo.focus_filter()

    def focus_find(self) -> None:
        self.find_box.setFocus(Qt.ShortcutFocusReason)
        self.find_box.selectAll()

    def find_next(self) -> bool:
        """Select the next layer whose name or type holds the find box's text (Enter again: the next one)."""
        text = self.find_box.text().strip().lower()
        if not text or self._result is None:
            return False
        if text != self._find_text:
            self._find_text = text
            self._find_matches = [r.name for r in self._result.rows
                                  if text in r.name.lower() or text in r.type.lower()]
            self._find_index = -1
        if not self._find_matches:
            if not self.graph.search(self.find_box.text().strip()):
                self.statusBar().showMessage(f"No layer matches “{self.find_box.text().strip()}”.", 6000)
                return False
            return True
        self._find_index = (self._find_index + 1) % len(self._find_matches)
        name = self._find_matches[self._find_index]
        self.select_layer(name)
        self.statusBar().showMessage(
            f"“{self.find_box.text().strip()}”: match {self._find_index + 1} of {len(self._find_matches)} "
            f"({name}); Enter for the next.", 6000)
        return True

    def fit_graph(self) -> None:
        self.graph.fit()

    def _selected_scope(self) -> str:
        if not self._selected or self._result is None or self._result.graph is None:
            return ""
        node = self._result.graph.node_by_name(self._selected)
        return node.scope if node is not None else self._selected

    def fold_selected(self) -> None:
        """Fold the innermost block that holds the selected layer (or the selected block's parent)."""
        if self._result is None or self._result.graph is None:
            return
        scope = self._selected_scope()
        if self._selected in self._result.blocks and self._selected not in self._result.details:
            scope = self._selected.rpartition(".")[0]
        path = innermost_foldable(self._result.graph, scope) if scope else None
        if path is None:
            self.statusBar().showMessage("Select a layer inside a block to fold the block.", 5000)
            return
        self.graph.fold(path)
        self.select_layer(path)

    def unfold_selected(self) -> None:
        if self._result is None or not self._selected:
            return
        if self._selected in self._result.blocks:
            self.graph.unfold(self._selected)
        else:
            self.statusBar().showMessage("Select a folded block to unfold it.", 5000)

    def fold_all(self) -> None:
        self.graph.fold_all()

    def unfold_all(self) -> None:
        self.graph.unfold_all()

    # ==== classroom mode =====================================================================================
    def apply_theme(self, theme: str) -> None:
        if theme not in THEMES:
            return
        self._theme = theme
        apply_theme(QApplication.instance(), theme)
        self.graph.set_theme(theme)
        self.inspector.set_theme(theme)
        for name, action in self.theme_actions.items():
            action.setChecked(name == theme)
        self.settings.setValue("theme", theme)

    def theme(self) -> str:
        return self._theme

    def font_scale(self) -> float:
        """The scale the user chose (presentation mode multiplies it by PRESENTATION_FACTOR)."""
        return self._font_scale

    def effective_font_scale(self) -> float:
        return self._font_scale * (PRESENTATION_FACTOR if self._presentation else 1.0)

    def set_font_scale(self, scale: float) -> None:
        self._font_scale = max(FONT_SCALES[0], min(float(scale), FONT_SCALES[-1]))
        effective = self.effective_font_scale()
        font = _base_font()
        font.setPointSizeF(font.pointSizeF() * effective)
        app = QApplication.instance()
        app.setFont(font)
        # A style sheet stops font propagation (Qt fixes the fonts of styled widgets at polish time), and
        # the application font reaches widgets only while the event loop runs: set the font on the window
        # too and polish again, so the window, its docks and its dialogs change at once.
        app.setStyleSheet(app.styleSheet())
        self.setFont(font)
        self.graph.set_font_scale(effective)
        self.settings.setValue("font_scale", self._font_scale)

    def zoom_in(self) -> None:
        bigger = [s for s in FONT_SCALES if s > self._font_scale + 1e-6]
        self.set_font_scale(bigger[0] if bigger else FONT_SCALES[-1])

    def zoom_out(self) -> None:
        smaller = [s for s in FONT_SCALES if s < self._font_scale - 1e-6]
        self.set_font_scale(smaller[-1] if smaller else FONT_SCALES[0])

    def zoom_reset(self) -> None:
        self.set_font_scale(1.0)

    def is_presentation(self) -> bool:
        return self._presentation

    def toggle_presentation(self) -> None:
        self._presentation = not self._presentation
        self.presentation_action.setChecked(self._presentation)
        if self._presentation:
            self._was_maximized = self.isMaximized()
            self._zoo_was_visible = self.zoo_dock.isVisible()
            self.save_settings()
            self.zoo_dock.hide()  # the graph and the inspector get the screen; Ctrl+O brings the zoo back
            self.showFullScreen()
            screen = self.screen()
            if screen is not None:  # without a window manager (a bare X server) full screen is not applied
                self.setGeometry(screen.geometry())
        else:
            if self._was_maximized:
                self.showMaximized()
            else:
                self.showNormal()
            self.zoo_dock.setVisible(getattr(self, "_zoo_was_visible", True))
        self.set_font_scale(self._font_scale)
        QTimer.singleShot(50, self, self.fit_docks)
        QTimer.singleShot(100, self.graph.fit)

    # ==== export ==================================================================================================
    def export_graph(self, path: str | os.PathLike) -> None:
        self.graph.export_image(str(path))

    def export_summary(self, path: str | os.PathLike) -> None:
        path = Path(path)
        if path.suffix.lower() in (".md", ".markdown"):
            self.table.export_markdown(path)
        else:
            self.table.export_csv(path)

    def _default_export_name(self, suffix: str) -> str:
        name = self._result.name if self._result else "model"
        return str(Path.cwd() / f"{name}.{suffix}")

    def export_graph_dialog(self, kind: str) -> None:
        if self._result is None or self._result.graph is None:
            return
        filters = {"png": "PNG image (*.png)", "svg": "SVG image (*.svg)"}
        path, _ = QFileDialog.getSaveFileName(self, "Export graph", self._default_export_name(kind), filters[kind])
        if path:
            self._export(lambda: self.export_graph(path), path)

    def export_summary_dialog(self, kind: str) -> None:
        if self._result is None:
            return
        filters = {"csv": "CSV table (*.csv)", "md": "Markdown table (*.md)"}
        path, _ = QFileDialog.getSaveFileName(self, "Export summary", self._default_export_name(kind),
                                              filters[kind])
        if path:
            self._export(lambda: self.export_summary(path), path)

    def _export(self, write, path: str) -> None:
        try:
            write()
        except OSError as error:
            self.show_error(f"Cannot write {path}: {error.strerror or error}")
            return
        self.statusBar().showMessage(f"Saved {path}", 8000)

    # ==== help =====================================================================================================
    def shortcut_list(self) -> list[tuple[str, str, str]]:
        """(menu, action, keys) for every menu action that has a shortcut, read from the actions themselves."""
        rows = []

        def walk(menu, title):
            for action in menu.actions():
                if action.menu() is not None:
                    walk(action.menu(), f"{title} › {action.menu().title().replace('&', '')}")
                elif not action.isSeparator():
                    keys = ", ".join(k for k in (s.toString(QKeySequence.NativeText) for s in action.shortcuts()) if k)
                    if keys:
                        rows.append((title, action.text().replace("&", ""), keys))

        for title, menu in self.menus.items():
            walk(menu, title)
        return rows

    def show_shortcuts(self) -> QDialog:
        dialog = QDialog(self)
        dialog.setObjectName("shortcuts_dialog")
        dialog.setWindowTitle("Keyboard shortcuts")
        rows = self.shortcut_list()
        table = QTableWidget(len(rows), 3, dialog)
        table.setHorizontalHeaderLabels(["Menu", "Action", "Keys"])
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        table.setSelectionMode(QAbstractItemView.NoSelection)
        table.setFocusPolicy(Qt.NoFocus)
        table.setShowGrid(False)
        table.setAlternatingRowColors(True)
        table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 8)
        for i, row in enumerate(rows):
            for j, text in enumerate(row):
                item = QTableWidgetItem(text)
                if j == 2:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                table.setItem(i, j, item)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        table.horizontalHeader().setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.Close, dialog)
        buttons.rejected.connect(dialog.reject)
        layout = QVBoxLayout(dialog)
        layout.addWidget(table)
        layout.addWidget(buttons)
        dialog.resize(640, 620)
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def show_about(self) -> None:
        QMessageBox.about(self, "About CNN Explorer",
                          "<h3>CNN Explorer</h3><p>Look inside the famous convolutional networks: their layers, "
                          "shapes, parameters, MACs and receptive fields.</p>")

    def changeEvent(self, event) -> None:  # noqa: N802
        super().changeEvent(event)
        # Leaving full screen by the window manager also ends presentation mode.
        if event.type() == QEvent.WindowStateChange and self._presentation and not self.isFullScreen():
            self._presentation = False
            self.presentation_action.setChecked(False)
            self.zoo_dock.setVisible(getattr(self, "_zoo_was_visible", True))
            self.set_font_scale(self._font_scale)


# ==== the command line =============================================================================================

def _gui_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cnn-explorer", description="Look inside the famous CNNs.")
    parser.add_argument("model", nargs="?", help="zoo model to open (default: the last one, or alexnet)")
    parser.add_argument("--view", choices=("graph", "summary"), default="graph")
    parser.add_argument("--weights", default="pretrained", metavar="pretrained|random|PATH")
    parser.add_argument("--input-size", nargs=2, type=int, metavar=("H", "W"))
    parser.add_argument("--theme", choices=THEMES)
    parser.add_argument("--font-scale", type=float, metavar="S", help="text scale, e.g. 1.5")
    parser.add_argument("--presentation", action="store_true", help="start full screen with large text")
    parser.add_argument("--size", metavar="WxH", help="window size, e.g. 1024x768")
    parser.add_argument("--select", metavar="LAYER", help="select this layer once the model is shown")
    parser.add_argument("--fold-all", action="store_true", help="fold every block once the model is shown")
    parser.add_argument("--unfold-all", action="store_true", help="unfold every block once the model is shown")
    parser.add_argument("--screenshot", metavar="FILE.png",
                        help="save a picture of the window once the model is drawn, then exit")
    return parser


def _window_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise SystemExit(f"cnn-explorer: error: --size wants WIDTHxHEIGHT, e.g. 1024x768, not {text!r}") from None
    return w, h


def run_gui(argv: list[str]) -> int:
    args = _gui_parser().parse_args(argv)
    if args.screenshot:
        shot = Path(args.screenshot)
        if shot.suffix.lower() not in (".png", ".jpg", ".jpeg"):
            print(f"cnn-explorer: error: cannot write {shot.name}: --screenshot must end in .png or .jpg",
                  file=sys.stderr)
            return 2
        if not shot.parent.is_dir():
            print(f"cnn-explorer: error: cannot write {shot}: folder {shot.parent} does not exist", file=sys.stderr)
            return 2
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("CNN Explorer")
    window = MainWindow(args.model, weights=args.weights, view=args.view,
                        input_size=tuple(args.input_size) if args.input_size else None, theme=args.theme,
                        restore_geometry=not (args.size or args.screenshot))
    if args.font_scale:
        window.set_font_scale(args.font_scale)
    if args.size:
        window.resize(*_window_size(args.size))
        window.fit_docks()
    if args.presentation:
        window.toggle_presentation()
    else:
        window.show()

    outcome = {"code": 0, "done": False}

    def when_shown(name: str) -> None:
        if args.fold_all:
            window.fold_all()
        if args.unfold_all:
            window.unfold_all()
        if args.select and not window.select_layer(args.select):
            print(f"cnn-explorer: no layer {args.select!r} in {name}", file=sys.stderr)
        if args.screenshot and not outcome["done"]:
            outcome["done"] = True
            wait_for_zoo_counts(time.monotonic() + ZOO_COUNT_WAIT_S)

    def wait_for_zoo_counts(deadline: float) -> None:
        # The picture shows the zoo's parameter counts too: they are counted in the background (once; then
        # cached), so wait for them, but not forever.
        if window.param_counter.is_busy() and time.monotonic() < deadline:
            QTimer.singleShot(200, lambda: wait_for_zoo_counts(deadline))
        else:
            QTimer.singleShot(600, take_screenshot)

    def take_screenshot() -> None:
        window.error_box.close()
        path = Path(args.screenshot)
        if not window.grab().save(str(path)):
            print(f"cnn-explorer: error: cannot write {path}", file=sys.stderr)
            outcome["code"] = 2
        window.close()
        app.exit(outcome["code"])

    def when_failed(message: str) -> None:
        if not args.screenshot:
            print(f"cnn-explorer: {message}", file=sys.stderr)
            return
        if not outcome["done"]:  # a script asked for a picture of this model: say why there is none
            print(f"cnn-explorer: error: {message}", file=sys.stderr)
            outcome["done"] = True
            outcome["code"] = 2
            window.close()
            app.exit(2)

    window.model_shown.connect(when_shown)
    window.load_failed.connect(when_failed)
    if args.screenshot:
        def too_slow() -> None:
            if not outcome["done"]:
                print("cnn-explorer: the model was not ready after 300 s; saving the window as it is",
                      file=sys.stderr)
                outcome["done"] = True
                outcome["code"] = 1
                take_screenshot()
        QTimer.singleShot(300_000, too_slow)
    code = app.exec()
    return outcome["code"] if args.screenshot else code
