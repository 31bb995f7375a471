"""The zoo's static facts, as data: every entry's name, family, year, paper, task, input size, source and the
lectures' figures, read from ``assets/zoo_index.json`` without importing torch, torchvision or timm.

``cnn-explorer list``, ``--help``, the rejection of an unknown name and the zoo browser need nothing more,
so they answer at once. The index is made from the registry itself
(``python -m cnn_explorer.models.zoo.index --write``), and a test checks that the two agree.
"""

from __future__ import annotations

import difflib
import json
import sys
from functools import lru_cache
from importlib import resources

#: The tasks a zoo entry can have, in the order the zoo browser lists them.
TASKS = (
    "classification",
    "detection",
    "instance_segmentation",
    "keypoints",
    "semantic_segmentation",
    "embedding",
)
INDEX_FILE = "zoo_index.json"
MAX_INPUT_SIDE = 4096
#: The largest side for a model analyzed with a real forward pass (``data_dependent``: the detectors and the
#: instance and keypoint segmenters), which runs on real numbers and keeps what it makes. They resize every
#: image to at most 1333 pixels a side themselves, so a larger input shows nothing new, while Mask R-CNN pastes
#: each of its 100 masks back at the input's size: its ``summary`` peaks at 1.3 GB at 1344×1344, 4.4 GB at
#: 2048×2048 and 11.8 GB at 4096×4096.
MAX_DATA_DEPENDENT_SIDE = 1344


class InputSizeError(ValueError):
    """An input size the network cannot take: absurd, or too small for its pooling."""


def check_input_size(input_size, model: str | dict | None = None) -> None:
    """Refuse (``InputSizeError``, one line) an input size out of range: 1 to ``MAX_INPUT_SIDE`` pixels a side,
    and 1 to ``MAX_DATA_DEPENDENT_SIDE`` for ``model`` (a zoo name or its facts) when it runs a real forward
    pass. Needs no torch, so it is checked before any model is built; an unknown name is left to ``lookup``."""
    if input_size is None:
        return
    h, w = input_size
    if not (1 <= h <= MAX_INPUT_SIDE and 1 <= w <= MAX_INPUT_SIDE):
        raise InputSizeError(f"input size {h}×{w} is out of range: each side must be 1 to {MAX_INPUT_SIDE} pixels")
    facts = model
    if isinstance(model, str):
        try:
            facts = lookup(model)
        except UnknownModelError:
            return
    if facts and facts.get("data_dependent") and max(h, w) > MAX_DATA_DEPENDENT_SIDE:
        kind = (facts.get("task") or "detection").replace("_", " ")
        kind = f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} model"
        raise InputSizeError(f"input size {h}×{w} is too large for {facts['name']}: {kind} runs a real forward "
                             f"pass, so each side must be 1 to {MAX_DATA_DEPENDENT_SIDE} pixels")


class UnknownModelError(KeyError):
    """Raised for a model name the zoo does not hold; the message suggests the closest names."""

    def __init__(self, name: str, suggestions: list[str]):
        self.name = name
        self.suggestions = suggestions
        super().__init__(name)

    def __str__(self) -> str:
        hint = f"; did you mean {', '.join(self.suggestions)}?" if self.suggestions else ""
        shown = self.name.strip() or self.name
        return f"unknown model {shown!r}{hint} (see 'cnn-explorer list')"


@lru_cache(maxsize=1)
def index() -> tuple[dict, ...]:
    """Every entry's static facts (``ModelEntry.to_dict()`` plus ``data_dependent``), in the zoo's order."""
    text = resources.files("cnn_explorer.assets").joinpath(INDEX_FILE).read_text(encoding="utf-8")
    return tuple(json.loads(text))


def entries(task: str | None = None) -> list[dict]:
    return [e for e in index() if task is None or e["task"] == task]


def normalized(name: str) -> str:
    return (name or "").strip().lower()


def lookup(name: str) -> dict:
    """The facts of ``name`` (any case, surrounding spaces ignored); ``UnknownModelError`` with the closest
    names when the zoo has no such entry. A model file (``net.py:Name``, ``.onnx`` …) or an object the user
    brought is opened to answer (``models/zoo/user.py``): its facts are those of its entry."""
    from cnn_explorer.models.files.spec import is_model_file

    if is_model_file(name) or name in _user_names():
        from cnn_explorer.models.zoo.registry import get_entry

        entry = get_entry(name)
        return {**entry.to_dict(), "data_dependent": entry.data_dependent}
    key = normalized(name)
    by_name = {e["name"]: e for e in index()}
    if key in by_name:
        return by_name[key]
    raise UnknownModelError(name, suggestions(key, list(by_name)))


def _user_names():
    import sys

    user = sys.modules.get("cnn_explorer.models.zoo.user")  # only once one was brought
    return user._ENTRIES if user is not None else ()


def suggestions(key: str, names: list[str]) -> list[str]:
    close = difflib.get_close_matches(key, names, n=3, cutoff=0.6)
    return close or ([n for n in names if key and key in n][:3])


def task_of(text: str) -> str | None:
    """A task named in any case (``Detection``), or None."""
    key = normalized(text)
    return key if key in TASKS else None


def write_index() -> int:
    """Write the index from the registry (imports every zoo module)."""
    from pathlib import Path

    from cnn_explorer.models.zoo.registry import list_entries

    data = [e.to_dict() | {"data_dependent": e.data_dependent} for e in list_entries()]
    path = Path(str(resources.files("cnn_explorer.assets").joinpath(INDEX_FILE)))
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {path}: {len(data)} entries")
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        sys.exit(write_index())
    print("usage: python -m cnn_explorer.models.zoo.index --write", file=sys.stderr)
    sys.exit(2)
