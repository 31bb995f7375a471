"""The Live view's panel: the camera image with the model's findings drawn over it, a HUD of the pipeline's
figures, the controls, a legend, the live feature maps of a classifier, and Explain (a heat map of what made the
answer, laid over the picture by ``CameraView``). It shows plain data (numpy arrays,
strings, numbers) and emits what the user asked for; ``app/live/controller.py`` runs the pipeline. No torch.

The frame and its overlays are drawn with QPainter: the image (masks and class maps are already blended into
it by the predictor), boxes in the image's coordinates, and their labels and the HUD in the widget's own
pixels, so that text stays the same legible size whatever the window's size. That drawing is ``CameraView``
and ``paint_overlays`` in camera_view.py; this module holds the panel and its legend.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontMetricsF, QKeySequence, QShortcut
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QScrollArea, QSizePolicy, QSlider, QSplitter, QVBoxLayout,
                               QWidget)

from cnn_explorer.widgets.live.camera_view import (  # noqa: F401 (re-exported)
    HUD_SCALE, SKELETON, CameraView, Detection, LiveFrame, paint_overlays)

PRECISIONS = ("fp32", "fp16", "bf16")
DEVICES = {"cpu": "CPU", "cuda": "CUDA GPU", "mps": "Apple GPU (MPS)"}
INPUT_SIZES = (0, 160, 224, 320, 416, 512, 640)  # 0: the model's default
VIDEO_FILTER = "Videos (*.mp4 *.avi *.mkv *.mov *.webm *.m4v *.mpg *.mpeg *.wmv *.gif);;All files (*)"


def _hex(color: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(c) for c in color))


def legend_html(rows: list[tuple[tuple[int, int, int] | None, str]]) -> str:
    """Rows of (colour, text) as a colour swatch and the text; None: no swatch."""
    cells = []
    for color, text in rows:
        swatch = (f"<span style='color:{_hex(color)}; font-size:large'>&#9632;</span>&nbsp;"
                  if color is not None else "")
        cells.append(f"<tr><td>{swatch}{text}</td></tr>")
    return "<table cellspacing='1'>" + "".join(cells) + "</table>"


class LivePanel(QWidget):
    """The Live tab. Signals carry what the user asked for; the controller does it."""

    source_chosen = Signal(str, str)  # kind ("synthetic", "camera", "video", "folder"), value (index or path)
    restart_requested = Signal()  # the model, device, precision or input size changed
    threshold_changed = Signal(float)
    opacity_changed = Signal(float)
    filter_changed = Signal(str)
    layer_chosen = Signal(str)
    explain_toggled = Signal(bool)  # the heat map of what made the answer, over the picture
    run_toggled = Signal(bool)  # Start (True) / Stop (False)
    pause_toggled = Signal(bool)
    snapshot_requested = Signal(str)  # a PNG path
    suggestion_chosen = Signal(str)  # "cpu", "smaller input", "retry"

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("live_panel")
        self.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.view = CameraView(self)

        # -- the message bar under the view (faults, with buttons for what to do) ---------------------
        self.message_bar = QWidget(self)
        self.message_bar.setObjectName("live_message_bar")
        self.message = QLabel(self.message_bar)
        self.message.setObjectName("live_message")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.suggestion_buttons: dict[str, QPushButton] = {}
        bar = QHBoxLayout(self.message_bar)
        bar.setContentsMargins(6, 4, 6, 4)
        bar.addWidget(self.message, 1)
        for key, text in (("cpu", "Use the CPU"), ("smaller input", "Smaller input"), ("fp32", "Use fp32"),
                          ("fp16", "Use fp16"), ("retry", "Try again")):
            button = QPushButton(text, self.message_bar)
            button.setObjectName(f"live_suggest_{key.replace(' ', '_')}")
            button.clicked.connect(lambda _=False, k=key: self.suggestion_chosen.emit(k))
            button.hide()
            bar.addWidget(button)
            self.suggestion_buttons[key] = button
        self.message_bar.hide()
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.setSpacing(2)
        left_layout.addWidget(self.view, 1)
        left_layout.addWidget(self.message_bar)

        # -- controls ------------------------------------------------------------------------------------
        column = QWidget(self)
        column.setObjectName("live_controls")
        controls = QVBoxLayout(column)
        controls.setContentsMargins(6, 4, 6, 4)

        source_box = QGroupBox("Source", column)
        source_layout = QVBoxLayout(source_box)
        self.source_combo = QComboBox(source_box)
        self.source_combo.setObjectName("live_source")
        self.source_combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.source_combo.setMinimumContentsLength(12)
        self.source_combo.addItem("Synthetic moving shapes", ("synthetic", ""))
        self.source_combo.addItem("Video file…", ("video", ""))
        self.source_combo.addItem("Image folder…", ("folder", ""))
        self.source_combo.activated.connect(self._source_activated)
        source_layout.addWidget(self.source_combo)
        controls.addWidget(source_box)

        model_box = QGroupBox("Model", column)
        form = QFormLayout(model_box)
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        self.model_combo = QComboBox(model_box)
        self.model_combo.setObjectName("live_model")
        self.model_combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.model_combo.setMinimumContentsLength(12)
        self.device_combo = QComboBox(model_box)
        self.device_combo.setObjectName("live_device")
        for key, text in DEVICES.items():
            self.device_combo.addItem(text, key)
        self.set_devices(["cpu"])
        self.precision_combo = QComboBox(model_box)
        self.precision_combo.setObjectName("live_precision")
        for key in PRECISIONS:
            self.precision_combo.addItem(key, key)
        self.size_combo = QComboBox(model_box)
        self.size_combo.setObjectName("live_size")
        for size in INPUT_SIZES:
            self.size_combo.addItem("model's default" if size == 0 else f"{size}×{size}", size)
        form.addRow(self.model_combo)
        form.addRow("Device", self.device_combo)
        form.addRow("Precision", self.precision_combo)
        form.addRow("Input", self.size_combo)
        for combo in (self.model_combo, self.device_combo, self.precision_combo, self.size_combo):
            combo.activated.connect(lambda _=0: self.restart_requested.emit())
        controls.addWidget(model_box)

        display_box = QGroupBox("Display", column)
        display = QFormLayout(display_box)
        display.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        self.threshold_slider = self._slider("live_threshold", 50)
        self.threshold_label = QLabel(display_box)
        self.opacity_slider = self._slider("live_opacity", 50)
        self.opacity_label = QLabel(display_box)
        self.threshold_slider.valueChanged.connect(self._threshold_moved)
        self.opacity_slider.valueChanged.connect(self._opacity_moved)
        self.filter_edit = QLineEdit(display_box)
        self.filter_edit.setObjectName("live_class_filter")
        self.filter_edit.setPlaceholderText("all classes")
        self.filter_edit.setToolTip("Show only these classes: names separated by commas (person, car)")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.filter_changed)
        self.display_box, self.display_form = display_box, display
        display.addRow(self.threshold_label, self.threshold_slider)
        display.addRow(self.opacity_label, self.opacity_slider)
        display.addRow("Classes", self.filter_edit)
        self._threshold_moved(self.threshold_slider.value())
        self._opacity_moved(self.opacity_slider.value())
        controls.addWidget(display_box)

        buttons = QHBoxLayout()
        self.run_button = QPushButton("Stop", column)
        self.run_button.setObjectName("live_run")
        self.run_button.setCheckable(True)
        self.run_button.setChecked(True)
        self.run_button.toggled.connect(self._run_toggled)
        self.pause_button = QPushButton("Pause", column)
        self.pause_button.setObjectName("live_pause")
        self.pause_button.setCheckable(True)
        self.pause_button.setToolTip("Freeze the picture (Space)")
        self.pause_button.toggled.connect(self._pause_toggled)
        self.snapshot_button = QPushButton("Snapshot…", column)
        self.snapshot_button.setObjectName("live_snapshot")
        self.snapshot_button.setToolTip("Save the picture as shown, as PNG (Ctrl+S)")
        self.snapshot_button.clicked.connect(self.ask_snapshot)
        for button in (self.run_button, self.pause_button, self.snapshot_button):
            buttons.addWidget(button)
        controls.addLayout(buttons)
        self.explain_check = QCheckBox("Explain (heat map)", column)
        self.explain_check.setObjectName("live_explain")
        self.explain_check.setToolTip("What made the answer: Grad-CAM of a classifier's top class, or the map of a "
                                      "detector's strongest box, remade from the camera a few times a second (its "
                                      "own FPS in the HUD)")
        self.explain_check.toggled.connect(self.explain_toggled)
        self.explain_check.hide()
        controls.addWidget(self.explain_check)

        self.legend_box = QGroupBox("Legend", column)
        legend_layout = QVBoxLayout(self.legend_box)
        self.legend = QLabel(self.legend_box)
        self.legend.setObjectName("live_legend")
        self.legend.setTextFormat(Qt.RichText)
        self.legend.setWordWrap(True)
        self.legend.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        legend_layout.addWidget(self.legend)
        controls.addWidget(self.legend_box)

        self.maps_box = QGroupBox("Live feature maps", self)
        maps_layout = QVBoxLayout(self.maps_box)
        self.layer_combo = QComboBox(self.maps_box)
        self.layer_combo.setObjectName("live_layer")
        self.layer_combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.layer_combo.setMinimumContentsLength(10)
        self.layer_combo.activated.connect(lambda _=0: self.layer_chosen.emit(self.layer_combo.currentData() or ""))
        self.maps_title = QLabel(self.maps_box)
        self.maps_title.setObjectName("live_maps_title")
        self.maps_title.setWordWrap(True)
        self.mosaic = None  # made when a classifier first needs it: pyqtgraph takes a second to import
        self.mosaic_updates = 0
        self._mosaic_background = "#808080"
        maps_layout.addWidget(self.layer_combo)
        maps_layout.addWidget(self.maps_title)
        self.maps_box.hide()
        controls.addStretch(1)

        self.scroll = QScrollArea(self)
        self.scroll.setObjectName("live_controls_scroll")
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.scroll.setWidget(column)
        self.splitter = QSplitter(Qt.Horizontal, self)
        self.splitter.setObjectName("live_splitter")
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.maps_box)  # beside the picture, as large: the maps are the lesson
        self.splitter.addWidget(self.scroll)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 0)
        self.splitter.setCollapsible(0, False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

        for key, slot in (("Space", self.pause_button.toggle), ("Ctrl+S", self.ask_snapshot)):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        self.fit_controls()

    # -- building bits ---------------------------------------------------------------------------------------
    def _slider(self, name: str, value: int) -> QSlider:
        slider = QSlider(Qt.Horizontal, self)
        slider.setObjectName(name)
        slider.setRange(0, 100)
        slider.setValue(value)
        return slider

    def fit_controls(self) -> None:
        """The controls' column: wide enough for its text at the current font size, not more."""
        column = self.scroll.widget()
        column.adjustSize()
        width = max(column.minimumSizeHint().width(), int(QFontMetricsF(self.font()).averageCharWidth() * 36))
        width += self.scroll.verticalScrollBar().sizeHint().width() + 4
        self.scroll.setMinimumWidth(min(width, 560))
        total = max(self.width(), 800)
        rest = total - width
        maps = int(0.45 * rest) if self.maps_box.isVisibleTo(self) else 0
        self.splitter.setSizes([rest - maps, maps, width])

    def set_theme(self, background: str) -> None:
        self._mosaic_background = background
        if self.mosaic is not None:
            self.mosaic.set_background(background)

    # -- what the controller reads ---------------------------------------------------------------------------
    @property
    def model(self) -> str:
        return self.model_combo.currentData() or ""

    @property
    def device(self) -> str:
        return self.device_combo.currentData() or "cpu"

    @property
    def precision(self) -> str:
        return self.precision_combo.currentData() or "fp32"

    @property
    def input_size(self) -> int:
        return int(self.size_combo.currentData() or 0)

    @property
    def threshold(self) -> float:
        return self.threshold_slider.value() / 100

    @property
    def opacity(self) -> float:
        return self.opacity_slider.value() / 100

    def class_filter(self) -> set[str]:
        return {part.strip().lower() for part in self.filter_edit.text().split(",") if part.strip()}

    # -- what the controller sets ----------------------------------------------------------------------------
    def set_models(self, models: list[tuple[str, str]], current: str) -> None:
        """``models``: (name, task) pairs; grouped by task in the combo."""
        self.model_combo.clear()
        task = None
        for name, kind in models:
            if kind != task:  # a heading for each task
                task = kind
                self.model_combo.addItem(f"— {kind.replace('_', ' ')} —", None)
                item = self.model_combo.model().item(self.model_combo.count() - 1)
                item.setEnabled(False)
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            self.model_combo.addItem(name, name)
            self.model_combo.setItemData(self.model_combo.count() - 1, kind.replace("_", " "), Qt.ToolTipRole)
        self.select_model(current)

    def select_model(self, name: str) -> None:
        index = self.model_combo.findData(name)
        if index >= 0:
            self.model_combo.setCurrentIndex(index)

    def set_devices(self, available: list[str]) -> None:
        model = self.device_combo.model()
        for i in range(self.device_combo.count()):
            item = model.item(i)
            present = self.device_combo.itemData(i) in available
            item.setEnabled(present)
            item.setToolTip("" if present else "not available on this machine")
        if self.device not in available:
            self.device_combo.setCurrentIndex(self.device_combo.findData("cpu"))

    def select(self, combo: QComboBox, data) -> None:
        index = combo.findData(data)
        if index >= 0:
            combo.setCurrentIndex(index)

    def set_cameras(self, cameras: list[tuple[int, str]]) -> None:
        """Cameras found: (index, name), listed after the synthetic source."""
        for i in reversed(range(self.source_combo.count())):
            if self.source_combo.itemData(i)[0] == "camera":
                self.source_combo.removeItem(i)
        for offset, (index, name) in enumerate(cameras):
            self.source_combo.insertItem(1 + offset, f"Camera {index}: {name}", ("camera", str(index)))
        if not cameras:
            self.source_combo.insertItem(1, "No camera found", ("camera", ""))
            self.source_combo.model().item(1).setEnabled(False)

    def show_source(self, kind: str, value: str) -> None:
        """Make the combo show the source now playing (a file's name after the dialog)."""
        for i in range(self.source_combo.count()):
            if self.source_combo.itemData(i) == (kind, value):
                self.source_combo.setCurrentIndex(i)
                return
        label = {"video": "Video", "folder": "Folder"}.get(kind, kind)
        self.source_combo.insertItem(0, f"{label}: {Path(value).name}", (kind, value))
        self.source_combo.setItemData(0, value, Qt.ToolTipRole)
        self.source_combo.setCurrentIndex(0)

    def set_running(self, running: bool) -> None:
        self.run_button.blockSignals(True)
        self.run_button.setChecked(running)
        self.run_button.setText("Stop" if running else "Start")
        self.run_button.blockSignals(False)

    def set_paused(self, paused: bool) -> None:
        self.pause_button.blockSignals(True)
        self.pause_button.setChecked(paused)
        self.pause_button.setText("Resume" if paused else "Pause")
        self.pause_button.blockSignals(False)

    def show_message(self, text: str, suggestions: tuple[str, ...] = (), error: bool = True) -> None:
        """A line under the view (a fault, what is going on), with buttons for the suggestions; '' hides it."""
        self.message.setText(text)
        self.message.setProperty("error", error)
        color = "#ff8a80" if error else "palette(window-text)"
        self.message.setStyleSheet(f"QLabel#live_message {{ color: {color}; font-weight: bold; }}")
        for key, button in self.suggestion_buttons.items():
            button.setVisible(key in suggestions)
        self.message_bar.setVisible(bool(text))

    def set_legend(self, rows: list[tuple[tuple[int, int, int] | None, str]], title: str = "Legend") -> None:
        self.legend_box.setTitle(title)
        html = legend_html(rows) if rows else "<i>nothing above the threshold</i>"
        if html != self.legend.text():
            self.legend.setText(html)

    def set_task(self, task: str) -> None:
        """Enable the display controls that mean something for ``task``'s results."""
        boxes = task in ("detection", "instance_segmentation", "keypoints")
        masks = task in ("instance_segmentation", "semantic_segmentation")
        self.display_form.setRowVisible(self.threshold_slider, boxes)
        self.display_form.setRowVisible(self.filter_edit, boxes)
        self.display_form.setRowVisible(self.opacity_slider, masks)
        self.display_box.setVisible(boxes or masks)
        self.explain_check.setVisible(task in ("classification", "detection"))

    def set_layers(self, layers: list[str], current: str) -> None:
        self.layer_combo.clear()
        for name in layers:
            self.layer_combo.addItem(name, name)
        self.select(self.layer_combo, current)

    def show_maps(self, visible: bool) -> None:
        if visible and self.mosaic is None:
            from cnn_explorer.widgets.lab.mosaic import MosaicView

            self.mosaic = MosaicView(self.maps_box)
            self.mosaic.setObjectName("live_mosaic")
            self.mosaic.value_label.setText("Hover a unit to read its value.")
            self.mosaic.setMinimumHeight(220)
            self.mosaic.set_background(self._mosaic_background)
            self.maps_box.layout().addWidget(self.mosaic, 1)
        changed = visible != self.maps_box.isVisibleTo(self)
        self.maps_box.setVisible(visible)
        if not visible and self.mosaic is not None:
            self.mosaic.clear()
        if changed:
            self.fit_controls()

    def set_mosaic(self, data) -> None:
        self.mosaic.set_data(data)
        self.maps_title.setText(data.title)
        self.mosaic_updates += 1

    # -- the user's actions ------------------------------------------------------------------------------------
    def _threshold_moved(self, value: int) -> None:
        self.threshold_label.setText(f"Score ≥ {value / 100:.2f}")
        self.threshold_changed.emit(value / 100)

    def _opacity_moved(self, value: int) -> None:
        self.opacity_label.setText(f"Opacity {value}%")
        self.opacity_changed.emit(value / 100)

    def _run_toggled(self, on: bool) -> None:
        self.run_button.setText("Stop" if on else "Start")
        self.run_toggled.emit(on)

    def _pause_toggled(self, on: bool) -> None:
        self.pause_button.setText("Resume" if on else "Pause")
        self.pause_toggled.emit(on)

    def _source_activated(self, index: int) -> None:
        kind, value = self.source_combo.itemData(index)
        if kind == "video" and not value:
            value, _ = QFileDialog.getOpenFileName(self, "Play a video file", "", VIDEO_FILTER)
        elif kind == "folder" and not value:
            value = QFileDialog.getExistingDirectory(self, "Play a folder of images")
        if kind in ("video", "folder") and not value:
            return
        if kind == "camera" and not value:
            return
        self.source_chosen.emit(kind, value)

    def ask_snapshot(self) -> None:
        if self.view.frame is None:
            self.show_message("Nothing to save yet: no picture has come.", error=False)
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save the picture", "live.png", "PNG image (*.png)")
        if path:
            self.snapshot_requested.emit(path if path.lower().endswith(".png") else path + ".png")
