"""Models the user brings, as zoo entries: a model file (``net.py:Name``, ``package.module:Name``, ``.onnx``,
``.pt2``, TorchScript; opened by ``models/files``) or an ``nn.Module`` object (``cnn_explorer.show``).

``register_file(spec, …)`` and ``register_object(model, …)`` make a ``ModelEntry`` under a name that every view
and command then opens as it opens a zoo name (``get_entry``). The entry's builder gives the opened module itself,
with its own weights. Its task is given, or inferred from one forward pass: a vector is a classifier, boxes,
labels and scores a detector, an N×H×W map a segmenter. A file's analysis is cached under its content's hash; an
object's never (nothing of it is written to disk).
"""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

from cnn_explorer.models.digest import file_sha256
from cnn_explorer.models.zoo.registry import ModelEntry

USER_SOURCES = ("file", "object")
_ENTRIES: dict[str, ModelEntry] = {}
_OPTIONS: dict[str, dict] = {}  # a file's options, given before it is opened (the command line's)
_GRAPH_MODELS: dict[str, object] = {}  # a stand-in to record the graph of, where the model takes no hooks


def graph_model_of(name: str):
    """What to record the graph of for ``name``: a TorchScript file's exported copy (checked against it)."""
    return _GRAPH_MODELS.get(name)
_OBJECTS = itertools.count(1)


def user_entry(name: str) -> ModelEntry | None:
    return _ENTRIES.get(name)


def forget_entry(name: str) -> None:
    """Open ``name``'s file again next time (it may have changed); its remembered options stay."""
    _ENTRIES.pop(name, None)
    _GRAPH_MODELS.pop(name, None)


def _digest(paths) -> str:
    """One key for the contents of ``paths`` (a model file and its weights)."""
    return hashlib.sha256("".join(file_sha256(path) for path in paths).encode()).hexdigest()[:20]


def infer_task(model, input_shape: tuple[int, ...]) -> tuple[str, int | None]:
    """(task, number of classes) from one forward pass of a batch of 1 at ``input_shape`` (C, H, W)."""
    import torch

    with torch.no_grad():
        output = model(torch.zeros(1, *input_shape))
    if isinstance(output, (list, tuple)) and output and isinstance(output[0], dict):
        output = output[0]
    if isinstance(output, dict):
        keys = set(output)
        if {"boxes", "labels", "scores"} <= keys:
            return ("instance_segmentation" if "masks" in keys else "keypoints" if "keypoints" in keys
                    else "detection"), None
        output = output.get("out", next(iter(output.values())))
    if isinstance(output, (list, tuple)):
        output = output[0]
    if not torch.is_tensor(output):
        return "classification", None
    if output.dim() == 2:
        return "classification", int(output.shape[1])
    if output.dim() == 4 and output.shape[2] > 1 and output.shape[3] > 1:
        return "semantic_segmentation", int(output.shape[1])
    return "classification", int(output.flatten(1).shape[1]) if output.dim() > 1 else None


def _takes_a_batch(model, input_shape) -> bool:
    """Whether ``model`` runs two images at once (a file exported at a batch of one may not: its shapes are fixed);
    the lab's batched tools (occlusion, top-9) then run one image at a time."""
    import torch

    try:
        with torch.no_grad():
            model(torch.zeros(2, *input_shape))
        return True
    except Exception:  # noqa: BLE001 - any failure means: one image at a time
        return False


def _facts(*, origin: str, own_weights: str, categories=None, mean=None, std=None, classes=None, **more) -> dict:
    facts = {"origin": origin, "own_weights": own_weights, **more}
    if categories:
        facts["categories"] = ", ".join(categories) if not isinstance(categories, str) else categories
    if classes:
        facts["classes"] = classes
    for key, value in (("normalize_mean", mean), ("normalize_std", std)):
        if value is not None:
            facts[key] = ", ".join(str(float(v)) for v in value)
    return facts


def _register(entry: ModelEntry) -> ModelEntry:
    _ENTRIES[entry.name] = entry
    return entry


