"""``ViewExport``, the export half of ``GraphView`` (view.py): the drawing's extent and colours, a region of it
drawn into a painter, and the graph written as .png or .svg (``offscreen.write_scene_image``). A mixin: it draws
the view's scene.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRectF
from PySide6.QtGui import QPainter

from cnn_explorer.widgets.common.files import check_writable
from cnn_explorer.widgets.graph.offscreen import export_region, write_scene_image


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
        if path.suffix.lower() not in (".png", ".svg"):
            raise ValueError(f"cannot write {path.name}: the image must be .png or .svg")
        check_writable(path)
        source = export_region(self._scene) if whole else self._visible_rect()
        if source.isEmpty():
            source = QRectF(0, 0, 100, 100)
        return write_scene_image(self._scene, path, source, self._data.title if self._data else "graph")
