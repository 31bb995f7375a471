"""Classroom mode: the theme, the text scale, presentation (full screen, large text) and the graph's
arrangement (top to bottom or left to right in rows; compact or every layer), remembered in the settings.
Panels follow ``theme_changed`` and ``font_scale_changed``; the window only wires them."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

from cnn_explorer.app.window.settings import read_bool, read_choice, read_float
from cnn_explorer.widgets.common.theme import THEMES, apply_theme

DEFAULT_THEME = "light"
# Font scales that Ctrl+plus / Ctrl+minus step through; presentation mode multiplies the chosen one.
FONT_SCALES = (0.8, 0.9, 1.0, 1.1, 1.25, 1.4, 1.6, 1.8, 2.0, 2.4, 2.8)
PRESENTATION_FACTOR = 1.4
MIN_POINT_SIZE = 10.0  # the 1.0 scale is never smaller than this: legible on a projector
# The graph's arrangement, (direction, compact), in the window and in presentation, where a whole network
# must fit one projected screen with labels legible from the back row: left to right in rows, compact.
DIRECTIONS = ("tb", "lr")
DEFAULT_ARRANGEMENT = {False: ("tb", False), True: ("lr", True)}

_BASE_FONT: QFont | None = None


def _base_font() -> QFont:
    """The application font at scale 1, taken once (scaling changes the application font itself)."""
    global _BASE_FONT
    if _BASE_FONT is None:
        font = QFont(QApplication.font())
        if 0 < font.pointSizeF() < MIN_POINT_SIZE:
            font.setPointSizeF(MIN_POINT_SIZE)
        _BASE_FONT = font
    return QFont(_BASE_FONT)


class Classroom(QObject):
    theme_changed = Signal(str)
    font_scale_changed = Signal(float)  # the effective scale (presentation included)
    presentation_changed = Signal(bool)

    def __init__(self, window, settings, theme: str | None = None):
        super().__init__(window)
        self.window = window
        self.settings = settings
        self._theme = theme if theme in THEMES else read_choice(settings, "theme", DEFAULT_THEME, THEMES)
        self._font_scale = read_float(settings, "font_scale", 1.0, FONT_SCALES[0], FONT_SCALES[-1])
        self._presentation = False
        self._telling = False  # font_scale_changed is on its way
        self._was_maximized = False
        self._window_view: dict = {}  # the graph's view in the window, given back when presentation ends,
        self._window_data = None  # if the graph still shows the same model
        self._arrangement = {mode: (read_choice(settings, f"{self._prefix(mode)}direction", default[0], DIRECTIONS),
                                    read_bool(settings, f"{self._prefix(mode)}compact", default[1]))
                             for mode, default in DEFAULT_ARRANGEMENT.items()}

    # -- the graph's arrangement -------------------------------------------------------------------------
    @staticmethod
    def _prefix(presentation: bool) -> str:
        return "presentation_graph_" if presentation else "graph_"

    def arrangement(self) -> tuple[str, bool]:
        """(direction, compact) of the graph in the current mode (window or presentation)."""
        return self._arrangement[self._presentation]

    def set_arrangement(self, direction: str | None = None, compact: bool | None = None) -> None:
        """Change the current mode's arrangement (None: unchanged), remember it, and show it."""
        old_direction, old_compact = self.arrangement()
        direction = direction if direction in DIRECTIONS else old_direction
        compact = old_compact if compact is None else bool(compact)
        self._arrangement[self._presentation] = (direction, compact)
        self.settings.setValue(f"{self._prefix(self._presentation)}direction", direction)
        self.settings.setValue(f"{self._prefix(self._presentation)}compact", compact)
        self.apply_arrangement()

    def toggle_direction(self) -> None:
        self.set_arrangement(direction="tb" if self.arrangement()[0] == "lr" else "lr")

    def toggle_compact(self) -> None:
        self.set_arrangement(compact=not self.arrangement()[1])

    def apply_arrangement(self) -> None:
        """Show the current mode's arrangement in the graph and in the View menu's check marks."""
        direction, compact = self.arrangement()
        window = self.window
        window.graph.set_arrangement(direction, compact)
        actions = getattr(window, "action_map", {})
        if "graph_lr" in actions:
            actions["graph_lr"].setChecked(direction == "lr")
            actions["graph_compact"].setChecked(compact)

    # -- theme ----------------------------------------------------------------------------------------
    def theme(self) -> str:
        return self._theme

    def apply_theme(self, theme: str) -> None:
        if theme not in THEMES:
            return
        self._theme = theme
        apply_theme(QApplication.instance(), theme)
        self.settings.setValue("theme", theme)
        self.theme_changed.emit(theme)

    # -- text size -------------------------------------------------------------------------------------
    def font_scale(self) -> float:
        """The scale the user chose (presentation multiplies it by PRESENTATION_FACTOR)."""
        return self._font_scale

    def effective_font_scale(self) -> float:
        return self._font_scale * (PRESENTATION_FACTOR if self._presentation else 1.0)

    def set_font_scale(self, scale: float) -> None:
        self._font_scale = max(FONT_SCALES[0], min(float(scale), FONT_SCALES[-1]))
        font = _base_font()
        font.setPointSizeF(font.pointSizeF() * self.effective_font_scale())
        # Fonts propagate through the style sheet (theme.apply_theme), so no widget needs polishing again. The
        # application font reaches the widgets while the event loop runs (and the dialogs and floating docks
        # opened later); the window's own font reaches the window and its docks at once.
        QApplication.instance().setFont(font)
        self.window.setFont(font)
        self.settings.setValue("font_scale", self._font_scale)
        # The panels follow in a later turn of the event loop: the widgets' new fonts and the graph's rebuild
        # are two pauses of the GUI thread, not one twice as long.
        # Presses in quick succession are told once, with the last scale. (A 0 ms single shot is a posted
        # event, run in the same turn as the events posted by the re-polish: 1 ms makes it a timer, after them.)
        if not self._telling:
            self._telling = True
            QTimer.singleShot(1, self, self._tell_font_scale)

    def _tell_font_scale(self) -> None:
        self._telling = False
        self.font_scale_changed.emit(self.effective_font_scale())

    def zoom_in(self) -> None:
        bigger = [s for s in FONT_SCALES if s > self._font_scale + 1e-6]
        self.set_font_scale(bigger[0] if bigger else FONT_SCALES[-1])

    def zoom_out(self) -> None:
        smaller = [s for s in FONT_SCALES if s < self._font_scale - 1e-6]
        self.set_font_scale(smaller[-1] if smaller else FONT_SCALES[0])

    def zoom_reset(self) -> None:
        self.set_font_scale(1.0)

    # -- presentation ------------------------------------------------------------------------------------
    def is_presentation(self) -> bool:
        return self._presentation

    def toggle_presentation(self) -> None:
        window = self.window
        view = window.graph.view_state()  # kept: the selection, and the zoom around the same layer
        self._presentation = not self._presentation
        if self._presentation:
            self._window_view, self._window_data = view, window.graph.graph_data()
            self._was_maximized = window.isMaximized()
            window.save_settings()
            window.docks.hide("presentation", [window.zoo_dock])  # the graph and the inspector get the screen;
            # Ctrl+O brings the zoo back
            window.showFullScreen()
            screen = window.screen()
            if screen is not None:  # without a window manager (a bare X server) full screen is not applied
                window.setGeometry(screen.geometry())
        else:
            window.showMaximized() if self._was_maximized else window.showNormal()
            window.docks.release("presentation")
            view = self._back_to_window(view)
        self.set_font_scale(self._font_scale)
        self.apply_arrangement()
        self.presentation_changed.emit(self._presentation)
        QTimer.singleShot(50, window, window.fit_docks)
        QTimer.singleShot(100, window.graph, lambda: window.graph.restore_view_state(view))

    def _back_to_window(self, view: dict) -> dict:
        """The view to show when presentation ends: the window's own, as it was before (its zoom: the whole
        projected graph, fitted top to bottom in the window, would be a column of boxes too small to label),
        with the layer the teacher went to in presentation."""
        back, data = self._window_view, self._window_data
        self._window_view, self._window_data = {}, None
        if not back or data is None or self.window.graph.graph_data() is not data:  # another model since
            return {"initial": True, "selected": view.get("selected")}  # the view a model opens with
        back = dict(back)
        if view.get("selected") and view["selected"] != back.get("selected"):
            back.update(selected=view["selected"], anchor=view["selected"], whole=False)
        return back

    def left_full_screen(self) -> None:
        """The window manager ended full screen: presentation ends with it."""
        if self._presentation:
            self._presentation = False
            self.window.docks.release("presentation")
            view = self._back_to_window(self.window.graph.view_state())
            self.set_font_scale(self._font_scale)
            self.apply_arrangement()
            self.presentation_changed.emit(False)
            QTimer.singleShot(100, self.window.graph, lambda: self.window.graph.restore_view_state(view))
