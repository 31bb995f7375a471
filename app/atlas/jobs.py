"""The microscope's job, run by the request runner on the thread that owns the model (no Qt here): the
``LabModel`` of the lab's jobs, models/lab/atlas.py, plain data out (widgets/atlas/view.py)."""

from __future__ import annotations

from pathlib import Path

OPTIMIZE_STEPS = 32  # a preview beside the examples: a channel's image in a second or two on a CPU


def microscope(job, folder: str, layer: str, k: int, optimize: bool):
    """(the layer's name, its channels as ``ChannelData``, a one-line summary) for ``folder``."""
    from cnn_explorer.app.lab.jobs import _cancellable, lab_of
    from cnn_explorer.models.lab.activations import default_map_layer
    from cnn_explorer.models.lab.atlas import atlas, optimize_channels
    from cnn_explorer.models.lab.images import sample_image
    from cnn_explorer.widgets.atlas.view import ChannelData, ExampleData

    lab = lab_of(job)
    if not layer:  # no layer selected: the first convolution's map, as the lab shows
        layer = default_map_layer(lab.graph(lab.prepare(sample_image("cat")))).name
    result = atlas(lab, folder, layer, k=k, progress=_cancellable(job, "Microscope: images"))
    if optimize:
        optimize_channels(lab, result, steps=OPTIMIZE_STEPS, progress=_cancellable(job, "Microscope: optimizing"))

    def examples(items):
        return [ExampleData(str(Path(folder) / e.file), e.score, e.unit, e.image) for e in items]

    channels = [ChannelData(c.channel, examples(c.top), examples(c.bottom), c.optimized) for c in result.channels]
    summary = (f"{result.layer}: {len(channels)} channels over {result.images} images"
               f"{' (cached)' if result.cached else ''} in {result.seconds:.1f} s")
    return result.layer, channels, summary
