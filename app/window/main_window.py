"""The explorer's main window: window chrome, actions and wiring.

Each concern has a home of its own: the session (``core/session.py``: current model, pending request, weights,
failure policy), the selection every view follows (``selection.py``), the request runner that owns the
model's thread (``core/requests.py``), the view data (``core/view_data.py``), classroom mode (``classroom.py``) and
the settings (``settings.py``), finding and stepping through layers (``navigation.py``). Views register as panels (``add_panel``, ``add_tab``); the window holds
plain data only.
"""

from __future__ import annotations

import os
import threading
from importlib import import_module
from pathlib import Path

from PySide6.QtCore import QEvent, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QLabel, QLineEdit, QMainWindow, QMessageBox, QProgressBar,
                               QPushButton, QSizePolicy, QSpinBox, QStackedWidget, QTabWidget, QToolBar, QWidget)

from cnn_explorer.app.window.classroom import Classroom
from cnn_explorer.app.window.navigation import LayerNavigator
from cnn_explorer.app.core.requests import RequestRunner
from cnn_explorer.app.window.gui_thread import gui_post
from cnn_explorer.app.window.selection import Selection
from cnn_explorer.app.core.session import ModelRequest, ModelResult, Session, classify, serve_model
from cnn_explorer.app.window.settings import app_settings, default_cache_dir, read_bytes, read_text
from cnn_explorer.app.explorer.zoo import ParamCounter, prepare_torch, zoo_items
from cnn_explorer.widgets.common import format as fmt
from cnn_explorer.widgets.graph.view import GRAPH_KEYS, GraphView
from cnn_explorer.widgets.explorer.inspector import Inspector
from cnn_explorer.widgets.common.panels import DockTitleBar, error_box, message_page, shortcuts_dialog, size_on_screen
from cnn_explorer.widgets.explorer.summary_table import SummaryTable
from cnn_explorer.widgets.common.theme import THEME_LABELS, THEMES
from cnn_explorer.widgets.explorer.zoo_browser import ZooBrowser

# The window's actions, as data: (name, text, slot, keys, tip). ``slot`` is a method path on the window
# (``"classroom.zoom_in"``), or (path, argument). Checkable actions are named in CHECKABLE.
ACTIONS = (
    ("open_model", "&Open model…", "focus_zoo_filter", QKeySequence.Open, "Type a model's name in the zoo filter"),
    ("weights_pretrained", "&Pretrained weights", ("set_weights", "pretrained"), None,
     "Use published weights when they can be had"),
    ("weights_random", "&Random weights", ("set_weights", "random"), None, "Random initialization"),
    ("weights_file", "Weights from &file…", "choose_weights_file", "Ctrl+Shift+O", "Load a .pt/.pth/.safetensors state dict"),
    ("export_png", "Export graph as &PNG…", ("export_graph_dialog", "png"), "Ctrl+E", ""),
    ("export_svg", "Export graph as &SVG…", ("export_graph_dialog", "svg"), "Ctrl+Shift+E", ""),
    ("export_csv", "Export summary as &CSV…", ("export_summary_dialog", "csv"), None, ""),
    ("export_md", "Export summary as &Markdown…", ("export_summary_dialog", "md"), None, ""),
    ("quit", "&Quit", "close", "Ctrl+Q", ""),
    ("find", "&Find layer…", "focus_find", QKeySequence.Find, ""),
    ("next_layer", "&Next layer", ("navigator.step", 1), ["N", "PgDown"], ""),
    ("prev_layer", "&Previous layer", ("navigator.step", -1), ["P", "PgUp"], ""),
    ("fit", "&Fit graph to window", "graph.fit", "F", ""),
    ("graph_lr", "Graph left to right, in &rows", "classroom.toggle_direction", "L", "Rows that fit the screen"),
    ("graph_compact", "&Compact graph: conv + norm + activation as one", "classroom.toggle_compact", "C", ""),
    ("fold", "F&old block of selection", "navigator.fold_selected", "[", ""),
    ("unfold", "&Unfold selected block", "navigator.unfold_selected", "]", ""),
    ("fold_all", "Fold &all blocks", "graph.fold_all", "Ctrl+[", ""),
    ("unfold_all", "Unfold all b&locks", "graph.unfold_all", "Ctrl+]", ""),
    ("cancel", "&Cancel loading / leave presentation", "escape", "Esc", ""),
    ("graph_tab", "Layer &graph", ("tabs.setCurrentIndex", 0), "Ctrl+1", ""),
    ("table_tab", "Summary &table", ("tabs.setCurrentIndex", 1), "Ctrl+2", ""),
    ("zoom_in", "&Larger text", "classroom.zoom_in", [QKeySequence.ZoomIn, "Ctrl+="], ""),
    ("zoom_out", "&Smaller text", "classroom.zoom_out", QKeySequence.ZoomOut, ""),
    ("zoom_reset", "&Normal text size", "classroom.zoom_reset", "Ctrl+0", ""),
    ("presentation", "&Presentation (full screen, large text)", "classroom.toggle_presentation", "F11", ""),
    *((f"theme_{t}", f"{THEME_LABELS[t]} theme", ("classroom.apply_theme", t), f"Ctrl+Shift+{t[0].upper()}", "")
      for t in THEMES),
    ("shortcuts", "&Keyboard shortcuts", "show_shortcuts", QKeySequence.HelpContents, ""),
    ("about", "&About CNN Explorer", "show_about", None, ""),
)
CHECKABLE = {"weights_pretrained", "weights_random", "presentation", "graph_lr", "graph_compact",
             *(f"theme_{t}" for t in THEMES)}
