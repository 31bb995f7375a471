"""The lectures' volume figure (AlexNet, VGG as a row of H×W×C volumes) and pictures for slides: what a teacher
puts on a slide must come out the right shape, with every layer, and readable.

The figure's numbers come from the recorded graph (``app/core/figure_data.py``); the drawing from
``widgets/figure/volume.py``; slides from ``app/explorer/export.py``. Commands run in this process (``cli.main``).
"""

from __future__ import annotations

import math
import re

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QImage

from cnn_explorer.app import cli
from cnn_explorer.app.explorer.export import MIN_TEXT_FRACTION, plan_pages
from cnn_explorer.app.core.figure_data import MIN_SIDE, MIN_THICKNESS, NO_CHAIN, figure_from_summary
from cnn_explorer.models.analysis import ops
from cnn_explorer.models.zoo.loader import load_model, summarize
from cnn_explorer.widgets.common import format as fmt
from cnn_explorer.widgets.figure.volume import export_figure

TIMEOUT_MS = 120_000
_SUMMARIES: dict[str, object] = {}


def summary_of(name: str):
    if name not in _SUMMARIES:
        _SUMMARIES[name] = summarize(load_model(name, weights="random"))
    return _SUMMARIES[name]


def image_size(path) -> tuple[int, int]:
    image = QImage(str(path))
    assert not image.isNull(), path
    return image.width(), image.height()


def pdf_pages(path) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", path.read_bytes()))


# -- the figure's data ---------------------------------------------------------------------------------------

def test_alexnet_figure_has_one_volume_per_trunk_layer_on_log_scales():
    summary = summary_of("alexnet_2012")
    figure = figure_from_summary(summary)
    assert figure.ok and figure.kind == "chain"
    # One volume per convolution, pooling and fully connected layer (AlexNet is a chain), after the input.
    expected = [n.name for n in summary.layers if ops.node_kind(n) in ("conv", "pool", "linear")]
    assert len(figure.volumes) == 1 + len(expected) and figure.volumes[0].name == "input"
    # named as the lectures name them: conv1 … conv5, pool1 …, fc6 … fc8
    names = [v.name for v in figure.volumes]
    assert names[1] == "conv1" and names[-3:] == ["fc6", "fc7", "fc8"] and "pool5" in names
    by_name = {v.name: v for v in figure.volumes}
    # conv1 as the lectures label it (REFERENCE.md: conv1 96 11×11/4 → 55×55×96), its 11×11 kernel on the input.
    conv1 = by_name["conv1"]
    assert fmt.shape(conv1.lecture_shape) == "55×55×96"
    assert fmt.shape(by_name["input"].lecture_shape) == "227×227×3"
    assert conv1.kernel[:2] == (11, 11) and conv1.kernel_frac == pytest.approx((11 / 227, 11 / 227))
    # FC layers are thin bars; maps are volumes whose sizes are monotone on a log scale of H·W and of C.
    bars = [v for v in figure.volumes if v.is_bar]
    maps = [v for v in figure.volumes if not v.is_bar]
    assert [v.shape[0] for v in bars] == [4096, 4096, 1000]
    assert all(b.thickness < min(m.thickness for m in maps) for b in bars)
    for a in maps:
        for b in maps:
            if a.shape[1] * a.shape[2] < b.shape[1] * b.shape[2]:
                assert a.height * a.depth < b.height * b.depth
            if a.shape[0] < b.shape[0]:
                assert a.thickness < b.thickness
    # Log, not linear: 227 → 55 is a quarter of the side but loses far less than three quarters of the height.
    ratio = (conv1.height - MIN_SIDE) / (by_name["input"].height - MIN_SIDE)
    assert ratio == pytest.approx(math.log(55) / math.log(227), rel=1e-6)
    c_ratio = (conv1.thickness - MIN_THICKNESS) / (by_name["conv3"].thickness - MIN_THICKNESS)
    assert c_ratio == pytest.approx(math.log(96) / math.log(384), rel=1e-6)


def test_resnet_is_drawn_by_its_block_outputs_and_unet_has_no_chain_trunk():
    from cnn_explorer.app.core.view_data import graph_data_from

    summary = summary_of("resnet18")
    figure = figure_from_summary(summary)
    assert figure.ok and figure.kind == "stages"
    blocks = [v for v in figure.volumes if v.kind == "block"]
    assert [v.name for v in blocks] == [f"layer{i}.{j}" for i in range(1, 5) for j in range(2)]
    assert [v.lecture_shape for v in blocks][::2] == [(56, 56, 64), (28, 28, 128), (14, 14, 256), (7, 7, 512)]
    names = graph_data_from(summary).blocks
    assert all(v.title == names[v.name].type_name for v in blocks)  # the block's own name, as the graph shows it
    assert [v.name for v in figure.volumes[:3]] == ["input", "conv1", "maxpool"]  # the stem, layer by layer
    # MobileNet v2: every inverted residual is one volume, those with a skip and those without (features.2).
    mobile = figure_from_summary(summary_of("mobilenet_v2"))
    assert [v.name for v in mobile.volumes[2:19]] == [f"features.{i}" for i in range(1, 18)]
    unet = figure_from_summary(summary_of("unet"))  # its long skips join the encoder to the decoder
    assert not unet.ok and NO_CHAIN in unet.message and not unet.volumes


