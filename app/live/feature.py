"""The live view as a feature: its tab (View › Live, Ctrl+4), built the first time it is opened (OpenCV,
pyqtgraph and, in its threads, torch, which the window need not wait for), and the commands detect and
bench-live. The pipeline runs only while the tab is shown."""

from cnn_explorer.app.core.features import Feature, Tab


def _make(ctx):
    from cnn_explorer.app.live.controller import LiveController

    return LiveController(ctx)


FEATURE = Feature(name="live", make=_make,
                  tab=Tab("Live", "Li&ve (camera, video, detectors)", "Ctrl+4", "Opening the live view…",
                          wide=True, own_model=True),
                  cli="cnn_explorer.app.live.cli",
                  keys=(("Pause / resume the picture", "Space"), ("Save the picture as shown (PNG)", "Ctrl+S")))
