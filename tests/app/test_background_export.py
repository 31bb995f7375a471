"""Slides and figures are drawn on the runner's thread (``app/explorer/background.py``): while DenseNet-121
unfolded goes on 13 slides the window keeps answering, the slides are those the command line draws, and a
cancelled export leaves no file (the user's old one as it was)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QWidget

from cnn_explorer.app.core.requests import RequestRunner
from cnn_explorer.app.core.view_data import graph_data_from
from cnn_explorer.app.explorer.background import writer_of
from cnn_explorer.app.explorer.export import SLIDES, export_slides, slide_scene, write_slides
from cnn_explorer.app.window.gui_thread import gui_post
from cnn_explorer.models.zoo.loader import load_model, summarize
from cnn_explorer.widgets.graph.view import GraphView

TIMEOUT_MS = 300_000
OLD = b"the user's own slides, which must survive\n"
_DATA = {}


def densenet_data():
    if "d" not in _DATA:
        _DATA["d"] = graph_data_from(summarize(load_model("densenet121", weights="random", structure_only=True)))
    return _DATA["d"]


@pytest.fixture
def ctx(qtbot):
    parent = QWidget()
    qtbot.addWidget(parent)
    graph = GraphView(parent)
    graph.set_data(densenet_data(), folded=())  # every block unfolded: 13 slides
    messages = {"notes": [], "errors": []}
    runner = RequestRunner(gui_post(), strict=True)
    context = SimpleNamespace(parent=parent, runner=runner, graph=graph, messages=messages,
                              notify=lambda text, ms=0: messages["notes"].append(text),
                              show_error=lambda text: messages["errors"].append(text))
    yield context
    runner.shutdown(wait=True)


def test_slides_drawn_on_the_runner_keep_the_window_answering_and_match_the_command_line(qtbot, ctx, tmp_path):
    ticks = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(writer.is_busy()))
    writer = writer_of(ctx)
    timer.start()
    with qtbot.waitSignal(writer.finished, timeout=TIMEOUT_MS) as finished:
        assert export_slides(ctx, tmp_path / "d.png", SLIDES["16:9"]) is not None
        assert writer.is_busy()
        assert export_slides(ctx, tmp_path / "other.png", SLIDES["16:9"]) is None  # one export at a time
        assert any("under way" in note for note in ctx.messages["notes"])
        # Meanwhile the teacher turns presentation on and off: the app's font and palette change, which Qt
        # sends to every scene, the exported one too (it must not be touched from here while it is drawn).
        qtbot.waitUntil(lambda: bool(writer.last_step), timeout=TIMEOUT_MS)
        app = QApplication.instance()
        font, palette = app.font(), app.palette()
        bigger = QFont(font)
        bigger.setPointSizeF(font.pointSizeF() * 1.5)
        for _ in range(3):
            app.setFont(bigger)
            app.setPalette(QPalette(QColor("black")))
            app.setFont(font)
            app.setPalette(palette)
    timer.stop()
    # The GUI thread's timer kept running during the export (a thread drawing on the GUI thread would hold it
    # for the whole export: a tick or two at most).
    assert ticks.count(True) >= 20
    files = finished.args[0]
    assert [f.name for f in files] == [f"d-{i}.png" for i in range(1, len(files) + 1)] and len(files) > 1
    assert ctx.messages["errors"] == [] and not list(tmp_path.glob(".cnn-explorer-*"))
    assert not (tmp_path / "other.png").exists() and not list(tmp_path.glob("other*"))
    # The same pictures as the slides drawn here, on the GUI thread (as the command line draws them).
    here = tmp_path / "here"
    here.mkdir()
    reference, pages = write_slides(slide_scene(densenet_data(), SLIDES["16:9"], folded=()), here / "d.png",
                                    SLIDES["16:9"])
    assert pages == len(files)
    for mine, theirs in zip(files, reference):
        assert mine.read_bytes() == theirs.read_bytes(), mine.name


def drawing_a_later_slide(step: str) -> bool:
    return step.startswith("Drawing slide") and not step.startswith("Drawing slide 1 ")


# Cancelled while laying out, or after the first PNG page was written (it must go too).
@pytest.mark.parametrize("suffix, when", [(".pdf", lambda step: "Laying out" in step), (".png", drawing_a_later_slide)])
def test_a_cancelled_slide_export_leaves_no_file_and_the_old_one_as_it_was(qtbot, ctx, tmp_path, suffix, when):
    target = tmp_path / f"slides{suffix}"
    target.write_bytes(OLD)
    writer = writer_of(ctx)
    with qtbot.waitSignal(writer.stopped, timeout=TIMEOUT_MS) as stopped:
        assert export_slides(ctx, target, SLIDES["4:3"]) is not None
        qtbot.waitUntil(lambda: when(writer.last_step), timeout=TIMEOUT_MS)  # under way on the runner
        writer.cancel()
    assert stopped.args[0] == ""  # cancelled, not failed
    assert target.read_bytes() == OLD
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]  # no page, no staging folder
    assert any("cancelled" in note for note in ctx.messages["notes"]) and ctx.messages["errors"] == []
    assert not writer.is_busy()


def test_the_graph_exported_on_the_runner_is_the_graph_exported_here(qtbot, ctx, tmp_path):
    """File › Export graph as PNG/SVG draws the graph as shown (here DenseNet-121 unfolded, top to bottom) in a
    scene of its own on the runner: the same file as the view's own export on the GUI thread."""
    writer = writer_of(ctx)
    for suffix in (".png", ".svg"):
        scene, write = ctx.graph.export_elsewhere()
        with qtbot.waitSignal(writer.finished, timeout=TIMEOUT_MS) as finished:
            assert writer.start(tmp_path / f"runner{suffix}", "Exporting the graph",
                                lambda job, target: write(target, job.progress), scene=scene) is not None
        assert finished.args[0] == [tmp_path / f"runner{suffix}"]
        here = ctx.graph.export_image(tmp_path / f"here{suffix}")
        assert (tmp_path / f"runner{suffix}").read_bytes() == here.read_bytes()
    # A target that cannot be written is refused at once, with the reason.
    folder = tmp_path / "folder.png"
    folder.mkdir()
    scene, write = ctx.graph.export_elsewhere()
    assert writer.start(folder, "Exporting the graph", lambda job, target: write(target, job.progress),
                        scene=scene) is None
    assert any("it is a folder" in error for error in ctx.messages["errors"]) and not writer.is_busy()


