"""Opening a model file from the window: File › Open model file… (Ctrl+O), a file dropped on the window, and File ›
Open recent. A file that runs code (a ``.py``, a ``.pt2``, TorchScript) is opened only once the user has said
that they trust it, which is remembered per content hash, as torch.hub's trust prompt does. A file that does not
state its input shape gets a question for it. The opening itself is the session's (on the model's thread)."""

from __future__ import annotations

import ast
from pathlib import Path

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMenu, QMessageBox

from cnn_explorer.models.digest import file_sha256

RECENT_KEY, TRUSTED_KEY = "recent_model_files", "trusted_model_files"
RECENT_MAX = 8
CODE_SUFFIXES = (".py", ".pt2", ".pt", ".ts", ".jit", ".torchscript")  # opening them runs or unpickles code
FILTER = ("Models (*.onnx *.pt2 *.pt *.ts *.jit *.torchscript *.py);;ONNX (*.onnx);;torch.export (*.pt2);;"
          "TorchScript (*.pt *.ts *.jit *.torchscript);;Python code (*.py);;All files (*)")


def recent_menu(file_menu, after) -> QMenu:
    """File › Open recent, placed after the action ``after``."""
    menu = QMenu("Open &recent", file_menu)
    menu.setObjectName("recent_menu")
    actions = file_menu.actions()
    following = actions[actions.index(after) + 1] if after in actions and actions[-1] is not after else None
    file_menu.insertMenu(following, menu) if following is not None else file_menu.addMenu(menu)
    return menu


def module_names(path: str) -> list[str]:
    """The classes, then the functions, that ``path`` defines at its top level (read, not run)."""
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"), path)
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return []
    classes = [n.name for n in tree.body if isinstance(n, ast.ClassDef)]
    functions = [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")]
    return classes + functions


def code_file(spec: str) -> str | None:
    """The file whose opening runs code, for ``spec``; None for data (ONNX)."""
    from cnn_explorer.models.files.spec import parse_spec

    parsed = parse_spec(spec)
    if parsed is None or parsed.kind == "module":
        return None
    return parsed.path if parsed.path.lower().endswith(CODE_SUFFIXES) else None


class ModelFiles(QObject):
    """The window's model files: the dialog, the trust question, the recent list, the input shape question, and
    a model file dropped on the window (a picture dropped on the lab goes to the lab)."""

    def __init__(self, parent, settings, open_model, recent_menu):
        super().__init__(parent)
        self.parent, self.settings, self.open_model, self.recent_menu = parent, settings, open_model, recent_menu
        self.fill_recent()
        parent.setAcceptDrops(True)
        parent.installEventFilter(self)

    # -- the list of recent files ------------------------------------------------------------------------------
    def recent(self) -> list[str]:
        value = self.settings.value(RECENT_KEY, [])
        values = [value] if isinstance(value, str) else list(value or [])
        return [v for v in values if isinstance(v, str) and v][:RECENT_MAX]

    def _remember(self, spec: str) -> None:
        self.settings.setValue(RECENT_KEY, [spec] + [s for s in self.recent() if s != spec][:RECENT_MAX - 1])
        self.fill_recent()

    def fill_recent(self) -> None:
        menu = self.recent_menu
        menu.clear()
        for spec in self.recent():
            action = menu.addAction(spec)
            action.triggered.connect(lambda checked=False, s=spec: self.open(s))
        menu.setEnabled(bool(self.recent()))

    # -- opening -------------------------------------------------------------------------------------------------
    def choose(self) -> None:
        """File › Open model file…: a file, and for Python code the class or function that makes the model."""
        path, _ = QFileDialog.getOpenFileName(self.parent, "Open model file", str(Path.cwd()), FILTER)
        if path:
            self.open_path(path)

    def open_path(self, path: str) -> bool:
        """A chosen or dropped file (a ``.py`` asks which of its names makes the model)."""
        spec = path
        if path.lower().endswith(".py"):
            names = module_names(path)
            if not names:
                QMessageBox.warning(self.parent, "Open model file",
                                    f"{Path(path).name} defines no class or function that could make a model.")
                return False
            name, ok = QInputDialog.getItem(self.parent, "Open model file",
                                            f"The class (or function) of {Path(path).name} that makes the model:",
                                            names, 0, False)
            if not ok:
                return False
            spec = f"{path}:{name}"
        return self.open(spec)

    def open(self, spec: str, input_shape=None) -> bool:
        """Open ``spec`` once the user trusts the code it runs; False when they do not."""
        if not self.trusted(spec):
            return False
        from cnn_explorer.models.zoo.user import forget_entry, remember_options

        forget_entry(spec)  # the file is read again: it may have changed since it was last opened
        if input_shape is not None:
            remember_options(spec, input_shape=input_shape)
        self._remember(spec)
        return self.open_model(spec) is not None

    def trusted(self, spec: str) -> bool:
        """Data opens at once; code the first time only when the user says so (remembered by content)."""
        path = code_file(spec)
        if path is None:
            return True
        try:
            digest = file_sha256(path)
        except OSError:
            return True  # opening it will say why it cannot be read
        known = self.settings.value(TRUSTED_KEY, [])
        known = [known] if isinstance(known, str) else list(known or [])
        if digest in known:
            return True
        answer = QMessageBox.question(
            self.parent, "Open model file",
            f"This runs code from {path}. Open only files you trust.\n\nOpen it?",
            QMessageBox.Open | QMessageBox.Cancel, QMessageBox.Cancel)
        if answer != QMessageBox.Open:
            return False
        self.settings.setValue(TRUSTED_KEY, known + [digest])
        return True

    def ask_input_shape(self, spec: str, message: str) -> bool:
        """The file does not state its input: ask for one, and open it again with it."""
        text, ok = QInputDialog.getText(self.parent, "Input shape", f"{message}\n\nInput shape (C×H×W):",
                                        text="3x224x224")
        if not ok:
            return False
        from cnn_explorer.app.model_options import input_shape

        try:
            shape = input_shape(text)
        except Exception as error:  # noqa: BLE001 - argparse's error: its message
            QMessageBox.warning(self.parent, "Input shape", str(error))
            return False
        return self.open(spec, input_shape=shape)

    # -- dropping ------------------------------------------------------------------------------------------------
    @staticmethod
    def is_model_path(path: str) -> bool:
        return path.lower().endswith((".onnx", ".pt2", ".pt", ".ts", ".jit", ".torchscript", ".py"))

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        if watched is self.parent and event.type() in (QEvent.DragEnter, QEvent.Drop):
            paths = [url.toLocalFile() for url in event.mimeData().urls()] if event.mimeData().hasUrls() else []
            path = next((p for p in paths if self.is_model_path(p)), None)
            if path is None:
                return False
            event.acceptProposedAction()
            if event.type() == QEvent.Drop:
                self.open_path(path)  # code asks first: a dropped file is never run without the question
            return True
        return False
