"""The lab's panel: an image goes in, the selected layer's feature maps, its kernels, the receptive field of
a clicked unit and the ZFNet tools come out. It shows plain data (``lab_data``) and emits what the user
asked for; ``app/lab/controller.py`` computes it on the model's thread. No torch.

Left: the model's input with the receptive field of the clicked unit, its effective receptive field, the
top-5 and the preprocessing. Right, in tabs: the feature-map mosaic with the enlarged channel, the kernels,
and the tools (deconvnet, guided backprop, occlusion, top-9, Grad-CAM and the class maps, feature visualization by
optimization; a detector's box maps and a segmenter's Seg-Grad-CAM, with the box or class to explain chosen from a
list).
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QGridLayout, QHBoxLayout, QLabel,
                               QProgressBar, QPushButton, QScrollArea, QSizePolicy, QSpinBox, QSplitter, QTabWidget,
                               QVBoxLayout, QWidget)

from cnn_explorer.widgets.common.later_pages import LaterPages
from cnn_explorer.widgets.lab.data import FieldData, InputData, KernelData, LabView, MosaicData, ToolResult
from cnn_explorer.widgets.lab.views import ChannelView, HistogramPlot, ImagePane, _label
from cnn_explorer.widgets.lab.mosaic import NORMALIZE, SORT, MosaicView, ScaleBar, colormap_lut

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp *.gif);;All files (*)"
TOOLS = {"deconv": "Deconvnet", "guided": "Guided backprop", "gradcam": "Grad-CAM", "occlusion": "Occlusion",
         "top9": "Top-9 of a folder…", "optimize": "Optimize", "boxcam": "Box map",
         "segcam": "Seg-Grad-CAM", "grid": "Detection grid"}
#: The class maps the "Map:" box offers; the Grad-CAM button runs the one chosen (models/lab/cams.py).
MAPS = {"gradcam": "Grad-CAM", "gradcampp": "Grad-CAM++", "scorecam": "Score-CAM", "eigencam": "EigenCAM",
        "layercam": "LayerCAM", "hirescam": "HiResCAM", "ig": "Integrated Gradients", "smoothgrad": "SmoothGrad"}
TOP1 = "top-1"
OBJECTIVES = {"channel": "the channel", "neuron": "the unit", "layer": "the layer",
              "class": "the class"}  # what "Optimize" makes an image for (the class: the Class: box's)
TOOL_TIPS = {"boxcam": "A detector: what made each box it found (HiResCAM of the box's score), over the image",
             "segcam": "A segmenter: what made a class's region (Seg-Grad-CAM), over the input",
             "grid": "SSD: its default boxes at each scale; YOLO v1: its grid, a cell's boxes and class "
                     "probabilities"}
CHOICE_LABELS = {"boxcam": "Box:", "segcam": "Class:", "grid": "Show:"}


def _combo(items: dict[str, str], parent: QWidget, name: str) -> QComboBox:
    combo = QComboBox(parent)
    combo.setObjectName(name)
    for key, text in items.items():
        combo.addItem(text, key)
    return combo


RANDOM_NOTE = "Random weights: this needs learned weights to mean anything."


class LabPanel(QWidget):
    sample_chosen = Signal(str)
    image_file_chosen = Signal(str)
    display_changed = Signal()  # normalization or sort order
    unit_chosen = Signal(int, int, int)
    kernel_page_requested = Signal(int, int)
    tool_requested = Signal(str)  # "deconv", "guided", "occlusion", "optimize", or a class map of MAPS
    folder_chosen = Signal(str)  # top-9 over this folder
    choice_requested = Signal(str, int)  # ("boxcam", box) or ("segcam", class): explain that one
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("lab_panel")
        self.setAcceptDrops(True)
        # The lab takes the room the window gives it; it never widens the central area at the docks' expense.
        self.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.view: LabView | None = None
        self.mosaic_data: MosaicData | None = None
        self.field: FieldData | None = None
        self.kernels: KernelData | None = None
        self.tool: ToolResult | None = None
        self.unit: tuple[int, int, int] | None = None
        self._chosen: dict[str, tuple[int, int, int]] = {}  # the unit the user clicked last, by layer
        self._erf_lut = colormap_lut("inferno")
        self._colors: tuple[str, str, str] | None = None  # set_colors' (background, foreground, error)
        self._classes: tuple[str, ...] = ()  # the model's classes (the class box's, on the Tools page)
        self._pending: dict[str, dict] = {}  # page -> {what: fn}: to show on a page once it is made (_when_made)

        # -- the source of the image ------------------------------------------------------------------
        self.samples = QComboBox(self)
        self.samples.setObjectName("sample_combo")
        self.samples.setToolTip("Bundled images: photographs, held-out digits, generated shapes")
        # Narrow combos: the lab must fit beside the zoo and the inspector at 1024 pixels without pushing them.
        self.samples.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.samples.setMinimumContentsLength(12)
        self.samples.activated.connect(lambda _i: self.sample_chosen.emit(self.samples.currentData() or ""))
        self.open_button = QPushButton("Open image…", self)
        self.open_button.setObjectName("open_image_button")
        self.open_button.setToolTip("PNG, JPEG, BMP, TIFF, WebP; or drop an image on the lab")
        self.open_button.clicked.connect(self.choose_image)
        self.layer_label = _label("", self, "lab_layer_label", wrap=False)
        self.layer_label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        head = QHBoxLayout()
        head.addWidget(QLabel("Image:", self))
        head.addWidget(self.samples)
        head.addWidget(self.open_button)
        head.addSpacing(10)
        head.addWidget(self.layer_label, 1)
        self.message = _label("", self, "lab_message")
        self.message.hide()
        # Random weights: said at the top, and under every map that needs learned weights.
        self.weights_banner = _label("", self, "weights_banner")
        self.weights_banner.hide()
        self.random_weights = False

        # -- left: the input, its receptive fields, the predictions -------------------------------------
        self.input_pane = ImagePane("Input", self, "input_pane")
        self.input_pane.setMinimumHeight(120)
        self.erf_pane = ImagePane("Effective receptive field", self, "erf_pane")
        self.erf_pane.setMinimumHeight(100)
        self.field_label = _label("Click a unit of a feature map: its receptive field is drawn on the input.",
                                  self, "field_label")
        self.predictions = _label("", self, "predictions_label")
        self.steps = _label("", self, "steps_label")
        self.steps.setProperty("muted", True)
        info = QWidget(self)
        info_layout = QVBoxLayout(info)
        info_layout.setContentsMargins(2, 2, 2, 2)
        for widget in (self.field_label, self.predictions, self.steps):
            info_layout.addWidget(widget)
        info_layout.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setWidget(info)
        scroll.setFrameShape(QScrollArea.NoFrame)
        left = QSplitter(Qt.Vertical, self)
        left.setObjectName("lab_left")
        left.setChildrenCollapsible(False)
        left.setMinimumWidth(190)
        self._sized = False
        for widget, stretch in ((self.input_pane, 3), (self.erf_pane, 2), (scroll, 3)):
            left.addWidget(widget)
            left.setStretchFactor(left.count() - 1, stretch)

        # -- right: feature maps, kernels, tools -----------------------------------------------------------
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("lab_tabs")
        self.tabs.setDocumentMode(True)
        # The pages are made after the panel, one per turn (LaterPages; see __getattr__): the feature maps first.
        self._later = LaterPages(self.tabs, {"maps": ("Feature maps", self._maps_page),
                                             "kernels": ("Kernels", self._kernels_page),
                                             "tools": ("Tools", self._tools_page)}, self._page_made)

        self.splitter = QSplitter(Qt.Horizontal, self)
        self.splitter.setObjectName("lab_splitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.tabs)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 5)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        layout.addLayout(head)
        layout.addWidget(self.weights_banner)
        layout.addWidget(self.message)
        layout.addWidget(self.splitter, 1)

    # -- pages made later ------------------------------------------------------------------------------
    def __getattr__(self, name: str):
        """Only for an attribute not found: one of a page not made yet (the maps', the kernels' or the tools'
        widgets). The pages up to its own are made then, and it is read. The first opening makes the left column; the
        pages (about three quarters of the panel's making, 20-35 ms of CPU each here) come in the turns after,
        the feature maps first: they show nothing before the first view comes from the runner anyway."""
        later = self.__dict__.get("_later")
        if later is None or not later.waiting() or name.startswith("__"):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        later.make_until(lambda: name in self.__dict__)  # the pages before it too, not those after
        return getattr(self, name)

    def pages_made(self) -> bool:
        return not self._later.waiting()

    def _when_made(self, page: str, what: str, fn) -> None:
        """Show something on ``page``: ``fn()`` now if the page is made, else once it is (the last ``fn`` of each
        ``what``). The view that comes in (its classes, kernels, unit) then does not make the pages in its turn."""
        if self._later.waiting(page):
            self._pending.setdefault(page, {})[what] = fn
        else:
            fn()

    def _page_made(self, name: str, _page: QWidget) -> None:
        if name == "tools":
            self.set_busy(False)
        for fn in self._pending.pop(name, {}).values():
            fn()
        if self._colors is not None:  # the page in the colours of the others
            background, foreground, _ = self._colors
            panes, plots = self._themed(name)
            for pane in panes:
                pane.set_background(background)
            for plot in plots:
                plot.set_colors(background, foreground)

    def _themed(self, page: str) -> tuple[list, list]:
        """The image panes (and the mosaic) and the plots of ``page`` ("left": the left column) that take the
        theme's colours."""
        if page == "kernels":
            return [self.kernel_pane], [self.weight_histogram]
        if page == "tools":
            return list(self.result_panes), []
        if page == "maps":
            return [self.channel.pane, self.mosaic], [self.channel.histogram]
        return [self.input_pane, self.erf_pane], []

    # -- the pages' widgets ----------------------------------------------------------------------------
    # Each page is made over a few turns (LaterPages runs a generator a step a turn): a pyqtgraph view takes
    # 30-40 ms to make, and a page of three took one turn of 50-65 ms, then its first paint.
    def _maps_page(self) -> Generator[None, None, QWidget]:
        page = QWidget(self)
        self.normalize = _combo({k: f"Normalize {v}" for k, v in NORMALIZE.items()}, page, "normalize_combo")
        self.sort = _combo({k: f"Sort {v}" for k, v in SORT.items()}, page, "sort_combo")
        for combo in (self.normalize, self.sort):
            combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(10)
            combo.currentIndexChanged.connect(lambda _i: self.display_changed.emit())
        controls = QHBoxLayout()
        controls.addWidget(self.normalize)
        controls.addWidget(self.sort)
        controls.addStretch(1)
        self.mosaic = MosaicView(page)
        self.mosaic.unit_clicked.connect(self._clicked_unit)
        self.maps_message = _label("", page, "maps_message")
        self.maps_message.setAlignment(Qt.AlignCenter)
        self.maps_message.hide()
        yield
        self.channel = ChannelView(page)
        yield  # the page laid out and put in its tab (its views polished) in a turn of its own
        split = QSplitter(Qt.Horizontal, page)
        split.setChildrenCollapsible(False)
        split.addWidget(self.mosaic)
        split.addWidget(self.channel)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        self.maps_split = split
        layout = QVBoxLayout(page)
        layout.setContentsMargins(2, 4, 2, 2)
        layout.addLayout(controls)
        layout.addWidget(self.maps_message)
        layout.addWidget(split, 1)
        return page

    def _kernels_page(self) -> Generator[None, None, QWidget]:
        page = QWidget(self)
        self.kernel_title = _label("", page, "kernel_title")
        self.kernel_pane = ImagePane("", page, "kernel_pane")
        self.page_label = QLabel("", page)
        self.page_buttons = {}
        row = QHBoxLayout()
        for key, text, tip in (("up", "◀ outputs", "previous output channels"), ("down", "outputs ▶",
                               "next output channels"), ("left", "◀ inputs", "previous input channels"),
                               ("right", "inputs ▶", "next input channels")):
            button = QPushButton(text, page)
            button.setObjectName(f"kernel_{key}")
            button.setToolTip(tip)
            button.clicked.connect(lambda _c=False, k=key: self._page(k))
            self.page_buttons[key] = button
            row.addWidget(button)
        row.addWidget(self.page_label, 1)
        yield
        self.weight_histogram = HistogramPlot(page)
        self.weight_stats = _label("", page, "weight_stats")
        layout = QVBoxLayout(page)
        layout.setContentsMargins(2, 4, 2, 2)
        layout.addWidget(self.kernel_title)
        layout.addLayout(row)
        layout.addWidget(self.kernel_pane, 1)
        layout.addWidget(QLabel("Weight histogram", page))
        layout.addWidget(self.weight_histogram)
        layout.addWidget(self.weight_stats)
        return page

    def _tools_page(self) -> Generator[None, None, QWidget]:
        page = QWidget(self)
        self.tool_buttons = {}
        grid = QGridLayout()
        for i, (key, text) in enumerate(TOOLS.items()):
            button = QPushButton(text, page)
            button.setObjectName(f"tool_{key}")
            button.setToolTip(TOOL_TIPS.get(key, ""))
            button.clicked.connect(lambda _c=False, k=key: self._tool(k))
            self.tool_buttons[key] = button
            grid.addWidget(button, i // 2, i % 2)  # two columns: legible beside both docks at 1024 pixels
        self.occluder = QSpinBox(page)
        self.occluder.setObjectName("occluder_size")
        self.occluder.setRange(1, 512)
        self.occluder.setValue(32)
        self.occluder.setPrefix("square ")
        self.occluder.setSuffix(" px")
        self.stride = QSpinBox(page)
        self.stride.setObjectName("occluder_stride")
        self.stride.setRange(1, 256)
        self.stride.setValue(8)
        self.stride.setPrefix("stride ")
        self.stride.setSuffix(" px")
        self.threshold = QDoubleSpinBox(page)  # the box map's boxes: detect's score threshold
        self.threshold.setObjectName("box_threshold")
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setDecimals(2)
        self.threshold.setValue(0.5)
        self.threshold.setPrefix("boxes ≥ ")
        self.threshold.setVisible(False)  # a detector's (set_task)
        self.threshold.setToolTip("Box map: the boxes scored at least this (detect's --threshold); random weights "
                                  "score low")
        occ = QHBoxLayout()
        occ.addWidget(self.occluder)
        occ.addWidget(self.stride)
        occ.addWidget(self.threshold)
        grid.addLayout(occ, (len(TOOLS) + 1) // 2, 0, 1, 2)
        grid.addLayout(self._class_row(page), (len(TOOLS) + 1) // 2 + 1, 0, 1, 2)
        grid.addLayout(self._optimize_row(page), (len(TOOLS) + 1) // 2 + 2, 0, 1, 2)
        self.tool_unit = _label("Tools project the clicked unit, or the layer's strongest one.", page, "tool_unit")
        self.progress = QProgressBar(page)
        self.progress.setObjectName("lab_progress")
        self.progress.setTextVisible(False)
        self.progress_label = QLabel("", page)
        self.progress_label.setObjectName("lab_progress_label")
        self.cancel_button = QPushButton("Cancel", page)
        self.cancel_button.setObjectName("lab_cancel")
        self.cancel_button.clicked.connect(self.cancel_requested.emit)
        busy = QHBoxLayout()
        busy.addWidget(self.progress_label)
        busy.addWidget(self.progress, 1)
        busy.addWidget(self.cancel_button)
        # Box and class maps: the boxes found (the classes present), one chosen; another one is explained at once.
        self.choice_label = QLabel("", page)
        self.choice = QComboBox(page)
        self.choice.setObjectName("explain_choice")
        self.choice.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.choice.setMinimumContentsLength(16)
        self.choice.activated.connect(self._choose)
        choose = QHBoxLayout()
        choose.addWidget(self.choice_label)
        choose.addWidget(self.choice, 1)
        for widget in (self.choice_label, self.choice):
            widget.hide()
        self.result_title = _label("", page, "result_title")
        yield
        self.result_panes = [ImagePane("", page, f"result_pane_{i}") for i in range(2)]
        self.result_scales = [ScaleBar(page) for _ in self.result_panes]  # each pane's colour bar, when it has one
        panes = QHBoxLayout()
        for pane, scale in zip(self.result_panes, self.result_scales):
            column = QVBoxLayout()
            column.addWidget(pane, 1)
            column.addWidget(scale)
            scale.hide()
            panes.addLayout(column, 1)
        self.result_note = _label("", page, "result_note")
        layout = QVBoxLayout(page)
        layout.setContentsMargins(2, 4, 2, 2)
        layout.addLayout(grid)
        layout.addWidget(self.tool_unit)
        layout.addLayout(busy)
        layout.addLayout(choose)
        layout.addWidget(self.result_title)
        layout.addLayout(panes, 1)
        layout.addWidget(self.result_note)
        return page

    def _class_row(self, page: QWidget) -> QHBoxLayout:
        """"Map:" (which class map the Grad-CAM button draws) and "Class:" (the class the maps and occlusion
        explain: the top-1, or one the user picks or types)."""
        self.map_combo = _combo(MAPS, page, "map_combo")
        self.map_combo.setToolTip("The class map the map button draws; choosing one draws it")
        self.map_combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.map_combo.setMinimumContentsLength(10)
        self.map_combo.currentIndexChanged.connect(
            lambda _i: self.tool_buttons["gradcam"].setText(MAPS[self.map_method()]))
        self.map_combo.activated.connect(lambda _i: self.tool_requested.emit(self.map_method()))
        self.class_combo = QComboBox(page)
        self.class_combo.setObjectName("class_combo")
        self.class_combo.setEditable(True)
        self.class_combo.setInsertPolicy(QComboBox.NoInsert)
        self.class_combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.class_combo.setMinimumContentsLength(10)
        self.class_combo.setToolTip("The class the maps and occlusion explain: the top-1, or pick or type a class "
                                    "(a shown map is redrawn for it)")
        completer = self.class_combo.completer()
        completer.setFilterMode(Qt.MatchContains)
        completer.setCaseSensitivity(Qt.CaseInsensitive)
        self.class_combo.addItem(TOP1, None)
        self.class_combo.activated.connect(lambda _i: self._class_chosen())
        self.class_combo.lineEdit().editingFinished.connect(self._class_typed)
        row = QHBoxLayout()
        row.addWidget(QLabel("Map:", page))
        row.addWidget(self.map_combo, 1)
        row.addWidget(QLabel("Class:", page))
        row.addWidget(self.class_combo, 1)
        return row

    def set_classes(self, classes: tuple[str, ...]) -> None:
        """The model's classes in the class box; another list (another model) goes back to the top-1."""
        classes = tuple(classes)
        if classes == self._classes:
            return
        self._classes = classes
        self._when_made("tools", "classes", lambda: self._fill_classes(classes))

    def _fill_classes(self, classes: tuple[str, ...]) -> None:
        blocked = self.class_combo.blockSignals(True)
        self.class_combo.clear()
        self.class_combo.addItem(TOP1, None)
        for index, name in enumerate(classes):
            self.class_combo.addItem(name, index)
        self.class_combo.setCurrentIndex(0)
        self.class_combo.setEnabled(bool(classes))
        self.class_combo.blockSignals(blocked)

    def target_class(self) -> int | None:
        """The class chosen in the class box (None: the top-1)."""
        return self.class_combo.currentData()

    def choose_class(self, text: str | int | None) -> bool:
        """Choose a class by its name (any case), its index, or None for the top-1; False if there is none."""
        if text is None or str(text).strip().lower() in ("", TOP1):
            index = 0
        else:
            text = str(text).strip()
            folded = [name.lower() for name in self._classes]
            if text.lower() in folded:
                index = folded.index(text.lower()) + 1
            elif text.isdigit() and int(text) < len(self._classes):
                index = int(text) + 1
            else:
                return False
        self.class_combo.setCurrentIndex(index)
        return True

    def map_method(self) -> str:
        return self.map_combo.currentData()

    def _class_typed(self) -> None:
        text = self.class_combo.currentText()
        shown = self.class_combo.itemText(self.class_combo.currentIndex())
        if text == shown:
            return
        if self.choose_class(text):
            self._class_chosen()
        else:
            self.show_message(f"No class named {text!r}: the maps explain the top-1 class.")
            self.choose_class(None)

    def _class_chosen(self) -> None:
        """A shown class map is redrawn for the class chosen."""
        if self.tool is not None and self.tool.tool in MAPS:
            self.tool_requested.emit(self.tool.tool)

    def _optimize_row(self, page: QWidget) -> QGridLayout:
        """Optimize's settings: its objective (the clicked channel or unit of the layer, the layer, or a class
        the Class: box's), its steps, how many images (pushed apart) and its sign."""
        self.objective = _combo(OBJECTIVES, page, "optimize_objective")
        self.objective.setToolTip("What the optimized image excites most")
        self.optimize_steps = QSpinBox(page)
        self.optimize_steps.setObjectName("optimize_steps")
        self.optimize_steps.setRange(1, 10_000)
        self.optimize_steps.setValue(256)
        self.optimize_steps.setSuffix(" steps")
        self.images_count = QSpinBox(page)
        self.images_count.setObjectName("optimize_images")
        self.images_count.setRange(1, 8)
        self.images_count.setSuffix(" image(s)")
        self.images_count.setToolTip("Several images at once, pushed apart by a diversity term")
        self.negative = QCheckBox("negative", page)
        self.negative.setObjectName("optimize_negative")
        self.negative.setToolTip("Drive the objective down instead")
        row = QGridLayout()  # two to a row, as the buttons above: legible beside both docks at 1024 pixels
        row.addWidget(QLabel("Optimize:", page), 0, 0)
        row.addWidget(self.objective, 0, 1)
        row.addWidget(self.optimize_steps, 0, 2)
        row.addWidget(self.images_count, 1, 1)
        row.addWidget(self.negative, 1, 2)
        row.setColumnStretch(1, 1)
        row.setColumnStretch(2, 1)
        return row

    def optimize_settings(self) -> tuple[str, str, int, int, bool]:
        """(objective, class text, steps, images, negative) as the user set them; the class is the Class: box's
        (its top-1: the class predicted now)."""
        chosen = self.target_class()
        if chosen is None and self.view is not None and self.view.input.predictions:
            chosen = self.view.input.predictions[0][0]
        return (self.objective.currentData(), "" if chosen is None else str(chosen),
                self.optimize_steps.value(), self.images_count.value(), self.negative.isChecked())

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if not self._sized and self.width() > 400:  # the first time: about a quarter for the input column
            self._sized = True
            left = int(max(200, min(340, 0.28 * self.width())))
            self.splitter.setSizes([left, self.width() - left])
            right = self.width() - left
            sizes = [int(0.62 * right), right - int(0.62 * right)]
            self._when_made("maps", "sizes", lambda: self.maps_split.setSizes(sizes))

    # -- what the user asks for ----------------------------------------------------------------------------
    def normalize_mode(self) -> str:
        return next(iter(NORMALIZE)) if self._later.waiting("maps") else self.normalize.currentData()

    def sort_mode(self) -> str:
        return next(iter(SORT)) if self._later.waiting("maps") else self.sort.currentData()

    def set_task(self, task: str) -> None:
        """Only the settings that apply: a detector's box threshold, or a classifier's occlusion square (the row
        stays legible at 1024 pixels)."""
        self._when_made("tools", "task", lambda: self._show_task(task))

    def _show_task(self, task: str) -> None:
        detector = task in ("detection", "instance_segmentation", "keypoints")
        self.threshold.setVisible(detector)
        self.occluder.setVisible(not detector)
        self.stride.setVisible(not detector)

    def box_threshold(self) -> float:
        return float(self.threshold.value())

    def occlusion_settings(self) -> tuple[int, int]:
        return self.occluder.value(), self.stride.value()

    def set_occlusion(self, size: int, stride: int) -> None:
        """The occluding square's size and stride (the user may change them)."""
        def show():
            self.occluder.setValue(size)
            self.stride.setValue(stride)
        self._when_made("tools", "occlusion", show)

    def choose_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open image", str(Path.home()), IMAGE_FILTER)
        if path:
            self.image_file_chosen.emit(path)

    def _clicked_unit(self, c: int, y: int, x: int) -> None:
        if self.mosaic_data is not None:
            self._chosen[self.mosaic_data.layer] = (c, y, x)
        self.choose_unit(c, y, x)

    def forget_units(self) -> None:
        """Another model: no unit chosen on any layer."""
        self._chosen.clear()

    def choose_unit(self, c: int, y: int, x: int) -> None:
        """Enlarge channel ``c`` and ask for the receptive field of unit (c, y, x)."""
        if self.mosaic_data is None:
            return
        self.unit = (c, y, x)
        self.mosaic.mark(c, y, x)
        self.channel.set_channel(self.mosaic_data.values[c], c, self.mosaic_data.layer, (y, x))
        text = f"Tools project unit ({c}, {y}, {x}) of {self.mosaic_data.layer}."
        self._when_made("tools", "unit", lambda: self.tool_unit.setText(text))
        self.unit_chosen.emit(c, y, x)

    def _tool(self, key: str) -> None:
        if key == "gradcam":  # the map button draws the map chosen in "Map:"
            self.tool_requested.emit(self.map_method())
        elif key == "top9":
            folder = QFileDialog.getExistingDirectory(self, "Top-9: a folder of images", str(Path.home()))
            if folder:
                self.folder_chosen.emit(folder)
        else:
            self.tool_requested.emit(key)

    def _choose(self, index: int) -> None:
        if self.tool is not None and self.tool.choices and index >= 0:
            self.choice_requested.emit(self.tool.tool, int(self.choice.itemData(index)))

    def _page(self, key: str) -> None:
        if self.kernels is None:
            return
        (r, c), (rows, cols) = self.kernels.page, self.kernels.pages
        r, c = {"up": (r - 1, c), "down": (r + 1, c), "left": (r, c - 1), "right": (r, c + 1)}[key]
        if 0 <= r < rows and 0 <= c < cols:
            self.kernel_page_requested.emit(r, c)

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if urls and urls[0].isLocalFile():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            event.acceptProposedAction()
            self.image_file_chosen.emit(urls[0].toLocalFile())

    # -- what the lab shows ----------------------------------------------------------------------------------
    def set_samples(self, names: list[str], current: str = "") -> None:
        blocked = self.samples.blockSignals(True)
        self.samples.clear()
        self.samples.addItem("Sample images…", "")
        for name in names:
            self.samples.addItem(name.replace("_", " "), name)
        self.samples.setCurrentIndex(max(0, self.samples.findData(current)))
        self.samples.blockSignals(blocked)

    def show_message(self, text: str) -> None:
        """A message above the views ("" hides it): bad input, a layer with no map …"""
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def set_view(self, view: LabView) -> None:
        self.view = view
        self.set_input(view.input)
        self.set_mosaic(view.mosaic, view.message)
        if view.kernels is not None:
            self.set_kernels(view.kernels)

    def set_input(self, data: InputData) -> None:
        h, w = data.image.shape[:2]
        oh, ow = data.original_size
        self.input_pane.set_title(f"<b>{data.source.removeprefix('sample: ').replace('_', ' ')}</b> "
                                  f"{ow}×{oh} → input {w}×{h}")
        self.input_pane.set_image(data.image)
        if data.predictions:
            rows = "".join(f"<tr><td>{'<b>' if i == 0 else ''}{name}{'</b>' if i == 0 else ''}</td>"
                           f"<td align='right'>&nbsp;{100 * p:.1f} %</td></tr>"
                           for i, (name, p) in enumerate(data.predictions))
            note = f"<br><b>{RANDOM_NOTE}</b>" if self.random_weights else ""
            self.predictions.setText(f"<b>Top-5</b><table>{rows}</table>{note}")
        else:
            self.predictions.setText(data.prediction_note)
        self.steps.setText(f"<b>Preprocessing</b><br>{data.steps}")
        self.set_classes(data.classes)
        self.samples.setCurrentIndex(max(0, self.samples.findData(data.source.removeprefix("sample: "))))

    def set_mosaic(self, data: MosaicData | None, message: str = "") -> None:
        changed_layer = self.mosaic_data is None or data is None or data.layer != self.mosaic_data.layer
        self.mosaic_data = data
        self.maps_message.setText(message)
        self.maps_message.setVisible(data is None)
        self.maps_split.setVisible(data is not None)
        if data is None:
            self.layer_label.setText(message.split(";")[0] if message else "")
            self.mosaic.clear()
            self.channel.set_channel(None)
            self.set_field(None)
            self.unit = None
            return
        self.layer_label.setText(f"Layer: <b>{data.title}</b>")
        self.mosaic.set_data(data)
        h, w = data.tile
        if changed_layer or self.unit is None or self.unit[0] >= data.channels:
            self.unit = None
            self.set_field(None)
            chosen = self._chosen.get(data.layer)
            if chosen is not None and chosen[0] < data.channels and chosen[1] < h and chosen[2] < w:
                # The unit the user clicked on this layer stays chosen, whatever view came in between.
                self.choose_unit(*chosen)
                return
            # A new layer opens on its strongest unit: its channel enlarged, its receptive field drawn.
            # Away from the border where the map allows it: a padded border unit is a poor first example.
            m = 1 if min(h, w) > 4 else 0
            inner = data.values[:, m:h - m, m:w - m]
            c, y, x = np.unravel_index(int(np.argmax(inner)), inner.shape)
            self.choose_unit(int(c), int(y) + m, int(x) + m)
        else:
            c, y, x = self.unit
            self.mosaic.mark(c, y, x)
            self.channel.set_channel(data.values[c], c, data.layer, (y, x))

    def set_field(self, data: FieldData | None) -> None:
        self.field = data
        if data is None:
            self.input_pane.set_box(None)
            self.erf_pane.set_image(None)
            self.erf_pane.set_title("Effective receptive field")
            self.field_label.setText("Click a unit of a feature map: its receptive field is drawn on the input.")
            return
        self.input_pane.set_box(data.box)
        self.erf_pane.set_image(data.erf, self._erf_lut)
        self.erf_pane.set_box(data.box)
        self.erf_pane.set_box(data.erf_box, 1)
        self.erf_pane.set_title("Effective receptive field |∂unit/∂input|")
        top, left, bottom, right = data.box
        c, y, x = data.unit
        self.field_label.setText(
            f"<b>{data.layer}</b> unit ({c}, {y}, {x}) = {data.value:.4g}<br>receptive field {data.text}<br>"
            f"<span style='color:#ff2b2b'>■</span> rows {top}–{bottom - 1}, columns {left}–{right - 1}"
            + ("" if data.erf_box is None else "<br><span style='color:#d4a800'>■</span> non-zero gradient"))

    def set_kernels(self, data: KernelData) -> None:
        self.kernels = data
        self._when_made("kernels", "kernels", lambda: self._show_kernels(data))

    def _show_kernels(self, data: KernelData) -> None:
        self.kernel_title.setText(f"<b>{data.title}</b>" + (f"<br>{data.note}" if data.note else ""))
        self.kernel_pane.set_image(data.image)
        (r, c), (rows, cols) = data.page, data.pages
        paged = rows * cols > 1
        for button in self.page_buttons.values():
            button.setVisible(paged)
        self.page_buttons["up"].setEnabled(r > 0)
        self.page_buttons["down"].setEnabled(r + 1 < rows)
        self.page_buttons["left"].setEnabled(c > 0)
        self.page_buttons["right"].setEnabled(c + 1 < cols)
        self.page_label.setText(f"page {r + 1}/{rows} of outputs, {c + 1}/{cols} of inputs" if paged else "")
        hist = data.histogram
        self.weight_histogram.set_histogram(hist.counts if hist else None, hist.edges if hist else None)
        self.weight_stats.setText(hist.text if hist else "")

    def set_tool_result(self, result: ToolResult) -> None:
        self.tool = result
        self.result_title.setText(f"<b>{result.title}</b>")
        for i, (pane, scale) in enumerate(zip(self.result_panes, self.result_scales)):
            if i < len(result.images):
                caption, image = result.images[i]
                pane.set_title(caption)
                pane.set_image(image)
                pane.show()
            else:
                pane.set_image(None)
                pane.hide()
            bar = result.scales.get(i) if i < len(result.images) else None
            scale.setVisible(bar is not None)
            if bar is not None:
                low, high, name, label = bar
                scale.set_colormap(name)
                scale.set_range(low, high)
                scale.setToolTip(f"{label}: {low:.4g} … {high:.4g}")
        self.result_note.setText(result.note + (f"<br><b>{RANDOM_NOTE}</b>" if self.random_weights else ""))
        self._set_choices(result)

    def _set_choices(self, result: ToolResult) -> None:
        """The boxes found or the classes present, the one explained selected; hidden for the other tools."""
        blocked = self.choice.blockSignals(True)
        self.choice.clear()
        for text, value in result.choices:
            self.choice.addItem(text, value)
        self.choice.setCurrentIndex(max(0, self.choice.findData(result.chosen)))
        self.choice.blockSignals(blocked)
        self.choice_label.setText(CHOICE_LABELS.get(result.tool, "Explain:"))
        for widget in (self.choice_label, self.choice):
            widget.setVisible(bool(result.choices))

    def set_weights_banner(self, random: bool, how: str = "") -> None:
        """Say that the weights are random, and how to get learned ones (``how``)."""
        self.random_weights = random
        self.weights_banner.setText(f"<b>Random weights</b>: an untrained network. Its predictions and the ZFNet "
                                    f"tools mean nothing without learned weights. {how}")
        self.weights_banner.setVisible(random)
        self.predictions.setToolTip(RANDOM_NOTE if random else "")

    def set_busy(self, busy: bool, text: str = "", percent: int = -1) -> None:
        """Progress of a long tool (occlusion, top-9 …) with its Cancel button."""
        self._when_made("tools", "busy", lambda: self._show_busy(busy, text, percent))

    def _show_busy(self, busy: bool, text: str, percent: int) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.progress_label.setText(text)
        self.progress.setRange(0, 0 if percent < 0 else 100)
        self.progress.setValue(max(0, percent))

    def set_colors(self, background: str, foreground: str, error: str) -> None:
        """The theme's colours, on the pages made and on those made later."""
        self._colors = (background, foreground, error)
        for page in [p for p in ("left", "maps", "kernels", "tools") if not self._later.waiting(p)]:
            panes, plots = self._themed(page)
            for pane in panes:
                pane.set_background(background)
            for plot in plots:
                plot.set_colors(background, foreground)
        self.message.setStyleSheet(f"QLabel#lab_message {{ color: {error}; font-weight: bold; padding: 3px; }}")
        self.weights_banner.setStyleSheet(f"QLabel#weights_banner {{ color: {error}; border: 2px solid {error}; "
                                          "padding: 4px; }")
