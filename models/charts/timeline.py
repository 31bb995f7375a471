"""ImageNet's top-5 error by year, from the zoo's static facts (no torch)."""

from __future__ import annotations

from dataclasses import dataclass

from cnn_explorer.models.charts.common import HUMAN_TOP5_ERROR_LECTURE
from cnn_explorer.models.zoo.index import index

# -- 1. the ImageNet timeline -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class TimelinePoint:
    model: str  # the zoo entry the figure comes from
    family: str
    year: int
    top5_error: float  # the single-model (or, when that is all the facts hold, the ensemble) figure
    ensemble_error: float | None  # a second, lower figure quoted for an ensemble (ZFNet's 11.7)
    ensemble_only: bool  # top5_error is itself an ensemble's figure (ResNet's 3.57)


def timeline() -> list[TimelinePoint]:
    """One point per family and year whose facts quote an ImageNet top-5 error, in year order (zoo order within a
    year); the first entry of the zoo that quotes it names the point."""
    points: dict[tuple[str, int], TimelinePoint] = {}
    for entry in index():
        facts = entry.get("facts") or {}
        single, ensemble = facts.get("top5_error"), facts.get("top5_error_ensemble")
        if single is None and ensemble is None:
            continue
        key = (entry["family"], int(entry["year"]))
        if key in points:
            continue
        points[key] = TimelinePoint(entry["name"], entry["family"], int(entry["year"]),
                                    float(single if single is not None else ensemble),
                                    float(ensemble) if single is not None and ensemble is not None else None,
                                    single is None)
    return sorted(points.values(), key=lambda p: p.year)


def human_top5_error() -> float:
    """The human reference: a zoo fact when one holds it, else the lecture's figure."""
    for entry in index():
        value = (entry.get("facts") or {}).get("human_top5_error")
        if value is not None:
            return float(value)
    return HUMAN_TOP5_ERROR_LECTURE
