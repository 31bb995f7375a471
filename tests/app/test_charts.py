"""The Charts tab's figures, made from the app's data: the ImageNet timeline from the zoo's facts, accuracy against
MACs from torchvision's weights metadata, the side-by-side comparison from the summaries (and the ``compare``
command), the convolution step checked against the real forward pass, and the 1×1 / GAP counts of real modules.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PySide6.QtCore import QSettings, Qt

from cnn_explorer.app.cli import main
from cnn_explorer.models import charts
from cnn_explorer.models.zoo.index import index

TIMEOUT_MS = 120_000


def test_timeline_is_the_zoos_facts_in_year_order():
    points = charts.timeline()
    assert [p.year for p in points] == sorted(p.year for p in points)
    quoted = {}
    for e in index():
        facts = e.get("facts") or {}
        if "top5_error" in facts or "top5_error_ensemble" in facts:
            quoted.setdefault((e["family"], e["year"]), facts)
    assert {(p.family, p.year) for p in points} == set(quoted)
    for p in points:
        facts = quoted[(p.family, p.year)]
        assert p.top5_error == facts.get("top5_error", facts.get("top5_error_ensemble"))
    by_family = {p.family: p for p in points}
    assert by_family["ZFNet"].ensemble_error == 11.7 and by_family["ResNet"].ensemble_only
    assert by_family["AlexNet"].top5_error > by_family["GoogLeNet"].top5_error > by_family["ResNet"].top5_error
    assert (by_family["VGG"].year, by_family["VGG"].top5_error) == (2014, 7.3)  # the lecture's runner-up


def test_accuracy_points_are_the_weights_metadata():
    from torchvision.models import get_model_weights

    points = {p.model: p for p in charts.accuracy_points()}
    assert len(points) > 50
    for name in ("resnet50", "alexnet", "mobilenet_v3_large"):
        weights = get_model_weights(name).DEFAULT
        meta = weights.meta
        p = points[name]
        assert p.acc1 == meta["_metrics"]["ImageNet-1K"]["acc@1"]
        assert p.gflops == meta["_ops"] and p.params == meta["num_params"]
        assert p.weights == str(weights)
    assert sum(p.labelled for p in points.values()) == len({p.family for p in points.values()})


def test_compare_shows_what_the_summaries_compute(tmp_path):
    from cnn_explorer.models.analysis.summary import weight_layer_depth
    from cnn_explorer.models.analysis.cache import AnalysisCache
    from cnn_explorer.models.zoo.loader import load_model, summarize

    store = AnalysisCache(tmp_path)
    rows = charts.compare(["ResNet18", "vgg16"], store=store)
    assert [r.model for r in rows] == ["resnet18", "vgg16"]
    for row in rows:
        summary = summarize(load_model(row.model, weights="random"), store=store)
        assert row.params == summary.total_params and row.macs == summary.total_macs
        assert row.activation_bytes == summary.activation_bytes
        assert row.depth == weight_layer_depth(summary.graph)
    resnet, vgg = rows
    assert vgg.params > 10 * resnet.params and resnet.depth == 18 and vgg.depth == 16
    assert vgg.receptive_field.size == (212, 212)  # REFERENCE.md: vgg_16's pool5 sees 212 pixels
    with pytest.raises(charts.ChartsError):
        charts.check_names(["resnet18"])


def test_compare_command(capsys):
    assert main(["compare", "resnet18", "vgg16"]) == 0
    out = capsys.readouterr().out
    assert "11,689,512" in out and "138,357,544" in out and "receptive field" in out
    assert main(["compare", "resnet18", "lenet5", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [m["model"] for m in data["models"]] == ["resnet18", "lenet5"]
    assert main(["compare", "resnet18", "vgg61"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "vgg61" in err and "Traceback" not in err
    assert main(["compare", "resnet18"]) == 2


@pytest.mark.parametrize("model", ["lenet5_digits", "zfnet_shapes"])
def test_convolution_step_is_the_models_activation(model):
    explainer = charts.ConvExplainer(model)
    assert explainer.loaded.weights.label == "pretrained"  # the trained weights shipped in assets/
    c, h, w = explainer.out_shape
    units = [(0, 0, 0), (c - 1, h - 1, w - 1), (c // 2, h // 2, w // 3)]
    for unit in units:
        step = explainer.step(unit)
        assert step.patch.shape == step.kernel.shape == (explainer.conv.in_channels, *explainer.conv.kernel_size)
        assert abs(step.total - step.activation) < 1e-4
        assert abs(step.product_sum + step.bias - step.total) < 1e-9
    # independently of the explainer: the layer's own conv on the preprocessed image
    out = explainer.conv(explainer.prepared.tensor).detach()[0]
    step = explainer.step(units[2])
    assert abs(float(out[units[2]]) - step.total) < 1e-4
    # stepping slides the window by the stride, row by row
    nxt = explainer.step(explainer.neighbour(step.unit, 1))
    assert nxt.window[1] - step.window[1] == explainer.conv.stride[1] or nxt.unit[2] == 0


def test_bottleneck_and_gap_counts_are_the_modules():
    import torchvision

    with torch.device("meta"):
        r34, r50, vgg = torchvision.models.resnet34(), torchvision.models.resnet50(), torchvision.models.vgg16()

    def numel(*modules):
        return sum(p.numel() for m in modules for p in m.parameters(recurse=False))

    resnet, lecture = charts.bottleneck_arithmetic()
    assert resnet.left_total == numel(r34.layer3[1].conv1, r34.layer3[1].conv2)
    assert resnet.right_total == numel(r50.layer1[1].conv1, r50.layer1[1].conv2, r50.layer1[1].conv3)
    assert resnet.left_total > 10 * resnet.right_total
    assert (lecture.left_total, lecture.right_total) == (3 * 3 * 192 * 256, 1 * 1 * 64 * 256 + 3 * 3 * 192 * 64)
    gap = charts.gap_vs_fc()
    assert gap.left[0].params - 4096 == vgg.classifier[0].weight.numel()
    assert gap.left_total == numel(*vgg.classifier)
    assert gap.right_total == 512 * 1000 + 1000


def test_charts_tab_builds_on_first_open(qtbot, tmp_path, monkeypatch):
    from cnn_explorer.app.window.main_window import MainWindow

    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    window = MainWindow("lenet5_digits", weights="pretrained", cache_dir=tmp_path / "cache")
    qtbot.addWidget(window)
    window.resize(1024, 768)
    window.show()
    assert window.host.built("charts") is None
    window.action_map["charts_tab"].trigger()
    controller = window.feature("charts")
    panel = controller.panel
    assert window.tabs.currentWidget() is panel
    qtbot.waitUntil(lambda: len(panel.timeline.points) == len(charts.timeline()), timeout=TIMEOUT_MS)
    controller.show("convolution")
    qtbot.waitUntil(lambda: panel.convolution.step is not None, timeout=TIMEOUT_MS)
    first = panel.convolution.step
    assert abs(first.total - first.activation) < 1e-4
    qtbot.keyClick(panel.convolution, Qt.Key_Right)
    qtbot.waitUntil(lambda: panel.convolution.step is not first, timeout=TIMEOUT_MS)
    assert panel.convolution.step.unit == (first.unit[0], *divmod(first.unit[1] * first.out_shape[2] + first.unit[2] + 1,
                                                                  first.out_shape[2]))
    for combo, name in zip(panel.compare.combos, ("lenet5", "alexnet", "—", "—")):
        combo.setCurrentText(name)
    controller.show("compare")
    qtbot.waitUntil(lambda: "charts.compare" in controller.results or "charts.compare" in controller.errors,
                    timeout=TIMEOUT_MS)
    assert [r.model for r in panel.compare.rows] == ["lenet5", "alexnet"]
    assert panel.compare.table.item(2, 1).text() == "61,100,840"  # torchvision's num_params for AlexNet
    # the wide tabs (Charts, Figure, Live) take the window's width; the docks come back on the other tabs,
    # whichever wide tab is left for which
    assert not window.zoo_dock.isVisible() and not window.inspector_dock.isVisible()
    window.host.show("figure")
    assert not window.zoo_dock.isVisible() and not window.inspector_dock.isVisible()
    controller.show()
    window.tabs.setCurrentWidget(window.graph_stack)  # the layer graph
    assert window.zoo_dock.isVisible() and window.inspector_dock.isVisible()
    window.close()


def test_conv_step_numbers_are_finite():
    step = charts.ConvExplainer("lenet5_digits").step((1, 3, 4))
    assert np.isfinite(step.products).all() and step.output_map.shape == step.out_shape[1:]


def test_the_accuracy_chart_names_the_lectures_models_and_has_a_legend(qtbot):
    """At 1024×768 the chart names ResNet-50, MobileNet v2 and VGG-16 (the lectures' members of their families),
    no two names overlap, and a legend tells every family's colour and marker apart."""
    from cnn_explorer.widgets.charts.plots import AccuracyChart

    points = charts.accuracy_points()
    assert {p.model for p in points if p.labelled} >= {"resnet50", "mobilenet_v2", "vgg16", "alexnet"}
    chart = AccuracyChart()
    qtbot.addWidget(chart)
    chart.resize(1000, 620)
    chart.show()
    qtbot.waitExposed(chart)
    chart.set_points(points)
    names = {item.textItem.toPlainText(): item for item in chart.texts}
    assert {"resnet50", "mobilenet_v2", "vgg16"} <= set(names)
    boxes = [item.mapRectToScene(item.boundingRect()) for item in chart.texts]
    assert not any(a.intersects(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    families = {p.family for p in points}
    legend = [label.text for _, label in chart.legend.items]
    assert sorted(legend) == sorted(families)
    styles = {(sample.item.opts["symbol"], sample.item.opts["pen"].color().name())
              for sample, _ in chart.legend.items}
    assert len(styles) == len(families)  # no two families look alike
    chart.resize(900, 600)  # drawn again: still one legend
    chart.set_points(points)
    assert sum(isinstance(item, type(chart.legend)) for item in chart.getPlotItem().vb.childItems()) == 1


def _meta_shapes(model, size=224):
    """Each module's output shape in a meta forward pass (forward hooks: independent of the analysis)."""
    shapes, handles = {}, []
    for name, module in model.named_modules():
        handles.append(module.register_forward_hook(
            lambda m, _i, out, name=name: shapes.__setitem__(name, tuple(out.shape))))
    model(torch.empty(1, 3, size, size, device="meta"))
    for h in handles:
        h.remove()
    return shapes


def test_separable_costs_are_mobilenet_v2s_convs():
    """Every depthwise conv of torchvision's MobileNet v2 and the 1×1 projection after it: parameters as
    Σ numel, MACs from the output shapes of a forward pass, a standard 3×3 conv as 3·3·M·N·H·W."""
    import torchvision
    from torch import nn

    with torch.device("meta"):
        model = torchvision.models.mobilenet_v2()
    shapes = _meta_shapes(model)
    modules = dict(model.named_modules())
    depthwise = [n for n, m in modules.items() if isinstance(m, nn.Conv2d) and m.groups > 1]
    costs = charts.separable_costs()
    assert [b.depthwise for b in costs.blocks] == depthwise and len(depthwise) == 17
    for block in costs.blocks:
        dw, pw = modules[block.depthwise], modules[block.pointwise]
        assert dw.groups == dw.in_channels == dw.out_channels == block.in_channels
        assert pw.kernel_size == (1, 1) and pw.in_channels == dw.out_channels and pw.out_channels == block.out_channels
        assert block.params == sum(p.numel() for m in (dw, pw) for p in m.parameters())
        _, m, h, w = shapes[block.depthwise]
        assert block.size == (h, w)
        out_dw, out_pw = shapes[block.depthwise], shapes[block.pointwise]
        assert block.macs == 3 * 3 * out_dw[1] * h * w + m * out_pw[1] * h * w
        assert block.standard_macs == 3 * 3 * m * block.out_channels * h * w
        assert block.standard_params == 3 * 3 * m * block.out_channels
        n = block.out_channels
        assert abs(block.ratio - 1 / (1 / n + 1 / 9)) < 1e-9  # the paper's 1/N + 1/9
    assert costs.blocks[-1].ratio > 8.5 and min(b.ratio for b in costs.blocks) > 5
    assert 7 < costs.standard_macs / costs.macs < 9
    assert costs.total_params == sum(p.numel() for p in model.parameters())


def test_receptive_fields_are_vgg16s():
    """VGG-16's convs by stage: the fields computed here by the textbook recursion (r += (k−1)·j, j *= s) match
    the analysis's; two stacked 3×3 convs see 5 cells of their stage's input map, three see 7; the counts are
    n·3·3·C² against (2n+1)²·C² with C the stage's conv width."""
    import torchvision
    from torch import nn

    with torch.device("meta"):
        vgg = torchvision.models.vgg16()
    r, j, expected, stages, current = 1, 1, [], [], []
    for module in vgg.features:
        if isinstance(module, nn.Conv2d):
            r += (module.kernel_size[0] - 1) * j
            expected.append(r)
            current.append(module)
        elif isinstance(module, nn.MaxPool2d):
            r += (module.kernel_size - 1) * j
            j *= module.stride
            stages.append(current)
            current = []
    fields = charts.receptive_fields()
    layers = [layer for s in fields.stages for layer in s.layers]
    assert [layer.field for layer in layers] == expected
    assert [layer.field for layer in layers[:4]] == [3, 5, 10, 14]  # conv1_1 3, conv1_2 5, conv2_1, conv2_2
    assert [len(s.layers) for s in fields.stages] == [len(s) for s in stages] == [2, 2, 3, 3, 3]
    for stage, convs in zip(fields.stages, stages):
        c = convs[-1].out_channels
        n = len(convs)
        assert stage.channels == c
        assert [layer.cells for layer in stage.layers] == [2 * i + 1 for i in range(1, n + 1)]
        assert stage.stacked_params == n * 3 * 3 * c * c and stage.single_params == (2 * n + 1) ** 2 * c * c
        assert [layer.params for layer in stage.layers] == [sum(p.numel() for p in m.parameters()) for m in convs]
    assert fields.image.shape == (224, 224, 3) and fields.image.dtype == np.uint8


def test_separable_and_fields_pages_show_the_numbers(qtbot):
    from PySide6.QtGui import QColor

    from cnn_explorer.widgets.charts.fields import SQUARE_COLORS, FieldsView
    from cnn_explorer.widgets.charts.separable import SeparableView

    costs = charts.separable_costs()
    view = SeparableView()
    qtbot.addWidget(view)
    view.resize(1000, 600)
    view.set_costs(costs)
    table = view.table
    assert table.rowCount() == len(costs.blocks) + 1
    last = costs.blocks[-1]
    row = [table.item(len(costs.blocks) - 1, c).text() for c in range(table.columnCount())]
    assert f"{last.params:,}" in row and f"{last.standard_params:,}" in row and "8.8×" in row
    assert f"{costs.standard_macs / costs.macs:.1f}× fewer MACs" in view.heading.text()
    fields = charts.receptive_fields()
    page = FieldsView()
    qtbot.addWidget(page)
    page.resize(1000, 600)
    page.show()
    qtbot.waitExposed(page)
    page.set_fields(fields)
    assert page.current().name == "conv3"  # the first stage of three: the lecture's 7×7
    assert "Three 3×3 convs see a 7×7" in page.heading.text()
    cells = [page.table.item(2, c).text() for c in range(page.table.columnCount())]
    assert f"3·3·3·256² = {3 * 3 * 3 * 256 * 256:,}" in cells and f"7·7·256² = {7 * 7 * 256 * 256:,}" in cells
    assert "24 → 32 → 40" in cells
    picture = page.picture.grab().toImage()
    drawn = {picture.pixelColor(x, y).name() for x in range(0, picture.width(), 2)
             for y in range(0, picture.height(), 2)}
    assert all(QColor(color).name() in drawn for color in SQUARE_COLORS)  # the three nested squares
    page.choice.setCurrentIndex(0)
    assert "Two 3×3 convs see a 5×5" in page.heading.text() and page.picture.stage.span == 5


def test_separable_and_fields_pages_fill_in_the_window(qtbot, tmp_path, monkeypatch):
    from cnn_explorer.app.window.main_window import MainWindow

    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    window = MainWindow("lenet5_digits", weights="pretrained", cache_dir=tmp_path / "cache")
    qtbot.addWidget(window)
    window.resize(1024, 768)
    window.show()
    controller = window.feature("charts")
    controller.show("separable")
    qtbot.waitUntil(lambda: "charts.separable" in controller.results or "charts.separable" in controller.errors,
                    timeout=TIMEOUT_MS)
    assert controller.panel.currentWidget() is controller.panel.separable
    assert controller.panel.separable.table.rowCount() == 18
    controller.show("fields")
    qtbot.waitUntil(lambda: "charts.fields" in controller.results or "charts.fields" in controller.errors,
                    timeout=TIMEOUT_MS)
    assert controller.panel.fields.picture.stage.span == 7
    window.close()


def test_the_pages_after_the_first_are_made_later_styled_and_wired_as_the_first(qtbot):
    """Only the timeline is made with the panel; a page whose tab is chosen before it is made is made and shown
    at once; the others follow by themselves, in the theme set before they were made, each wired once."""
    from cnn_explorer.widgets.charts.panel import MEASURES, ChartsPanel
    from cnn_explorer.widgets.common.theme import colors

    panel = ChartsPanel()
    qtbot.addWidget(panel)
    panel.set_theme("dark")
    assert panel.is_made("timeline") and not panel.is_made("fields") and panel.count() == len(panel.PAGES)
    wired = []
    panel.when_made("compare", wired.append)
    panel.setCurrentIndex(panel.PAGES.index("fields"))  # chosen before it is made
    assert panel.currentWidget() is panel.fields and panel.tabText(panel.currentIndex()) == "Receptive fields"
    qtbot.waitUntil(lambda: all(panel.is_made(name) for name in panel.PAGES), timeout=TIMEOUT_MS)
    assert wired == [panel.compare]
    qtbot.waitUntil(lambda: len(panel.compare.bars) == len(MEASURES), timeout=TIMEOUT_MS)  # one per turn too
    assert [panel.widget(i) for i in range(panel.count())] == [panel.page(name) for name in panel.PAGES]
    dark = colors("dark").base
    assert panel.compare.bars["params"].backgroundBrush().color().name() == dark
    assert panel.accuracy.backgroundBrush().color().name() == dark
