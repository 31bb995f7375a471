"""The microscope (issue 21 §2) as a feature: View › Atlas (Ctrl+7) opens its window, every channel's dataset
examples beside its optimized image, and the command ``atlas`` (app/atlas/cli.py). A window of its own rather
than a seventh tab: six tabs already fill the bar at 1024 px and a font scale of 1.25."""

from cnn_explorer.app.core.features import ActionSpec, Feature


def _make(ctx):
    from cnn_explorer.app.atlas.controller import AtlasController

    return AtlasController(ctx)


FEATURE = Feature(name="atlas", make=_make, cli="cnn_explorer.app.atlas.cli",
                  actions=(ActionSpec("atlas_open", "&Atlas: every channel's dataset examples…",
                                      lambda ctx: ctx.features.controller("atlas").open(), keys=("Ctrl+7",),
                                      menu="View", section="tabs",
                                      tip="The microscope of the selected layer over a folder of images"),),
                  keys=(("Atlas: previous / next channel", "← ↑ / → ↓"),))
