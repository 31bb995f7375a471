"""Receptive fields of VGG-16's stacked 3×3 convs, by stage."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from cnn_explorer.models.charts.arithmetic import _meta_summary
from cnn_explorer.models.charts.common import ChartsError, Progress

# -- 7. receptive fields of stacked 3×3 convs ------------------------------------------------------------------------

FIELDS_MODEL = "vgg16"
FIELDS_IMAGE = "cat"


@dataclass(frozen=True)
class FieldLayer:
    name: str  # VGG's name ("conv3_2")
    path: str  # the module path ("features.12")
    channels: tuple[int, int]  # in, out
    params: int  # as built
    field: int  # its receptive field on the image, in pixels (the analysis)
    cells: int  # the same field on the stage's input map, in its cells (1 cell = ``jump`` pixels)


@dataclass(frozen=True)
class FieldStage:
    """A stage of VGG-16 (the 3×3 convs between two poolings) and one big conv that would see as far."""

    name: str  # "conv3"
    layers: tuple[FieldLayer, ...]
    jump: int  # pixels between neighbouring cells of the stage's maps (the stride so far)
    input_field: int  # the receptive field of one cell of the stage's input map, pixels
    channels: int  # C: the stage's width

    @property
    def span(self) -> int:
        """What the whole stack sees on its input map: 2n+1 cells for n 3×3 convs."""
        return self.layers[-1].cells

    @property
    def stacked_params(self) -> int:
        """n·3·3·C²: the stack's weights were every conv C → C (the lecture's count)."""
        return len(self.layers) * 3 * 3 * self.channels ** 2

    @property
    def single_params(self) -> int:
        """span·span·C²: one conv that sees as far at once."""
        return self.span ** 2 * self.channels ** 2


@dataclass
class ReceptiveFields:
    model: str
    image_name: str
    image: np.ndarray  # the network's input as seen: 224×224×3 uint8 (centre crop, resized)
    stages: tuple[FieldStage, ...]


def _network_view(image: np.ndarray, size: int) -> np.ndarray:
    """The centre square of ``image`` resized to size×size (what a 224×224 classifier is shown)."""
    from PIL import Image

    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    crop = Image.fromarray(np.ascontiguousarray(image[top:top + side, left:left + side, :3]))
    return np.asarray(crop.resize((size, size), Image.BILINEAR), dtype=np.uint8)


def receptive_fields(progress: Progress | None = None) -> ReceptiveFields:
    """VGG-16's stages from its recorded graph: each conv's receptive field (the analysis's), and the same
    field counted in cells of the stage's input map, where n stacked 3×3 convs see 2n+1 cells."""
    import torchvision
    from cnn_explorer.models.lab.images import sample_image

    if progress:
        progress(f"{FIELDS_MODEL}: building (meta device) and recording", 10)
    summary = _meta_summary(FIELDS_MODEL, torchvision.models.vgg16)
    nodes = summary.graph.nodes
    stages, current, before = [], [], None
    for node in nodes:
        if node.op == "Conv2d":
            s = node.settings
            if tuple(s["kernel_size"]) != (3, 3) or tuple(s["stride"]) != (1, 1):
                raise ChartsError(f"{node.name} is not a 3×3 conv of stride 1")
            if not current:
                before = nodes[node.inputs[0]].receptive_field
            current.append(node)
        elif node.op == "MaxPool2d" and current:
            stages.append((before, current))
            current = []
    result = []
    for i, (before, convs) in enumerate(stages, 1):
        jump, start = int(before.stride[0]), int(before.size[0])
        layers = tuple(FieldLayer(f"conv{i}_{j}", n.name, (int(n.settings["in_channels"]),
                                                             int(n.settings["out_channels"])), int(n.params),
                                  int(n.receptive_field.size[0]), (int(n.receptive_field.size[0]) - start) // jump + 1)
                       for j, n in enumerate(convs, 1))
        result.append(FieldStage(f"conv{i}", layers, jump, start, layers[-1].channels[1]))
    image = _network_view(sample_image(FIELDS_IMAGE), int(summary.input_shape[2]))
    return ReceptiveFields(FIELDS_MODEL, FIELDS_IMAGE, image, tuple(result))
