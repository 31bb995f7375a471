"""The Figure tab (Ctrl+5): the current model's trunk as the lectures draw it, a row of 3-D volumes
(``widgets/figure/volume.py``, from ``app/core/figure_data.py``). Built when first shown; it follows the model, the
theme and the text scale. File › Export figure… writes it as PNG or SVG; File › Export graph for slides…
(``app/explorer/export.py``) writes the layer graph on slide-shaped pages. ``window.figure`` is this object."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from cnn_explorer.app.core.figure_data import figure_from_result
from cnn_explorer.app.window.lazy_tab import LazyTab, add_action

FIGURE_SIZE = (1920, 1080)  # the exported picture: a 16:9 slide


class FigureTab(LazyTab):
    wide = True  # the docks make room while it is shown
    name, title, shortcut = "figure", "Figure", "Ctrl+5"
    action_text = "&Figure (the trunk as volumes)"
    waiting = "Opening the figure…"

    def __init__(self, window):
        super().__init__(window)
        self.export_action = add_action(window, "export_figure", "Export &figure…", None, self.export_dialog,
                                        "File", window.actions_by_name.get("export_csv"))
        window.model_shown.connect(lambda _name: self.refresh())
        window.classroom.theme_changed.connect(lambda theme: self.view and self.view.set_theme(theme))
        window.classroom.font_scale_changed.connect(lambda scale: self.view and self.view.set_font_scale(scale))

    @property
    def view(self):
        """The VolumeFigure, once built."""
        return self.built

    def make(self):
        from cnn_explorer.widgets.figure.volume import VolumeFigure

        view = VolumeFigure(self.window)
        view.set_theme(self.window.classroom.theme())
        view.set_font_scale(self.window.classroom.effective_font_scale())
        view.set_data(figure_from_result(self.window.session.current))
        return view

    def refresh(self) -> None:
        """Draw the current model (plain data: no model work, so on the GUI thread)."""
        if self.view is not None:
            self.view.set_data(figure_from_result(self.window.session.current))

    def export(self, path: str | Path, size: tuple[int, int] = FIGURE_SIZE) -> Path:
        return self.build().export_image(path, size)

    def export_dialog(self) -> None:
        window = self.window
        data = figure_from_result(window.session.current)
        if not data.ok:
            window.show_error(f"{data.message}: there is no volume figure to export; File › Export graph draws "
                              "every model.")
            return
        name = window.current_model() or "model"
        path, chosen = QFileDialog.getSaveFileName(window, "Export figure", str(Path.cwd() / f"{name}_figure.png"),
                                                   "PNG image, 1920×1080 (*.png);;SVG image (*.svg)")
        if not path:
            return
        if Path(path).suffix.lower() not in (".png", ".svg"):
            path += ".svg" if "SVG" in chosen else ".png"
        from cnn_explorer.app.explorer.export import save_from_window

        save_from_window(window, path, self.export)


def register(window, view: str = "graph") -> FigureTab:
    """Add the Figure tab to ``window`` (after the other tabs), and its File menu entries."""
    window.figure = FigureTab(window)
    from cnn_explorer.app.explorer.export import register_slides_action

    register_slides_action(window)
    return window.figure
