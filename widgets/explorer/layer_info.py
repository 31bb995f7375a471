"""Plain data the explorer's side panels show: zoo entries, table rows, inspector contents. No torch, no Qt.

``app/`` builds these from the models' objects in its worker thread; the widgets only read them.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Friendly names of the zoo's tasks (the registry's TASKS), for the zoo browser.
TASK_LABELS = {
    "classification": "Classification",
    "detection": "Object detection",
    "instance_segmentation": "Instance segmentation",
    "keypoints": "Keypoints",
    "semantic_segmentation": "Semantic segmentation",
    "embedding": "Embedding",
}

#: Eras of CNN history, (first year, last year, label), for grouping the zoo.
ERAS = (
    (0, 2012, "1998–2012 pioneers"),
    (2013, 2015, "2013–2015 deep"),
    (2016, 2018, "2016–2018 efficient"),
    (2019, 9999, "2019– modern"),
)


def era_of(year: int) -> str:
    for first, last, label in ERAS:
        if first <= year <= last:
            return label
    return ERAS[-1][2]


def task_label(task: str) -> str:
    return TASK_LABELS.get(task, task.replace("_", " ").capitalize())


@dataclass(frozen=True)
class ZooItem:
    """One architecture in the zoo browser."""

    name: str  # the zoo name, e.g. "resnet50"
    family: str  # e.g. "ResNet"
    year: int
    task: str  # one of the registry's TASKS
    paper: str = ""
    source: str = ""  # "torchvision", "timm" or "paper"
    input_size: tuple[int, int] = (224, 224)
    in_channels: int = 3

    @property
    def era(self) -> str:
        return era_of(self.year)

    def matches(self, text: str) -> bool:
        """Whether the filter ``text`` (words, any order, case-insensitive) selects this entry."""
        hay = f"{self.name} {self.family} {self.year} {self.paper} {task_label(self.task)} {self.source}".lower()
        return all(word in hay for word in text.lower().split())


Shape = tuple[int, ...]  # a tensor's shape without its batch dimension, e.g. (64, 56, 56)
GLOBAL = "global"  # the receptive field of a unit that sees the whole image


@dataclass(frozen=True)
class Field:
    """A receptive field per axis (height, width), in input pixels: its size, effective stride and padding."""

    size: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]


@dataclass(frozen=True)
class Outputs:
    """What an operation or a block with several outputs gives, read from the recorded outputs.

    ``kind``: "maps" (feature maps of several sizes: a pyramid), "proposals" or "boxes" (rows of 4
    coordinates), "images" (an image batch with the images' sizes), "tensors" (anything else).
    ``shape``: the largest output (a pyramid's finest map). ``levels``: a pyramid's first and last level
    (P2, P6: the map's stride is 2**level), when the strides are powers of two."""

    kind: str
    count: int
    shape: Shape | None = None
    levels: tuple[int, int] | None = None
    pyramid: bool = False  # maps that all have the same channels, one per level (an FPN's P2–P6)


@dataclass(frozen=True)
class LayerRow:
    """One row of the summary table: one recorded layer."""

    name: str
    type: str
    shape: Shape | None  # output shape (C, H, W); None when it has none
    params: int
    macs: int
    memory: int  # bytes of activation memory its output takes
    receptive_field: Field | str | None  # a Field, GLOBAL, or None (after upsampling)
    extra_outputs: int = 0  # outputs besides the first (detectors' heads)
    label: str = ""  # the lecture's name of the layer ("conv1" for features.0), "" when it has none
    outputs: Outputs | None = None  # what its several outputs are, when it has several


@dataclass(frozen=True)
class Totals:
    params: int
    trainable_params: int
    macs: int
    memory: int
    layers: int  # recorded operations (every conv, ReLU, +, flatten … counts one)
    depth: int = 0  # the depth the papers quote: weight layers on the longest path (0: not known)


@dataclass(frozen=True)
class LayerDetails:
    """What the inspector shows about one layer, or about a block of layers (``is_block``)."""

    name: str
    type: str
    is_block: bool = False
    input_shape: Shape | None = None
    output_shape: Shape | None = None
    settings: tuple[tuple[str, object], ...] = ()  # (setting key, value), e.g. ("kernel_size", (11, 11))
    shape_arithmetic: tuple[str, ...] = ()  # the blackboard formulas, e.g. "(227 − 11 + 2·2)/4 + 1 = 55"
    param_arithmetic: str = ""
    params: int = 0
    macs: int = 0
    memory: int = 0
    receptive_field: Field | str | None = None
    has_field: bool = True  # False for the input, which has no receptive field to speak of
    layer_count: int = 0  # for a block: how many layers it holds
    notes: tuple[str, ...] = ()
    label: str = ""  # the lecture's name ("conv1", "Inception 3a"); ``name`` is then the module path


@dataclass(frozen=True)
class ModelOverview:
    """What the inspector shows when no layer is selected."""

    name: str
    family: str = ""
    year: int = 0
    paper: str = ""
    task: str = ""
    input_shape: Shape | None = None
    weights: str = ""
    totals: Totals | None = None
    facts: tuple[tuple[str, object], ...] = ()  # (name, value) from the papers and lectures
    error: str = ""  # why its graph could not be recorded, when it could not
    note: str = ""  # e.g. that a detector's numbers depend on the image
