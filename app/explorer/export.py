"""Pictures for slides: the layer graph fitted to slide pages with labels that can be read from the back of a
lecture hall, split over pages (a multi-page PDF, or numbered PNGs) when one page would make them too small.

The graph is laid out left to right in compact mode when the graph view offers it (rows that fill a wide page),
else top to bottom. It goes on one page when its smallest text (a node's shape line) is then at least
``MIN_TEXT_FRACTION`` of the page height; otherwise it is drawn at that size and cut, between rows of nodes and
between nodes, into pieces that fill as many pages as needed (``plan_pages``: plain arithmetic, no Qt).

Nothing heavy is imported before it is needed: ``SLIDES`` is read by the command line's parser, which must not
import Qt or torch to reject a bad ``--slide``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

SLIDES = {"16:9": (1920, 1080), "4:3": (1440, 1080)}
MIN_TEXT_FRACTION = 1 / 60  # the smallest text on a slide, as a fraction of its height (18 px of 1080)
MARGIN_FRACTION = 0.03  # the page's margin, as a fraction of its height
MAX_SCALE = 3.0  # a small graph is not blown up beyond this
PDF_POINTS_PER_PIXEL = 0.5  # 1920×1080 pixels → 960×540 pt, PowerPoint's 13.33 × 7.5 in widescreen slide

Rect = tuple[float, float, float, float]  # x, y, width, height


@dataclass(frozen=True)
class Piece:
    source: Rect  # the part of the scene
    target: Rect  # where it goes on its page (page pixels)


def _merged(intervals: list[tuple[float, float]]) -> list[list[float]]:
    merged: list[list[float]] = []
    for a, b in sorted(intervals):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return merged


def _cuts(intervals: list[tuple[float, float]], start: float, end: float, budget: float,
          every_gap: bool = False) -> list[float]:
    """Cut [start, end] into parts no longer than ``budget`` (at every gap between intervals too, with
    ``every_gap``), crossing no interval (a node) where there is a gap to cut at: the boundaries, start and end
    included."""
    if not budget > 0:
        raise ValueError("a page leaves no room inside its margins")
    merged = _merged(intervals)
    free = [(merged[i][1] + merged[i + 1][0]) / 2 for i in range(len(merged) - 1)]  # gaps between nodes
    bounds, position = [start], start
    # Each step passes a gap or advances a whole budget: so many steps at most.
    for _ in range(len(free) + math.ceil((end - start) / budget) + 2):
        if end - position <= 1e-6:
            break
        if every_gap:
            following = [c for c in free if position + 1e-6 < c]
            if following and following[0] - position <= budget + 1e-6:
                position = following[0]
                bounds.append(position)
                continue
        if end - position <= budget + 1e-6:
            break
        fitting = [c for c in free if position + 1e-6 < c <= position + budget]
        position = fitting[-1] if fitting else position + budget  # no gap: a node is cut
        bounds.append(position)
    else:
        raise RuntimeError(f"cutting {start:g}–{end:g} into parts of {budget:g} did not end")
    bounds.append(end)
    return bounds


MAX_PAGE_ASPECT = 4.0  # a page at most four times as wide as high, or as high as wide


def check_page(page: tuple[int, int]) -> None:
    """Refuse a page shape that leaves no room for a graph inside its margins (a ``ValueError``, one line)."""
    w, h = page
    if not (w > 0 and h > 0) or max(w / h, h / w) > MAX_PAGE_ASPECT:
        raise ValueError(f"a slide of {w}×{h} is too narrow: its sides may differ at most {MAX_PAGE_ASPECT:g}-fold")


def plan_pages(scene: Rect, nodes: list[Rect], page: tuple[int, int], min_scale: float
               ) -> tuple[float, list[list[Piece]]]:
    """The scale and the pieces of each page that show ``scene`` (whose node rectangles are ``nodes``) on
    pages of ``page`` pixels with the scene drawn at least ``min_scale`` times.

    Several pages: the scene is cut between its rows of nodes, each row between its nodes where it is wider
    than a page, and the pieces are stacked down the page in reading order, in columns side by side when they
    are narrow (a tall graph reads like a newspaper); pieces that lie one under the other in the scene stay
    joined."""
    check_page(page)
    pw, ph = page
    margin = MARGIN_FRACTION * ph
    aw, ah = pw - 2 * margin, ph - 2 * margin
    x0, y0, w, h = scene
    fit = min(aw / w, ah / h)
    if fit >= min_scale:
        scale = min(fit, MAX_SCALE)
        target = ((pw - w * scale) / 2, (ph - h * scale) / 2, w * scale, h * scale)
        return scale, [[Piece(scene, target)]]
    scale = min_scale
    gap = margin  # between two columns, or two pieces that do not join
    max_w, max_h = aw / scale, ah / scale
    pieces: list[list[float]] = []
    rows = _cuts([(y, y + nh) for _, y, _, nh in nodes], y0, y0 + h, max_h, every_gap=True)
    for top, bottom in zip(rows, rows[1:]):
        inside = [(x, x + nw) for x, y, nw, nh in nodes if y < bottom and y + nh > top]
        columns = _cuts(inside, x0, x0 + w, max_w)
        for left, right in zip(columns, columns[1:]):
            last = pieces[-1] if pieces else None
            if last and (last[0], last[2]) == (left, right - left) and abs(last[1] + last[3] - top) < 1e-6 \
                    and last[3] + bottom - top <= max_h:
                last[3] += bottom - top  # the row under the last piece, as wide: one piece
            else:
                pieces.append([left, top, right - left, bottom - top])
    # Columns of pieces, then pages of columns.
    columns: list[list[list[float]]] = [[]]
    height = 0.0
    for piece in pieces:
        extra = piece[3] * scale + (gap if columns[-1] else 0.0)
        if columns[-1] and height + extra > ah + 1e-6:
            columns.append([])
            extra, height = piece[3] * scale, 0.0
        columns[-1].append(piece)
        height += extra
    pages: list[list[list[list[float]]]] = [[]]
    used = 0.0
    for column in columns:
        width = max(p[2] for p in column) * scale
        if pages[-1] and used + gap + width > aw + 1e-6:
            pages.append([])
            used = 0.0
        used += (gap if pages[-1] else 0.0) + width
        pages[-1].append(column)
    planned = []
    for page_columns in pages:
        widths = [max(p[2] for p in column) * scale for column in page_columns]
        x = (pw - sum(widths) - gap * (len(widths) - 1)) / 2
        placed = []
        for column, width in zip(page_columns, widths):
            y = margin
            for part in column:
                placed.append(Piece(tuple(part), (x, y, part[2] * scale, part[3] * scale)))
                y += part[3] * scale + gap
            x += width + gap
        planned.append(placed)
    return scale, planned


# -- drawing (Qt) ---------------------------------------------------------------------------------------------

def slide_files(path: Path, count: int) -> list[Path]:
    """Where the pages go: ``path`` itself for one page or a PDF; x-1.png, x-2.png … for several PNGs."""
    if count == 1 or path.suffix.lower() == ".pdf":
        return [path]
    return [_page_file(path, i) for i in range(1, count + 1)]


def _page_file(path: Path, number: int) -> Path:
    return path.with_name(f"{path.stem}-{number}{path.suffix}")


def pages_in_the_way(path: Path) -> list[Path]:
    """The files that slides written as several PNGs at ``path`` could replace (x-1.png, x-2.png …): the save
    dialog confirms only ``path`` itself, and how many pages there will be is known only once laid out."""
    if path.suffix.lower() == ".pdf" or not path.parent.is_dir():
        return []
    head = f"{path.stem}-"
    numbers = (p.name[len(head):].removesuffix(path.suffix) for p in path.parent.iterdir() if p.name.startswith(head))
    return sorted({page for n in numbers if n.isdigit() and (page := _page_file(path, int(n))).exists()})


def _min_scale(font_scale: float, page: tuple[int, int], across: bool = True) -> float:
    """The least scale at which the smallest text of a graph drawn at ``font_scale`` is MIN_TEXT_FRACTION of
    the page: the shapes in the nodes (left to right, ``across``), or beside the edges too (top to bottom)."""
    from cnn_explorer.widgets.graph.scene import DETAIL_PX, LABEL_PX

    smallest = (DETAIL_PX if across else min(DETAIL_PX, LABEL_PX)) * font_scale
    return MIN_TEXT_FRACTION * page[1] / smallest


def _scene_min_scale(scene, page: tuple[int, int]) -> float:
    return _min_scale(scene.font_scale, page, scene.layout is not None and scene.layout.direction == "lr")


def _no_progress(text: str, percent: int) -> None:
    pass


def slide_nodes(scene) -> list[Rect]:
    """The scene rectangles of the nodes drawn (where pages may not cut)."""
    rects = [scene.node_rect(node.key) for node in scene.graph.nodes] if scene.graph else []
    return [(r.x(), r.y(), r.width(), r.height()) for r in rects if r is not None]


def write_slides(scene, path: str | Path, page: tuple[int, int], progress=_no_progress) -> tuple[list[Path], int]:
    """Write the graph that ``scene`` (a built GraphScene) draws on slides of ``page`` pixels: a PDF (one page
    per slide) or PNGs. ``progress(text, percent)`` is called before each page (a job's ``progress``, which
    raises when the job is cancelled). Returns the files written and the number of slides. Any thread that may
    use ``scene`` may call it (``widgets/graph/offscreen.py``): it paints on a QImage or a QPdfWriter."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QRectF, QSizeF
    from PySide6.QtGui import QColor, QImage, QPageLayout, QPageSize, QPainter, QPdfWriter, QPen

    from cnn_explorer.widgets.common.files import check_writable, write_bytes
    from cnn_explorer.widgets.common.picture import write_png

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".png", ".pdf"):
        raise ValueError(f"cannot write {path.name}: slides are written as .png or .pdf")
    check_writable(path)
    rect = scene.sceneRect()
    _, pages = plan_pages((rect.x(), rect.y(), rect.width(), rect.height()), slide_nodes(scene), page,
                          _scene_min_scale(scene, page))
    background = QColor(scene.colors.background)
    rule = QColor(scene.colors.muted)

    def paint(painter: QPainter, number: int, pieces: list[Piece]) -> None:
        progress(f"Drawing slide {number + 1} of {len(pages)}", round(100 * number / len(pages)))
        painter.fillRect(QRectF(0, 0, *page), background)
        for i, piece in enumerate(pieces):
            target = QRectF(*piece.target)
            scene.render_into(painter, target, QRectF(*piece.source))
            if i and abs(piece.target[1] - MARGIN_FRACTION * page[1]) < 1e-6:  # a rule between columns
                painter.setPen(QPen(rule, 1.5))
                x = target.left() - MARGIN_FRACTION * page[1] / 2
                painter.drawLine(QRectF(x, target.top(), 0, target.height()).topLeft(),
                                 QRectF(x, target.top(), 0, target.height()).bottomLeft())

    files = slide_files(path, len(pages))
    with scene.exporting():
        if suffix == ".pdf":
            data = QByteArray()
            buffer = QBuffer(data)
            buffer.open(QIODevice.OpenModeFlag.WriteOnly)
            writer = QPdfWriter(buffer)
            writer.setResolution(round(72 / PDF_POINTS_PER_PIXEL))
            size = QPageSize(QSizeF(page[0] * PDF_POINTS_PER_PIXEL, page[1] * PDF_POINTS_PER_PIXEL),
                             QPageSize.Unit.Point, "slide", QPageSize.SizeMatchPolicy.ExactMatch)
            writer.setPageLayout(QPageLayout(size, QPageLayout.Orientation.Portrait, QMarginsF(0, 0, 0, 0)))
            writer.setTitle(scene.graph_title())
            painter = QPainter()
            if not painter.begin(writer):
                raise OSError(f"cannot write {path}")
            try:
                for i, pieces in enumerate(pages):
                    if i:
                        writer.newPage()
                    paint(painter, i, pieces)
            finally:
                painter.end()
            buffer.close()
            progress("Writing the PDF", 100)
            write_bytes(path, bytes(data))
        else:
            for i, (file, pieces) in enumerate(zip(files, pages)):
                image = QImage(*page, QImage.Format.Format_ARGB32_Premultiplied)
                painter = QPainter(image)
                painter.setRenderHint(QPainter.Antialiasing, True)
                painter.setRenderHint(QPainter.TextAntialiasing, True)
                try:
                    paint(painter, i, pieces)
                finally:
                    painter.end()
                write_png(image, file)
    return files, len(pages)


