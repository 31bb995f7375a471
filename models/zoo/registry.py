"""The zoo registry: every architecture the explorer can open, by name.

It reads like ``torchvision.models``: builders are registered by name with their metadata, and
``get_entry(name).build()`` returns a ready ``nn.Module``. No Qt here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from cnn_explorer.models.zoo.index import TASKS, UnknownModelError, lookup, normalized, suggestions  # noqa: F401 (re-exported)

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn


@dataclass(frozen=True)
class ModelEntry:
    """One architecture of the zoo and what the lectures say about it."""

    name: str
    family: str
    year: int
    paper: str
    task: str
    input_size: tuple[int, int]
    builder: Callable[[], "nn.Module"] = field(repr=False, compare=False)
    source: str = "paper"  # "torchvision", "timm" or "paper"
    in_channels: int = 3
    facts: dict = field(default_factory=dict, compare=False)
    # Its forward depends on the data (a detector keeps the boxes that score well), so its graph must be
    # recorded with real arithmetic, not on the meta device.
    data_dependent: bool = False

    def build(self) -> "nn.Module":
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


def _load_source(source: str | None) -> None:
    """Import the zoo modules (which registers their entries): only the one for ``source`` when it is known,
    so that a torchvision model never imports timm."""
    if source in (None, "paper"):
        from cnn_explorer.models.zoo import paper_source  # noqa: F401
    if source in (None, "torchvision"):
        from cnn_explorer.models.zoo import torchvision_source  # noqa: F401
    if source in (None, "timm"):
        from cnn_explorer.models.zoo import timm_source  # noqa: F401


def _load_all() -> None:
    _load_source(None)


def list_entries(task: str | None = None) -> list[ModelEntry]:
    _load_all()
    entries = [e for e in _REGISTRY.values() if task is None or e.task == task]
    return sorted(entries, key=lambda e: (TASKS.index(e.task), e.year, e.name))


def get_entry(name: str) -> ModelEntry:
    """The entry ``name``: a model the user brought (``models/zoo/user.py``), or a zoo entry: the static index
    answers an unknown name before anything heavy is imported, and only the zoo module of the entry's source is
    imported."""
    from cnn_explorer.models.zoo.user import register_file, user_entry

    entry = user_entry(name)  # a model the user brought: a file, or an object (models/zoo/user.py)
    if entry is not None:
        return entry
    from cnn_explorer.models.files.spec import is_model_file

    if is_model_file(name):  # opened with the options it states itself (the command line registers it first)
        return register_file(name)
    facts = lookup(name)  # UnknownModelError, with suggestions, from the index alone
    _load_source(facts["source"])
    if facts["name"] not in _REGISTRY:  # the index is older than the code: a test keeps them in step
        raise UnknownModelError(name, suggestions(normalized(name), list(_REGISTRY)))
    return _REGISTRY[facts["name"]]
