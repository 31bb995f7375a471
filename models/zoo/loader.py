"""Open a zoo model by name, with its weights, and analyze it: what the CLI and the app call."""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass

import torch
from torch import nn

from cnn_explorer.models.analysis import cache
from cnn_explorer.models.analysis.model_summary import summary_from_entry
from cnn_explorer.models.analysis.summary import ModelSummary, analyze, weight_layer_depth
from cnn_explorer.models.zoo.registry import ModelEntry, get_entry
from cnn_explorer.models.runtime.torch_import import lean_imports
from cnn_explorer.models.zoo.weights import ProgressCallback, WeightsResult, apply_weights
from cnn_explorer.models.zoo.index import MAX_INPUT_SIDE, InputSizeError, check_input_size  # noqa: F401 (re-exported)


class AnalysisError(RuntimeError):
    """The forward pass failed for another reason; the message is one line."""


@dataclass
class LoadedModel:
    entry: ModelEntry
    model: nn.Module
    weights: WeightsResult
    requested: str = "pretrained"  # the weights asked for: "pretrained", "random" or a path

    def input_shape(self, input_size: tuple[int, int] | None = None) -> tuple[int, int, int, int]:
        return self.entry.input_shape(input_size)


def load_model(name: str, *, weights: str = "pretrained", progress: ProgressCallback | None = None,
               structure_only: bool = False) -> LoadedModel:
    """Build the zoo model ``name`` and give it weights ("pretrained", "random" or a file path).

    ``structure_only``: no value of a weight will be used (``summary``, ``graph`` and ``figure`` of the CLI). The
    model is built on the meta device, so nothing is initialized at random (0.4 s of a first ``summary
    resnet152``), and a weights file is checked against it but not copied. A model whose forward pass depends on
    the data (a detector) is built as usual: it is analyzed with real numbers."""
    entry = get_entry(name)
    meta = structure_only and not entry.data_dependent and entry.source not in ("file", "object")
    model = build_on_meta(entry) if meta else None
    if model is None:
        model = entry.build()
        return LoadedModel(entry, model.eval(), apply_weights(entry, model, weights, progress), weights)
    with warnings.catch_warnings():  # "copying from a non-meta parameter … to a meta parameter … is a no-op"
        warnings.filterwarnings("ignore", message=".*meta parameter.*no-op", category=UserWarning)
        result = apply_weights(entry, model, weights, progress)
    return LoadedModel(entry, model.eval(), result, weights)


def build_on_meta(entry: ModelEntry) -> nn.Module | None:
    """The architecture with no values, or None where its builder needs real numbers (RegNet computes its
    widths with tensors and reads them back)."""
    try:
        with lean_imports(), torch.device("meta"):  # the meta kernels of the initializations import no compiler
            return entry.build()
    except (NotImplementedError, RuntimeError):
        return None


def cache_entry(summary: ModelSummary, weights: WeightsResult) -> dict:
    """What the analysis cache keeps of a summary (and what ``summary`` prints from)."""
    return {"summary": summary.to_json(), "graph": summary.graph.to_dict(), "weights_label": weights.label,
            "weights_message": weights.message, "weights_check": _weights_check(weights),
            "depth": weight_layer_depth(summary.graph), "seconds": float(summary.seconds)}


def _weights_check(weights: WeightsResult) -> dict:
    """Where published weights are kept and, when they were loaded from there (checked against the hash in
    their name), that file's size and time: another file put in its place makes the entry stale."""
    check = {"path": weights.hub_path}
    if weights.label == "pretrained" and weights.hub_path:
        try:
            stat = os.stat(weights.hub_path)
            check.update(size=stat.st_size, mtime_ns=stat.st_mtime_ns)
        except OSError:
            pass
    return check


def summarize(loaded: LoadedModel, input_size: tuple[int, int] | None = None,
              store: cache.AnalysisCache | None = None) -> ModelSummary:
    """Analyze a loaded model at ``input_size`` (its default when None); an analysis made before with the same
    model, size, weights and libraries comes from the cache (``store``: the default cache when None)."""
    facts = loaded.entry
    check_input_size(input_size, {"name": facts.name, "task": facts.task, "data_dependent": facts.data_dependent})
    shape = loaded.input_shape(input_size)
    store = store or cache.AnalysisCache()
    # A file is cached under its content's hash; an object in a notebook never.
    kept = not facts.facts.get("no_cache")
    entry_key = cache.key(facts.facts.get("cache_name") or facts.name, shape[2:], loaded.requested)
    start = time.perf_counter()
    entry = store.get(entry_key) if kept else None
    if entry is not None and entry["weights_label"] == loaded.weights.label:
        try:
            summary = summary_from_entry(entry)
            summary.seconds = time.perf_counter() - start
            return summary
        except (KeyError, TypeError, ValueError, IndexError):
            pass  # a damaged entry: record again, and overwrite it
    try:
        from cnn_explorer.models.zoo.user import graph_model_of

        stand_in = graph_model_of(facts.name)  # TorchScript: its exported copy is recorded, its weights counted
        summary = analyze(stand_in or loaded.model, shape, name=loaded.entry.name, weights=loaded.weights.label,
                          on_meta=not loaded.entry.data_dependent and facts.source not in ("file", "object"))
        if stand_in is not None:
            params = list(loaded.model.parameters())
            summary.total_params = sum(p.numel() for p in params)
            summary.trainable_params = sum(p.numel() for p in params if p.requires_grad)
        if kept:
            store.put(entry_key, cache_entry(summary, loaded.weights))
        return summary
    except (RuntimeError, ValueError, IndexError, NotImplementedError) as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
        default_h, default_w = loaded.entry.input_size
        if shape[2] < default_h or shape[3] < default_w:
            raise InputSizeError(f"input {shape[2]}×{shape[3]} is too small for {loaded.entry.name} "
                                 f"(default {default_h}×{default_w}): {reason}") from None
        raise AnalysisError(f"{loaded.entry.name} failed at input {shape[2]}×{shape[3]}: {reason}") from None
