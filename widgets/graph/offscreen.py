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

Why not ``QGraphicsScene.render``: PySide holds Python's GIL for the whole call, and one slide of DenseNet-201
unfolded took 200-350 ms of it (every item is drawn, clipped, on every page): the GUI thread, which needs the
GIL for any Python slot, stalled that long. ``paint_region`` draws the same items, in the same order, with the
same transforms and painter states, one call per item, so that the GIL changes hands between them.
"""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import QEvent, QRectF, QSizeF, Qt, QThread
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QTransform
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QGraphicsScene, QStyle, QStyleOptionGraphicsItem

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


BLEED_PX = 8.0  # items this close outside a region may still colour its edge pixels (antialiasing, glyphs)


def paint_region(scene: QGraphicsScene, painter: QPainter, target: QRectF, source: QRectF) -> None:
    """Draw ``source`` of ``scene`` into ``target`` of ``painter`` (the aspect ratio kept), as
    ``QGraphicsScene.render`` does for a scene of plain items (no opacity, clipping, caching or widgets, which
    the graph's scene has none of): the same clip, transforms and painter state per item, the items in their
    stacking order. Unlike it, only the items in and near ``source`` are drawn, and an item that draws many
    parts (``TextLines``) is told the area exposed: what lies outside the clip made no pixel anyway."""
    if source.isEmpty() or target.isEmpty():
        return
    ratio = min(target.width() / source.width(), target.height() / source.height())
    painter.save()
    painter.setClipRect(target, Qt.ClipOperation.IntersectClip)
    painter.setWorldTransform(QTransform().translate(target.left(), target.top()).scale(ratio, ratio)
                              .translate(-source.left(), -source.top()), True)
    view = painter.worldTransform()
    if scene.backgroundBrush().style() != Qt.BrushStyle.NoBrush:
        painter.fillRect(source, scene.backgroundBrush())
    near = source.adjusted(-BLEED_PX, -BLEED_PX, BLEED_PX, BLEED_PX)
    option = QStyleOptionGraphicsItem()
    pieces = _path_pieces(scene)
    for item in scene.items(near, Qt.ItemSelectionMode.IntersectsItemBoundingRect, Qt.SortOrder.AscendingOrder):
        flags = item.flags()
        if flags & QGraphicsItem.GraphicsItemFlag.ItemHasNoContents or not item.isVisible():
            continue
        bounds = item.boundingRect()
        option.state = QStyle.StateFlag.State_None
        if item.isEnabled():
            option.state |= QStyle.StateFlag.State_Enabled
        if item.isSelected():
            option.state |= QStyle.StateFlag.State_Selected
        option.rect = bounds.toRect()
        option.exposedRect = bounds
        if flags & QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption:
            option.exposedRect = item.mapRectFromScene(near).intersected(bounds)
        painter.save()
        painter.setWorldTransform(item.sceneTransform() * view)
        painter.setOpacity(item.effectiveOpacity())
        parts = pieces.get(item) if isinstance(item, QGraphicsPathItem) else None
        if parts is None or item.isSelected():
            item.paint(painter, option, None)
        else:  # QGraphicsPathItem.paint, with the parts of its path near the region only
            grow = item.pen().widthF() / 2 + 1  # a stroke reaches this far beyond its control points
            local = item.mapRectFromScene(near).adjusted(-grow, -grow, grow, grow)
            path = QPainterPath()
            path.setFillRule(item.path().fillRule())
            for bounds, part in parts:
                if bounds.intersects(local):
                    path.addPath(part)
            painter.setPen(item.pen())
            painter.setBrush(item.brush())
            painter.drawPath(path)
        painter.restore()
    painter.restore()


SPLIT_ELEMENTS = 200  # a path of more elements is drawn a part at a time (a layer of edges, of arrows)


def _path_pieces(scene) -> dict:
    """For each large path item (the edges of a whole graph are one path), its subpaths and their control
    points' bounds: drawn all on every page, clipped, one of them held the GIL for ~120 ms. Made once per build
    of the scene (``GraphScene.export_cache``, emptied by each build)."""
    cache = scene.export_cache
    if "pieces" not in cache:
        cache["pieces"] = {item: _subpaths(item.path()) for item in scene.items()
                           if isinstance(item, QGraphicsPathItem) and item.path().elementCount() > SPLIT_ELEMENTS}
    return cache["pieces"]


def _subpaths(path: QPainterPath) -> list[tuple[QRectF, QPainterPath]]:
    """The subpaths of ``path``, element for element (no curve flattened), with their control points' bounds."""
    move, line, curve = (QPainterPath.ElementType.MoveToElement, QPainterPath.ElementType.LineToElement,
                         QPainterPath.ElementType.CurveToElement)
    parts: list[QPainterPath] = []
    count, i = path.elementCount(), 0
    while i < count:
        element = path.elementAt(i)
        if element.type == move or not parts:
            parts.append(QPainterPath())
            parts[-1].moveTo(element.x, element.y)
            i += 1
        elif element.type == line:
            parts[-1].lineTo(element.x, element.y)
            i += 1
        elif element.type == curve:
            c2, end = path.elementAt(i + 1), path.elementAt(i + 2)
            parts[-1].cubicTo(element.x, element.y, c2.x, c2.y, end.x, end.y)
            i += 3
        else:  # curve data without its curve: not made by QPainterPath's own calls
            raise ValueError("a path element out of place")
    # Grown by a pixel: a straight edge's bounds are a line, which intersects nothing (QRectF.intersects).
    return [(part.controlPointRect().adjusted(-1, -1, 1, 1), part) for part in parts]


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
