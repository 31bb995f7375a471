"""The lab's tab, driven as a teacher drives it: an image in, a layer selected, a unit clicked, every tool run.

On the trained LeNet-5 (``lenet5_digits``, the shipped weights), the trained colour net (``zfnet_shapes``) and
AlexNet with random weights. Settings go to a temporary folder; nothing waits a fixed time.
"""

from __future__ import annotations


import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication

from cnn_explorer.app.window.main_window import MainWindow
from cnn_explorer.widgets.explorer.layer_info import Field

TIMEOUT_MS = 120_000


@pytest.fixture
def make_window(make_explorer, qtbot):
    """A window on the Lab tab at 1440×900, its first view shown and settled (app/testing.py)."""
    def make(model: str, weights: str = "pretrained") -> MainWindow:
        window = make_explorer(model, weights=weights, view="lab", size=(1440, 900))
        qtbot.waitUntil(lambda: window.feature("lab").panel.view is not None, timeout=TIMEOUT_MS)
        # Settled: no job left whose result could still replace the view the test is about to click in (seen
        # once under load: the unit clicked was replaced by a later view's strongest unit).
        qtbot.waitUntil(lambda: not window.runner.is_busy(), timeout=TIMEOUT_MS)
        QApplication.processEvents()  # the results posted by the last jobs
        return window
    return make


def select(qtbot, window: MainWindow, layer: str) -> None:
    with qtbot.waitSignal(window.feature("lab").view_shown, timeout=TIMEOUT_MS):
        assert window.select_layer(layer)
    assert window.feature("lab").panel.view.layer == layer


def click_unit(qtbot, window: MainWindow, c: int, y: int, x: int) -> tuple[int, int, int]:
    """A real left click on unit (y, x) of channel c's tile in the mosaic. When the mosaic is drawn smaller than
    1:1 a screen pixel covers more than one unit: the unit hit is the one under the clicked pixel's centre,
    which is returned (and must be the aimed one or its neighbour)."""
    mosaic = window.feature("lab").panel.mosaic
    data = mosaic.data
    top, left = data.tile_origin(data.index_of(c))
    scene = mosaic.item.mapToScene(QPointF(left + x + 0.5, top + y + 0.5))
    point = mosaic.view.mapFromScene(scene)
    qtbot.mouseClick(mosaic.view.viewport(), Qt.LeftButton, pos=point)
    panel = window.feature("lab").panel
    hit = mosaic.item.mapFromScene(mosaic.view.mapToScene(point))
    unit = (c, int(hit.y() - top), int(hit.x() - left))
    assert abs(unit[1] - y) <= 1 and abs(unit[2] - x) <= 1
    assert panel.unit == unit
    qtbot.waitUntil(lambda: panel.field is not None and panel.field.unit == unit, timeout=TIMEOUT_MS)
    return unit


def expected_box(field: Field, y: int, x: int, size: tuple[int, int]) -> tuple[int, int, int, int]:
    top = -field.padding[0] + y * field.stride[0]
    left = -field.padding[1] + x * field.stride[1]
    return (max(0, top), max(0, left), min(size[0], top + field.size[0]), min(size[1], left + field.size[1]))


def run_tool(qtbot, window: MainWindow, tool: str) -> None:
    with qtbot.waitSignal(window.feature("lab").tool_done, timeout=TIMEOUT_MS, check_params_cb=lambda t: t == tool):
        window.feature("lab").run_tool(tool)
    result = window.feature("lab").panel.tool
    assert result.tool == tool and result.complete
    assert not window.feature("lab").panel.cancel_button.isVisible()
    for _, image in result.images:
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3


def fails_with(qtbot, window: MainWindow, action, *words: str) -> str:
    with qtbot.waitSignal(window.feature("lab").failed, timeout=TIMEOUT_MS) as blocker:
        action()
    message = blocker.args[0]
    assert all(w in message for w in words), message
    assert window.feature("lab").panel.message.text() == message
    return message


