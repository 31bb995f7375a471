"""The explorer window, driven as a user drives it: pick a model, click layers, fold blocks, press keys.

Models are small ones with random weights; settings go to a temporary folder so no test reads or writes
the user's own. Numbers the window shows are checked against the real torchvision model, computed here
independently of the analysis code.
"""

from __future__ import annotations

import json
import math

import pytest
import torch
import torchvision
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QGraphicsView

from cnn_explorer.app.window.classroom import Classroom
from cnn_explorer.app.window.main_window import MainWindow
from cnn_explorer.app.testing import LOAD_TIMEOUT_MS, loaded
from cnn_explorer.widgets.explorer.summary_table import COLUMNS



def wait_for_model(qtbot, window: MainWindow, name: str | None) -> None:
    qtbot.waitUntil(lambda: loaded(window, name), timeout=LOAD_TIMEOUT_MS)


def wait_for_zoo(qtbot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: len(window.zoo.entries()) > 50, timeout=LOAD_TIMEOUT_MS)


def click_node(qtbot, window: MainWindow, key: str) -> None:
    """A real left click on the node ``key`` of the graph view."""
    canvas = window.graph.findChild(QGraphicsView)
    rect = window.graph.node_rect(key)
    assert rect is not None, f"{key} is not drawn"
    canvas.centerOn(rect.center())
    point = canvas.mapFromScene(rect.center())
    qtbot.mouseClick(canvas.viewport(), Qt.LeftButton, pos=point)


def wait_for_runner(qtbot, window: MainWindow) -> None:
    """Wait until the worker has done everything asked before now and its answers have reached the window
    (answers arrive in order, so a probe's answer comes after every earlier one)."""
    with qtbot.waitCallback(timeout=LOAD_TIMEOUT_MS) as probe:
        window.runner.declare("probe")  # the window's runner takes declared channels only
        window.runner.submit(lambda job: None, channel="probe", done=lambda job_id, value: probe())


def activate(qtbot, window: MainWindow) -> None:
    window.activateWindow()
    window.raise_()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)


# -- the zoo browser ---------------------------------------------------------------------------------------

@pytest.mark.slow
def test_choosing_a_model_in_the_browser_shows_its_graph(qtbot, make_explorer):
    window = make_explorer("alexnet")
    wait_for_zoo(qtbot, window)
    assert window.graph.graph_data().title == "alexnet"

    # The tree goes task -> era -> entry; the first task is classification.
    tree = window.zoo.tree
    assert tree.topLevelItem(0).text(0) == "Classification"
    item = window.zoo._items["resnet18"]
    assert item.parent().text(0) == "2013–2015 deep" and item.text(1) == "2015"
    tree.scrollToItem(item)
    qtbot.mouseClick(tree.viewport(), Qt.LeftButton, pos=tree.visualItemRect(item).center())
    wait_for_model(qtbot, window, "resnet18")

    data = window.graph.graph_data()
    assert data.title == "resnet18"
    assert window.graph.visible_nodes()  # drawn
    assert window.windowTitle().startswith("CNN Explorer — resnet18")  # then its depth and ops (test_vocabulary)
    # The table holds every layer the graph holds (all nodes but the input).
    assert len(window.table.rows()) == len([n for n in data.nodes if n.kind != "input"])
    # The parameter count of the entry is filled in the background and matches the real model.
    real = sum(p.numel() for p in torchvision.models.resnet18().parameters())
    qtbot.waitUntil(lambda: window.zoo.param_text("resnet18") != "…", timeout=LOAD_TIMEOUT_MS)
    assert window.zoo._params["resnet18"] == real
    assert window.current_result().totals.params == real


def test_filter_narrows_the_zoo_and_enter_opens_the_entry(qtbot, make_explorer):
    window = make_explorer("alexnet")
    wait_for_zoo(qtbot, window)
    qtbot.keyClicks(window.zoo.filter, "squeeze")
    names = window.zoo.visible_names()
    # Names, families and papers match: SqueezeNet, and SENet ("Squeeze-and-Excitation Networks").
    assert names[:2] == ["squeezenet1_0", "squeezenet1_1"] and "se_resnet50" in names
    assert "alexnet" not in names and len(names) < 10
    qtbot.keyClick(window.zoo.filter, Qt.Key_Return)  # opens the first entry left
    wait_for_model(qtbot, window, "squeezenet1_0")


