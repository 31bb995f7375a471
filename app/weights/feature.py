"""Published weight files brought offline: File › Weights › Import weight files… and the command
``weights import FILE…`` / ``weights list``."""

from cnn_explorer.app.core.features import ActionSpec, Feature


def _make(ctx):
    from cnn_explorer.app.weights.importer import WeightsImporter

    return WeightsImporter(ctx)


FEATURE = Feature(
    name="weights", make=_make, cli="cnn_explorer.app.weights.cli",
    actions=(ActionSpec("weights_import", "&Import weight files…",
                        lambda ctx: ctx.features.controller("weights").choose(), menu="File/&Weights", section="weights",
                        tip="Published weight files brought on a USB stick: checked against the hash in their names"),))