# -- pictures ------------------------------------------------------------------------------------------------

def test_figure_is_written_as_svg_and_png_at_the_size_asked(qapp, tmp_path):
    figure = figure_from_summary(summary_of("alexnet_2012"))
    png = export_figure(figure, tmp_path / "alexnet.png", (1280, 720))
    assert image_size(png) == (1280, 720)
    svg = export_figure(figure, tmp_path / "alexnet.svg", (1280, 720), theme="dark")
    text = svg.read_text()
    assert "<svg" in text and 'viewBox="0 0 1280 720"' in text
    assert "55×55×96" in text and "conv1" in text and "Conv 11×11 /4" in text
    with pytest.raises(ValueError):
        export_figure(figure, tmp_path / "alexnet.jpg")


def test_figure_command(qapp, tmp_path, capsys):
    out = tmp_path / "vgg16.png"
    assert cli.main(["figure", "vgg16", "--out", str(out), "--size", "1024x768"]) == 0
    assert image_size(out) == (1024, 768)
    assert "22 volumes" in capsys.readouterr().out  # input, 13 conv, 5 pool, 3 FC
    assert cli.main(["figure", "unet", "--out", str(tmp_path / "unet.png")]) == cli.EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip()
    assert NO_CHAIN in err and len(err.splitlines()) == 1
    assert not (tmp_path / "unet.png").exists()
    assert cli.main(["figure", "alexnet", "--out", str(tmp_path / "a.gif")]) == cli.EXIT_BAD_INPUT
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


# -- slides --------------------------------------------------------------------------------------------------

def test_plan_pages_cuts_between_nodes_and_keeps_text_readable():
    # A tall chain of 40 nodes, 200×60 each, 100 apart: too tall for one 16:9 page at 1.4×.
    nodes = [(0.0, 100.0 * i, 200.0, 60.0) for i in range(40)]
    scale, pages = plan_pages((0.0, 0.0, 200.0, 4000.0), nodes, (1920, 1080), 1.4)
    shown = [piece for page in pages for piece in page]
    assert scale == 1.4 and len(shown) > 1
    # The pieces, in reading order, cover the scene from top to bottom, once.
    assert shown[0].source[1] == 0 and shown[-1].source[1] + shown[-1].source[3] == pytest.approx(4000)
    for before, after in zip(shown, shown[1:]):
        assert after.source[1] == pytest.approx(before.source[1] + before.source[3])
    # Narrow pieces stand side by side in columns (a newspaper), not one per page.
    assert len(pages) < len(shown) and len({p.target[0] for p in pages[0]}) > 1
    for x, y, w, h in nodes:  # every node whole in one piece
        assert sum(1 for p in shown if p.source[1] <= y and y + h <= p.source[1] + p.source[3]) == 1
    for piece in shown:  # inside the page, at the scale
        tx, ty, tw, th = piece.target
        assert 0 <= tx and tx + tw <= 1920 and 0 <= ty and ty + th <= 1080
        assert tw == pytest.approx(piece.source[2] * scale)
    small_scale, one = plan_pages((0.0, 0.0, 200.0, 400.0), nodes[:4], (1920, 1080), 1.4)
    assert len(one) == 1 and small_scale >= 1.4