# -- folding ------------------------------------------------------------------------------------------------

def test_folding_and_unfolding_through_the_window(qtbot, make_explorer):
    window = make_explorer("resnet18")
    graph = window.graph
    folded_at_start = graph.folded_blocks()
    assert folded_at_start, "a ResNet opens with its blocks folded"

    window.action_map["unfold_all"].trigger()
    assert not graph.folded_blocks()
    unfolded = graph.visible_nodes()
    assert "layer1.0.conv1" in unfolded and "layer1.0.add" in unfolded

    window.action_map["fold_all"].trigger()
    assert graph.folded_blocks() == folded_at_start
    assert len(graph.visible_nodes()) < len(unfolded)

    # Fold the block of a selected layer, then unfold it again, from the Layers menu actions.
    window.action_map["unfold_all"].trigger()
    window.select_layer("layer2.0.conv1")
    window.action_map["fold"].trigger()
    assert "layer2.0" in graph.folded_blocks()
    assert "layer2.0.conv1" not in graph.visible_nodes() and "layer2.0" in graph.visible_nodes()
    # The folded block is selected and the inspector shows its totals.
    assert window.selected_layer() == "layer2.0"
    real_block = torchvision.models.resnet18().layer2[0]
    assert f"{sum(p.numel() for p in real_block.parameters()):,}" in window.inspector.text()
    window.action_map["unfold"].trigger()
    assert "layer2.0" not in graph.folded_blocks()
    assert "layer2.0.conv1" in graph.visible_nodes()


# -- the inspector --------------------------------------------------------------------------------------------

def test_clicking_a_node_fills_the_inspector_with_its_arithmetic(qtbot, make_explorer):
    window = make_explorer("alexnet", input_size=(227, 227))
    assert window.current_result().input_size == (227, 227)

    click_node(qtbot, window, "features.0")
    assert window.selected_layer() == "features.0"
    text = window.inspector.text()

    # Independently: torchvision's AlexNet conv1 and a real forward pass at 227×227.
    conv1 = torchvision.models.alexnet().features[0]
    with torch.no_grad():
        out = conv1(torch.zeros(1, 3, 227, 227))
    c, h, w = out.shape[1:]
    assert (c, h, w) == (64, 56, 56)
    k, s, p = conv1.kernel_size[0], conv1.stride[0], conv1.padding[0]
    params = conv1.weight.numel() + conv1.bias.numel()
    assert params == 23_296

    assert f"{c}×{h}×{w}" in text
    assert f"({227} − {k} + 2·{p})/{s} + 1 = {h}" in text
    assert f"{k}·{k}·{conv1.in_channels}·{conv1.out_channels} + {conv1.out_channels} = {params:,}" in text
    macs = conv1.weight.numel() * h * w  # one multiply-accumulate per weight per output position
    assert f"{macs:,}" in text
    assert "11 / 4 / 2" in text  # receptive field size / stride / padding of the first layer: its kernel
    memory_kib = c * h * w * 4 / 1024
    assert f"{memory_kib:.1f} KiB" in text

    # A pooling layer: ⌊(56 − 3 + 0)/2⌋ + 1 = 27
    click_node(qtbot, window, "features.2")
    pooled = math.floor((h - 3) / 2) + 1
    assert f"⌊({h} − 3 + 2·0)/2⌋ + 1 = {pooled}" in window.inspector.text()


def test_changing_the_input_size_reloads_with_new_shapes(qtbot, make_explorer):
    window = make_explorer("alexnet")
    assert window.current_result().input_size == (224, 224)
    for spin in (window.input_h, window.input_w):
        spin.setValue(227)
    window.input_w.editingFinished.emit()
    qtbot.waitUntil(lambda: window.current_result().input_size == (227, 227) and not window.is_loading(),
                    timeout=LOAD_TIMEOUT_MS)
    assert window.current_result().details["features.0"].output_shape == (64, 56, 56)


# -- table and graph in step ------------------------------------------------------------------------------------

