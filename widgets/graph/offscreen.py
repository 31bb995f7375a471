"""The layer graph drawn away from any view, for files: ``OffscreenScene`` (a GraphScene that a worker thread may
build and paint), ``rounded_aspect`` (the screen shapes left-to-right rows are made for, shared with the view)
and ``write_scene_image`` (a region of a scene as .png or .svg, every label shown, no selection).

Why a worker thread may use it, by Qt's rules ("Threads and QObjects", "Painting in threads"):

- A QObject may be used from one thread at a time; what must not happen is its events being delivered on one
  thread while another uses it. The scene is made on the GUI thread (``QGraphicsScene``'s constructor adds it
  to QApplication's list of scenes, a list with no lock, so it is made, and deleted, where every other scene
  is) and then given no thread at all (``moveToThread(None)``: "all event processing for this object stops"):
  the events it posts to itself (repaint requests, index updates) are never delivered, on any thread. It is
  attached to no view, and its items are plain QGraphicsItems (no QGraphicsWidget, no timer); ``NoIndex``
  keeps the BSP index, and its timer, out.
- QApplication *sends* (not posts) a font, palette or style change to every scene on the GUI thread:
  ``event`` drops those here, so the GUI thread never touches an offscreen scene while a worker draws it.
- "QPainter can be used in a thread to paint onto QImage, QPrinter and QPicture paint devices", text
  included; QPdfWriter is QPrinter's PDF engine and QSvgGenerator a paint device of the same kind. Pixmaps and
  widgets are never involved.

The thread that builds the scene is the only one that touches it until it is done with it; the GUI thread
then deletes it (``claim`` takes it back first).
"""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import QEvent, QRectF, QSizeF, QThread
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QGraphicsScene

from cnn_explorer.widgets.common.picture import write_png, write_svg
from cnn_explorer.widgets.graph.scene import GraphScene

# What QApplication sends to every scene, on the GUI thread, when the app's font, palette or style changes.
_BROADCASTS = {QEvent.Type.ApplicationFontChange, QEvent.Type.ApplicationPaletteChange, QEvent.Type.FontChange,
               QEvent.Type.PaletteChange, QEvent.Type.StyleChange, QEvent.Type.ApplicationLayoutDirectionChange}
ASPECT_STEP = math.log(1.1)


def rounded_aspect(width: float, height: float) -> float:
    """``width / height`` in steps of 10 %: left-to-right rows are laid out again only past a step."""
    return round(math.exp(round(math.log(width / height) / ASPECT_STEP) * ASPECT_STEP), 3)


class OffscreenScene(GraphScene):
    """A GraphScene for a file: made on the GUI thread, then built and painted by one other thread (or the same
    one), never shown. See the module's docstring for the Qt rules this relies on."""

    def __init__(self):
        super().__init__(None)
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
        self.moveToThread(None)

    def claim(self) -> "OffscreenScene":
        """Back to the calling thread (the GUI thread, to delete it with the other scenes)."""
        self.moveToThread(QThread.currentThread())
        return self

    def event(self, event) -> bool:  # noqa: N802 (Qt's name)
        if event.type() in _BROADCASTS:
            return True  # its look is fixed by set_look; the GUI thread must not touch it while it is drawn
        return super().event(event)


def export_region(scene: GraphScene) -> QRectF:
    """The whole drawing, or a small empty square for an empty scene."""
    source = scene.sceneRect()
    return source if not source.isEmpty() else QRectF(0, 0, 100, 100)


def write_scene_image(scene: GraphScene, path: str | Path, source: QRectF, title: str) -> Path:
    """Write ``source`` of ``scene`` as .png (2× for sharp text, at most ~64 megapixels and 16384 pixels a
    side) or .svg, every label shown and no selection. Any thread that may use ``scene`` may call it."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".png", ".svg"):
        raise ValueError(f"cannot write {path.name}: the image must be .png or .svg")
    with scene.exporting():
        if suffix == ".svg":
            target = QRectF(0, 0, source.width(), source.height())
            write_svg(path, source.size().toSize(), target, title, "Layer graph drawn by CNN Explorer",
                      lambda painter: scene.render_into(painter, target, source))
        else:
            scale = min(2.0, 16384 / max(source.width(), source.height()),
                        (64e6 / max(source.width() * source.height(), 1)) ** 0.5)
            image = QImage(QSizeF(source.width() * scale, source.height() * scale).toSize(),
                           QImage.Format.Format_ARGB32_Premultiplied)
            image.fill(QColor(scene.colors.background))
            painter = QPainter(image)
            scene.render_into(painter, QRectF(image.rect()), source)
            painter.end()
            write_png(image, path)
    return path
