"""The microscope's window (View › Atlas): the selected layer's channels over a folder, a channel at a time, arrow keys stepping,
and a clicked example opened in the lab at its unit (the trained LeNet-5)."""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt

from cnn_explorer.models.lab.datasets import digits_split

TIMEOUT_MS = 120_000


def test_the_microscope_steps_channels_and_opens_an_example_in_the_lab(qtbot, make_explorer, tmp_path,
                                                                        monkeypatch):
    monkeypatch.setenv("CNN_EXPLORER_CACHE_DIR", str(tmp_path / "cache"))
    _, _, x_test, _ = digits_split()
    folder = tmp_path / "digits"
    folder.mkdir()
    for i, x in enumerate(x_test[:16]):
        Image.fromarray(x, "L").save(folder / f"d{i:02d}.png")
    window = make_explorer("lenet5_digits", weights="pretrained")
    qtbot.waitUntil(lambda: not window.runner.is_busy(), timeout=TIMEOUT_MS)
    assert window.select_layer("features.3")
    atlas = window.feature("atlas")
    window.action_map["atlas_open"].trigger()
    assert atlas.window.isVisible()
    view = atlas.window.view
    with qtbot.waitSignal(atlas.shown, timeout=TIMEOUT_MS):
        atlas.run(str(folder), 3, False)
    assert "features.3 channel 0 (1 of 16)" in view.title.text() and len(view.buttons) == 6
    assert "16 images" in atlas.window.status.text()
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert view.channel().channel == 1
    # The top example is the image where channel 1 responds most, by brute force.
    lab = window.feature("lab")
    best = max(sorted(folder.glob("*.png")), key=lambda p: _max(p, 1))
    assert view.channel().top[0].file == str(best)
    example = view.channel().top[0]
    with qtbot.waitSignal(lab.field_shown, timeout=TIMEOUT_MS):
        qtbot.mouseClick(view.buttons[0], Qt.MouseButton.LeftButton)
    assert window.host.is_current("lab")
    assert lab.panel.view.input.source == best.name and lab.panel.field.unit == example.unit


def _max(path, channel) -> float:
    from cnn_explorer.models.lab.activations import LabModel
    from cnn_explorer.models.zoo.loader import load_model

    lab = getattr(_max, "lab", None) or LabModel(load_model("lenet5_digits"))
    _max.lab = lab
    return float(lab.feature_map(np.asarray(Image.open(path).convert("RGB")), "features.3")[channel].max())


def test_the_first_pass_shows_its_progress_and_cancel_stops_it_caching_nothing(qtbot, make_explorer, tmp_path,
                                                                               monkeypatch):
    """The pass is held after its first batch (until Cancel is pressed), so that Cancel always comes during it,
    however fast the machine."""
    import threading

    from cnn_explorer.app.lab import jobs as lab_jobs

    cache = tmp_path / "cache"
    monkeypatch.setenv("CNN_EXPLORER_CACHE_DIR", str(cache))
    _, _, x_test, _ = digits_split()
    folder = tmp_path / "digits"
    folder.mkdir()
    for i, x in enumerate(x_test[:64]):
        Image.fromarray(x, "L").save(folder / f"d{i:02d}.png")
    pressed = threading.Event()
    real = lab_jobs._cancellable

    def held(job, what):
        report = real(job, what)

        def progress(done, total):
            report(done, total)
            if what.endswith("images") and done < total:
                pressed.wait(TIMEOUT_MS / 1000)
        return progress

    monkeypatch.setattr(lab_jobs, "_cancellable", held)
    window = make_explorer("lenet5_digits", weights="pretrained")
    qtbot.waitUntil(lambda: not window.runner.is_busy(), timeout=TIMEOUT_MS)
    assert window.select_layer("features.3")
    atlas = window.feature("atlas")
    panel = atlas.open()
    try:
        atlas.run(str(folder), 3, False)
        qtbot.waitUntil(lambda: panel.progress.isVisible() and panel.progress.value() > 0, timeout=TIMEOUT_MS)
        assert "Microscope: images 16/64" in panel.status.text()
        assert panel.cancel.isEnabled() and not panel.run.isEnabled()
        qtbot.mouseClick(panel.cancel, Qt.MouseButton.LeftButton)
    finally:
        pressed.set()
    qtbot.waitUntil(lambda: panel.status.text() == "Cancelled.", timeout=TIMEOUT_MS)
    assert not panel.progress.isVisible() and panel.run.isEnabled() and not panel.cancel.isEnabled()
    assert panel.view.channel() is None and not list(cache.rglob("*.npz"))  # nothing shown, nothing cached
    with qtbot.waitSignal(atlas.shown, timeout=TIMEOUT_MS):  # and the next run goes through
        atlas.run(str(folder), 3, False)
    assert "64 images" in panel.status.text() and panel.view.channel().channel == 0