def test_selection_stays_in_sync_between_table_and_graph(qtbot, make_explorer):
    window = make_explorer("squeezenet1_0")
    window.tabs.setCurrentWidget(window.table)
    table = window.table
    emitted_graph, emitted_table = [], []
    window.graph.node_selected.connect(emitted_graph.append)
    table.layer_selected.connect(emitted_table.append)

    # A row click selects the node in the graph (unfolding the fire module that hides it).
    row = next(i for i, r in enumerate(table.rows()) if r.name == "features.3.expand3x3")
    index = table.proxy.index(row, 0)
    table.table.scrollTo(index)
    qtbot.mouseClick(table.table.viewport(), Qt.LeftButton, pos=table.table.visualRect(index).center())
    assert window.graph.selected_node() == "features.3.expand3x3"
    assert window.selected_layer() == "features.3.expand3x3"
    assert "expand3x3" in window.inspector.text()
    assert emitted_table == ["features.3.expand3x3"] and emitted_graph == []  # no echo back

    # A node click selects the row.
    window.tabs.setCurrentWidget(window.graph_stack)
    click_node(qtbot, window, "features.0")
    assert table.current_layer() == "features.0"
    assert table.selected_names() == ["features.0"]
    assert emitted_graph == ["features.0"] and emitted_table == ["features.3.expand3x3"]

    # Next / previous layer step through the rows and keep both in step.
    window.action_map["next_layer"].trigger()
    second = table.rows()[1].name
    assert window.graph.selected_node() == second and table.current_layer() == second
    window.action_map["prev_layer"].trigger()
    assert table.current_layer() == "features.0"


def test_summary_table_sorts_numbers_copies_and_exports(qtbot, make_explorer, tmp_path):
    window = make_explorer("alexnet", view="summary")
    assert window.tabs.currentWidget() is window.table
    table = window.table
    params_column = COLUMNS.index("Params")
    table.table.sortByColumn(params_column, Qt.DescendingOrder)
    params = [r.params for r in table.rows()]
    assert params == sorted(params, reverse=True)  # as numbers: "9,216" < "37,752,832"
    assert table.rows()[0].name == "classifier.1"  # AlexNet's 9216 -> 4096 layer holds most parameters

    activate(qtbot, window)
    table.table.selectRow(0)
    table.table.setFocus()
    qtbot.keyClick(table.table, Qt.Key_C, Qt.ControlModifier)
    copied = QApplication.clipboard().text().splitlines()
    assert copied[0].split("\t") == list(COLUMNS)
    assert copied[1].split("\t")[:4] == ["classifier.1", "Linear", "4096", "37752832"]

    csv_path, md_path = tmp_path / "alexnet.csv", tmp_path / "alexnet.md"
    window.export_summary(csv_path)
    window.export_summary(md_path)
    lines = csv_path.read_text().splitlines()
    assert lines[-1].startswith("total,,,61100840,")
    assert len(lines) == 1 + len(table.rows()) + 1
    md = md_path.read_text()
    assert "| **total**: depth 8 (weight layers) · 22 ops |" in md and "**61,100,840**" in md

    png = tmp_path / "graph.png"
    window.export_graph(png)
    assert png.stat().st_size > 1000


# -- classroom mode --------------------------------------------------------------------------------------------

def test_ctrl_plus_grows_the_app_font_and_the_graph_labels(qtbot, make_explorer):
    window = make_explorer("alexnet")
    activate(qtbot, window)
    app_size = QApplication.font().pointSizeF()
    label = window.graph.title_item("features.0")
    label_size = label.font().pixelSize()

    qtbot.keyClick(window, Qt.Key_Plus, Qt.ControlModifier)
    assert window.classroom.font_scale() > 1.0
    assert QApplication.font().pointSizeF() > app_size
    # The graph follows in the next turn of the event loop (one pause for the style, one for the graph).
    qtbot.waitUntil(lambda: window.graph.font_scale() == pytest.approx(window.classroom.font_scale()))
    assert window.graph.title_item("features.0").font().pixelSize() > label_size
    assert window.inspector.view.font().pointSizeF() > app_size

    qtbot.keyClick(window, Qt.Key_0, Qt.ControlModifier)
    assert window.classroom.font_scale() == 1.0
    assert QApplication.font().pointSizeF() == pytest.approx(app_size)

    # Presentation mode: full screen and larger again.
    window.action_map["presentation"].trigger()
    assert window.classroom.is_presentation() and window.classroom.effective_font_scale() > 1.0
    assert QApplication.font().pointSizeF() > app_size
    window.action_map["presentation"].trigger()
    assert not window.classroom.is_presentation()
    assert QApplication.font().pointSizeF() == pytest.approx(app_size)


