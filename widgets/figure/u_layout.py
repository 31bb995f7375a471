"""The U figure of an encoder-decoder (the U-Net paper's drawing): one volume per stage, each resolution level
a row, the way down on the left and the way up on the right, the skips across the U as arrows at their level.

The labels stand beside the volumes, on the outer side of the U (left of the way down, right of the way up,
under the bottom), so that the arrows between stages and the skips never cross them; volumes are packed
left to right as tightly as their labels allow, and the row spacing that makes the figure largest is chosen.
Plain data in (``app/core/figure_u.py`` via ``figure_data``'s ``FigureData``), drawn with the same boxes,
arrows and heading as ``volume.py``. No torch.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPainter

from cnn_explorer.widgets.figure import volume as v

# Volumes are drawn smaller than in a row: a U of five levels has to fit the height of a slide.
FACE, DEPTH, THICK = 4.0, 2.6, 2.0
STEP_FACTORS = (1.0, 1.15, 1.3, 1.45, 1.6, 1.8, 2.0)  # row spacings tried, in units of the least that keeps skips clear


class ULayout:
    """Where everything goes for a U figure ``data`` at text size ``px`` with rows ``factor`` times the least
    spacing apart; ``details`` as in ``volume.FigureLayout``."""

    def __init__(self, data, px: float, factor: float, details: bool = True):
        self.data, self.px, self.details = data, px, details
        self.shape_font, self.small_font, self.title_font = v._font(px, True), v._font(0.93 * px), v._font(1.2 * px,
                                                                                                              True)
        shape_m, small_m = QFontMetricsF(self.shape_font), QFontMetricsF(self.small_font)
        volumes = data.volumes
        self.texts = [v.FigureLayout.labels(x) if details else (v.FigureLayout.labels(x)[0], "", "") for x in volumes]
        self.legend = v.legend_items(data)
        levels = [x.level for x in volumes]
        self.bottom = levels.index(max(levels))
        dims, labels = [], []
        for volume, (shape, name, title) in zip(volumes, self.texts):
            t, d = volume.thickness * THICK * px, volume.depth * DEPTH * px
            h = volume.height * FACE * px
            dims.append((t, h, d * v.OBLIQUE_X, d * v.OBLIQUE_Y))
            width = max(shape_m.horizontalAdvance(shape), small_m.horizontalAdvance(name),
                        small_m.horizontalAdvance(title))
            height = shape_m.height() + (2 * small_m.height() if details else 0)
            labels.append((width, height))
        # Labels on the outer side of the U, under the bottom; a volume with a neighbour at its own level (the
        # input beside the first stage), where the arrow between them runs, has its label over it on the top
        # row (nothing is above it) and under it elsewhere.
        level_mate = [any(0 <= j < len(levels) and levels[j] == levels[i] for j in (i - 1, i + 1))
                      for i in range(len(levels))]
        self.sides = ["below" if i == self.bottom else ("above" if levels[i] == 0 else "below") if level_mate[i]
                      else "left" if i < self.bottom else "right" for i in range(len(volumes))]
        # The least row spacing: a skip at a level runs above the volumes one level down, with its label.
        rows = max(levels) + 1
        half_up = [0.0] * rows  # per row: from the face centres up to the top of the tallest volume or label
        for (t, h, ox, oy), (lw, lh), level, side in zip(dims, labels, levels, self.sides):
            beside = lh / 2 if side in ("left", "right") else 0.0
            above = h / 2 + oy + 0.4 * px + lh if side == "above" else 0.0
            half_up[level] = max(half_up[level], h / 2 + oy, beside, above)
        least = max((0.3 * self._face(levels, dims, r) + half_up[r + 1] + 1.3 * px
                     for r in range(rows - 1)), default=px)
        step = least * factor
        margin = 1.2 * px
        self.title_height = 2.4 * px + (1.7 * px if self.legend else 0)
        top = margin + self.title_height + max(half_up[0], 0.3 * self._face(levels, dims, 0) + 1.3 * px)
        self.row_y = [top + r * step for r in range(rows)]
        # Pack left to right: each box right of the one before (with room for the arrow), no rectangle (box and
        # label) over another.
        gap = 1.6 * px
        self.placed: list[v.Placed] = []
        self.label_boxes: list[QRectF] = []
        rects: list[QRectF] = []
        box_right = margin
        skip_text = {skip.dst: (skip.src, small_m.horizontalAdvance(skip.label) + 1.6 * px) for skip in data.skips}
        for i, ((t, h, ox, oy), (lw, lh), level, side) in enumerate(zip(dims, labels, levels, self.sides)):
            centre = self.row_y[level]
            box_w = t + ox
            spill = max(0.0, (lw - box_w) / 2)  # a label under or over the box, wider than it
            left_room = lw + 0.5 * px if side == "left" else spill if side in ("below", "above") else 0.0
            right_room = lw + 0.5 * px if side == "right" else spill if side in ("below", "above") else 0.0
            top_y = min(centre - h / 2 - oy, centre - lh / 2 if side in ("left", "right") else centre,
                        centre - h / 2 - oy - 0.4 * px - lh if side == "above" else centre)
            bottom_y = max(centre + h / 2, centre + lh / 2 if side in ("left", "right") else centre,
                           centre + h / 2 + 0.5 * px + lh if side == "below" else centre)
            x = max(box_right + (gap if i else 0.0), margin + left_room)
            if i in skip_text:  # a skip's label fits between the two volumes it joins
                src, text_w = skip_text[i]
                x = max(x, self.placed[src].x + self.placed[src].thickness + self.placed[src].ox + text_w)
            for rect in rects:
                if rect.top() < bottom_y + 0.4 * px and top_y < rect.bottom() + 0.4 * px:
                    x = max(x, rect.right() + 0.8 * px + left_room)
            rect = QRectF(x - left_room, top_y, left_room + box_w + right_room, bottom_y - top_y)
            rects.append(rect)
            self.placed.append(v.Placed(i, level, x, centre - h / 2, t, h, ox, oy, x + box_w / 2,
                                        centre + h / 2 + 0.5 * px))
            if side == "left":
                self.label_boxes.append(QRectF(x - left_room, centre - lh / 2, lw, lh))
            elif side == "right":
                self.label_boxes.append(QRectF(x + box_w + 0.5 * px, centre - lh / 2, lw, lh))
            elif side == "above":
                self.label_boxes.append(QRectF(x + box_w / 2 - lw / 2, centre - h / 2 - oy - 0.4 * px - lh, lw, lh))
            else:
                self.label_boxes.append(QRectF(x + box_w / 2 - lw / 2, centre + h / 2 + 0.5 * px, lw, lh))
            box_right = x + box_w
        self.rects = rects
        right = max((r.right() for r in rects), default=margin)
        self.width = max(right + margin, 14 * px)
        self.height = max((r.bottom() for r in rects), default=top) + margin

    @staticmethod
    def _face(levels, dims, row) -> float:
        return min((d[1] for d, level in zip(dims, levels) if level == row), default=0.0)

    def heading(self) -> str:
        return v.FigureLayout.heading(self)

    def skip_label_box(self, skip, metrics: QFontMetricsF) -> QRectF:
        """Where a skip's label is written: over the middle of its arrow."""
        a, b = self.placed[skip.src], self.placed[skip.dst]
        y = self.skip_y(skip)
        middle = (a.x + a.thickness + a.ox * 0.5 + b.x - 0.15 * self.px) / 2
        width = metrics.horizontalAdvance(skip.label) + 0.6 * self.px
        return QRectF(middle - width / 2, y - metrics.height() - 0.15 * self.px, width, metrics.height())

    def skip_y(self, skip) -> float:
        """The height of a skip's arrow: a third of the way up the shorter face at its level."""
        a, b = self.placed[skip.src], self.placed[skip.dst]
        return self.row_y[a.row] - 0.3 * min(a.height, b.height)


