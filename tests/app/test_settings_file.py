"""The settings file is data, never code: a value that Qt would deserialize as a Python object (PySide6
unpickles ``@Variant(… PySide::PyObjectWrapper …)``) is dropped with a warning before Qt reads the file, and the
window opens with the default."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from processes import interrupt_window
from PySide6.QtCore import QSettings

from cnn_explorer.app.window.main_window import MainWindow
from cnn_explorer.app.window.settings import APPLICATION, ORGANIZATION, app_settings

PLANT = textwrap.dedent("""
    import os, sys
    from PySide6.QtCore import QSettings

    class Payload:
        def __reduce__(self):
            return (os.system, ("touch " + sys.argv[2],))

    settings = QSettings(sys.argv[1], QSettings.IniFormat)
    settings.setValue("theme", Payload())
    settings.setValue("font_scale", 1.25)
    settings.setValue("last_model", "lenet5")
    settings.sync()
""")


def plant(ini, marker, truncate: bool = False) -> None:
    """Write a settings file as an attacker would, with QSettings.setValue in another process."""
    ini.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-c", PLANT, str(ini), str(marker)], check=True, timeout=120,
                   env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    marker.unlink(missing_ok=True)  # QSettings.sync() read the file back in the planting process
    text = ini.read_text()
    assert "@Variant(" in text and "PyObjectWrapper" in text
    if truncate:  # a value cut short: unpickling it raised on every start
        start = text.index("theme=")
        end = text.index("\n", start)
        ini.write_text(text[:start] + text[start:end][:60] + "\n" + text[end + 1:])


@pytest.fixture
def user_settings(tmp_path, monkeypatch):
    config = tmp_path / "config"
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(config))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    return config / ORGANIZATION / f"{APPLICATION}.ini"


def test_a_value_planted_in_a_fallback_file_is_never_read(tmp_path, user_settings):
    """Qt reads an organization-wide file beside the application's (``CNN Explorer.ini``) as a fallback."""
    marker = tmp_path / "PWNED"
    plant(user_settings.parent.with_suffix(".ini"), marker)
    settings = app_settings()
    assert settings.value("theme") is None and settings.value("font_scale") is None
    assert not marker.exists()


@pytest.mark.parametrize("truncate", [False, True], ids=["pickle", "truncated pickle"])
def test_a_planted_settings_value_runs_nothing_and_the_window_opens(qtbot, tmp_path, user_settings, capfd, truncate):
    marker = tmp_path / "PWNED"
    plant(user_settings, marker, truncate)
    settings = app_settings()
    window = MainWindow(None, weights="random", settings=settings, cache_dir=tmp_path / "cache")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: window.current_model() == "lenet5" and not window.is_loading(), timeout=120_000)
    assert not marker.exists()
    assert window.classroom.theme() == "light"  # the default, in place of the dropped value
    assert window.classroom.font_scale() == 1.25  # the plain values are kept
    err = capfd.readouterr().err
    assert "ignoring the setting 'theme'" in err and "Traceback" not in err
    assert "@Variant(" not in user_settings.read_text()
    window.close()


def test_the_real_start_up_runs_no_planted_value(tmp_path):
    """As a user starts it: ``cnn-explorer`` with the planted file in the user's config folder; Ctrl+C once the
    window is up and loading its model."""
    config = tmp_path / "config"
    marker = tmp_path / "PWNED"
    plant(config / ORGANIZATION / f"{APPLICATION}.ini", marker)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "CNN_EXPLORER_OFFLINE": "1", "XDG_CONFIG_HOME": str(config),
           "CNN_EXPLORER_CACHE_DIR": str(tmp_path / "cache")}
    ended = interrupt_window(env, "--weights", "random")
    err = ended.stderr
    assert not marker.exists()
    assert ended.returncode == 130, err
    assert "ignoring the setting 'theme'" in err and "Traceback" not in err