def test_lenet_digits_every_tool(qtbot, make_window, tmp_path):
    window = make_window("lenet5_digits")
    lab, panel = window.feature("lab"), window.feature("lab").panel
    assert window.tabs.currentWidget() is panel
    # The model's own sample (a held-out 3), its top-5, the first convolution's six maps.
    assert panel.view.input.source == "sample: digit_3"
    assert panel.view.input.predictions[0][0] == "3"
    assert "grayscale" in panel.steps.text()
    assert panel.view.layer == "features.0" and panel.mosaic_data.channels == 6
    shown = panel.mosaic.item.image  # one uint8 image for the layer, fixed levels, a 256-entry LUT
    assert shown.dtype == np.uint8 and np.array_equal(shown, panel.mosaic_data.image)
    assert panel.mosaic.item.lut.shape == (256, 3)

    # N steps through the layers and the lab follows; features.3 has 16 maps.
    with qtbot.waitSignal(lab.view_shown, timeout=TIMEOUT_MS):
        window.action_map["next_layer"].trigger()
    select(qtbot, window, "features.3")
    assert panel.mosaic_data.channels == 16
    _, y, x = click_unit(qtbot, window, 5, 4, 7)
    field = window.session.current.details["features.3"].receptive_field
    box = expected_box(field, y, x, (32, 32))
    assert panel.field.box == box and panel.input_pane.box_shown() == box
    assert panel.channel.channel == 5
    assert panel.field.erf is not None and panel.field.erf_box is not None
    top, left, bottom, right = panel.field.erf_box
    assert box[0] <= top and box[1] <= left and bottom <= box[2] and right <= box[3]

    for tool in ("deconv", "guided", "gradcam", "occlusion"):
        run_tool(qtbot, window, tool)
    assert panel.tool.images[0][1].shape[:2] == (13, 13)  # square 8, stride 2 on 32×32: 13×13 positions

    # Top-9 over a folder the test writes; an empty folder says so.
    from cnn_explorer.models.lab.images import sample_image

    folder = tmp_path / "digits"
    folder.mkdir()
    for d in range(10):
        Image.fromarray(sample_image(f"digit_{d}")).save(folder / f"d{d}.png")
    with qtbot.waitSignal(lab.tool_done, timeout=TIMEOUT_MS):
        lab.run_top9(str(folder))
    assert panel.tool.tool == "top9" and "10 images scored" in panel.tool.note
    empty = tmp_path / "empty"
    empty.mkdir()
    fails_with(qtbot, window, lambda: lab.run_top9(str(empty)), "no images")

    # A Linear layer has no map: the lab says so.
    select(qtbot, window, "classifier.0")
    assert panel.mosaic_data is None and "no spatial feature map" in panel.maps_message.text()
    assert panel.maps_message.isVisibleTo(panel.tabs.widget(0)) and "no spatial" in panel.message.text()

    # Bad images: a message, and the previous image stays.
    text = tmp_path / "text.png"
    text.write_text("PNG, not really")
    fails_with(qtbot, window, lambda: lab.open_file(str(text)), "not an image")
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (1, 1)).save(tiny)
    fails_with(qtbot, window, lambda: lab.open_file(str(tiny)), "too small")
    truncated = tmp_path / "cut.png"
    Image.fromarray(sample_image("cat")).save(tmp_path / "cat.png")
    truncated.write_bytes((tmp_path / "cat.png").read_bytes()[:3000])
    fails_with(qtbot, window, lambda: lab.open_file(str(truncated)), "truncated")
    select(qtbot, window, "features.0")
    assert panel.view.input.source == "sample: digit_3"
    # A good file works, dropped or opened.
    with qtbot.waitSignal(lab.view_shown, timeout=TIMEOUT_MS):
        lab.open_file(str(tmp_path / "cat.png"))
    assert panel.view.input.source == "cat.png" and panel.message.text() == ""


