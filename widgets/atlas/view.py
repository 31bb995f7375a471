"""The microscope's view: one channel at a time, its optimized image beside its dataset examples (the top-k
images of a folder that excite it most, then the bottom-k), each cropped to the receptive field of its
position. Left/Right (or Up/Down) step through the channels; clicking an example asks, by a signal, for that
image to be opened in the lab at that unit. Plain data in (numpy pictures, no torch): app/atlas makes it from
models/lab/atlas.py's result."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

CELL = 96  # pixels: an example or the optimized image, enlarged pixel-exact


@dataclass
class ExampleData:
    file: str  # the image's path
    score: float
    unit: tuple[int, int, int]  # (channel, y, x) of the layer
    pixels: np.ndarray  # h×w×3 uint8: the receptive field's crop


@dataclass
class ChannelData:
    channel: int
    top: list[ExampleData]
    bottom: list[ExampleData] = field(default_factory=list)
    optimized: np.ndarray | None = None  # H×W×3 uint8


def _pixmap(pixels: np.ndarray, size: int = CELL) -> QPixmap:
    array = np.ascontiguousarray(pixels[..., :3], dtype=np.uint8)
    h, w = array.shape[:2]
    image = QImage(array.data, w, h, array.strides[0], QImage.Format.Format_RGB888).copy()
    return QPixmap.fromImage(image.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                                          Qt.TransformationMode.FastTransformation))


class AtlasView(QWidget):
    example_clicked = Signal(str, int, int, int)  # file, channel, y, x
    channel_changed = Signal(int)  # the index shown, in the list given

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._channels: list[ChannelData] = []
        self._layer = ""
        self.index = 0
        self.title = QLabel("No microscope yet: choose a folder of images and a layer.")
        self.title.setWordWrap(True)
        self.optimized = QLabel()
        self.optimized.setFixedSize(CELL, CELL)
        self.optimized.setToolTip("The channel's optimized image: what drives it most, made from noise")
        self.top_row = QGridLayout()
        self.bottom_row = QGridLayout()
        self.buttons: list[QToolButton] = []
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        body = QHBoxLayout()
        optimized = QVBoxLayout()
        optimized.addWidget(QLabel("Optimized"))
        optimized.addWidget(self.optimized)
        optimized.addStretch(1)
        body.addLayout(optimized)
        examples = QVBoxLayout()
        self.top_label, self.bottom_label = QLabel("Strongest"), QLabel("Weakest")
        examples.addWidget(self.top_label)
        examples.addLayout(self.top_row)
        examples.addWidget(self.bottom_label)
        examples.addLayout(self.bottom_row)
        examples.addStretch(1)
        body.addLayout(examples, 1)
        layout.addLayout(body, 1)
        hint = QLabel("←/→: previous/next channel · click an example to open it in the lab at its unit")
        hint.setEnabled(False)
        layout.addWidget(hint)

    def set_channels(self, layer: str, channels: list[ChannelData], index: int = 0) -> None:
        self._layer, self._channels = layer, list(channels)
        self.show_channel(index)

    def channel(self) -> ChannelData | None:
        return self._channels[self.index] if self._channels else None

    def show_channel(self, index: int) -> None:
        """Show the ``index``-th channel of the list (clamped)."""
        if not self._channels:
            return
        self.index = max(0, min(index, len(self._channels) - 1))
        data = self._channels[self.index]
        for button in self.buttons:
            button.setParent(None)
            button.deleteLater()
        self.buttons = []
        self.title.setText(f"{self._layer} channel {data.channel} ({self.index + 1} of {len(self._channels)})")
        if data.optimized is not None:
            self.optimized.setPixmap(_pixmap(data.optimized))
        else:
            self.optimized.clear()
            self.optimized.setText("—")
        for row, examples in ((self.top_row, data.top), (self.bottom_row, data.bottom)):
            for i, example in enumerate(examples):
                button = QToolButton(self)
                button.setIcon(QIcon(_pixmap(example.pixels)))
                button.setIconSize(QSize(CELL, CELL))
                name = example.file.rsplit("/", 1)[-1]
                button.setToolTip(f"{name}: {example.score:.3g} at y={example.unit[1]}, x={example.unit[2]}")
                button.setAccessibleName(name)
                button.clicked.connect(lambda _=False, e=example: self.example_clicked.emit(e.file, *e.unit))
                row.addWidget(button, i // 9, i % 9)
                self.buttons.append(button)
        self.bottom_label.setVisible(bool(data.bottom))
        self.channel_changed.emit(self.index)

    def keyPressEvent(self, event) -> None:  # noqa: N802
        step = {Qt.Key.Key_Right: 1, Qt.Key.Key_Down: 1, Qt.Key.Key_Left: -1, Qt.Key.Key_Up: -1}.get(event.key())
        if step and self._channels:
            self.show_channel(self.index + step)
            return
        super().keyPressEvent(event)
