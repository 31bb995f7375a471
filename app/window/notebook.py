"""``cnn_explorer.show(model)``: the explorer window on an ``nn.Module`` of this Python session, with its current
weights; nothing of the model is written to disk (no file, no analysis cache).

In IPython or Jupyter, Qt's event loop is started through IPython's GUI integration and ``show`` returns at once,
as ``napari.view_image`` does; in a plain script it blocks until the window is closed."""

from __future__ import annotations

import atexit
import sys
from pathlib import Path


def _ipython():
    shell = sys.modules.get("IPython")
    get = getattr(shell, "get_ipython", None) if shell is not None else None
    return get() if get is not None else None


def show(model, image=None, input_shape=None, categories=None, *, block: bool | None = None, name: str | None = None):
    """Open the explorer on ``model`` (an ``nn.Module`` taking a batch of ``input_shape``, (C, H, W); default: the
    model's ``input_shape`` attribute, else 3×224×224). ``image``: a picture file for the lab. ``categories``: the
    class names. ``block``: wait for the window to close (default: not in IPython, yes elsewhere). Returns the
    window."""
    from cnn_explorer.app.window.gui_thread import application
    from cnn_explorer.app.window.settings import APPLICATION, ORGANIZATION, remove_scratch, scratch_settings
    from cnn_explorer.models.runtime.torch_import import install
    from cnn_explorer.models.zoo.user import register_object

    if image is not None and not Path(image).is_file():
        raise FileNotFoundError(f"no picture file {image}")
    install()
    entry = register_object(model, input_shape=input_shape, categories=categories, name=name)
    app = application(sys.argv[:1] or ["cnn-explorer"])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    shell = _ipython()
    if shell is not None:
        shell.enable_gui("qt")  # IPython runs Qt's event loop between cells
    from cnn_explorer.app.window.main_window import MainWindow

    # The user's settings are not changed by a notebook's window: its settings are a scratch copy, removed at exit.
    atexit.register(remove_scratch)
    window = MainWindow(entry.name, weights="pretrained", view="lab" if image is not None else "graph",
                        settings=scratch_settings(), restore_geometry=False)
    if image is not None:
        window.feature("lab").open_file(str(image))
    window.show()
    window.raise_()
    if block if block is not None else shell is None:
        app.exec()
    return window