def test_zfnet_shapes_kernels_and_display(qtbot, make_window):
    window = make_window("zfnet_shapes")
    lab, panel = window.feature("lab"), window.feature("lab").panel
    assert panel.view.input.source == "sample: shape_circle"
    assert panel.view.input.predictions[0][0] == "circle"
    # conv1's 32 learned filters as colour tiles.
    kernels = panel.kernels
    assert kernels.layer == "features.0" and kernels.image.ndim == 3 and kernels.histogram is not None
    select(qtbot, window, "features.4")
    assert panel.mosaic_data.channels == 64
    # features.4 sees 32 channels: a paged grid of 64×32 kernels, 16×16 to a page.
    assert panel.kernels.pages == (4, 2)
    with qtbot.waitSignal(lab.view_shown, timeout=TIMEOUT_MS):
        panel.sort.setCurrentIndex(panel.sort.findData("max"))
    maxima = panel.mosaic_data.values.reshape(64, -1).max(1)
    assert list(panel.mosaic_data.order) == list(np.argsort(-maxima, kind="stable"))
    with qtbot.waitSignal(lab.view_shown, timeout=TIMEOUT_MS):
        panel.normalize.setCurrentIndex(panel.normalize.findData("global"))
    assert panel.mosaic_data.normalize == "global"
    panel.tabs.setCurrentIndex(1)
    panel.page_buttons["down"].click()
    qtbot.waitUntil(lambda: panel.kernels.page == (1, 0), timeout=TIMEOUT_MS)
    _, y, x = click_unit(qtbot, window, 3, 2, 2)
    field = window.session.current.details["features.4"].receptive_field
    assert panel.field.box == expected_box(field, y, x, (64, 64))
    for tool in ("deconv", "occlusion", "gradcam"):
        run_tool(qtbot, window, tool)


def test_alexnet_random_and_cancel(qtbot, make_window):
    window = make_window("alexnet", weights="random")
    lab, panel = window.feature("lab"), window.feature("lab").panel
    assert panel.view.input.source == "sample: cat"
    assert panel.mosaic_data.channels == 64 and panel.mosaic_data.tile == (55, 55)
    assert panel.kernels.image.shape[2] == 3  # conv1's 64 filters, 11×11×3
    _, y, x = click_unit(qtbot, window, 10, 20, 30)
    field = window.session.current.details["features.0"].receptive_field
    assert panel.input_pane.box_shown() == expected_box(field, y, x, (224, 224))
    run_tool(qtbot, window, "deconv")
    run_tool(qtbot, window, "gradcam")
    # Occlusion fills in while it computes, and Cancel stops it.
    panel.occluder.setValue(32)
    panel.stride.setValue(2)  # 97×97 positions: long enough to cancel
    lab.run_tool("occlusion")
    qtbot.waitUntil(lambda: panel.tool is not None and panel.tool.tool == "occlusion" and not panel.tool.complete,
                    timeout=TIMEOUT_MS)
    assert panel.cancel_button.isVisible()
    with qtbot.waitSignal(lab.failed, timeout=TIMEOUT_MS, check_params_cb=lambda m: m == "cancelled"):
        panel.cancel_button.click()
    assert not panel.cancel_button.isVisible() and panel.result_note.text() == "Cancelled."
    # Score-CAM (the 64 maps of the selected conv1, 13 masked images a pass) reports its batches; Cancel stops it.
    panel.map_combo.setCurrentIndex(panel.map_combo.findData("scorecam"))
    panel.tool_buttons["gradcam"].click()
    qtbot.waitUntil(lambda: panel.progress_label.text().startswith("Score-CAM: "), timeout=TIMEOUT_MS)
    assert panel.cancel_button.isVisible()
    with qtbot.waitSignal(lab.failed, timeout=TIMEOUT_MS, check_params_cb=lambda m: m == "cancelled"):
        panel.cancel_button.click()
    assert not panel.cancel_button.isVisible() and panel.result_note.text() == "Cancelled."


