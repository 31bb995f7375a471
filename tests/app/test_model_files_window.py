"""The window opens the user's model files: code only once trusted (remembered by content), a shape asked for when
the file has none, bad files refused with the model shown before kept, and the lab on an imported ONNX file."""

from __future__ import annotations

import textwrap

import pytest
import torch
from PySide6.QtWidgets import QInputDialog, QMessageBox

from cnn_explorer.app.testing import LOAD_TIMEOUT_MS

NET = textwrap.dedent("""
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(4, 3)

        def forward(self, x):
            return self.fc(self.pool(self.conv(x).relu()).flatten(1))
""")


class Asked:
    """QMessageBox.question, answered by the test; how often it was asked."""

    def __init__(self, answer):
        self.answer, self.count, self.texts = answer, 0, []

    def __call__(self, parent, title, text, *args, **kwargs):
        self.count += 1
        self.texts.append(text)
        return self.answer


def shown(qtbot, window, name):
    qtbot.waitUntil(lambda: window.current_model() == name and not window.is_loading(), timeout=LOAD_TIMEOUT_MS)


def test_code_opens_only_once_trusted_and_the_trust_is_remembered(qtbot, make_explorer, tmp_path, monkeypatch):
    path = tmp_path / "net.py"
    path.write_text(NET)
    spec = f"{path}:Net"
    window = make_explorer("lenet5")
    asked = Asked(QMessageBox.Cancel)
    monkeypatch.setattr(QMessageBox, "question", asked)
    shapes = iter(["1x16x16"])
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: (next(shapes), True))
    assert window.model_files.open(spec) is False and asked.count == 1  # refused: nothing ran
    assert f"This runs code from {path}" in asked.texts[0] and window.current_model() == "lenet5"

    asked.answer = QMessageBox.Open
    assert window.model_files.open(spec)
    shown(qtbot, window, spec)  # it states no input shape: the window asked for one (1x16x16)
    result = window.current_result()
    assert result.totals.params == 4 * 9 + 4 + 4 * 3 + 3 and tuple(result.input_size) == (16, 16)
    assert dict(result.overview.facts)["opened"] == f"from {spec}"
    assert window.model_files.recent()[0] == spec
    assert [a.text() for a in window.model_files.recent_menu.actions()] == [spec]

    window.open_model("lenet5")
    shown(qtbot, window, "lenet5")
    window.model_files.recent_menu.actions()[0].trigger()  # File › Open recent: no second question
    shown(qtbot, window, spec)
    assert asked.count == 2

    path.write_text(NET + "\n# changed\n")  # another content: asked again
    asked.answer = QMessageBox.Cancel
    assert window.model_files.open(spec) is False and asked.count == 3


def test_a_bad_file_is_refused_and_the_model_shown_stays(qtbot, make_explorer, tmp_path, monkeypatch):
    window = make_explorer("lenet5")
    weights = tmp_path / "only_weights.pth"
    torch.save({"conv.weight": torch.zeros(4, 1, 3, 3)}, weights)
    with qtbot.waitSignal(window.load_failed, timeout=LOAD_TIMEOUT_MS) as failed:
        window.model_files.open(str(weights))  # data: no question
    assert "is a state dict" in failed.args[0] and "file.py:Name --weights" in failed.args[0]
    assert window.current_model() == "lenet5" and window.error_box.isVisible()
    window.error_box.close()
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a protobuf at all")
    with qtbot.waitSignal(window.load_failed, timeout=LOAD_TIMEOUT_MS) as failed:
        window.model_files.open(str(junk))
    assert "junk.onnx" in failed.args[0] and window.current_model() == "lenet5"


def test_an_onnx_file_opens_in_the_graph_and_the_lab(qtbot, make_explorer, tmp_path):
    pytest.importorskip("onnxruntime")
    from cnn_explorer.models.zoo.registry import get_entry

    source = get_entry("lenet5").build()
    path = tmp_path / "lenet5.onnx"
    torch.onnx.export(source, torch.zeros(1, 1, 32, 32), str(path), dynamo=False)
    window = make_explorer("alexnet")
    window.model_files.open(str(path))
    shown(qtbot, window, str(path))
    result = window.current_result()
    assert result.totals.params == sum(p.numel() for p in source.parameters())
    assert tuple(result.input_size) == (32, 32)  # stored in the file
    layer = next(r.name for r in result.rows if r.type == "Conv2d")
    window.select_layer(layer)
    window.action_map["lab_tab"].trigger()
    lab = window.feature("lab")
    qtbot.waitUntil(lambda: lab.panel.view is not None and lab.panel.view.layer == layer, timeout=LOAD_TIMEOUT_MS)
    assert lab.panel.mosaic_data.channels == 6  # LeNet-5's first convolution, seen through the converted model


def test_the_live_view_offers_the_opened_model_when_it_can_run_it(qtbot, make_explorer, tmp_path, monkeypatch):
    from cnn_explorer.models.zoo.user import remember_options

    path = tmp_path / "rgbnet.py"
    path.write_text(NET.replace("nn.Conv2d(1, 4, 3)", "nn.Conv2d(3, 4, 3)"))
    spec = f"{path}:Net"
    monkeypatch.setattr(QMessageBox, "question", Asked(QMessageBox.Open))
    window = make_explorer("lenet5")
    remember_options(spec, input_shape=(3, 32, 32))
    window.model_files.open(spec)
    shown(qtbot, window, spec)
    live = window.feature("live")
    combo = live.panel.model_combo
    names = [combo.itemData(i) for i in range(combo.count()) if combo.itemData(i)]
    assert names[0] == spec  # a classifier the live view can run: offered first
    with qtbot.waitSignal(window.model_shown, timeout=LOAD_TIMEOUT_MS, check_params_cb=lambda n: n == "lenet5"):
        window.open_model("lenet5")
    names = [combo.itemData(i) for i in range(combo.count()) if combo.itemData(i)]
    assert spec not in names  # it follows the explorer's model


def test_a_dropped_model_file_asks_before_it_runs_and_a_dropped_picture_is_not_taken(qtbot, make_explorer,
                                                                                     tmp_path, monkeypatch):
    from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent

    path = tmp_path / "dropped.py"
    path.write_text(NET)
    window = make_explorer("lenet5")
    asked = Asked(QMessageBox.Cancel)
    monkeypatch.setattr(QMessageBox, "question", asked)
    monkeypatch.setattr(QInputDialog, "getItem", lambda *a, **k: ("Net", True))  # the class to make

    def drop(file) -> QDropEvent:
        data = QMimeData()
        data.setUrls([QUrl.fromLocalFile(str(file))])
        enter = QDragEnterEvent(QPoint(10, 10), Qt.CopyAction, data, Qt.LeftButton, Qt.NoModifier)
        window.model_files.eventFilter(window, enter)
        event = QDropEvent(QPoint(10, 10), Qt.CopyAction, data, Qt.LeftButton, Qt.NoModifier)
        taken = window.model_files.eventFilter(window, event)
        return enter.isAccepted(), taken

    assert drop(path) == (True, True)
    assert asked.count == 1 and window.current_model() == "lenet5"  # refused: nothing ran
    picture = tmp_path / "cat.png"
    picture.write_bytes(b"")
    assert drop(picture)[1] is False and asked.count == 1