def test_graph_slides(qapp, tmp_path, capsys):
    out = tmp_path / "alexnet.png"
    assert cli.main(["graph", "alexnet", "--slide", "16:9", "--out", str(out)]) == 0
    assert "1 page" in capsys.readouterr().out
    assert image_size(out) == (1920, 1080)
    assert cli.main(["graph", "alexnet", "--size", "1440x1080", "--out", str(tmp_path / "a43.png")]) == 0
    assert image_size(tmp_path / "a43.png") == (1440, 1080)
    # Without --slide, --out keeps drawing the whole graph on one picture of its own shape.
    assert cli.main(["graph", "alexnet", "--out", str(tmp_path / "whole.png")]) == 0
    assert image_size(tmp_path / "whole.png") != (1920, 1080)

    pdf = tmp_path / "densenet.pdf"
    assert cli.main(["graph", "densenet121", "--unfold", "--slide", "16:9", "--out", str(pdf)]) == 0
    pages = pdf_pages(pdf)
    assert pages > 1 and f"{pages} pages" in capsys.readouterr().out
    assert cli.main(["graph", "densenet121", "--unfold", "--slide", "16:9", "--out", str(tmp_path / "d.png")]) == 0
    pngs = sorted(tmp_path.glob("d-*.png"), key=lambda p: int(p.stem.split("-")[1]))
    assert [p.name for p in pngs] == [f"d-{i}.png" for i in range(1, pages + 1)]
    assert all(image_size(p) == (1920, 1080) for p in pngs)
    assert not (tmp_path / "d.png").exists()
    capsys.readouterr()
    # Without --slide, a graph too long for one readable strip is drawn left to right in rows instead.
    assert cli.main(["graph", "densenet121", "--unfold", "--out", str(tmp_path / "strip.png")]) == 0
    w, h = image_size(tmp_path / "strip.png")
    assert max(w / h, h / w) <= 4 and min(w, h) >= 1000


@pytest.mark.parametrize("args", [["--slide", "5:4"], ["--slide", ""], ["--size", "big"]])
def test_bad_slide_is_one_line_and_exit_2(tmp_path, capsys, args):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["graph", "alexnet", *args, "--out", str(tmp_path / "x.png")])
    assert exit_info.value.code == cli.EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and ("--slide" in err or "--size" in err)
    assert cli.main(["graph", "alexnet", "--slide", "16:9", "--out", str(tmp_path / "x.svg")]) == cli.EXIT_BAD_INPUT
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_slides_text_is_at_least_a_sixtieth_of_the_page(qapp):
    from cnn_explorer.app.explorer.export import _scene_min_scale, slide_scene
    from cnn_explorer.app.core.view_data import graph_data_from
    from cnn_explorer.widgets.graph.scene import DETAIL_PX

    scene = slide_scene(graph_data_from(summary_of("alexnet_2012")), (1920, 1080))
    assert scene.layout.direction == "lr"
    assert DETAIL_PX * _scene_min_scale(scene, (1920, 1080)) >= MIN_TEXT_FRACTION * 1080 - 1e-9


# -- the tab -------------------------------------------------------------------------------------------------

def test_figure_tab_is_built_when_opened_and_follows_model_and_theme(qtbot, tmp_path, monkeypatch):
    from cnn_explorer.app.window.main_window import MainWindow

    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    window = MainWindow("alexnet_2012", weights="random", cache_dir=tmp_path, restore_geometry=False)
    qtbot.addWidget(window)
    window.resize(1024, 768)
    window.show()
    qtbot.waitUntil(lambda: window.current_model() == "alexnet_2012" and not window.is_loading(), timeout=TIMEOUT_MS)
    assert window.host.built("figure") is None  # not built before it is opened
    window.action_map["figure_tab"].trigger()
    view = window.feature("figure").view
    assert view is not None and window.tabs.currentWidget() is view
    qtbot.waitUntil(lambda: view.last_layout is not None, timeout=TIMEOUT_MS)
    assert len(view.last_layout.placed) == 12
    window.classroom.apply_theme("dark")
    assert view.theme() == "dark"
    out = tmp_path / "tab.svg"
    window.feature("figure").export(out)
    assert "55×55×96" in out.read_text()
    with qtbot.waitSignal(window.model_shown, timeout=TIMEOUT_MS):
        window.open_model("resnet18")
    assert view.figure_data().model == "resnet18" and view.figure_data().kind == "stages"
    # File › Export graph for slides: the window's graph, its folding kept, on 4:3 slides (on the runner).
    from cnn_explorer.app.explorer.background import writer_of
    from cnn_explorer.app.explorer.export import SLIDES, export_slides
    from cnn_explorer.app.figure.controller import export_in_background

    with qtbot.waitSignal(writer_of(window.ctx).finished, timeout=TIMEOUT_MS) as finished:
        export_slides(window.ctx, tmp_path / "slides.png", SLIDES["4:3"])
    files = finished.args[0]
    assert files and all(image_size(f) == (1440, 1080) for f in files)
    # File › Export figure…, on the runner too: the picture the tab exports.
    with qtbot.waitSignal(writer_of(window.ctx).finished, timeout=TIMEOUT_MS) as finished:
        export_in_background(window.ctx, tmp_path / "background.svg")
    assert finished.args[0] == [tmp_path / "background.svg"] and "resnet18" in (tmp_path / "background.svg").read_text()
    assert window.action_map["export_figure"] in window.menus["File"].actions()
    assert window.action_map["export_slides"] in window.menus["File"].actions()
    window.close()