def test_the_unit_clicked_on_a_layer_stays_chosen(qtbot, make_window):
    """A view that arrives later, or a visit to another layer, never replaces the unit the user clicked: coming
    back to the layer shows that unit again (a layer not clicked opens on its strongest unit)."""
    window = make_window("alexnet", weights="random")
    panel = window.feature("lab").panel
    unit = click_unit(qtbot, window, 10, 20, 30)
    select(qtbot, window, "features.3")
    strongest = panel.unit
    select(qtbot, window, "features.0")
    assert panel.unit == unit
    qtbot.waitUntil(lambda: panel.field is not None and panel.field.unit == unit, timeout=TIMEOUT_MS)
    select(qtbot, window, "features.3")
    assert panel.unit == strongest  # not clicked: its strongest unit


def test_the_lab_is_built_when_its_tab_is_first_opened(make_explorer, qtbot):
    """The window starts on the graph without the lab's libraries; Ctrl+3 builds the lab, which then shows
    the current model's first feature maps."""
    window = make_explorer("lenet5_digits", weights="pretrained", size=None)
    assert window.host.built("lab") is None and window.tabs.tabText(2) == "Lab"
    window.action_map["lab_tab"].trigger()
    assert window.tabs.currentWidget() is window.feature("lab").panel
    qtbot.waitUntil(lambda: window.feature("lab").panel.view is not None, timeout=TIMEOUT_MS)
    assert window.feature("lab").panel.mosaic_data.channels == 6


# The class maps (Grad-CAM++, Score-CAM, EigenCAM, LayerCAM, HiResCAM) reach both presenters as Grad-CAM does
# (cams.class_map, one map panel), guided backpropagation and SmoothGrad as deconvnet and IG do: the quick suite
# draws one of each kind, -m slow every tool.
ONE_OF_EACH_KIND = ("deconv", "occlusion", "gradcam", "ig")


@pytest.mark.parametrize("every", [False, pytest.param(True, marks=pytest.mark.slow)],
                         ids=["one_of_each_kind", "every_tool"])
def test_the_command_line_draws_the_windows_pixels_for_every_tool(qtbot, make_window, tmp_path, every):
    """One computation, two presenters: each tool of the registry (models/lab/tools.py) gives the window's panes
    and ``cnn-explorer visualize``'s picture the same pixels (the picture enlarges each panel by a whole
    factor, pixel for pixel)."""
    from cnn_explorer.app import cli
    from cnn_explorer.app.lab.cli import METHODS
    from cnn_explorer.models.lab import pictures
    from cnn_explorer.models.lab.images import sample_image
    from cnn_explorer.models.lab.tools import TOOLS, WHITE

    assert tuple(TOOLS) == METHODS  # the command line's list (read without torch) is the registry's
    window = make_window("zfnet_shapes")
    lab, panel = window.feature("lab"), window.feature("lab").panel
    select(qtbot, window, "features.4")
    image = tmp_path / "circle.png"
    Image.fromarray(sample_image("shape_circle")).save(image)  # the window's own sample for this net
    folder = tmp_path / "shapes"
    folder.mkdir()
    for name in ("circle", "square", "triangle", "h_stripes"):
        Image.fromarray(sample_image(f"shape_{name}")).save(folder / f"{name}.png")
    size, stride = panel.occlusion_settings()

    def drawn_by_cli(method: str, *extra: str) -> np.ndarray:
        out = tmp_path / f"{method}.png"
        assert cli.main(["visualize", "zfnet_shapes", "--image", str(image), "--method", method, "--layer",
                         "features.4", *extra, "--out", str(out)]) == 0
        return np.asarray(Image.open(out).convert("RGB"))

    def same_pixels(picture: np.ndarray, panels: list[tuple[str, np.ndarray]]) -> None:
        zoom = pictures.zoom_factor(panels)
        _, boxes = pictures.panel_boxes(panels)
        for (caption, shown), (top, left, bottom, right) in zip(panels, boxes):
            expected = pictures.gray_to_rgb(shown).repeat(zoom, axis=0).repeat(zoom, axis=1)
            assert np.array_equal(picture[top:bottom, left:right], expected), caption

    explainers = ("boxcam", "segcam", "grid")  # a detector's and a segmenter's: test_lab_explain.py, test_lab_grid.py
    for tool in (name for name, t in TOOLS.items() if t.in_window and name not in ("top9", "optimize", *explainers)
                 and (every or name in ONE_OF_EACH_KIND)):
        run_tool(qtbot, window, tool)
        extra = ("--occluder", str(size), "--stride", str(stride)) if tool == "occlusion" else ()
        same_pixels(drawn_by_cli(tool, *extra), panel.tool.images)
    # Optimize's PNG is the optimized image itself: the window's, pixel for pixel.
    panel.objective.setCurrentIndex(panel.objective.findData("channel"))
    panel.optimize_steps.setValue(24)
    run_tool(qtbot, window, "optimize")
    assert np.array_equal(drawn_by_cli("optimize", "--unit", str(panel.unit[0]), "--steps", "24"),
                          panel.tool.images[0][1])
    with qtbot.waitSignal(lab.tool_done, timeout=TIMEOUT_MS):
        lab.run_top9(str(folder))
    same_pixels(drawn_by_cli("top9", "--images", str(folder)), panel.tool.images)
    # The lab's views: the feature maps' mosaic (its tile indices through the same colour table) and the kernels.
    mosaic = pictures.lut("viridis", WHITE)[panel.mosaic_data.image]
    same_pixels(drawn_by_cli("featuremaps"), [("input", panel.view.input.image), ("maps", mosaic)])
    same_pixels(drawn_by_cli("kernels"), [("kernels", panel.view.kernels.image)])


