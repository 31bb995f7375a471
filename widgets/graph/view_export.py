"""``ViewExport``, the export half of ``GraphView`` (view.py): the drawing's extent and colours, a region of it
drawn into a painter (for slides), and the graph written as .png or .svg. A mixin: it draws the view's scene.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRectF, QSizeF
from PySide6.QtGui import QColor, QImage, QPainter

from cnn_explorer.widgets.common.files import check_writable
from cnn_explorer.widgets.common.picture import write_png, write_svg


class ViewExport:
    """What ``GraphView`` exports: the whole drawing or what the view shows, every label shown, no selection."""

    def scene_rect(self) -> QRectF:
        """The whole drawing, in scene pixels (what ``export_image`` writes)."""
        return self._scene.sceneRect()

    def colors(self):
        """The graph's colours in the current theme (GraphColors)."""
        return self._scene.colors

    def render_region(self, painter: QPainter, target: QRectF, source: QRectF) -> None:
        """Draw the part ``source`` of the scene into ``target`` of ``painter``, as exported (every label
        shown, no selection): what slides are made of (``app/explorer/export.py``)."""
        with self._scene.exporting():
            self._scene.render_into(painter, target, source)

    def export_image(self, path: str | Path, whole: bool = True) -> Path:
        """Write the graph as .png or .svg: the whole graph, or (``whole=False``) what the view shows."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".png", ".svg"):
            raise ValueError(f"cannot write {path.name}: the image must be .png or .svg")
        check_writable(path)
        source = self._scene.sceneRect() if whole else self._visible_rect()
        if source.isEmpty():
            source = QRectF(0, 0, 100, 100)
        with self._scene.exporting():
            if suffix == ".svg":
                target = QRectF(0, 0, source.width(), source.height())
                write_svg(path, source.size().toSize(), target, self._data.title if self._data else "graph",
                          "Layer graph drawn by CNN Explorer",
                          lambda painter: self._scene.render_into(painter, target, source))
            else:
                # 2× for sharp text, but at most ~64 megapixels and 16384 pixels a side.
                scale = min(2.0, 16384 / max(source.width(), source.height()),
                            (64e6 / max(source.width() * source.height(), 1)) ** 0.5)
                image = QImage(QSizeF(source.width() * scale, source.height() * scale).toSize(),
                               QImage.Format.Format_ARGB32_Premultiplied)
                image.fill(QColor(self._scene.colors.background))
                painter = QPainter(image)
                self._scene.render_into(painter, QRectF(image.rect()), source)
                painter.end()
                write_png(image, path)
        return path
