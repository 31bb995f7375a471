"""``ViewExport``, the export half of ``GraphView`` (view.py): the drawing's extent and colours, a region of it
drawn into a painter, and the graph written as .png or .svg (``offscreen.write_scene_image``). A mixin: it draws
the view's scene.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRectF
from PySide6.QtGui import QPainter

from cnn_explorer.widgets.common.files import check_writable
from cnn_explorer.widgets.graph.fold_state import FoldState
from cnn_explorer.widgets.graph.offscreen import OffscreenScene, export_region, write_scene_image


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

    def export_elsewhere(self):
        """The whole graph's export for another thread: (an ``OffscreenScene`` made here, ``write(path, progress)``
        that builds in it the drawing shown (data, folding, look, arrangement) and writes it as ``export_image``
        would, then empties it). None when no graph is shown."""
        if self._data is None:
            return None
        scene = OffscreenScene()
        data, folded, colors, scale = self._data, set(self._fold.folded), self._scene.colors, self._font_scale
        arrangement = {"direction": self._direction, "compact": self._compact, "aspect": self._aspect}

        def write(path: str | Path, progress=lambda text, percent: None) -> Path:
            try:
                scene.set_look(colors, scale)
                for _ in scene.build_steps(data, FoldState(data, folded), **arrangement):
                    progress(f"Drawing {len(scene.graph.nodes)} nodes", -1)
                progress("Writing the picture", -1)
                return write_scene_image(scene, path, export_region(scene), data.title)
            finally:
                scene.clear_graph()

        return scene, write