def test_random_weights_are_said_in_a_banner_and_under_every_map(qtbot, make_explorer):
    window = make_explorer("lenet5", weights="random")
    window.action_map["lab_tab"].trigger()
    lab = window.feature("lab")
    panel = lab.panel
    qtbot.waitUntil(lambda: panel.view is not None, timeout=TIMEOUT_MS)
    assert panel.weights_banner.isVisible() and "Random weights" in panel.weights_banner.text()
    assert "Weights from file" in panel.weights_banner.text()
    assert "learned weights" in panel.predictions.text()
    with qtbot.waitSignal(lab.tool_done, timeout=TIMEOUT_MS):
        lab.run_tool("gradcam")
    assert "learned weights" in panel.result_note.text()
    with qtbot.waitSignal(window.model_shown, timeout=TIMEOUT_MS, check_params_cb=lambda n: n == "lenet5_digits"):
        window.open_model("lenet5_digits", weights="pretrained")  # trained weights shipped in assets/
    qtbot.waitUntil(lambda: not panel.weights_banner.isVisible(), timeout=TIMEOUT_MS)


def test_a_chosen_class_and_map_redraw_the_map(qtbot, make_window):
    """The tools page's Class: box (the model's classes, top-1 first) and Map: box: a class typed in redraws the
    shown map for it, a map chosen is drawn, with its ROAD score and a colour bar; occlusion takes the class."""
    window = make_window("zfnet_shapes")
    lab, panel = window.feature("lab"), window.feature("lab").panel
    panel.tabs.setCurrentIndex(2)
    assert panel.occluder.isVisible() and not panel.threshold.isVisible()  # a classifier's settings only
    assert [panel.class_combo.itemText(i) for i in range(3)] == ["top-1", "circle", "square"]
    assert panel.class_combo.count() == 11 and panel.target_class() is None
    with qtbot.waitSignal(lab.tool_done, timeout=TIMEOUT_MS):
        panel.tool_buttons["gradcam"].click()
    first = panel.tool
    assert first.tool == "gradcam" and "“circle”" in first.title and "ROAD" in first.images[1][0]
    assert panel.result_scales[1].isVisibleTo(panel) and not panel.result_scales[0].isVisibleTo(panel)

    edit = panel.class_combo.lineEdit()
    edit.selectAll()
    with qtbot.waitSignal(lab.tool_done, timeout=TIMEOUT_MS):
        qtbot.keyClicks(edit, "Square")
        qtbot.keyClick(edit, Qt.Key_Return)
    assert panel.target_class() == 1
    square = panel.tool
    assert square.tool == "gradcam" and "“square”" in square.title
    assert not np.array_equal(square.images[1][1], first.images[1][1])

    index = panel.map_combo.findData("scorecam")
    with qtbot.waitSignal(lab.tool_done, timeout=TIMEOUT_MS):
        panel.map_combo.setCurrentIndex(index)
        panel.map_combo.activated.emit(index)  # as a pick in the list arrives
    score_cam = panel.tool
    assert score_cam.tool == "scorecam" and "Score-CAM of “square”" in score_cam.title
    assert panel.tool_buttons["gradcam"].text() == "Score-CAM"
    assert not np.array_equal(score_cam.images[1][1], square.images[1][1])
    assert "ROAD" in panel.result_panes[1].title.text() and panel.result_scales[1].isVisibleTo(panel)

    run_tool(qtbot, window, "occlusion")
    assert "“square”" in panel.tool.title and panel.result_scales[0].isVisibleTo(panel)

    edit.selectAll()
    qtbot.keyClicks(edit, "hexagon")
    qtbot.keyClick(edit, Qt.Key_Return)
    assert panel.target_class() is None and "No class named 'hexagon'" in panel.message.text()


