"""These tests run with Qt blocked (``tests/test_qt_free.py`` runs them in a subprocess): the session, the
request runner, the view data, the fold state and the caches must work without PySide6."""

import sys

import pytest


class _NoQt:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("PySide6", "pyqtgraph", "shiboken6"):
            raise ImportError(f"{name} is blocked for the Qt-free tests")


if not any(isinstance(finder, _NoQt) for finder in sys.meta_path):
    sys.meta_path.insert(0, _NoQt())


@pytest.fixture(autouse=True)
def _qt_is_blocked():
    assert "PySide6" not in sys.modules, "a Qt-free test imported PySide6"
    yield
    assert "PySide6" not in sys.modules, "a Qt-free test imported PySide6"
