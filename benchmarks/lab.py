"""The lab's speed goals, on AlexNet at 224×224 (random weights unless torchvision's are cached):

* activations of a layer: the first request for an image (one recorded pass), then switching layers (goal
  ≤ 50 ms);
* occlusion, square 32, stride 8 (625 positions): our batched loop (both maps, progress per batch) against
  Captum's ``Occlusion`` at its default settings (one perturbation per forward pass) with the same square,
  stride and grey, and Captum with ``perturbations_per_eval`` equal to our batch;
* top-9 over 500 images (crops of scikit-image's photographs written to a temporary folder): the first run,
  then the cached one.

Prints a table and a JSON line.

    uv run python benchmarks/lab.py [--threads N] [--device cpu|cuda] [--images 500] [--batch 16]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("CNN_EXPLORER_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402


def _photos() -> list[np.ndarray]:
    import skimage.data as data

    return [np.asarray(getattr(data, name)())[:, :, :3] for name in
            ("astronaut", "chelsea", "coffee", "rocket")]


def write_images(folder: Path, count: int, seed: int = 0) -> None:
    from PIL import Image

    rng = np.random.default_rng(seed)
    photos = _photos()
    for i in range(count):
        photo = photos[i % len(photos)]
        h, w = photo.shape[:2]
        side = int(rng.integers(min(h, w) // 3, min(h, w)))
        top, left = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        crop = Image.fromarray(photo[top:top + side, left:left + side]).resize((256, 256))
        crop.save(folder / f"img{i:04d}.jpg", quality=90)


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    from cnn_explorer.models.lab import attribution
    from cnn_explorer.models.lab.activations import LabModel
    from cnn_explorer.models.lab.images import sample_image
    from cnn_explorer.models.lab.top9 import top9
    from cnn_explorer.models.zoo.loader import load_model

    loaded = load_model("alexnet")
    loaded.model.to(args.device)
    lab = LabModel(loaded)
    device = torch.cuda.get_device_name() if args.device.startswith("cuda") else f"cpu, {torch.get_num_threads()} threads"
    rows = []

    def row(case, seconds, note=""):
        rows.append({"case": case, "seconds": round(seconds, 4), "note": note})
        print(f"{case:<52} {seconds * 1000:>10.1f} ms  {note}", flush=True)

    print(f"AlexNet at 224, weights: {loaded.weights.label}; {device}; torch {torch.__version__}")
    print(f"{'case':<52} {'time':>13}")
    image = sample_image("cat")
    seconds, _ = timed(lab.feature_map, image, "features.3")
    row("activations, first request (recorded pass)", seconds)
    switches = []
    for layer in ("features.0", "features.6", "features.8", "features.10", "features.12", "features.1"):
        switches.append(timed(lab.feature_map, image, layer)[0])
    row("activations, switching layers (median of 6)", statistics.median(switches),
        f"max {max(switches) * 1000:.1f} ms; goal ≤ 50 ms")

    prepared = lab.prepare(image)
    seconds, result = timed(attribution.occlusion, lab, prepared, size=32, stride=8, batch_size=args.batch)
    row(f"occlusion 32/8, ours, batch {args.batch} ({result.total} positions)", seconds, "both maps, progress")
    target = result.target
    seconds, _ = timed(attribution.captum_occlusion, lab, prepared, size=32, stride=8, target=target)
    row("occlusion 32/8, Captum Occlusion defaults (1 per eval)", seconds, "probability map only")
    seconds, _ = timed(attribution.captum_occlusion, lab, prepared, size=32, stride=8, target=target,
                       perturbations_per_eval=args.batch)
    row(f"occlusion 32/8, Captum perturbations_per_eval={args.batch}", seconds, "probability map only")

    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary) / "images"
        folder.mkdir()
        seconds, _ = timed(write_images, folder, args.images)
        print(f"(wrote {args.images} images in {seconds:.1f} s)")
        cache = Path(temporary) / "cache"
        seconds, first = timed(top9, lab, folder, "features.11", 7, batch_size=args.batch, cache_root=cache)
        row(f"top-9 over {first.images} images, first run", seconds, "features.11 (conv5 ReLU)")
        seconds, again = timed(top9, lab, folder, "features.11", 7, cache_root=cache)
        assert again.cached
        row(f"top-9 over {again.images} images, cached", seconds, "9 deconvnet projections")
    print(json.dumps({"benchmark": "lab", "device": device, "weights": loaded.weights.label, "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
