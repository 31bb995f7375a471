"""The microscope (issue 21 §2): every channel's dataset examples beside its optimized image. For now the
command ``atlas`` (app/atlas/cli.py); the window's view is still to come."""

from cnn_explorer.app.core.features import Feature, QuietController

FEATURE = Feature(name="atlas", make=lambda ctx: QuietController(), cli="cnn_explorer.app.atlas.cli")
