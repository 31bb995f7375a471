"""The explorer's main window: the chrome, the explorer's own views, and the feature host.

Each concern has a home of its own: the session (``core/session.py``: current model, pending request, weights,
failure policy), the selection every view follows (``selection.py``), the request runner that owns the
model's thread (``core/requests.py``), the explorer's views (``explorer/views.py``), classroom mode
(``classroom.py``), the settings (``settings.py``), finding and stepping through layers (``navigation.py``),
the status bar and toolbar (``chrome.py``). Actions are data (``ActionSpec``, built by ``actions.py``); the
features (``core/features.py``: the lab, Live, Figure, Charts, …) are hosted by ``host.py`` and reach the app
through their ``AppContext`` only.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from PySide6.QtCore import QEvent, QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import QDockWidget, QFileDialog, QMainWindow, QMessageBox, QTabWidget, QWidget

from cnn_explorer.app.core.features import features
from cnn_explorer.app.core.requests import RequestRunner
from cnn_explorer.app.core.session import ModelRequest, ModelResult, Session, classify, serve_model
from cnn_explorer.app.explorer.actions import explorer_actions
from cnn_explorer.app.explorer.model_files import ModelFiles, recent_menu
from cnn_explorer.app.explorer.views import ExplorerViews
from cnn_explorer.app.explorer.zoo import ParamCounter, prepare_torch, zoo_items
from cnn_explorer.app.window.actions import build_actions, build_menus, shortcut_rows
from cnn_explorer.app.window.chrome import FittingTabs, StatusBar, Toolbar, add_dock
from cnn_explorer.app.window.classroom import Classroom
from cnn_explorer.app.window.context import AppContext
from cnn_explorer.app.window.gui_thread import gui_post, share_the_gil
from cnn_explorer.app.window.host import DockPolicy, FeatureHost
from cnn_explorer.app.window.navigation import LayerNavigator
from cnn_explorer.app.window.selection import Selection
from cnn_explorer.app.window.settings import app_settings, default_cache_dir, read_bytes, read_text
from cnn_explorer.widgets.common.panels import error_box, shortcuts_dialog, size_on_screen
from cnn_explorer.widgets.common.steps import later
from cnn_explorer.widgets.common.theme import THEMES
from cnn_explorer.widgets.explorer.zoo_browser import ZooBrowser
from cnn_explorer.widgets.graph.view import GRAPH_KEYS

WARM_UP_WAIT_S = 0.5  # how long importing torch waits for the window's first paint


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
        share_the_gil()  # the runner's Python work shares the GIL with the window at a finer grain
        self.runner = RequestRunner(gui_post(), strict=True)
        self.runner.declare("warm-up")
        self.docks = DockPolicy()
        self.classroom = Classroom(self, self.settings, theme)
        self._closing = False
        self.navigator = LayerNavigator(self)
        self.panel_toggles = []

        # -- the explorer's views -------------------------------------------------------------------------
        self.views = v = ExplorerViews(self)
        self.graph, self.graph_message, self.graph_stack = v.graph, v.graph_message, v.graph_stack
        self.table, self.inspector = v.table, v.inspector
        v.show_message_page("Starting: PyTorch is being imported…")
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("central_tabs")
        self.tabs.setDocumentMode(True)
        self.tab_titles = FittingTabs(self.tabs)
        self.setCentralWidget(self.tabs)
        self.tabs.addTab(self.graph_stack, "Layer graph")
        self.tabs.addTab(self.table, "Summary table")
        self.zoo = ZooBrowser(self)
        self.zoo_dock = self.add_panel("zoo", "Model zoo", self.zoo, Qt.LeftDockWidgetArea, "Alt+1")
        self.inspector_dock = self.add_panel("inspector", "Inspector", self.inspector, Qt.RightDockWidgetArea, "Alt+2")
        self.error_box = error_box(self)
        self.status = StatusBar(self, self.cancel_loading)
        cache = Path(cache_dir) if cache_dir else default_cache_dir()
        self.param_counter = ParamCounter(cache / "param_counts.json", self)

        # -- the features, and every action as data ---------------------------------------------------------
        self.ctx = AppContext(
            parent=self, session=self.session, selection=self.selection, runner=self.runner,
            classroom=self.classroom, settings=self.settings, graph=self.graph, model_shown=self.model_shown,
            notify=lambda text, ms=8000: self.statusBar().showMessage(text, ms), show_error=self.show_error,
            redraw_text=v.redraw_text, is_closing=lambda: self._closing, is_loading=self.is_loading,
            hold_background=self._hold_background, start_view=view,
            reopen_pretrained=lambda: self.set_weights("pretrained"))
        self.host = FeatureHost(self.tabs, self.ctx, self.docks, {}, features())
        specs = explorer_actions(self) + self.host.action_specs()
        self.action_map = self.ctx.actions = build_actions(self, specs, self.ctx)
        self.theme_actions = {t: self.action_map[f"theme_{t}"] for t in THEMES}
        self.toolbar_parts = Toolbar(self, self.action_map, self._input_size_edited, self.find_next)
        self.toolbar, self.find_box, self.model_label = (self.toolbar_parts.bar, self.toolbar_parts.find_box,
                                                         self.toolbar_parts.model_label)
        self.input_h, self.input_w = self.toolbar_parts.input_h, self.toolbar_parts.input_w
        self.host.aside.update(wide=[self.zoo_dock, self.inspector_dock],
                               own_model=[self.toolbar, *self.status.facts()])
        self.menus = build_menus(self.menuBar(), specs, self.action_map, self.panel_toggles)
        recent = recent_menu(self.menus["File"], self.action_map["open_model"])
        self.model_files = ModelFiles(self, self.settings, self.open_model, recent)  # Ctrl+O, recent, dropped
        self._update_weights_actions()

        # -- wiring ------------------------------------------------------------------------------------
        self.param_counter.counted.connect(self.zoo.set_param_count)
        self.zoo.model_chosen.connect(self._on_zoo_chosen)
        self.zoo.name_entered.connect(self.open_model)
        self.graph.node_selected.connect(self.selection.select)
        self.table.layer_selected.connect(self.selection.select)
        self.selection.changed.connect(lambda name: v.follow(name, self.session.current))
        self.classroom.theme_changed.connect(v.set_theme)
        self.classroom.theme_changed.connect(lambda theme: self.theme_actions[theme].setChecked(True))
        self.classroom.font_scale_changed.connect(self.graph.set_font_scale)
        self.classroom.presentation_changed.connect(self.action_map["presentation"].setChecked)
        self.classroom.presentation_changed.connect(lambda on: self.toolbar_parts.show_model_label(not on))

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
        self.host.start()

        # The zoo is browsable at once (static facts), filled in a turn of its own after the window's: its 25 ms
        # are not added to the window's build and first paint (the GUI thread's longest turn at start-up); torch
        # is imported on the runner's thread, then the model.
        later(lambda: self._show_zoo(zoo_items()), self)
        # torch's libraries are mapped once the window is drawn: mapping 1 GB during the first layout and paint made
        # it 150-250 ms slower, one start in two on 2 cores. A window that is not shown waits WARM_UP_WAIT_S at most.
        self.runner.submit(lambda job: prepare_torch(job, after=self._drawn, wait_s=WARM_UP_WAIT_S),
                           channel="warm-up")
        start = (model or "").strip() or read_text(self.settings, "last_model", self.session.default_model)
        self._startup_model = start
        self.open_model(start, weights=weights, input_size=input_size)

    # ==== panels and features ======================================================================================
    def add_panel(self, name: str, title: str, widget: QWidget, area=Qt.RightDockWidgetArea,
                  shortcut: str | None = None) -> QDockWidget:
        """A view as a dock; View › Show … toggles it (``shortcut``)."""
        dock, toggle = add_dock(self, name, title, widget, area, shortcut)
        self.panel_toggles.append(toggle)
        return dock

    def feature(self, name: str):
        """A feature's controller (the lab, Live, …), made the first time it is asked for."""
        return self.host.controller(name)

    def fit_docks(self) -> None:
        """Docks that leave the graph most of the width (1024 px: zoo 250, inspector 245; presentation: 30 %)."""
        width = self.width()
        if self.classroom.is_presentation():  # the zoo is hidden: the inspector's large text gets more room
            self.resizeDocks([self.inspector_dock], [int(max(280, min(520, 0.3 * width)))], Qt.Horizontal)
            return
        zoo = int(max(250, min(330, 0.23 * width)))
        inspector = int(max(240, min(400, 0.24 * width)))
        self.resizeDocks([self.zoo_dock, self.inspector_dock], [zoo, inspector], Qt.Horizontal)

    def _hold_background(self, hold: bool) -> None:
        if hold:
            self.param_counter.pause()
        elif not self.is_loading() and not self._closing:
            self.param_counter.resume()

    # ==== settings and window events =================================================================================
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
        self.host.shutdown()
        for reason in ("wide", "own_model"):  # the docks as the user had them, in the saved state
            self.docks.release(reason)
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
        return self._submit(self.session.request(name, weights=weights, input_size=input_size))

    def reload(self, *, weights: str | None = None, input_size: tuple[int, int] | None = None):
        return self._submit(self.session.reload(weights=weights, input_size=input_size, fallback=self._startup_model))

    def _submit(self, request: ModelRequest | None) -> ModelRequest | None:
        if request is None:
            return None
        self._update_weights_actions()
        self.runner.submit(lambda job: serve_model(request, job), channel="model",
                           done=lambda _id, result: self._on_finished(result),
                           failed=lambda _id, error: self._on_failed(request, error),
                           progress=lambda _id, text, percent: self.status.show_progress(text, percent))
        self.param_counter.pause()
        self.status.set_busy(True, f"Opening {request.name}…")
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
            self.status.set_busy(True, "Cancelling…")

    def escape(self) -> None:
        lab = self.host.built("lab")
        if self.session.is_loading():
            self.cancel_loading()
        elif lab is not None and lab.panel.cancel_button.isVisible():  # a lab tool at work (occlusion, optimize …)
            lab.cancel()
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

    def _request_done(self) -> None:
        self.status.set_busy(False)
        # Counting parameters for the zoo waits until the model is shown and drawn.
        QTimer.singleShot(1500, self, lambda: None if self.is_loading() or self._closing
                          else self.param_counter.resume())

    def _on_failed(self, request: ModelRequest, error: BaseException) -> None:
        recovery = self.session.fail(classify(request, error))
        if recovery is None:
            return  # a stale request: a newer one is on its way
        self._request_done()
        failure = recovery.failure
        if failure.kind == "input_shape_needed" and not self._closing:  # ask, and open it again
            self.load_failed.emit(failure.message)
            self.model_files.ask_input_shape(request.name, failure.message)
            return
        if failure.kind == "cancelled":
            self.statusBar().showMessage(f"Loading {request.name} was cancelled.", 8000)
        else:
            self.show_error(failure.message)
        current = self.session.current
        if current is not None:
            self.zoo.set_current(current.name)
            self.toolbar_parts.show_input_size(current.input_size)
        self._update_weights_actions()
        if recovery.retry:
            self.open_model(recovery.retry[0], weights=recovery.retry[1])
        elif recovery.page:
            self.views.show_message_page(recovery.page)
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
        self.toolbar_parts.show_model(result.name, result.totals)
        self.toolbar_parts.show_input_size(result.input_size)
        self._update_weights_actions()
        self.views.show_result(result)
        self.status.show_result(result, previous)
        QTimer.singleShot(0, lambda name=result.name: self.model_shown.emit(name))
        # The tabs' imports, on the runner once a model is shown and drawn (a window closed at once waits for none).
        QTimer.singleShot(1500, self, lambda: None if self._closing else self.host.warm_imports())

    def show_error(self, message: str) -> None:
        """A clear message, never a traceback: in the status bar and in a (non-blocking) message box."""
        self.statusBar().showMessage(message, 15000)
        self.error_box.setText(message)
        if not self._closing:
            self.error_box.open()

    # ==== weights and input size ===================================================================================
    def _update_weights_actions(self) -> None:
        self.action_map["weights_pretrained"].setChecked(self.session.weights == "pretrained")
        self.action_map["weights_random"].setChecked(self.session.weights == "random")

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

    def _input_size_edited(self) -> None:
        current = self.session.current
        size = self.toolbar_parts.input_size()
        if current is not None and size != tuple(current.input_size):
            self.reload(input_size=size)

    # ==== the selection, finding, export ============================================================================
    def select_layer(self, name: str) -> bool:
        """Select ``name`` (a layer, or a block path) in every view; False when the model has none."""
        if self.selection.layer() == name and name:
            self.graph.select_node(name)  # already selected: bring it into sight again
            self.views.ensure_readable()
            return True
        return bool(name) and self.selection.select(name)

    def selected_layer(self) -> str:
        return self.selection.layer()

    def focus_zoo_filter(self) -> None:
        self.zoo_dock.show()
        self.zoo_dock.raise_()
        self.zoo.focus_filter()

    def focus_find(self) -> None:
        self.find_box.setFocus(Qt.ShortcutFocusReason)
        self.find_box.selectAll()

    def find_next(self) -> bool:
        return self.navigator.find_next(self.find_box.text())

    def export_graph(self, path: str | os.PathLike) -> None:
        self.views.export_graph(path)

    def export_summary(self, path: str | os.PathLike) -> None:
        self.views.export_summary(path)

    # ==== help ======================================================================================================
    def shortcut_list(self) -> list[tuple[str, str, str]]:
        """(menu, action, keys) of every menu action with a shortcut, the graph's own keys, the features' keys."""
        return shortcut_rows(self.menus) + [("Graph", what, keys) for what, keys in GRAPH_KEYS] + self.host.key_rows()

    def show_shortcuts(self):
        return shortcuts_dialog(self, self.shortcut_list())

    def show_about(self) -> None:
        QMessageBox.about(self, "About CNN Explorer",
                          "<h3>CNN Explorer</h3><p>Look inside the famous convolutional networks: their layers, "
                          "shapes, parameters, MACs and receptive fields.</p>")
