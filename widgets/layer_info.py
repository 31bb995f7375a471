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


@dataclass(frozen=True)
class LayerRow:
    """One row of the summary table: one recorded layer."""

    name: str
    type: str
    shape: str  # output shape C×H×W ("—" when none)
    params: int
    macs: int
    memory: int  # bytes of activation memory its output takes
    receptive_field: str  # "size / stride / padding", "global (whole image)" or "—"
    rf_size: int = 0  # receptive field side for sorting (the larger axis; a huge number for global)


@dataclass(frozen=True)
class Totals:
    params: int
    trainable_params: int
    macs: int
    memory: int
    layers: int


@dataclass(frozen=True)
class LayerDetails:
    """What the inspector shows about one layer, or about a block of layers (``is_block``)."""

    name: str
    type: str
    is_block: bool = False
    input_shape: str = ""
    output_shape: str = ""
    settings: tuple[tuple[str, str], ...] = ()
    shape_arithmetic: tuple[str, ...] = ()
    param_arithmetic: str = ""
    params: int = 0
    macs: int = 0
    memory: int = 0
    receptive_field: str = ""
    layer_count: int = 0  # for a block: how many layers it holds
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelOverview:
    """What the inspector shows when no layer is selected."""

    name: str
    family: str = ""
    year: int = 0
    paper: str = ""
    task: str = ""
    input_shape: str = ""
    weights: str = ""
    totals: Totals | None = None
    facts: tuple[tuple[str, str], ...] = ()
    error: str = ""  # why its graph could not be recorded, when it could not
    note: str = ""  # e.g. that a detector's numbers depend on the image


# -- numbers as people read them ------------------------------------------------------------------------

def format_count(value: int | float | None) -> str:
    """34944 -> "34,944"; None -> "…" (not known yet)."""
    if value is None:
        return "…"
    return f"{int(value):,}"


def format_short(value: int | float | None, unit: str = "") -> str:
    """61100840 -> "61.1 M"; 714188480 -> "714.2 M"; 1.5e9 -> "1.50 G"."""
    if value is None:
        return "…"
    for suffix, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            scaled = value / size
            digits = 2 if scaled < 10 else 1
            return f"{scaled:.{digits}f} {suffix}{unit}"
    return f"{int(value)} {unit}".rstrip()


def format_bytes(value: int | None) -> str:
    if value is None:
        return "…"
    if value >= 2**30:
        return f"{value / 2**30:.2f} GiB"
    if value >= 2**20:
        return f"{value / 2**20:.2f} MiB"
    if value >= 2**10:
        return f"{value / 2**10:.1f} KiB"
    return f"{value} B"