def test_themes_and_settings_are_remembered(qtbot, make_explorer):
    window = make_explorer("squeezenet1_0")
    window.theme_actions["dark"].trigger()
    assert window.graph.theme() == "dark"
    assert QApplication.palette().window().color().lightness() < 80
    window.classroom.zoom_in()
    scale = window.classroom.font_scale()
    window.close()

    again = make_explorer(None, wait=False)
    wait_for_model(qtbot, again, "squeezenet1_0")  # the last model
    assert again.classroom.theme() == "dark" and again.classroom.font_scale() == scale
    again.theme_actions["light"].trigger()
    again.classroom.zoom_reset()


def test_help_lists_the_shortcuts_of_the_actions(qtbot, make_explorer):
    window = make_explorer("alexnet")
    rows = window.shortcut_list()
    listed = {action: keys for _, action, keys in rows}
    assert listed["Presentation (full screen, large text)"] == "F11"
    assert "Ctrl+F" in listed["Find layer…"]
    assert "F" == listed["Fit graph to window"]
    # Generated from the actions: every action with a shortcut in a menu is listed, with its keys.
    for action in window.findChildren(type(window.action_map["fit"])):
        if action.shortcuts() and any(action in menu.actions() for menu in window.menus.values()):
            assert action.text().replace("&", "") in listed
    dialog = window.show_shortcuts()
    assert dialog.isVisible()
    dialog.close()


def test_the_help_menus_quick_guide_names_every_tab_and_its_keys(qtbot, make_explorer):
    """Help › Quick guide: every tab by its title, and the shortcuts it quotes are the actions' own."""
    import re

    from PySide6.QtWidgets import QDialog, QTextBrowser

    window = make_explorer("alexnet")
    assert window.action_map["guide"] in window.menus["Help"].actions()
    window.action_map["guide"].trigger()
    dialog = window.findChild(QDialog, "guide_dialog")
    assert dialog is not None and dialog.isVisible()
    text = dialog.findChild(QTextBrowser, "guide_text").toPlainText()
    for i in range(window.tabs.count()):
        assert window.tabs.tabToolTip(i) in text or window.tabs.tabText(i).replace("&", "") in text or \
            {"Graph": "Layer graph", "Table": "Summary table"}.get(window.tabs.tabText(i), "?") in text
    keys = {keys for _, _, keys in window.shortcut_list()}
    for quoted in re.findall(r"\(Ctrl\+\d\)", text):
        assert any(quoted[1:-1] in k for k in keys), quoted
    dialog.close()


# -- responsiveness --------------------------------------------------------------------------------------------

def test_a_newer_request_supersedes_a_stale_one(qtbot, make_explorer):
    window = make_explorer("alexnet")
    window.open_model("resnet50")
    window.open_model("squeezenet1_0")
    wait_for_model(qtbot, window, "squeezenet1_0")
    wait_for_runner(qtbot, window)  # everything the worker sent has arrived
    assert window.current_model() == "squeezenet1_0"  # resnet50's result never replaced it


def test_escape_cancels_loading_and_keeps_the_model(qtbot, make_explorer):
    window = make_explorer("alexnet")
    activate(qtbot, window)
    window.open_model("densenet201")
    assert window.status.progress.isVisible() and window.status.cancel_button.isVisible()
    qtbot.keyClick(window, Qt.Key_Escape)
    qtbot.waitUntil(lambda: not window.is_loading(), timeout=LOAD_TIMEOUT_MS)
    assert window.current_model() == "alexnet"
    assert window.graph.graph_data().title == "alexnet"
    assert not window.status.progress.isVisible()


# -- bad input ---------------------------------------------------------------------------------------------------