def test_optimize_a_channel_a_class_and_cancel_with_escape(qtbot, make_window):
    """The "Optimize" button on zfnet_shapes: a conv2 unit clicked, its channel's picture drawn as it evolves, a
    class picture, and Esc keeping the images of the moment it was pressed."""
    window = make_window("zfnet_shapes")
    lab, panel = window.feature("lab"), window.feature("lab").panel
    assert panel.tool_buttons["optimize"].text() == "Optimize"
    select(qtbot, window, "features.4")
    c, y, x = click_unit(qtbot, window, 2, 8, 8)

    # The clicked channel, a few steps: its images come in as they evolve, with the step and the objective.
    panel.objective.setCurrentIndex(panel.objective.findData("channel"))
    panel.optimize_steps.setValue(40)
    texts = []
    original = panel.set_busy

    def spy(busy, text="", percent=-1):
        texts.append(text)
        original(busy, text, percent)
    panel.set_busy = spy
    with qtbot.waitSignal(lab.tool_done, timeout=TIMEOUT_MS, check_params_cb=lambda t: t == "optimize"):
        panel.tool_buttons["optimize"].click()
    result = panel.tool
    assert result.tool == "optimize" and result.complete
    assert f"channel {c}" in result.title and "features.4" in result.title
    image = result.images[0][1]
    assert image.shape == (64, 64, 3) and image.dtype == np.uint8 and image.std() > 10
    assert any(t.startswith("Optimize: step ") and "/40, objective " in t for t in texts), texts
    assert not panel.cancel_button.isVisible()

    # A class typed by name: the picture the net takes for a circle.
    panel.objective.setCurrentIndex(panel.objective.findData("class"))
    assert panel.choose_class("circle")  # the Class: box the maps use
    panel.optimize_steps.setValue(128)
    with qtbot.waitSignal(lab.tool_done, timeout=TIMEOUT_MS, check_params_cb=lambda t: t == "optimize"):
        panel.tool_buttons["optimize"].click()
    assert "“circle”" in panel.tool.title and "P(class)" in panel.tool.note

    # Many steps: Esc stops it, and the images shown are those of that moment (not the finished ones).
    panel.optimize_steps.setValue(10_000)
    panel.tool_buttons["optimize"].click()
    qtbot.waitUntil(lambda: panel.tool is not None and not panel.tool.complete, timeout=TIMEOUT_MS)
    assert panel.cancel_button.isVisible()
    assert window.action_map["cancel"].shortcut().toString() == "Esc"
    with qtbot.waitSignal(lab.failed, timeout=TIMEOUT_MS, check_params_cb=lambda m: m == "cancelled"):
        window.action_map["cancel"].trigger()  # the window's Esc
    QApplication.processEvents()
    assert not panel.cancel_button.isVisible() and panel.result_note.text() == "Cancelled."
    assert panel.tool.tool == "optimize" and not panel.tool.complete
    assert panel.tool.images[0][1].shape == (64, 64, 3)


