"""``cnn-explorer MODEL --screenshot FILE``: the window opens, waits until the view is ready, saves a picture
and exits; run as a script runs it, in a separate process on the offscreen platform."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from PySide6.QtGui import QImage
from processes import interrupt_window


@pytest.fixture
def gui_env(tmp_path, tmp_path_factory):
    cache = tmp_path_factory.getbasetemp() / "screenshot-cache"  # the zoo's parameter counts, shared
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen", "CNN_EXPLORER_OFFLINE": "1",
            "XDG_CONFIG_HOME": str(tmp_path / "config"), "CNN_EXPLORER_CACHE_DIR": str(cache)}


def explorer(env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cnn_explorer.app.cli", *args], capture_output=True,
                          text=True, env=env, timeout=600)


def distinct_colours(image: QImage, step: int = 7) -> int:
    return len({image.pixel(x, y) for x in range(0, image.width(), step) for y in range(0, image.height(), step)})


@pytest.mark.slow
def test_screenshot_of_the_graph_and_of_the_table(gui_env, tmp_path):
    graph_png, table_png = tmp_path / "graph.png", tmp_path / "table.png"
    result = explorer(gui_env, "squeezenet1_0", "--weights", "random", "--size", "1024x768",
                      "--screenshot", str(graph_png))
    assert result.returncode == 0, result.stderr
    image = QImage(str(graph_png))
    assert (image.width(), image.height()) == (1024, 768)
    assert distinct_colours(image) > 20  # a drawn window, not a blank one

    result = explorer(gui_env, "squeezenet1_0", "--weights", "random", "--view", "summary", "--size", "1024x768",
                      "--screenshot", str(table_png))
    assert result.returncode == 0, result.stderr
    assert QImage(str(table_png)).size() == image.size()
    assert QImage(str(table_png)) != image  # the table, not the graph again


def test_screenshot_of_an_unknown_model_is_a_one_line_error(gui_env, tmp_path):
    out = tmp_path / "x.png"
    result = explorer(gui_env, "resnet51", "--weights", "random", "--screenshot", str(out))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "unknown model 'resnet51'" in result.stderr and "resnet50" in result.stderr
    assert not out.exists()

    result = explorer(gui_env, "alexnet", "--screenshot", str(tmp_path / "missing" / "x.png"))
    assert result.returncode == 2 and "does not exist" in result.stderr


@pytest.mark.slow
def test_select_in_a_screenshot_shows_a_block_under_unfold_all_and_refuses_an_unknown_layer(gui_env, tmp_path):
    # The README's example: a block selected while every block is unfolded (drawn as a frame) is in sight.
    shot = tmp_path / "shot.png"
    result = explorer(gui_env, "googlenet", "--weights", "random", "--size", "1024x768", "--theme", "dark",
                      "--unfold-all", "--select", "inception4a", "--screenshot", str(shot))
    assert result.returncode == 0, result.stderr
    image = QImage(str(shot))
    assert (image.width(), image.height()) == (1024, 768)
    w, h = image.width(), image.height()  # the graph's area, between the docks, under the tabs, clear of the minimap
    graph = {image.pixel(x, y) for x in range(int(0.27 * w), int(0.68 * w), 3)
             for y in range(int(0.2 * h), int(0.9 * h), 3)}
    assert len(graph) > 50, "the graph area is blank"

    out = tmp_path / "none.png"
    # conv1 is AlexNet's first layer in the lecture's words (tests/app/test_vocabulary.py); conv9 is no layer at all.
    result = explorer(gui_env, "alexnet", "--weights", "random", "--select", "conv9", "--screenshot", str(out))
    assert result.returncode == 2
    assert result.stderr.splitlines() == ["cnn-explorer: error: no layer 'conv9' in alexnet"]  # and no Triton noise
    assert not out.exists()


@pytest.mark.slow
def test_a_screenshot_leaves_the_users_settings_alone(gui_env, tmp_path):
    config = tmp_path / "config" / "CNN Explorer"
    config.mkdir(parents=True)
    ini = config / "cnn-explorer.ini"
    ini.write_text("[General]\ntheme=dark\nfont_scale=1.25\nlast_model=resnet18\n")
    before = ini.read_text()
    temp = tmp_path / "tmp"
    temp.mkdir()
    result = explorer({**gui_env, "TMPDIR": str(temp)}, "squeezenet1_0", "--weights", "random", "--theme",
                      "high_contrast", "--font-scale", "2", "--size", "1024x768", "--screenshot",
                      str(tmp_path / "shot.png"))
    assert result.returncode == 0, result.stderr
    assert ini.read_text() == before
    assert not [p.name for p in temp.iterdir() if p.name.startswith("cnn-explorer-settings-")]  # its scratch settings


@pytest.mark.slow
def test_ctrl_c_closes_the_window_and_exits_130(gui_env, tmp_path):
    ended = interrupt_window(gui_env, "alexnet", "--weights", "random")
    err = ended.stderr
    assert ended.returncode == 130 and "Traceback" not in err
    assert "nanobind" not in err, err[:300]  # Triton's bindings complain at the interpreter's teardown
