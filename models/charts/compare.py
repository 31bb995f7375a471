"""2–4 zoo models side by side, from their summaries (the Charts tab's table, ``cnn-explorer compare``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from cnn_explorer.models.charts.common import COMPARE_MAX, COMPARE_MIN, ChartsError, Progress
from cnn_explorer.models.zoo.index import lookup

# -- 3. side-by-side comparison ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ComparisonRow:
    model: str
    family: str
    year: int
    input_size: tuple[int, int]
    params: int
    macs: int
    depth: int  # weight layers on the longest path (analysis.weight_layer_depth)
    receptive_field: object  # the deepest local receptive field (a Field), "global" or None
    activation_bytes: int
    cached: bool  # the summary came from the analysis cache

    def to_json(self) -> dict:
        rf = self.receptive_field
        rf_json = ({"size": list(rf.size), "stride": list(rf.stride), "padding": list(rf.padding)}
                   if hasattr(rf, "size") else rf)
        return {"model": self.model, "family": self.family, "year": self.year, "input_size": list(self.input_size),
                "params": self.params, "macs": self.macs, "depth": self.depth, "receptive_field": rf_json,
                "activation_bytes": self.activation_bytes}


def check_names(names: list[str]) -> list[str]:
    """The zoo's names for ``names`` (2 to 4 of them, no repeats); ``UnknownModelError`` or ``ChartsError``."""
    if not COMPARE_MIN <= len(names) <= COMPARE_MAX:
        raise ChartsError(f"compare takes {COMPARE_MIN} to {COMPARE_MAX} models, not {len(names)}")
    found = [lookup(n)["name"] for n in names]
    if len(set(found)) != len(found):
        raise ChartsError(f"a model is named twice: {' '.join(found)}")
    return found


def deepest_field(graph):
    """The receptive field of the last layer that still has a local one: what one unit before the global
    pooling (or the classifier) sees. "global" when none has a local field."""
    last = None
    for node in graph.nodes:
        rf = node.receptive_field
        if rf is not None and hasattr(rf, "size"):
            last = rf
    return last if last is not None else "global"


def compare(names: list[str], progress: Progress | None = None, store=None,
            check: Callable[[], None] | None = None) -> list[ComparisonRow]:
    """Summaries of 2–4 zoo models (random weights: counting needs no training), side by side."""
    names = check_names(list(names))
    from cnn_explorer.models.analysis.summary import weight_layer_depth
    from cnn_explorer.models.zoo.loader import load_model, summarize

    rows = []
    for i, name in enumerate(names):
        if check:
            check()
        if progress:
            progress(f"{name}: building and recording ({i + 1}/{len(names)})", 100 * i // len(names))
        loaded = load_model(name, weights="random")
        summary = summarize(loaded, store=store)
        entry = loaded.entry
        rows.append(ComparisonRow(name, entry.family, int(entry.year), tuple(summary.input_shape[2:]),
                                  int(summary.total_params), int(summary.total_macs),
                                  int(weight_layer_depth(summary.graph)), deepest_field(summary.graph),
                                  int(summary.activation_bytes), bool(summary.cached)))
        del loaded
    if progress:
        progress("done", 100)
    return rows
