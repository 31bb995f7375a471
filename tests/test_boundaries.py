"""The rooms of the code keep to themselves: models/ runs without Qt, widgets/ without torch."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "models": {"PySide6", "pyqtgraph", "shiboken6", "cnn_explorer.widgets", "cnn_explorer.app"},
    "app/core": {"PySide6", "pyqtgraph", "shiboken6"},
    "widgets": {"torch", "torchvision", "timm", "cnn_explorer.models", "cnn_explorer.app"},
}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_import_contracts_hold():
    # import-linter cannot follow the cnn_explorer.* package-dir mapping, so the contract is read here.
    broken = []
    for room, forbidden in FORBIDDEN.items():
        for path in sorted((ROOT / room).rglob("*.py")):
            for name in _imports(path):
                if any(name == f or name.startswith(f + ".") for f in forbidden):
                    broken.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not broken


# models/ without Qt: tests/qt_free/test_models_without_qt.py, in test_qt_free.py's process where Qt is blocked.


# The import names of the packages the project's code imports, and the distributions that provide them.
DISTRIBUTIONS = {"PIL": "pillow", "PySide6": "pyside6-essentials", "cv2": "opencv-python-headless",
                 "skimage": "scikit-image", "sklearn": "scikit-learn", "igraph": "igraph",
                 "pytorch_grad_cam": "grad-cam"}


def test_every_package_the_code_imports_is_declared():
    """A package the code imports only because another one pulls it in (matplotlib came with Captum, Pillow
    with torchvision) breaks when that one stops: pyproject.toml names each."""
    import re

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {re.split(r"[<>=!~;\[ ]", spec, maxsplit=1)[0].strip().lower() for spec in project["dependencies"]}
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    missing = set()
    for room in ("app", "widgets", "models"):
        for path in sorted((ROOT / room).rglob("*.py")):
            for name in _imports(path):
                top = name.split(".")[0]
                if top in stdlib or top == "cnn_explorer" or (top == "pytest" and path.name == "testing.py"):
                    continue  # (app/testing.py is a pytest plugin: only pytest loads it)
                distribution = DISTRIBUTIONS.get(top, top).lower().replace("_", "-")
                if distribution not in declared:
                    missing.add(f"{top} ({path.relative_to(ROOT)})")
    assert not missing, sorted(missing)


# Qt-free modules outside models/ and app/core: the pure data and arithmetic of widgets/ (what worker threads and
# the command line use), each feature's declaration (the command line reads it), jobs and commands.
QT_FREE_WIDGETS = ("common/files", "common/format", "common/placement", "graph/data", "graph/layout",
                   "graph/fold_state",
                   "explorer/layer_info", "lab/data")


def test_the_qt_free_rooms_import_without_qt():
    modules = ["cnn_explorer.app.cli", *(f"cnn_explorer.widgets.{m.replace('/', '.')}" for m in QT_FREE_WIDGETS)]
    for folder in sorted(p for p in (ROOT / "app").iterdir() if p.is_dir() and p.name != "__pycache__"):
        for name in ("feature", "jobs", "cli"):
            if (folder / f"{name}.py").is_file():
                modules.append(f"cnn_explorer.app.{folder.name}.{name}")
    modules += [f"cnn_explorer.app.core.{p.stem}" for p in sorted((ROOT / "app/core").glob("*.py"))
                if p.stem != "__init__"]
    assert "cnn_explorer.app.lab.feature" in modules and "cnn_explorer.app.lab.jobs" in modules
    script = textwrap.dedent(f"""
        import importlib, sys
        class NoQt:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("PySide6", "pyqtgraph", "shiboken6"):
                    raise ImportError(f"{{name}} is blocked for this test")
        sys.meta_path.insert(0, NoQt())
        for name in {modules!r}:
            importlib.import_module(name)
        from cnn_explorer.app.core.features import cli_modules, features
        assert len(features()) >= 5 and cli_modules()
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
