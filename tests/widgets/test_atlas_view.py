"""The microscope's view: a channel at a time, arrow keys step, a click on an example names its image and unit."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from cnn_explorer.widgets.atlas.view import AtlasView, ChannelData, ExampleData


def _channels():
    rng = np.random.default_rng(0)

    def example(c, i):
        return ExampleData(f"/data/img{c}_{i}.png", 5.0 - i, (c, i, i + 1), rng.integers(0, 255, (11, 9, 3), np.uint8))

    return [ChannelData(c, [example(c, i) for i in range(3)], [example(c, 10 + i) for i in range(2)],
                        rng.integers(0, 255, (32, 32, 3), np.uint8)) for c in (0, 1, 5)]


def test_arrow_keys_step_through_channels_and_a_click_opens_the_example(qtbot):
    view = AtlasView()
    qtbot.addWidget(view)
    view.set_channels("features.3", _channels())
    view.show()
    assert "channel 0 (1 of 3)" in view.title.text() and len(view.buttons) == 5
    qtbot.keyClick(view, Qt.Key.Key_Right)
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert view.channel().channel == 5 and "channel 5 (3 of 3)" in view.title.text()
    qtbot.keyClick(view, Qt.Key.Key_Right)  # the last stays
    assert view.channel().channel == 5
    qtbot.keyClick(view, Qt.Key.Key_Left)
    assert view.channel().channel == 1 and not view.optimized.pixmap().isNull()
    with qtbot.waitSignal(view.example_clicked, timeout=5000) as clicked:
        qtbot.mouseClick(view.buttons[1], Qt.MouseButton.LeftButton)
    assert clicked.args == ["/data/img1_1.png", 1, 1, 2]