def slide_scene(data, page: tuple[int, int], folded=None, theme: str = "light", font_scale: float = 1.0,
                compact: bool = True, progress=_no_progress, scene=None):
    """``scene`` (a new ``OffscreenScene`` when None) built to draw ``data`` for pages of ``page`` pixels: left
    to right, compact unless ``compact`` is False, in rows made for the page's shape, and narrower rows while
    they are wider than a page at the smallest readable scale (``_narrow_rows``). ``progress`` is called between
    the steps of each build. Plain data in, no view: the runner's thread may call it
    (``widgets/graph/offscreen.py`` says which of Qt's rules that relies on)."""
    from cnn_explorer.widgets.common.theme import graph_colors
    from cnn_explorer.widgets.graph.fold_state import FoldState
    from cnn_explorer.widgets.graph.offscreen import OffscreenScene, rounded_aspect

    if scene is None:
        scene = OffscreenScene()
    scene.set_look(graph_colors(theme), max(0.5, min(4.0, float(font_scale))))  # the view's bounds
    fold = FoldState(data, folded)

    def build(aspect: float) -> None:
        for _ in scene.build_steps(data, fold, direction="lr", compact=compact, aspect=aspect):
            progress(f"Laying out {len(scene.graph.nodes)} nodes", -1)

    build(rounded_aspect(*page))
    _narrow_rows(scene, page, lambda width: build(rounded_aspect(width, page[1])))
    return scene


