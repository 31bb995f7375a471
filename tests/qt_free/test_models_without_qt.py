"""models/ runs without Qt: every module of it imports, and a model is summarized, in this process where
PySide6, pyqtgraph and shiboken6 cannot be imported (tests/qt_free/conftest.py blocks them)."""

from __future__ import annotations

import importlib
import pkgutil


def test_models_work_with_qt_absent():
    import cnn_explorer.models as models

    for info in pkgutil.walk_packages(models.__path__, "cnn_explorer.models."):
        importlib.import_module(info.name)
    from cnn_explorer.models.zoo.loader import load_model, summarize

    assert summarize(load_model("lenet5", weights="random")).total_params == 61706
