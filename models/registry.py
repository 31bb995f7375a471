"""The zoo registry: every architecture the explorer can open, by name.

It reads like ``torchvision.models``: builders are registered by name with their metadata, and
``get_entry(name).build()`` returns a ready ``nn.Module``. No Qt here.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Callable

from torch import nn

#: The tasks a zoo entry can have, in the order the zoo browser lists them.
TASKS = (
    "classification",
    "detection",
    "instance_segmentation",
    "keypoints",
    "semantic_segmentation",
    "embedding",
)


@dataclass(frozen=True)
class ModelEntry:
    """One architecture of the zoo and what the lectures say about it."""

    name: str
    family: str
    year: int
    paper: str
    task: str
    input_size: tuple[int, int]
    builder: Callable[[], nn.Module] = field(repr=False, compare=False)
    source: str = "paper"  # "torchvision", "timm" or "paper"
    in_channels: int = 3
    facts: dict = field(default_factory=dict, compare=False)
    # Its forward depends on the data (a detector keeps the boxes that score well), so its graph must be
    # recorded with real arithmetic, not on the meta device.
    data_dependent: bool = False

    def build(self) -> nn.Module:
        """Build the architecture with random weights, in eval mode."""
        return self.builder().eval()

    def input_shape(self, input_size: tuple[int, int] | None = None) -> tuple[int, int, int, int]:
        h, w = input_size or self.input_size
        return (1, self.in_channels, h, w)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "family": self.family,
            "year": self.year,
            "paper": self.paper,
            "task": self.task,
            "input_size": list(self.input_size),
            "in_channels": self.in_channels,
            "source": self.source,
            "facts": dict(self.facts),
        }


_REGISTRY: dict[str, ModelEntry] = {}


def register(entry: ModelEntry) -> ModelEntry:
    if entry.task not in TASKS:
        raise ValueError(f"unknown task {entry.task!r} for {entry.name}")
    if entry.name in _REGISTRY:
        raise ValueError(f"model {entry.name!r} registered twice")
    _REGISTRY[entry.name] = entry
    return entry


class UnknownModelError(KeyError):
    """Raised for a model name the zoo does not hold; the message suggests the closest names."""

    def __init__(self, name: str, suggestions: list[str]):
        self.name = name
        self.suggestions = suggestions
        super().__init__(name)

    def __str__(self) -> str:
        hint = f"; did you mean {', '.join(self.suggestions)}?" if self.suggestions else ""
        return f"unknown model {self.name!r}{hint} (see 'cnn-explorer list')"


def _load_all() -> None:
    # Importing the zoo modules registers their entries.
    from . import zoo_paper, zoo_timm, zoo_torchvision  # noqa: F401


def list_entries(task: str | None = None) -> list[ModelEntry]:
    _load_all()
    entries = [e for e in _REGISTRY.values() if task is None or e.task == task]
    return sorted(entries, key=lambda e: (TASKS.index(e.task), e.year, e.name))


def get_entry(name: str) -> ModelEntry:
    _load_all()
    key = name.strip().lower()
    if key in _REGISTRY:
        return _REGISTRY[key]
    names = list(_REGISTRY)
    close = difflib.get_close_matches(key, names, n=3, cutoff=0.6)
    if not close:
        close = [n for n in names if key and key in n][:3]
    raise UnknownModelError(name, close)
