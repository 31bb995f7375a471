"""The Figure tab's controller: the current model's trunk as the lectures draw it, a row of 3-D volumes
(``widgets/figure/volume.py``, from ``app/core/figure_data.py``). Built when first shown; it follows the model,
the theme and the text scale. File › Export figure… writes it as PNG or SVG."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from cnn_explorer.app.core.features import QuietController
from cnn_explorer.app.core.figure_data import figure_from_result

FIGURE_SIZE = (1920, 1080)  # the exported picture: a 16:9 slide


class FigureController(QuietController):
    def __init__(self, ctx):
        from cnn_explorer.widgets.figure.volume import VolumeFigure

        self.ctx = ctx
        self.panel = self.view = VolumeFigure(ctx.parent)
        self.view.set_theme(ctx.classroom.theme())
        self.view.set_font_scale(ctx.classroom.effective_font_scale())
        self.refresh()
        ctx.model_shown.connect(lambda _name: self.refresh())
        ctx.classroom.theme_changed.connect(self.view.set_theme)
        ctx.classroom.font_scale_changed.connect(self.view.set_font_scale)

    def refresh(self) -> None:
        """Draw the current model (plain data: no model work, so on the GUI thread)."""
        self.view.set_data(figure_from_result(self.ctx.session.current))

    def export(self, path: str | Path, size: tuple[int, int] = FIGURE_SIZE) -> Path:
        return self.view.export_image(path, size)


def export_dialog(ctx) -> None:
    """File › Export figure…: PNG (1920×1080) or SVG, drawn on the runner's thread from plain data (as the tab
    draws it: the current model, theme and text scale) by ``app/explorer/background.py``."""
    data = figure_from_result(ctx.session.current)
    if not data.ok:
        ctx.show_error(f"{data.message}: there is no volume figure to export; File › Export graph draws every model.")
        return
    name = ctx.session.current_model() or "model"
    path, chosen = QFileDialog.getSaveFileName(ctx.parent, "Export figure", str(Path.cwd() / f"{name}_figure.png"),
                                               "PNG image, 1920×1080 (*.png);;SVG image (*.svg)")
    if not path:
        return
    if Path(path).suffix.lower() not in (".png", ".svg"):
        path += ".svg" if "SVG" in chosen else ".png"
    export_in_background(ctx, path, data)


def export_in_background(ctx, path: str | Path, data=None) -> int | None:
    """Write the figure of the current model (or ``data``) to ``path`` on the runner's thread: the job's id, or
    None when it was refused."""
    from cnn_explorer.app.explorer.background import writer_of
    from cnn_explorer.widgets.figure.volume import export_figure

    data = data if data is not None else figure_from_result(ctx.session.current)
    theme, font_scale = ctx.classroom.theme(), ctx.classroom.effective_font_scale()
    return writer_of(ctx).start(path, "Exporting the figure",
                                lambda job, target: export_figure(data, target, FIGURE_SIZE, theme, font_scale))