def test_slides_as_pngs_ask_before_replacing_page_files_already_there(qtbot, ctx, tmp_path, monkeypatch):
    """The save dialog confirms talk.png only; the pages are talk-1.png, talk-2.png …: those already there are
    replaced only when the user says so."""
    from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

    from cnn_explorer.app.explorer.export import export_slides_dialog

    ctx.session = SimpleNamespace(current=SimpleNamespace(name="densenet121", graph=ctx.graph.graph_data()))
    (tmp_path / "talk-1.png").write_bytes(OLD)
    asked = []
    monkeypatch.setattr(QInputDialog, "getItem", lambda *args: ("16:9 (1920×1080)", True))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args: (str(tmp_path / "talk.png"), "PNG images"))

    def answer(reply):
        def question(parent, title, text, *rest):
            asked.append(text)
            return reply
        monkeypatch.setattr(QMessageBox, "question", question)

    answer(QMessageBox.StandardButton.No)
    export_slides_dialog(ctx)
    assert asked and "talk-1.png" in asked[0] and not writer_of(ctx).is_busy()
    assert (tmp_path / "talk-1.png").read_bytes() == OLD and not (tmp_path / "talk-2.png").exists()

    answer(QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(writer_of(ctx).finished, timeout=TIMEOUT_MS) as finished:
        export_slides_dialog(ctx)
    assert tmp_path / "talk-1.png" in finished.args[0] and len(finished.args[0]) > 1
    assert (tmp_path / "talk-1.png").read_bytes() != OLD