def test_unknown_model_shows_a_message_and_keeps_the_model(qtbot, make_explorer):
    window = make_explorer("alexnet")
    with qtbot.waitSignal(window.load_failed, timeout=LOAD_TIMEOUT_MS) as failed:
        window.open_model("resnet51")
    assert "unknown model 'resnet51'" in failed.args[0] and "resnet50" in failed.args[0]
    assert window.error_box.isVisible() and "resnet51" in window.error_box.text()
    assert "Traceback" not in window.error_box.text()
    assert window.current_model() == "alexnet" and window.graph.graph_data().title == "alexnet"
    window.error_box.close()

    # The same from the zoo filter: a name that matches nothing.
    wait_for_zoo(qtbot, window)
    window.zoo.filter.setText("lenet7")
    with qtbot.waitSignal(window.load_failed, timeout=LOAD_TIMEOUT_MS) as failed:
        qtbot.keyClick(window.zoo.filter, Qt.Key_Return)
    assert "unknown model 'lenet7'" in failed.args[0]
    assert window.current_model() == "alexnet"


def test_unknown_model_on_the_command_line_opens_the_default(qtbot, make_explorer):
    window = make_explorer("notanet", wait=False)
    wait_for_model(qtbot, window, "alexnet")
    assert "notanet" in window.error_box.text()


def test_corrupt_weights_file_shows_a_message_and_keeps_the_model(qtbot, make_explorer, tmp_path):
    window = make_explorer("alexnet")
    bad = tmp_path / "alexnet.pth"
    bad.write_bytes(b"this is not a checkpoint" * 100)
    with qtbot.waitSignal(window.load_failed, timeout=LOAD_TIMEOUT_MS) as failed:
        window.load_weights_file(str(bad))
    assert "cannot read weights file" in failed.args[0]
    assert window.error_box.isVisible() and "alexnet.pth" in window.error_box.text()
    assert window.current_model() == "alexnet"
    assert window.current_result().weights_label == "random"
    assert window.action_map["weights_random"].isChecked()


def test_a_model_whose_graph_cannot_be_recorded_says_why(qtbot, make_explorer, monkeypatch):
    from cnn_explorer.models.zoo import loader
    def refuse(loaded, input_size=None):
        raise loader.AnalysisError(f"{loaded.entry.name} failed at input 224×224: Proxy object cannot be iterated")

    window = make_explorer("alexnet")
    wait_for_zoo(qtbot, window)
    monkeypatch.setattr(loader, "summarize", refuse)
    window.open_model("resnet18")
    wait_for_model(qtbot, window, "resnet18")
    assert window.graph_stack.currentWidget() is window.graph_message
    assert "could not be recorded" in window.graph_message.text()
    assert "Proxy object cannot be iterated" in window.inspector.text()
    assert "resnet18" in window.zoo.visible_names()  # still in the browser
    monkeypatch.undo()
    window.open_model("alexnet")
    wait_for_model(qtbot, window, "alexnet")
    assert window.graph_stack.currentWidget() is window.graph


# -- settings and caches that are damaged -------------------------------------------------------------------------

def test_bad_settings_values_fall_back_to_their_defaults(qtbot, make_explorer, explorer_settings):
    settings = QSettings(QSettings.IniFormat, QSettings.UserScope, "CNN Explorer", "cnn-explorer")
    for key, value in (("font_scale", "abc"), ("theme", "neon"), ("last_model", ["a", "b"]),
                       ("geometry", "@ByteArray(x)"), ("window_state", 12)):
        settings.setValue(key, value)
    settings.sync()
    window = make_explorer(None, wait=False)
    wait_for_model(qtbot, window, "alexnet")
    assert window.classroom.font_scale() == 1.0 and window.classroom.theme() == "light"
    for text in ("1, 2", "1e999", "nan"):
        settings.setValue("font_scale", text)
        assert Classroom(window, settings).font_scale() == 1.0


def test_a_blank_model_name_opens_the_last_model(qtbot, make_explorer):
    window = make_explorer("   ", wait=False)
    wait_for_model(qtbot, window, "alexnet")
    assert window.open_model("  \t ") is None and not window.is_loading()


