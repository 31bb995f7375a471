"""Top-1 accuracy against GMACs and parameters, from torchvision's weights metadata."""

from __future__ import annotations

from dataclasses import dataclass

from cnn_explorer.models.charts.common import Progress
from cnn_explorer.models.zoo.index import index

# -- 2. accuracy against MACs ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AccuracyPoint:
    model: str
    family: str
    year: int
    weights: str  # "ResNet50_Weights.IMAGENET1K_V2"
    acc1: float  # ImageNet-1K top-1 accuracy, %
    acc5: float
    gflops: float  # torchvision's "_ops": GFLOPS as torchvision counts them (multiply-adds), per image
    params: int
    labelled: bool = False  # one model per family is named on the chart (the others on hover)
    lecture: bool = False  # a model the lectures show (named first, where the chart is crowded)


#: The member of its family a lecture shows: it is the one named on the accuracy chart.
LECTURE_MODELS = frozenset({"alexnet", "googlenet", "vgg16", "inception_v3", "resnet50", "densenet121",
                            "resnext50_32x4d", "squeezenet1_1", "mobilenet_v2", "shufflenet_v2_x1_0",
                            "efficientnet_b0"})


def accuracy_points(progress: Progress | None = None) -> list[AccuracyPoint]:
    """Every torchvision classifier of the zoo with published ImageNet-1K weights, from the DEFAULT weights'
    metadata. One model of each family is ``labelled``: the one a lecture shows (``LECTURE_MODELS``), else the
    most accurate."""
    if progress:
        progress("importing torchvision", 5)
    import torchvision
    from torchvision.models import get_model_weights

    available = set(torchvision.models.list_models(module=torchvision.models))
    entries = [e for e in index() if e["task"] == "classification" and e["source"] == "torchvision"
               and e["name"] in available]
    points = []
    for i, entry in enumerate(entries):
        if progress and i % 8 == 0:
            progress(f"reading the weights' metadata ({i}/{len(entries)})", 10 + 85 * i // max(len(entries), 1))
        try:
            weights = get_model_weights(entry["name"]).DEFAULT
        except (ValueError, KeyError, AttributeError):
            continue
        meta = weights.meta
        metrics = (meta.get("_metrics") or {}).get("ImageNet-1K") or {}
        if "acc@1" not in metrics or "_ops" not in meta or "num_params" not in meta:
            continue
        points.append(AccuracyPoint(entry["name"], entry["family"], int(entry["year"]), str(weights),
                                    float(metrics["acc@1"]), float(metrics.get("acc@5", float("nan"))),
                                    float(meta["_ops"]), int(meta["num_params"])))
    best: dict[str, AccuracyPoint] = {}
    for p in points:
        if p.family not in best or p.acc1 > best[p.family].acc1:
            best[p.family] = p
    for p in points:  # the model a lecture shows names its family, where the family has one
        if p.model in LECTURE_MODELS:
            best[p.family] = p
    named = {p.model for p in best.values()}
    return [AccuracyPoint(**{**p.__dict__, "labelled": p.model in named, "lecture": p.model in LECTURE_MODELS})
            for p in points]
