"""The microscope (issue 21 §2) as a feature: its tab (View › Microscope, Ctrl+7) showing every channel's
dataset examples beside its optimized image, and the command ``atlas`` (app/atlas/cli.py)."""

from cnn_explorer.app.core.features import Feature, Tab


def _make(ctx):
    from cnn_explorer.app.atlas.controller import AtlasController

    return AtlasController(ctx)


FEATURE = Feature(name="atlas", make=_make,
                  tab=Tab("Microscope", "&Microscope (every channel's dataset examples)", "Ctrl+7",
                          "Opening the microscope…"),
                  cli="cnn_explorer.app.atlas.cli",
                  keys=(("Microscope: previous / next channel", "← ↑ / → ↓"),))