def _narrow_rows(scene, page: tuple[int, int], build) -> None:
    """Rows no wider than a page at the smallest readable scale, so that pages are cut only between rows: the
    rows are laid out again for a narrower shape (``build(width)``, the page's height kept) until they are.
    (The steps are those of a view of the page made narrower; a shape within 10 % of the last one is the
    same layout.)"""
    width_available = page[0] - 2 * MARGIN_FRACTION * page[1]
    height_available = page[1] - 2 * MARGIN_FRACTION * page[1]
    scale = _scene_min_scale(scene, page)
    width = float(page[0])
    for _ in range(8):
        rect = scene.sceneRect()
        if min(width_available / rect.width(), height_available / rect.height()) >= scale:
            return  # one page
        too_wide = rect.width() * scale / width_available
        if too_wide <= 1.0:
            return
        width = max(width / min(too_wide, 1.6) * 0.96, page[1] * 0.15)
        build(round(width))


def quiet_size_hints(kind, context, message: str) -> None:
    """Qt's messages, but the offscreen platform's "does not support propagateSizeHints()"."""
    if "propagateSizeHints" not in message:
        import sys

        print(message, file=sys.stderr)


def write_graph_slides(summary, path: str | Path, page: tuple[int, int], *, unfold: bool = False,
                       theme: str = "light") -> tuple[list[Path], int, int]:
    """The command line's ``graph --slide``: (the files written, the number of slides, of nodes drawn)."""
    from cnn_explorer.app.core.view_data import graph_data_from
    from cnn_explorer.app.window.gui_thread import application

    app = application([], headless=True)  # noqa: F841 (the scene needs it alive)
    scene = slide_scene(graph_data_from(summary), page, folded=() if unfold else None, theme=theme)
    files, pages = write_slides(scene, path, page)
    return files, pages, len(scene.graph.nodes)


