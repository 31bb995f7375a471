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


def test_resnet_is_drawn_by_its_block_outputs_with_residual_arcs_and_googlenet_branched():
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
    # Each of the 8 basic blocks adds its input back: one arc from the volume before it over the block.
    index = {v.name: i for i, v in enumerate(figure.volumes)}
    assert sorted((s.src, s.dst) for s in figure.skips) == [(index[b.name] - 1, index[b.name]) for b in blocks]
    assert {s.label for s in figure.skips} == {"residual +"}
    # MobileNet v2: every inverted residual is one volume, those with a skip and those without (features.2).
    mobile = figure_from_summary(summary_of("mobilenet_v2"))
    assert [v.name for v in mobile.volumes[2:19]] == [f"features.{i}" for i in range(1, 18)]
    with_skip = {mobile.volumes[s.dst].name for s in mobile.skips}
    assert "features.3" in with_skip and "features.2" not in with_skip  # 24 → 24 channels adds; 16 → 24 cannot
    # GoogLeNet: its 9 Inception modules are branched, each output split into its 4 branches' channels.
    google = figure_from_summary(summary_of("googlenet"))
    inceptions = [v for v in google.volumes if v.parts]
    assert [v.title for v in inceptions] == [f"Inception {m}" for m in
                                             ("3a", "3b", "4a", "4b", "4c", "4d", "4e", "5a", "5b")]
    assert all(len(v.parts) == 4 and sum(v.parts) == v.shape[0] for v in inceptions)
    assert inceptions[0].parts == (64, 128, 32, 32)  # the paper's table 1: 1×1, 3×3, 5×5, pool projection
    assert not google.skips
    # its stem named as the graph names its blocks (conv1, not the layer inside it, conv1.conv)
    assert [v.name for v in google.volumes[1:6]] == ["conv1", "maxpool1", "conv2", "conv3", "maxpool2"]


def test_vgg16_volumes_carry_the_papers_layer_names(qapp, tmp_path):
    figure = figure_from_summary(summary_of("vgg16"))
    names = [v.name for v in figure.volumes]
    convs = [f"conv{stage}_{i}" for stage, count in enumerate((2, 2, 3, 3, 3), 1) for i in range(1, count + 1)]
    assert [n for n in names if n.startswith("conv")] == convs
    assert [n for n in names if n.startswith(("pool", "fc"))] == [f"pool{i}" for i in range(1, 6)] + ["fc6", "fc7",
                                                                                                     "fc8"]
    text = export_figure(figure, tmp_path / "vgg16.svg", (1024, 768)).read_text()
    assert all(name in text for name in convs + ["pool5", "fc8"])  # written on the slide, not only in the data


U_NETS = [("unet", 4, "copy and crop"), ("shapes_unet", 4, "copy and concatenate"),
          ("segnet", 4, "pooling indices"), ("deconvnet", 5, "pooling indices")]  # the layer graph's words


@pytest.mark.parametrize("name,skips,label", U_NETS)
def test_encoder_decoders_are_a_u_with_skips_across_equal_resolutions(name, skips, label):
    figure = figure_from_summary(summary_of(name))
    assert figure.ok and figure.kind == "u", figure.message
    levels = [v.level for v in figure.volumes]
    bottom = levels.index(max(levels))
    # Down, then up, back to the input's resolution: the contracting path, then the expansive one.
    assert 0 < bottom < len(levels) - 1 and levels[0] == levels[-1] == 0 and max(levels) >= 4
    assert levels[:bottom + 1] == sorted(levels[:bottom + 1])
    assert levels[bottom:] == sorted(levels[bottom:], reverse=True)
    sides = [v.shape[1] * v.shape[2] for v in figure.volumes]
    assert all(a > b for a, b, x, y in zip(sides, sides[1:], levels, levels[1:]) if y > x)  # a level down is smaller
    assert len(figure.skips) == skips and {s.label for s in figure.skips} == {label}
    for skip in figure.skips:  # across the U, between volumes of about the same size (U-Net crops a little)
        a, b = figure.volumes[skip.src], figure.volumes[skip.dst]
        assert skip.src < bottom < skip.dst and a.level == b.level
        assert 0.5 < a.shape[1] / b.shape[1] < 2 and 0.5 < a.shape[2] / b.shape[2] < 2
    nested = sorted(figure.skips, key=lambda s: s.src)  # nested like the paper's: the outermost joins the ends
    assert [s.dst for s in nested] == sorted((s.dst for s in nested), reverse=True)


def test_fcn8s_figure_shows_its_two_fusions_from_pool3_and_pool4():
    figure = figure_from_summary(summary_of("fcn8s_vgg16"))
    assert figure.ok and figure.kind == "u", figure.message
    assert [s.label for s in figure.skips] == ["skip, crop and sum"] * 2  # the layer graph's words
    assert sorted(figure.volumes[s.src].level for s in figure.skips) == [3, 4]  # from pool3 and pool4 (strides 8, 16)
    levels = [v.level for v in figure.volumes]
    # Fused at strides 8 and 16 (levels 3 and 4), coarser first: the stride-32 scores, pool4's, then pool3's.
    fused = [levels[s.dst] for s in sorted(figure.skips, key=lambda s: s.dst)]
    assert fused == [4, 3] and max(levels) == 5


