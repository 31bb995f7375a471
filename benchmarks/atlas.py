"""The microscope's speed (models/lab/atlas.py): its one pass over a folder against a bare forward pass over the
same folder (the same reading, preparing and batching of the images, no hook, no scores): goal ≥ 0.8× the bare
images/s. Then a whole run of the microscope of the layer (every channel's top-k and bottom-k, cropped: what
``atlas --no-optimize`` does after loading the model), first (nothing cached) and second (the same folder, the
cache of the first), each with a fresh ``LabModel`` so nothing carries over in memory: goal second ≥ 10× faster.
Then the window's whole job, the same with each channel's optimized image (``--optimize-steps``, 0: not run).

The folder: ``--images`` generated shape images (models/lab/datasets.py) written to a temporary folder, or
``--folder DIR``. The model: zfnet_shapes (trained) by default.

    uv run python benchmarks/atlas.py [--model zfnet_shapes] [--layer features.4] [--images 500] [--batch 16]
                                      [--threads N] [--device cpu|cuda] [--folder DIR] [--optimize-steps N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("CNN_EXPLORER_OFFLINE", "1")

import torch  # noqa: E402


def write_images(folder: Path, count: int) -> None:
    from PIL import Image

    from cnn_explorer.models.lab.datasets import shapes_dataset

    images, _ = shapes_dataset(count, seed=3)
    for i, x in enumerate(images):
        Image.fromarray(x).save(folder / f"shape_{i:04d}.png")


def bare_pass(lab, folder: Path, batch: int) -> int:
    """What any pass over the folder costs: read, prepare, batch, forward. The images done."""
    from cnn_explorer.models.lab.images import list_images, open_image

    paths = list(list_images(folder).paths)
    done = 0
    for first in range(0, len(paths), batch):
        tensors = [lab.prepare(open_image(p)).tensor for p in paths[first:first + batch]]
        with torch.no_grad():
            lab.model(torch.cat(tensors).to(lab.device))
        done += len(tensors)
    if lab.device.type == "cuda":
        torch.cuda.synchronize()
    return done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="zfnet_shapes")
    parser.add_argument("--layer", default="features.4")
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--folder")
    parser.add_argument("--optimize-steps", type=int, default=None,
                        help="steps per channel's optimized image (default: the window's); 0: not measured")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from cnn_explorer.app.atlas.jobs import OPTIMIZE_STEPS
    from cnn_explorer.models.lab.activations import LabModel
    from cnn_explorer.models.lab.atlas import atlas, optimize_channels
    from cnn_explorer.models.lab.images import list_images
    from cnn_explorer.models.lab.top9 import score_folder
    from cnn_explorer.models.zoo.loader import load_model

    loaded = load_model(args.model)
    loaded.model.to(args.device)
    lab = LabModel(loaded)
    device = torch.cuda.get_device_name() if args.device.startswith("cuda") else f"cpu, {torch.get_num_threads()} threads"
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(args.folder) if args.folder else Path(temporary) / "images"
        if not args.folder:
            folder.mkdir()
            write_images(folder, args.images)
        paths = list(list_images(folder).paths)
        bare_pass(lab, folder, args.batch)  # warm: first calls, allocator, file cache
        times = {"bare": [], "pass": []}
        for _ in range(5):  # interleaved, best of five: a busy machine slows both alike
            start = time.perf_counter()
            count = bare_pass(lab, folder, args.batch)
            times["bare"].append(time.perf_counter() - start)
            start = time.perf_counter()
            scores = score_folder(lab, paths, args.layer, args.batch)
            if lab.device.type == "cuda":
                torch.cuda.synchronize()
            times["pass"].append(time.perf_counter() - start)
        bare, scored = min(times["bare"]), min(times["pass"])

        def run(cache: Path, steps: int = 0):
            """A whole run, as a fresh command or window job would make it (the model is loaded): seconds, result."""
            start = time.perf_counter()
            result = atlas(LabModel(loaded), folder, args.layer, k=9, batch_size=args.batch, cache_root=cache)
            if steps:
                optimize_channels(LabModel(loaded), result, steps=steps)
            return time.perf_counter() - start, result

        first_seconds, first = run(Path(temporary) / "cache")
        cached_seconds, again = run(Path(temporary) / "cache")
        assert not first.cached and again.cached and again.crops_cached
        steps = OPTIMIZE_STEPS if args.optimize_steps is None else args.optimize_steps
        if steps:
            window = [run(Path(temporary) / "window", steps) for _ in range(2)]
    rows = {"images": count, "channels": int(scores.maxima.shape[1]),
            "bare_images_per_s": round(count / bare, 1), "pass_images_per_s": round(count / scored, 1),
            "ratio": round(bare / scored, 3), "atlas_first_s": round(first_seconds, 3),
            "atlas_cached_s": round(cached_seconds, 3), "cache_speedup": round(first_seconds / cached_seconds, 1)}
    if steps:
        rows.update({"optimize_steps": steps, "window_first_s": round(window[0][0], 3),
                     "window_cached_s": round(window[1][0], 3),
                     "window_cache_speedup": round(window[0][0] / window[1][0], 1)})
    print(f"{args.model} {args.layer}, {count} images, batch {args.batch}; {device}; weights {loaded.weights.label}")
    print(f"bare forward pass        {rows['bare_images_per_s']:>9.1f} images/s")
    print(f"microscope pass          {rows['pass_images_per_s']:>9.1f} images/s   "
          f"ratio {rows['ratio']:.2f}× (goal ≥ 0.8×)")
    print(f"whole microscope ({rows['channels']} channels × top-9 and bottom-9): first run {first_seconds:.2f} s, "
          f"second run {cached_seconds:.3f} s: {rows['cache_speedup']:.0f}× faster (goal ≥ 10×)")
    if steps:
        print(f"with optimized images ({steps} steps a channel, as the window): first run {window[0][0]:.2f} s, "
              f"second run {window[1][0]:.3f} s: {rows['window_cache_speedup']:.0f}× faster")
    print(json.dumps({"benchmark": "atlas", "model": args.model, "layer": args.layer, "device": device, **rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
