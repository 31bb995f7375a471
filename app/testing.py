"""A pytest plugin for people who test with the explorer (and for our own tests), as napari gives
``make_napari_viewer``: the ``make_explorer`` fixture opens explorer windows on a model and closes them after
the test, and fails the test when a window or one of the explorer's threads outlives it.

Installed with the package (``pytest11`` entry point ``cnn_explorer``); it needs pytest-qt's ``qtbot``::

    def test_my_view(make_explorer):
        window = make_explorer("lenet5")
        assert window.current_model() == "lenet5"

Nothing here imports Qt or torch until a test asks for a window, so that test runs without Qt keep working.
"""

from __future__ import annotations

import threading

import pytest

LOAD_TIMEOUT_MS = 120_000
THREAD_PREFIX = "cnn-explorer"  # the explorer's threads are named so


def loaded(window, model: str | None) -> bool:
    """The window shows ``model`` (any model when None), and nothing is loading."""
    return (not window.is_loading() and window.current_result() is not None
            and (model is None or window.current_model() == model))


@pytest.fixture(scope="session")
def explorer_cache(tmp_path_factory):
    """One cache folder (the zoo's parameter counts) for the session: the zoo is counted once, not per test."""
    return tmp_path_factory.mktemp("explorer-cache")


@pytest.fixture
def explorer_settings(tmp_path, monkeypatch):
    """The user's settings, in a folder of the test's own."""
    from PySide6.QtCore import QSettings

    config = tmp_path / "config"
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(config))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    return config


@pytest.fixture
def make_explorer(qtbot, explorer_settings, explorer_cache):
    """``make_explorer(model="alexnet", *, weights="random", size=(1400, 900), fit_docks=False, wait=True,
    **MainWindow options)``: an explorer window, shown, with ``model`` loaded (unless ``wait`` is False)."""
    from cnn_explorer.app.window.main_window import MainWindow

    windows = []

    def make(model: str | None = "alexnet", *, weights: str = "random", size: tuple[int, int] | None = (1400, 900),
             fit_docks: bool = False, wait: bool = True, **options) -> MainWindow:
        options.setdefault("cache_dir", explorer_cache)
        window = MainWindow(model, weights=weights, **options)
        qtbot.addWidget(window)
        windows.append(window)
        if size is not None:  # as --size does: after the window is built
            window.resize(*size)
            if fit_docks:
                window.fit_docks()
        window.show()
        qtbot.waitExposed(window)
        if wait:
            qtbot.waitUntil(lambda: loaded(window, model), timeout=LOAD_TIMEOUT_MS)
        return window

    yield make
    for window in windows:
        window.close()
    from PySide6.QtWidgets import QApplication

    # What the test opened itself and left open, and the threads of any window.
    shown = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
    for window in shown:
        window.close()
    left = [t.name for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX)]
    if left or shown:
        pytest.fail(f"the test left {len(shown)} explorer window(s) open and threads {left} running",
                    pytrace=False)