def best_u_layout(data, px: float, size: QSizeF) -> tuple[ULayout, float]:
    best, best_scale = None, -1.0
    for details in (True, False):
        if best is not None and best_scale >= v.SMALLEST_SCALE:
            break
        for factor in STEP_FACTORS:
            layout = ULayout(data, px, factor, details)
            scale = min(size.width() / layout.width, size.height() / layout.height, v.MAX_SCALE)
            if best is None or scale > best_scale * 1.02:
                best, best_scale = layout, scale
    return best, best_scale


def draw_u(painter: QPainter, layout: ULayout, colors) -> None:
    px = layout.px
    v.draw_heading(painter, layout, colors)
    volumes = layout.data.volumes
    for placed in layout.placed:
        v.draw_box(painter, placed, volumes[placed.index], colors)
    # Between stages: down the left (pooling's colour), up the right (upsampling's), level with an edge.
    for before, placed in zip(layout.placed, layout.placed[1:]):
        going = placed.row - before.row
        mark = "down" if going > 0 else "up" if going < 0 else ""
        color = v.mark_color(mark, colors) if mark else QColor(colors.edge)
        if going > 0:  # from under the stage down to the next one's top
            start = QPointF(before.x + 0.6 * before.thickness, before.y + before.height + 0.15 * px)
            end = QPointF(placed.x + 0.5 * placed.thickness + 0.4 * placed.ox, placed.y - 0.5 * placed.oy - 0.15 * px)
        elif going < 0:  # from the stage's top up to under the next one
            start = QPointF(before.x + 0.5 * before.thickness + 0.4 * before.ox, before.y - 0.5 * before.oy - 0.15 * px)
            end = QPointF(placed.x + 0.4 * placed.thickness, placed.y + placed.height + 0.15 * px)
        else:
            start = QPointF(before.x + before.thickness + 0.5 * before.ox + 0.15 * px, before.y + 0.5 * before.height)
            end = QPointF(placed.x - 0.15 * px, placed.y + 0.5 * placed.height)
        v._arrow(painter, start, end, color, px, width=2.0 if mark else 1.3)
    # The skips across the U, each with its label over its middle.
    accent = QColor(colors.accent)
    painter.setFont(layout.small_font)
    metrics = QFontMetricsF(layout.small_font)
    for skip in layout.data.skips:
        a, b = layout.placed[skip.src], layout.placed[skip.dst]
        y = layout.skip_y(skip)
        start = QPointF(a.x + a.thickness + a.ox * 0.5, y)
        end = QPointF(b.x - 0.15 * px, y)
        v._arrow(painter, start, end, accent, px, dashed=True, width=1.6)
        painter.setPen(accent)
        painter.drawText(layout.skip_label_box(skip, metrics), Qt.AlignCenter, skip.label)
    text, muted = QColor(colors.text), QColor(colors.muted)
    for placed, side, box, (shape, name, title) in zip(layout.placed, layout.sides, layout.label_boxes,
                                                        layout.texts):
        align = {"left": Qt.AlignRight, "right": Qt.AlignLeft}.get(side, Qt.AlignHCenter)
        y = box.top()
        for line, font, color in ((shape, layout.shape_font, text), (name, layout.small_font, muted),
                                  (title, layout.small_font, muted)):
            if not line:
                continue
            painter.setFont(font)
            painter.setPen(color)
            height = QFontMetricsF(font).height()
            painter.drawText(QRectF(box.left(), y, box.width(), height), align | Qt.AlignTop, line)
            y += height