# -- the window -----------------------------------------------------------------------------------------------

def export_slides(ctx, path: str | Path, page: tuple[int, int]) -> int | None:
    """The window's graph, with its folding, theme and text scale, on slides: laid out and drawn on the runner's
    thread (``background.py``: progress, Cancel, all or nothing). The job's id, or None when it was refused."""
    from cnn_explorer.app.explorer.background import writer_of
    from cnn_explorer.widgets.graph.offscreen import OffscreenScene

    graph = ctx.graph
    data, folded, theme, font_scale = graph.graph_data(), graph.folded_blocks(), graph.theme(), graph.font_scale()
    if data is None:
        return None
    scene = OffscreenScene()  # made here, with the other scenes; built and painted by the job

    def write(job, target: Path) -> list[Path]:
        try:
            slide_scene(data, page, folded=folded, theme=theme, font_scale=font_scale, progress=job.progress,
                        scene=scene)
            return write_slides(scene, target, page, progress=job.progress)[0]
        finally:
            scene.clear_graph()  # its items go on this thread: the GUI thread deletes an empty scene

    return writer_of(ctx).start(path, "Exporting the graph for slides", write, scene=scene)


def export_slides_dialog(ctx) -> None:
    """File › Export graph for slides…: the slide's shape, the file, then a staged write."""
    from PySide6.QtWidgets import QFileDialog, QInputDialog

    current = ctx.session.current
    if current is None or current.graph is None:
        return
    shapes = [f"{name} ({w}×{h})" for name, (w, h) in SLIDES.items()]
    choice, ok = QInputDialog.getItem(ctx.parent, "Export graph for slides", "Slide shape:", shapes, 0, False)
    if not ok:
        return
    page = SLIDES[choice.split(" ")[0]]
    path, chosen = QFileDialog.getSaveFileName(ctx.parent, "Export graph for slides",
                                               str(Path.cwd() / f"{current.name}_slides.pdf"),
                                               "PDF, one slide a page (*.pdf);;PNG images, one a slide (*.png)")
    if not path:
        return
    if Path(path).suffix.lower() not in (".pdf", ".png"):
        path += ".png" if "PNG" in chosen else ".pdf"
    in_the_way = pages_in_the_way(Path(path))
    if in_the_way:
        from PySide6.QtWidgets import QMessageBox

        names = ", ".join(p.name for p in in_the_way[:3]) + (" …" if len(in_the_way) > 3 else "")
        answer = QMessageBox.question(ctx.parent, "Export graph for slides",
                                      f"{len(in_the_way)} page file(s) are already there ({names}). "
                                      "Slides of several pages replace them. Replace?")
        if answer != QMessageBox.StandardButton.Yes:
            return
    export_slides(ctx, path, page)


def save_from_window(ctx, path: str | Path, write) -> list[Path] | None:
    """Write a file the user chose in a save dialog, all or nothing (``widgets.files.staged_output``):
    ``write(target)`` writes it (and any files beside it) and may return their paths. The status bar says what
    was saved; an error is a dialog, and the user's old file stays as it was."""
    from cnn_explorer.widgets.common.files import check_writable, staged_output

    path = Path(path)
    try:
        check_writable(path)
        with staged_output(path) as target:
            written = write(target)
        files = [path.parent / Path(f).name for f in written] if isinstance(written, (list, tuple)) else [path]
    except (OSError, ValueError) as error:
        ctx.show_error(str(error) if str(error).startswith("cannot write") else f"Cannot write {path}: {error}")
        return None
    ctx.notify(f"Saved {', '.join(map(str, files))}", 8000)
    return files
