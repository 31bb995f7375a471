"""The Microscope tab: a folder, how many examples, whether to optimize, Run/Cancel, a status line, and the
view (``view.py``). Signals only; app/atlas/controller.py runs the work."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QFileDialog, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSpinBox,
                               QVBoxLayout, QWidget)

from cnn_explorer.widgets.atlas.view import AtlasView


class AtlasPanel(QWidget):
    run_requested = Signal(str, int, bool)  # folder, k, optimize
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.folder = ""
        self.choose = QPushButton("Folder…")
        self.choose.setToolTip("The folder of images whose examples the microscope shows")
        self.folder_label = QLabel("no folder")
        self.k = QSpinBox()
        self.k.setRange(1, 64)
        self.k.setValue(9)
        self.k.setPrefix("k = ")
        self.k.setToolTip("Examples per channel, strongest and weakest")
        self.optimize = QCheckBox("Optimized images")
        self.optimize.setChecked(True)
        self.optimize.setToolTip("Beside the examples, each channel's optimized image (slower)")
        self.run = QPushButton("Run")
        self.cancel = QPushButton("Cancel")
        self.cancel.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.status = QLabel("The microscope: every channel of the selected layer, its dataset examples.")
        self.status.setWordWrap(True)
        self.view = AtlasView(self)
        row = QHBoxLayout()
        for widget in (self.choose, self.folder_label, self.k, self.optimize, self.run, self.cancel):
            row.addWidget(widget)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.view, 1)
        self.choose.clicked.connect(self._choose)
        self.run.clicked.connect(self._run)
        self.cancel.clicked.connect(self.cancel_requested)

    def set_folder(self, folder: str) -> None:
        self.folder = folder
        self.folder_label.setText(folder.rstrip("/").rsplit("/", 1)[-1] or folder)
        self.folder_label.setToolTip(folder)

    def _choose(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "A folder of images", self.folder)
        if folder:
            self.set_folder(folder)
            self._run()

    def _run(self) -> None:
        if not self.folder:
            self.status.setText("Choose a folder of images first (Folder…).")
            return
        self.run_requested.emit(self.folder, self.k.value(), self.optimize.isChecked())

    def set_busy(self, busy: bool, text: str = "", percent: int = -1) -> None:
        self.run.setEnabled(not busy)
        self.cancel.setEnabled(busy)
        self.progress.setVisible(busy)
        self.progress.setRange(0, 0 if percent < 0 else 100)
        if percent >= 0:
            self.progress.setValue(percent)
        if text:
            self.status.setText(text)