# Menus as data: action names, "-" a separator, (title, [...]) a submenu, "@panels" the panels' show/hide toggles.
MENUS = (
    ("&File", ("open_model", ("&Weights", ("weights_pretrained", "weights_random", "weights_file")), "-",
               "export_png", "export_svg", "export_csv", "export_md", "-", "quit")),
    ("&Layers", ("find", "next_layer", "prev_layer", "-", "fold", "unfold", "fold_all", "unfold_all", "-", "cancel")),
    ("&View", ("graph_tab", "table_tab", "fit", "graph_lr", "graph_compact", "-", "@panels", "-", "presentation",
               "zoom_in", "zoom_out", "zoom_reset", ("T&heme", tuple(f"theme_{t}" for t in THEMES)))),
    ("&Help", ("shortcuts", "about")),
)
# The views that register themselves (app/<name>.py, ``register(window, view)``): the lab (Ctrl+3), View › Shapes
# and the title's depth, Live (Ctrl+4), Figure (Ctrl+5), Charts (Ctrl+6).
WARM_UP_WAIT_S = 0.5  # how long importing torch waits for the window's first paint
VIEWS = ("lab.tab", "explorer.vocabulary", "live.tab", "figure.tab", "charts.tab")
TOOLBAR = (("fit", "Fit"), ("fold_all", "Fold all"), ("unfold_all", "Unfold all"), ("prev_layer", "◀ Prev"),
           ("next_layer", "Next ▶"))


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
        self._drawn = threading.Event()  # set once the window has been painted
        self.setObjectName("main_window")
        self.setWindowTitle("CNN Explorer")
        self.setAttribute(Qt.WA_WindowPropagation)
        self.settings = settings or app_settings()
        self.session = Session(weights)
        self.selection = Selection(self)
        self.runner = RequestRunner(gui_post())
        self.classroom = Classroom(self, self.settings, theme)
        self._closing = False
        self.navigator = LayerNavigator(self)
        self.panel_toggles: list[QAction] = []

        # -- the panels ----------------------------------------------------------------------------------
        self.graph = GraphView(self)
        self.graph.setObjectName("graph_view")
        self.graph_message = message_page(self, "graph_message")
        self.graph_stack = QStackedWidget(self)
        self.graph_stack.addWidget(self.graph)
        self.graph_stack.addWidget(self.graph_message)
        self._show_message_page("Starting: PyTorch is being imported…")
        self.table = SummaryTable(self)
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("central_tabs")
        self.tabs.setDocumentMode(True)
        self.setCentralWidget(self.tabs)
        self.add_tab(self.graph_stack, "Layer graph")
        self.add_tab(self.table, "Summary table")
        self.zoo = ZooBrowser(self)
        self.zoo_dock = self.add_panel("zoo", "Model zoo", self.zoo, Qt.LeftDockWidgetArea, "Alt+1")
        self.inspector = Inspector(self)
        self.inspector_dock = self.add_panel("inspector", "Inspector", self.inspector, Qt.RightDockWidgetArea, "Alt+2")

        self.error_box = error_box(self)

        self._build_status_bar()
        self._build_actions()
        self._build_toolbar()
        self._build_menus()

        cache = Path(cache_dir) if cache_dir else default_cache_dir()
        self.param_counter = ParamCounter(cache / "param_counts.json", self)

        # -- wiring ------------------------------------------------------------------------------------
        self.param_counter.counted.connect(self.zoo.set_param_count)
        self.zoo.model_chosen.connect(self._on_zoo_chosen)
        self.zoo.name_entered.connect(self.open_model)
        self.graph.node_selected.connect(self.selection.select)
        self.table.layer_selected.connect(self.selection.select)
        self.selection.changed.connect(self._follow_selection)
        self.classroom.theme_changed.connect(self.graph.set_theme)
        self.classroom.theme_changed.connect(self.inspector.set_theme)
        self.classroom.theme_changed.connect(self._check_theme_action)
        self.classroom.font_scale_changed.connect(self.graph.set_font_scale)
        self.classroom.presentation_changed.connect(self.presentation_action.setChecked)

        self.resize(size_on_screen(self, 1440, 900))  # the default, fitted to the screen it opens on
        self.fit_docks()
        if restore_geometry:
            self._restore_window_state()
        # The text size first, then the theme's style sheet: the window is polished once (each polish is 15-30 ms).
        self.classroom.set_font_scale(self.classroom.font_scale())
        self.classroom.apply_theme(self.classroom.theme())
        self.classroom.apply_arrangement()
        if view == "summary":
            self.tabs.setCurrentWidget(self.table)
        for name in VIEWS:  # each view registers itself: its tab, actions and menu entries
            import_module(f"cnn_explorer.app.{name}").register(self, view)

        # The zoo is browsable at once (static facts); torch is imported on the runner's thread, then the model.
        self._show_zoo(zoo_items())
        # torch's libraries are mapped once the window is drawn: mapping 1 GB while the window was first laid out
        # and painted (both need the process's memory map) made the first paint 150-250 ms slower, one start in
        # two on the 2-core machine. A window that is not shown waits WARM_UP_WAIT_S at most.
        self.runner.submit(lambda job: prepare_torch(job, after=self._drawn, wait_s=WARM_UP_WAIT_S),
                           channel="warm-up")
        start = (model or "").strip() or read_text(self.settings, "last_model", self.session.default_model)
        self._startup_model = start
        self.open_model(start, weights=weights, input_size=input_size)

    # ==== panels ==================================================================================================
    def add_panel(self, name: str, title: str, widget: QWidget, area=Qt.RightDockWidgetArea,
                  shortcut: str | None = None) -> QDockWidget:
        """Register a view as a dock; View › Show … toggles it (``shortcut``)."""
        dock = QDockWidget(title, self)
        dock.setObjectName(f"{name}_dock")
        dock.setWidget(widget)
        dock.setTitleBarWidget(DockTitleBar(dock))
        dock.setFeatures(QDockWidget.DockWidgetClosable | QDockWidget.DockWidgetMovable
                         | QDockWidget.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        toggle = dock.toggleViewAction()
        toggle.setText(f"Show &{title[0].lower()}{title[1:]}")
        if shortcut:
            toggle.setShortcut(QKeySequence(shortcut))
        self.addAction(toggle)
        self.panel_toggles.append(toggle)
        return dock

    def add_tab(self, widget: QWidget, title: str) -> int:
        """Register a view as a tab of the central area."""
        return self.tabs.addTab(widget, title)

    def fit_docks(self) -> None:
        """Give the docks a share of the width that leaves the graph most of it (at 1024 pixels: about 250 for
        the zoo and 245 for the inspector; in presentation 30 % for the inspector)."""
        width = self.width()
        if self.classroom.is_presentation():  # the zoo is hidden: the inspector's large text gets more room
            self.resizeDocks([self.inspector_dock], [int(max(280, min(520, 0.3 * width)))], Qt.Horizontal)
            return
        zoo = int(max(250, min(330, 0.23 * width)))
        inspector = int(max(240, min(400, 0.24 * width)))
        self.resizeDocks([self.zoo_dock, self.inspector_dock], [zoo, inspector], Qt.Horizontal)

    # ==== building the window =====================================================================================
    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        bar.setObjectName("status_bar")
        bar.setSizeGripEnabled(False)

        def label(name: str, text: str = "") -> QLabel:
            (widget := QLabel(text, self)).setObjectName(name)
            return widget

        self.step_label = label("step_label")
        self.progress = QProgressBar(self)
        self.progress.setObjectName("progress")
        self.progress.setMaximumWidth(160)
        self.progress.setTextVisible(False)
        self.progress.setRange(0, 0)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setObjectName("cancel_button")
        self.cancel_button.setToolTip("Cancel loading (Esc)")
        self.cancel_button.clicked.connect(self.cancel_loading)
        self.device_label, self.weights_label = label("device_label", "cpu"), label("weights_label")
        self.totals_label, self.time_label = label("totals_label"), label("time_label")
        for widget in (self.step_label, self.progress, self.cancel_button):
            bar.addWidget(widget)
        for widget in (self.totals_label, self.weights_label, self.device_label, self.time_label):
            bar.addPermanentWidget(widget)
        self._set_busy(False)

    def _slot(self, spec):
        path, args = (spec, ()) if isinstance(spec, str) else (spec[0], spec[1:])
        target = self
        for part in path.split("."):
            target = getattr(target, part)
        return lambda checked=False: target(*args)

    def _build_actions(self) -> None:
        self.actions_by_name: dict[str, QAction] = {}
        for name, text, slot, keys, tip in ACTIONS:
            action = QAction(text, self)
            action.setObjectName(name)
            if keys is not None:
                action.setShortcuts([QKeySequence(k) for k in (keys if isinstance(keys, list) else [keys])])
            action.setShortcutContext(Qt.WindowShortcut)
            if tip:
                action.setStatusTip(tip)
                action.setToolTip(tip)
            action.setCheckable(name in CHECKABLE)
            action.triggered.connect(self._slot(slot))
            self.addAction(action)  # active even when the menu bar is hidden (presentation)
            self.actions_by_name[name] = action
            setattr(self, f"{name}_action", action)
        for names in (("weights_pretrained", "weights_random"), tuple(f"theme_{t}" for t in THEMES)):
            group = QActionGroup(self)
            for name in names:
                group.addAction(self.actions_by_name[name])
        self.theme_actions = {t: self.actions_by_name[f"theme_{t}"] for t in THEMES}
        self._update_weights_actions()

    def _build_toolbar(self) -> None:
        bar = QToolBar("Tools", self)
        bar.setObjectName("tools_toolbar")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonTextOnly)
        self.addToolBar(Qt.TopToolBarArea, bar)
        self.toolbar = bar
        bar.addWidget(QLabel(" Input ", self))
        self.input_h, self.input_w = QSpinBox(self), QSpinBox(self)
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
        for name, label in TOOLBAR:
            action = self.actions_by_name[name]
            button = bar.addAction(label)
            button.setToolTip(f"{action.text().replace('&', '')} ({action.shortcut().toString()})")
            button.triggered.connect(action.trigger)
        spacer = QWidget(self)
        spacer.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)
        bar.addWidget(spacer)
        self.model_label = QLabel(self)
        self.model_label.setObjectName("model_label")
        bar.addWidget(self.model_label)

    def _build_menus(self) -> None:
        def fill(menu, items) -> None:
            for item in items:
                if item == "-":
                    menu.addSeparator()
                elif item == "@panels":
                    menu.addActions(self.panel_toggles)
                elif isinstance(item, tuple):
                    fill(menu.addMenu(item[0]), item[1])
                else:
                    menu.addAction(self.actions_by_name[item])

        self.menus = {}
        for title, items in MENUS:
            menu = self.menuBar().addMenu(title)
            fill(menu, items)
            self.menus[title.replace("&", "")] = menu

    def _check_theme_action(self, theme: str) -> None:
        self.theme_actions[theme].setChecked(True)

    # ==== settings ===============================================================================================
    def _restore_window_state(self) -> None:
        geometry, state = read_bytes(self.settings, "geometry"), read_bytes(self.settings, "window_state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)

    def save_settings(self) -> None:
        self.settings.setValue("theme", self.classroom.theme())
        self.settings.setValue("font_scale", self.classroom.font_scale())
        if not self.classroom.is_presentation():
            self.settings.setValue("geometry", self.saveGeometry())
            self.settings.setValue("window_state", self.saveState())
        if self.session.current is not None:
            self.settings.setValue("last_model", self.session.current.name)
        self.settings.sync()

    def paintEvent(self, event) -> None:  # noqa: N802
        super().paintEvent(event)
        if not self._drawn.is_set():  # once this paint, children included, is over
            QTimer.singleShot(0, self._drawn.set)

    def closeEvent(self, event) -> None:  # noqa: N802
        self._closing = True
        self._drawn.set()
        self.save_settings()
        self.error_box.close()
        self.runner.shutdown(wait=True)
        self.param_counter.shutdown(wait=True)
        super().closeEvent(event)

    def changeEvent(self, event) -> None:  # noqa: N802
        super().changeEvent(event)
        # Leaving full screen by the window manager also ends presentation mode.
        if event.type() == QEvent.WindowStateChange and not self.isFullScreen():
            self.classroom.left_full_screen()

    # ==== opening models =========================================================================================
    def open_model(self, name: str, *, weights: str | None = None,
                   input_size: tuple[int, int] | None = None) -> ModelRequest | None:
        """Ask for ``name``; the window keeps showing the current model until it arrives."""
        if self._closing:
            return None
        request = self.session.request(name, weights=weights, input_size=input_size)
        return self._submit(request)

    def reload(self, *, weights: str | None = None, input_size: tuple[int, int] | None = None):
        return self._submit(self.session.reload(weights=weights, input_size=input_size, fallback=self._startup_model))

    def _submit(self, request: ModelRequest | None) -> ModelRequest | None:
        if request is None:
            return None
        self._update_weights_actions()
        self.runner.submit(lambda job: serve_model(request, job), channel="model",
                           done=lambda _id, result: self._on_finished(result),
                           failed=lambda _id, error: self._on_failed(request, error),
                           progress=lambda _id, text, percent: self._on_progress(text, percent))
        self.param_counter.pause()
        self._set_busy(True, f"Opening {request.name}…")
        return request

    def current_model(self) -> str:
        return self.session.current_model()

    def current_result(self) -> ModelResult | None:
        return self.session.current

    def is_loading(self) -> bool:
        return self.session.is_loading()

    def cancel_loading(self) -> None:
        if self.session.is_loading():
            self.runner.cancel(channel="model")
            self._set_busy(True, "Cancelling…")

    def escape(self) -> None:
        if self.session.is_loading():
            self.cancel_loading()
        elif self.classroom.is_presentation():
            self.classroom.toggle_presentation()

    def _on_zoo_chosen(self, name: str) -> None:
        if name != self.current_model() or self.is_loading():
            self.open_model(name)

    def _show_zoo(self, items) -> None:
        self.zoo.set_entries(items)
        cached = self.param_counter.cached()
        for item in items:
            self.zoo.set_param_count(item.name, cached.get(item.name))
        if self.session.current is not None:
            self.zoo.set_current(self.session.current.name)
        if not self._closing:
            self.param_counter.start([item.name for item in items])

    def _on_progress(self, step: str, percent: int) -> None:
        self.step_label.setText(step + ("" if percent < 0 else f" {percent}%"))
        self.progress.setRange(0, 0 if percent < 0 else 100)
        self.progress.setValue(max(percent, 0))

    def _request_done(self) -> None:
        self._set_busy(False)
        # Counting parameters for the zoo waits until the model is shown and drawn.
        QTimer.singleShot(1500, self, lambda: None if self.is_loading() or self._closing
                          else self.param_counter.resume())

    def _on_failed(self, request: ModelRequest, error: BaseException) -> None:
        recovery = self.session.fail(classify(request, error))
        if recovery is None:
            return  # a stale request: a newer one is on its way
        self._request_done()
        failure = recovery.failure
        if failure.kind == "cancelled":
            self.statusBar().showMessage(f"Loading {request.name} was cancelled.", 8000)
        else:
            self.show_error(failure.message)
        current = self.session.current
        if current is not None:
            self.zoo.set_current(current.name)
            self._show_input_size(current.input_size)
        self._update_weights_actions()
        if recovery.retry:
            self.open_model(recovery.retry[0], weights=recovery.retry[1])
        elif recovery.page:
            self._show_message_page(recovery.page)
        self.load_failed.emit(failure.message)

    def _on_finished(self, result: ModelResult) -> None:
        previous = self.session.current
        if not self.session.accept(result):
            return  # superseded while on its way
        self._request_done()
        self.navigator.reset()
        self.selection.set_valid(result.resolve)  # a layer's or block's path, or its lecture name (conv1)
        self.zoo.set_current(result.name)
        self.settings.setValue("last_model", result.name)
        self.setWindowTitle(f"CNN Explorer — {result.name}")
        self.model_label.setText(f"<b>{result.name}</b> ")
        self._show_input_size(result.input_size)
        self._update_weights_actions()
        self.graph.set_data(result.graph)
        if result.graph is not None:
            self.graph_stack.setCurrentWidget(self.graph)
        if result.error:
            self._show_message_page(f"<h2>{result.name}</h2><p>{result.error}</p>"
                                    "<p>Its entry in the zoo, the totals the model could give and the inspector's "
                                    "overview are still here; the graph is not.</p>")
        self.table.set_rows(result.rows, result.totals,
                            title=f"{result.name} at {result.input_size[0]}×{result.input_size[1]}")
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
        self.weights_label.setText(f"weights: {'file' if label.startswith('file:') else label}")
        self.weights_label.setToolTip(result.weights_message)
        t = result.totals
        self.totals_label.setText(f"{fmt.short(t.params)} params · {fmt.macs(t.macs)}" if t else "")
        self.totals_label.setToolTip(f"{t.params:,} parameters, {t.macs:,} MACs, {fmt.size_bytes(t.memory)} of "
                                     f"activations, {t.layers} layers" if t else "")
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

    # ==== weights and input size ===================================================================================
    def _update_weights_actions(self) -> None:
        self.weights_pretrained_action.setChecked(self.session.weights == "pretrained")
        self.weights_random_action.setChecked(self.session.weights == "random")

    def set_weights(self, weights: str) -> None:
        current = self.session.current
        if current is None or weights != current.request.weights:
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
        current = self.session.current
        size = (self.input_h.value(), self.input_w.value())
        if current is not None and size != tuple(current.input_size):
            self.reload(input_size=size)

    # ==== the selection: every view follows it ======================================================================
    def _follow_selection(self, name: str) -> None:
        """Show the selection in the graph, the table and the inspector (views emit nothing back)."""
        result = self.session.current
        details = result.details_of(name) if result is not None and name else None
        if details is not None:
            self.inspector.show_details(details)
        elif result is not None:
            self.inspector.show_overview(result.overview)
        if not name:
            self.graph.clear_selection()
            self.table.clear_selection()
            return
        if self.graph.selected_node() != name:
            self.graph.select_node(name)
            self._ensure_readable()
        if self.table.current_layer() != name and not self.table.select_layer(name):
            self.table.clear_selection()

    def _ensure_readable(self) -> None:
        """Zoom in (around the selection, which select_node centred) when the graph is too small to read."""
        if self.graph.selected_node() is not None and self.graph.zoom() < (readable := self.graph.readable_zoom()):
            self.graph.set_zoom(readable)

    def select_layer(self, name: str) -> bool:
        """Select ``name`` (a layer, or a block path) in every view; False when the model has none."""
        if self.selection.layer() == name and name:
            self.graph.select_node(name)  # already selected: bring it into sight again
            self._ensure_readable()
            return True
        return bool(name) and self.selection.select(name)

    def selected_layer(self) -> str:
        return self.selection.layer()

    # ==== finding and folding =======================================================================================
    def focus_zoo_filter(self) -> None:
        self.zoo_dock.show()
        self.zoo_dock.raise_()
        self.zoo.focus_filter()

    def focus_find(self) -> None:
        self.find_box.setFocus(Qt.ShortcutFocusReason)
        self.find_box.selectAll()

    def find_next(self) -> bool:
        return self.navigator.find_next(self.find_box.text())

    # ==== export ====================================================================================================
    def export_graph(self, path: str | os.PathLike) -> None:
        self.graph.export_image(str(path))

    def export_summary(self, path: str | os.PathLike) -> None:
        path = Path(path)
        if path.suffix.lower() in (".md", ".markdown"):
            self.table.export_markdown(path)
        else:
            self.table.export_csv(path)

    def _export_dialog(self, title: str, kind: str, filters: dict[str, str], write) -> None:
        name = self.current_model() or "model"
        path, _ = QFileDialog.getSaveFileName(self, title, str(Path.cwd() / f"{name}.{kind}"), filters[kind])
        if path:
            from cnn_explorer.app.explorer.export import save_from_window

            save_from_window(self, path, write)

    def export_graph_dialog(self, kind: str) -> None:
        if self.session.current is not None and self.session.current.graph is not None:
            self._export_dialog("Export graph", kind, {"png": "PNG image (*.png)", "svg": "SVG image (*.svg)"},
                                self.export_graph)

    def export_summary_dialog(self, kind: str) -> None:
        if self.session.current is not None:
            self._export_dialog("Export summary", kind, {"csv": "CSV table (*.csv)", "md": "Markdown table (*.md)"},
                                self.export_summary)

    # ==== help ======================================================================================================
    def shortcut_list(self) -> list[tuple[str, str, str]]:
        """(menu, action, keys) for every menu action that has a shortcut, read from the actions themselves, then
        the graph's own keys (zoom, fit, pan)."""
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
        return rows + [("Graph", what, keys) for what, keys in GRAPH_KEYS]  # zoom and pan: no actions

    def show_shortcuts(self):
        return shortcuts_dialog(self, self.shortcut_list())

    def show_about(self) -> None:
        QMessageBox.about(self, "About CNN Explorer",
                          "<h3>CNN Explorer</h3><p>Look inside the famous convolutional networks: their layers, "
                          "shapes, parameters, MACs and receptive fields.</p>")