def test_the_kernels_and_tools_pages_are_made_after_the_panel_and_when_asked_for(qtbot):
    """The lab's first opening makes its left column; the Feature maps, Kernels and Tools pages come after, by
    themselves, or at once when their tab is chosen or one of their widgets is asked for, in the colours set
    before, the progress bar hidden."""
    from cnn_explorer.widgets.lab.panel import LabPanel

    panel = LabPanel()
    qtbot.addWidget(panel)
    panel.set_colors("#102030", "#f0f0f0", "#ff0000")
    assert not panel.pages_made() and panel.tabs.count() == 3
    panel.tabs.setCurrentIndex(1)  # chosen before it is made
    assert panel.tabs.currentWidget() is panel.kernel_pane.parent() and panel.tabs.tabText(1) == "Kernels"
    assert panel.kernel_pane.view.backgroundBrush().color().name() == "#102030"
    other = LabPanel()
    qtbot.addWidget(other)
    assert not other.pages_made()
    assert other.occlusion_settings() == (32, 8)  # a widget of the Tools page: made on the spot
    assert other.pages_made() and other.tabs.widget(2) is other.cancel_button.parent()
    assert not other.progress.isVisibleTo(other) and not other.cancel_button.isVisibleTo(other)
    qtbot.waitUntil(panel.pages_made, timeout=TIMEOUT_MS)
    assert panel.result_panes[0].view.backgroundBrush().color().name() == "#102030"
    assert panel.channel.pane.view.backgroundBrush().color().name() == "#102030"  # the feature maps' page too
    with pytest.raises(AttributeError):
        panel.no_such_widget  # noqa: B018


def test_what_comes_in_before_the_later_pages_are_made_is_shown_on_them(qtbot):
    """A view that comes in before the Kernels and Tools pages are made (a small model's, at once) does not make
    them in its turn: its kernels, classes, occluder size, task and progress are shown on them once they are."""
    from cnn_explorer.widgets.lab.data import Histogram, KernelData
    from cnn_explorer.widgets.lab.panel import LabPanel

    panel = LabPanel()
    qtbot.addWidget(panel)
    image = np.zeros((20, 30, 3), np.uint8)
    image[:, 10:] = 200
    histogram = Histogram(np.array([1.0, 4.0, 2.0]), np.array([-1.0, 0.0, 1.0, 2.0]), "n = 7")
    panel.set_kernels(KernelData("features.0", "conv1 kernels", image, "a note", (0, 1), (2, 3), histogram))
    panel.set_classes(("circle", "square"))
    panel.set_occlusion(8, 2)
    panel.set_task("detection")
    panel.set_busy(True, "Occlusion…", 40)
    assert not panel.pages_made()  # none of these made a page
    assert panel.choose_class("square") and panel.target_class() == 1  # the class box is asked for: made
    qtbot.waitUntil(panel.pages_made, timeout=TIMEOUT_MS)
    assert "conv1 kernels" in panel.kernel_title.text() and "a note" in panel.kernel_title.text()
    assert panel.kernel_pane.image is image and panel.weight_stats.text() == "n = 7"
    assert panel.page_label.text() == "page 1/2 of outputs, 2/3 of inputs"
    assert panel.page_buttons["down"].isEnabled() and not panel.page_buttons["up"].isEnabled()
    assert [panel.class_combo.itemText(i) for i in range(panel.class_combo.count())] == ["top-1", "circle", "square"]
    assert panel.occlusion_settings() == (8, 2)
    assert not panel.threshold.isHidden() and panel.occluder.isHidden()  # (the page itself is not the tab shown)
    assert not panel.progress.isHidden() and not panel.cancel_button.isHidden() and panel.progress.value() == 40
    assert panel.progress_label.text() == "Occlusion…"