@pytest.mark.slow
def test_a_damaged_parameter_cache_is_repaired(qtbot, explorer_settings, tmp_path):
    cache = tmp_path / "counts"
    cache.mkdir()
    (cache / "param_counts.json").write_text("[1, 2, 3]")
    window = MainWindow("lenet5", weights="random", cache_dir=cache)
    qtbot.addWidget(window)

    def repaired():
        data = json.loads((cache / "param_counts.json").read_text())
        assert isinstance(data, dict) and data["counts"]["lenet5"] == 61_706
    qtbot.waitUntil(repaired, timeout=LOAD_TIMEOUT_MS)
    window.close()


@pytest.mark.slow
def test_parameters_are_counted_in_a_process_of_their_own(qtbot, tmp_path):
    """Building a hundred models is Python work: in a thread of the app it took turns at the GIL with the GUI
    thread. In a child process, the app's counting thread only waits on a pipe."""
    import os

    from cnn_explorer.app.explorer.zoo import ParamCounter

    counter = ParamCounter(tmp_path / "counts.json")
    got = {}
    counter.counted.connect(lambda name, count: got.__setitem__(name, count))
    with qtbot.waitSignal(counter.all_counted, timeout=LOAD_TIMEOUT_MS):
        counter.start(["lenet5", "no_such_model", "resnet18"])
    assert got == {"lenet5": 61_706, "no_such_model": -1, "resnet18": 11_689_512}
    child = counter._child
    assert child.pid != os.getpid()
    qtbot.waitUntil(lambda: child.poll() is not None, timeout=LOAD_TIMEOUT_MS)
    assert child.returncode == 0  # it ended with its input
    assert json.loads((tmp_path / "counts.json").read_text())["counts"] == {"lenet5": 61_706, "resnet18": 11_689_512}

    # The child dies mid-way (out of memory on a giant model, say): that model is marked uncounted, the app
    # goes on, and the thread ends.
    again = ParamCounter(tmp_path / "other.json")
    marks = []
    again.counted.connect(lambda name, count: marks.append((name, count)))
    names = ["lenet5", "alexnet", "vgg16", "resnet50", "densenet121", "googlenet", "mobilenet_v2"]
    again.start(names)
    qtbot.waitUntil(lambda: len(marks) >= 1, timeout=LOAD_TIMEOUT_MS)
    again._child.kill()
    qtbot.waitUntil(lambda: not again.is_busy(), timeout=LOAD_TIMEOUT_MS)
    assert marks[-1][1] == -1 and len(marks) < len(names)
    counter.shutdown()
    again.shutdown()


def test_exporting_to_a_place_that_cannot_be_written_says_so(qtbot, make_explorer, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    window = make_explorer("alexnet")
    folder = tmp_path / "graph.svg"
    folder.mkdir()
    with pytest.raises(OSError, match="it is a folder"):
        window.export_graph(folder)
    # Through File › Export: the save dialog (a native dialog a test cannot click) answers with the folder.
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(folder), ""))
    window.action_map["export_svg"].trigger()
    assert window.error_box.isVisible() and "it is a folder" in window.error_box.text()
    assert "Saved" not in window.statusBar().currentMessage()
    window.error_box.close()


def test_torch_libraries_are_mapped_after_the_window_is_drawn(make_explorer, monkeypatch):
    """Mapping torch's libraries while the window was first laid out and painted made that paint 150-250 ms
    slower, one start in two: the warm-up waits for the first paint (however long it takes here)."""
    import cnn_explorer.app.window.main_window as main_window
    import cnn_explorer.models.runtime.torch_import as torch_import

    monkeypatch.setattr(main_window, "WARM_UP_WAIT_S", 600.0)
    drawn_when_loaded = []
    windows = []
    real = torch_import.load_libraries

    def load_libraries():
        drawn_when_loaded.append(windows[0]._drawn.is_set() if windows else None)
        return real()

    monkeypatch.setattr(torch_import, "load_libraries", load_libraries)
    original_init = main_window.MainWindow.__init__

    def init(self, *args, **kwargs):
        windows.append(self)
        original_init(self, *args, **kwargs)

    monkeypatch.setattr(main_window.MainWindow, "__init__", init)
    window = make_explorer("alexnet")  # shown, and its model loaded: the warm-up has run
    assert window.current_model() == "alexnet"
    assert drawn_when_loaded == [True]
