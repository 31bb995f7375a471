"""Open a zoo model by name, with its weights, and analyze it: what the CLI and the app call."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from .analysis import ModelSummary, analyze
from .registry import ModelEntry, get_entry
from .weights import ProgressCallback, WeightsResult, apply_weights

MAX_INPUT_SIDE = 4096


class InputSizeError(ValueError):
    """An input size the network cannot take: absurd, or too small for its pooling."""


class AnalysisError(RuntimeError):
    """The forward pass failed for another reason; the message is one line."""


@dataclass
class LoadedModel:
    entry: ModelEntry
    model: nn.Module
    weights: WeightsResult

    def input_shape(self, input_size: tuple[int, int] | None = None) -> tuple[int, int, int, int]:
        return self.entry.input_shape(input_size)


def check_input_size(input_size: tuple[int, int] | None) -> None:
    if input_size is None:
        return
    h, w = input_size
    if not (1 <= h <= MAX_INPUT_SIDE and 1 <= w <= MAX_INPUT_SIDE):
        raise InputSizeError(f"input size {h}×{w} is out of range: each side must be 1 to {MAX_INPUT_SIDE} pixels")


def load_model(name: str, *, weights: str = "pretrained", progress: ProgressCallback | None = None) -> LoadedModel:
    """Build the zoo model ``name`` and give it weights ("pretrained", "random" or a file path)."""
    entry = get_entry(name)
    model = entry.build()
    result = apply_weights(entry, model, weights, progress)
    return LoadedModel(entry, model.eval(), result)


def summarize(loaded: LoadedModel, input_size: tuple[int, int] | None = None) -> ModelSummary:
    """Analyze a loaded model at ``input_size`` (its default when None)."""
    check_input_size(input_size)
    shape = loaded.input_shape(input_size)
    try:
        return analyze(loaded.model, shape, name=loaded.entry.name, weights=loaded.weights.label,
                       on_meta=not loaded.entry.data_dependent)
    except (RuntimeError, ValueError, IndexError, NotImplementedError) as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
        default_h, default_w = loaded.entry.input_size
        if shape[2] < default_h or shape[3] < default_w:
            raise InputSizeError(f"input {shape[2]}×{shape[3]} is too small for {loaded.entry.name} "
                                 f"(default {default_h}×{default_w}): {reason}") from None
        raise AnalysisError(f"{loaded.entry.name} failed at input {shape[2]}×{shape[3]}: {reason}") from None
