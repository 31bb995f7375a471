"""The class maps' cost (models/lab/cams.py): each map, then its ROAD score, on zfnet_shapes (64×64, trained) and
AlexNet (224×224, random weights unless torchvision's are cached); and Score-CAM with our batched, cancellable
loop against pytorch-grad-cam's own ``ScoreCAM`` (batch 16, a tqdm bar, no cancel) as the ratio.

Prints a table and a JSON line.

    uv run python benchmarks/cams.py [--threads N] [--device cpu|cuda] [--models zfnet_shapes,alexnet]
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("CNN_EXPLORER_OFFLINE", "1")

import torch  # noqa: E402

from cnn_explorer.models.lab import cams  # noqa: E402
from cnn_explorer.models.lab.activations import LabModel, default_map_layer  # noqa: E402
from cnn_explorer.models.lab.attribution import grad_cam  # noqa: E402
from cnn_explorer.models.lab.images import sample_image  # noqa: E402
from cnn_explorer.models.zoo.loader import load_model  # noqa: E402

SAMPLES = {"zfnet_shapes": "shape_triangle", "alexnet": "cat", "lenet5_digits": "digit_3"}


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def library_score_cam(lab, prepared, layer, target) -> float:
    """pytorch-grad-cam's ScoreCAM as shipped (its tqdm bar silenced)."""
    import tqdm
    from pytorch_grad_cam import ScoreCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    from cnn_explorer.models.lab.hooks import no_inplace
    from cnn_explorer.models.lab.kernels import module_of

    quiet = tqdm.tqdm
    tqdm.tqdm = lambda it, *a, **k: it
    try:
        with no_inplace(lab.model):
            cam = ScoreCAM(lab.model, [module_of(lab.model, layer.split(":")[0])])
            _, seconds = timed(lambda: cam(prepared.tensor.to(lab.device), [ClassifierOutputTarget(target)]))
            cam.activations_and_grads.release()
    finally:
        tqdm.tqdm = quiet
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--models", default="zfnet_shapes,alexnet")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rows, report = [], {}
    for name in args.models.split(","):
        weights = "pretrained" if name in ("zfnet_shapes", "lenet5_digits") else "random"
        loaded = load_model(name, weights=weights)
        loaded.model.to(args.device)
        lab = LabModel(loaded)
        prepared = lab.prepare(sample_image(SAMPLES.get(name, "cat")))
        target = int(lab.logits(prepared).argmax())
        layer = default_map_layer(lab.graph(prepared)).name
        cams.class_map(lab, prepared, "gradcampp", faithfulness=False)  # warm: imports, first pass
        result, seconds = timed(lambda: grad_cam(lab, prepared))
        _, road_seconds = timed(lambda: cams.road(lab, prepared, result.heatmap, target))
        report[name] = {"gradcam": seconds, "road": road_seconds}
        rows.append((name, "Grad-CAM (Captum)", seconds))
        for method in list(cams.CAMS) + list(cams.PIXEL_MAPS):
            _, seconds = timed(lambda: cams.class_map(lab, prepared, method, faithfulness=False))
            report[name][method] = seconds
            rows.append((name, cams.CAMS.get(method, (cams.PIXEL_MAPS.get(method),))[0], seconds))
        rows.append((name, "ROAD score (4 percentiles × 2)", road_seconds))
        library = library_score_cam(lab, prepared, layer, target)
        report[name]["scorecam_library"] = library
        report[name]["scorecam_ratio"] = report[name]["scorecam"] / library
        rows.append((name, "Score-CAM, pytorch-grad-cam's own loop", library))
    width = max(len(r[1]) for r in rows)
    for model, what, seconds in rows:
        print(f"{model:14s} {what:{width}s} {seconds:8.2f} s")
    for model, values in report.items():
        print(f"{model}: Score-CAM ours / library = {values['scorecam_ratio']:.2f}")
    print(json.dumps({"threads": torch.get_num_threads(), "device": args.device, "seconds": report}))


if __name__ == "__main__":
    main()
