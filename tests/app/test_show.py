"""``cnn_explorer.show(model)`` opens the explorer on this very object, with its weights, and writes nothing of it."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cnn_explorer.app.testing import LOAD_TIMEOUT_MS


class TwoStage(nn.Module):
    input_shape = (1, 28, 28)  # read by show when no input_shape is given

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 6, 5)
        self.body = nn.Sequential(nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 12, 3), nn.ReLU())
        self.head = nn.Linear(12 * 10 * 10, 4)

    def forward(self, x):
        return self.head(self.body(self.stem(x)).flatten(1))


def test_show_opens_the_object_itself_and_writes_nothing(qtbot, explorer_settings, tmp_path, monkeypatch):
    from cnn_explorer.app.window.notebook import show

    cache = tmp_path / "cache"
    monkeypatch.setenv("CNN_EXPLORER_CACHE_DIR", str(cache))
    model = TwoStage()
    with torch.no_grad():
        model.stem.weight.fill_(0.25)  # its own weights, not a fresh initialization
    window = show(model, categories=["a", "b", "c", "d"], block=False, name="two_stage")
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.current_result() is not None and not window.is_loading(), timeout=LOAD_TIMEOUT_MS)
    result = window.current_result()
    assert result.name == "two_stage" and result.error == ""
    assert result.totals.params == sum(p.numel() for p in model.parameters())
    assert window.runner.state["loaded"].model is model  # the object, not a copy
    assert float(model.stem.weight.detach().mean()) == pytest.approx(0.25)
    assert result.weights_label == "pretrained" and "as given" in result.weights_message
    assert dict(result.overview.facts)["opened"] == "an object in this Python session"
    assert "two_stage" in window.windowTitle()
    assert not (cache / "analysis").exists() or not any((cache / "analysis").iterdir())  # nothing cached
    window.close()


def test_show_refuses_what_is_not_a_module():
    from cnn_explorer.app.window.notebook import show

    with pytest.raises(TypeError, match="wants an nn.Module"):
        show("resnet18", block=False)