def test_unet_figure_has_the_papers_shapes():
    figure = figure_from_summary(summary_of("unet"))
    shapes = [fmt.shape(v.lecture_shape) for v in figure.volumes]
    # Ronneberger et al., figure 1: 572² in, 568²×64, ... 28²×1024 at the bottom (30² before its 2nd conv) ...
    assert shapes[:2] == ["572×572×1", "568×568×64"] and "28×28×1024" in shapes
    assert shapes[-2:] == ["388×388×64", "388×388×2"]
    assert all(figure.volumes[s.src].shape[0] == figure.volumes[s.dst].shape[0] for s in figure.skips)
    assert [v.via for v in figure.volumes[2:6]] == ["MaxPool 2×2 /2"] * 4  # the red arrows of the paper
    assert [v.via for v in figure.volumes[6:10]] == ["ConvT 2×2 /2"] * 4  # the green up-convolutions


@pytest.mark.parametrize("name", ["unet", "segnet", "deconvnet"])
def test_u_layout_is_wide_and_nothing_overlaps(qapp, name):
    from PySide6.QtCore import QSizeF
    from PySide6.QtGui import QFontMetricsF

    from cnn_explorer.widgets.figure.u_layout import best_u_layout

    figure = figure_from_summary(summary_of(name))
    layout, scale = best_u_layout(figure, 15.0, QSizeF(1024, 700))
    assert layout.width > layout.height and scale >= 0.8
    rects = layout.rects  # each volume with its labels
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            assert not a.intersects(b)
    metrics = QFontMetricsF(layout.small_font)
    for skip in figure.skips:  # a skip's arrow runs above every volume it crosses, its label clear of them all
        y = layout.skip_y(skip)
        assert all(rect.top() > y for rect in rects[skip.src + 1:skip.dst])
        label = layout.skip_label_box(skip, metrics)
        assert not any(label.intersects(rect) for rect in rects)
        assert layout.placed[skip.src].x + layout.placed[skip.src].thickness < label.left()
        assert label.right() < layout.placed[skip.dst].x


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
    u = tmp_path / "unet.png"
    assert cli.main(["figure", "unet", "--out", str(u), "--size", "1600x900"]) == 0
    assert image_size(u) == (1600, 900) and "11 volumes" in capsys.readouterr().out  # input, 10 stages
    svg = tmp_path / "segnet.svg"
    assert cli.main(["figure", "segnet", "--out", str(svg)]) == 0
    assert svg.read_text().count(">pooling indices<") >= 4
    capsys.readouterr()
    assert cli.main(["figure", "lraspp_mobilenet_v3_large", "--out", str(tmp_path / "l.png")]) == cli.EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip()
    assert NO_CHAIN in err and len(err.splitlines()) == 1
    assert not (tmp_path / "l.png").exists()
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


# An unfolded ResNet-18 already takes two slides and wraps into rows; DenseNet-121's 13 slides with -m slow.
@pytest.mark.parametrize("model", ["resnet18", pytest.param("densenet121", marks=pytest.mark.slow)])
def test_graph_slides_of_a_long_graph(qapp, tmp_path, capsys, model):
    pdf = tmp_path / f"{model}.pdf"
    assert cli.main(["graph", model, "--unfold", "--slide", "16:9", "--out", str(pdf)]) == 0
    pages = pdf_pages(pdf)
    assert pages > 1 and f"{pages} pages" in capsys.readouterr().out
    assert cli.main(["graph", model, "--unfold", "--slide", "16:9", "--out", str(tmp_path / "d.png")]) == 0
    pngs = sorted(tmp_path.glob("d-*.png"), key=lambda p: int(p.stem.split("-")[1]))
    assert [p.name for p in pngs] == [f"d-{i}.png" for i in range(1, pages + 1)]
    assert all(image_size(p) == (1920, 1080) for p in pngs)
    assert not (tmp_path / "d.png").exists()
    capsys.readouterr()
    # Without --slide, a graph too long for one readable strip is drawn left to right in rows instead.
    assert cli.main(["graph", model, "--unfold", "--out", str(tmp_path / "strip.png")]) == 0
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
    with qtbot.waitSignal(window.model_shown, timeout=TIMEOUT_MS, check_params_cb=lambda n: n == "resnet18"):
        window.open_model("resnet18")
    assert view.figure_data().model == "resnet18" and view.figure_data().kind == "stages"
    qtbot.waitUntil(lambda: view.last_layout is not None and len(view.last_layout.placed) == 13, timeout=TIMEOUT_MS)
    # The trained small U-Net: the tab draws its U, the skips across it and their labels.
    with qtbot.waitSignal(window.model_shown, timeout=TIMEOUT_MS, check_params_cb=lambda n: n == "shapes_unet"):
        window.open_model("shapes_unet")
    assert view.figure_data().kind == "u" and len(view.figure_data().skips) == 4
    window.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: hasattr(view.last_layout, "skip_y") and len(view.last_layout.placed) == 11,
                    timeout=TIMEOUT_MS)
    with qtbot.waitSignal(window.model_shown, timeout=TIMEOUT_MS, check_params_cb=lambda n: n == "resnet18"):
        window.open_model("resnet18")
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