def read_categories(path: str) -> list[str]:
    """One class name a line (blank lines skipped), as ``--categories labels.txt`` gives them."""
    from cnn_explorer.models.files.errors import ModelFileError

    try:
        names = [line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as error:
        raise ModelFileError(f"cannot read the categories file {path}: "
                             f"{getattr(error, 'strerror', None) or error}") from None
    if not names:
        raise ModelFileError(f"the categories file {path} names no class")
    return names


def remember_options(spec: str, **options) -> None:
    """Options for the file ``spec``, used when it is opened (``get_entry``); an entry opened with others is
    opened again."""
    options = {k: v for k, v in options.items() if v is not None}
    if _OPTIONS.get(spec) != options:
        _OPTIONS[spec] = options
        _ENTRIES.pop(spec, None)


def register_file(spec: str, *, input_shape=None, weights: str | None = None, task: str | None = None,
                  categories=None, mean=None, std=None, progress=None, check=None) -> ModelEntry:
    """Open the model file ``spec`` and make it an entry named ``spec`` (``ModelFileError`` when it cannot be)."""
    from cnn_explorer.models.files import open_model_file
    from cnn_explorer.models.zoo.index import TASKS

    given = {"input_shape": input_shape, "weights": weights, "task": task, "categories": categories, "mean": mean,
             "std": std}
    options = {**_OPTIONS.get(spec, {}), **{k: v for k, v in given.items() if v is not None}}  # the given win
    input_shape, weights, task, categories, mean, std = (options.get(k) for k in given)

    if task is not None and task not in TASKS:
        raise ValueError(f"unknown task {task!r}; tasks are: {', '.join(TASKS)}")
    opened = open_model_file(spec, weights=weights, input_shape=input_shape, progress=progress, check=check)
    found, classes = infer_task(opened.model, opened.input_shape)
    max_batch = None if _takes_a_batch(opened.model, opened.input_shape) else 1
    if isinstance(categories, str):
        categories = read_categories(categories)
    files = [p for p in (opened.path, weights) if p and Path(p).is_file()]
    key = f"{opened.kind}:{_digest(files)}:{opened.name}" if files else ""
    own = f"file:{weights}" if weights else ("random" if opened.kind in ("python", "module") else "stored")
    facts = _facts(origin=opened.description, own_weights=own, categories=categories, mean=mean, std=std,
                   classes=classes, notes="; ".join(opened.notes), hooks_work=opened.hooks_work,
                   hooks_reason=opened.hooks_reason, cache_name=key, no_cache=not key, max_batch=max_batch)
    c, h, w = opened.input_shape
    model = opened.model
    if opened.graph_model is not None:
        _GRAPH_MODELS[spec] = opened.graph_model
    else:
        _GRAPH_MODELS.pop(spec, None)
    return _register(ModelEntry(name=spec, family="your model", year=0, paper=opened.description,
                                task=task or found, input_size=(h, w), builder=lambda: model, source="file",
                                in_channels=c, facts=facts))


def register_object(model, *, input_shape=None, categories=None, name: str | None = None, mean=None, std=None,
                    task: str | None = None) -> ModelEntry:
    """The ``nn.Module`` ``model`` itself (its current weights, nothing copied or written) as an entry."""
    from torch import nn

    if not isinstance(model, nn.Module):
        raise TypeError(f"cnn_explorer.show wants an nn.Module, not {type(model).__name__}")
    if input_shape is None:
        input_shape = getattr(model, "input_shape", None) or (3, 224, 224)
    shape = tuple(int(v) for v in input_shape)
    if len(shape) == 4 and shape[0] == 1:
        shape = shape[1:]
    if len(shape) != 3:
        raise ValueError(f"input_shape wants (C, H, W), not {input_shape!r}")
    model.eval()
    found, classes = infer_task(model, shape)
    label = name or f"{type(model).__name__}-{next(_OBJECTS)}"
    facts = _facts(origin="an object in this Python session", own_weights="given", categories=categories,
                   mean=mean, std=std, classes=classes, no_cache=True, hooks_work=True)
    return _register(ModelEntry(name=label, family="your model", year=0, paper=f"{type(model).__name__} object",
                                task=task or found, input_size=shape[1:], builder=lambda: model, source="object",
                                in_channels=shape[0], facts=facts))
