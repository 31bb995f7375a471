"""Train a classroom ZFNet (``ZFNetMini``) on generated colour shapes and textures, offline, in a few CPU
minutes, so that conv1 learns edge and colour-contrast detectors the lab can show.

    uv run python scripts/train_zfnet_shapes.py [--train 8000] [--test 2000] [--epochs 10] [--seed 0]

The data set (``cnn_explorer.models.lab.datasets.shapes_dataset``: circle, square, triangle, cross, ring,
three kinds of stripes, checkerboard, dots; random colours, sizes, positions, noise; 64×64) is generated from
the seed; the test images come from another seed and are never trained on. conv1 starts from a small random
initialization (0.1× torch's default) and AdamW decays the weights, so the filters the lab shows are what
training put there (colour blobs and edges), not the initial noise. Inputs are normalized as the lab
does for a 3-channel model (ImageNet mean and std). Writes ``assets/zfnet_shapes.safetensors`` and
``assets/zfnet_shapes.json`` (how they were made).
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from cnn_explorer.models.lab.datasets import SHAPE_CLASSES, SHAPE_SIZE, shapes_dataset
from cnn_explorer.models.lab.preprocess import IMAGENET_MEAN, IMAGENET_STD, normalize
from cnn_explorer.models.zoo.paper.zfnet_mini import ZFNetMini

NAME = "zfnet_shapes"
ASSETS = Path(__file__).resolve().parents[1] / "assets"


def to_tensor(images: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(images).float().div(255.0).permute(0, 3, 1, 2)
    return normalize(x, IMAGENET_MEAN, IMAGENET_STD).contiguous()


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        predicted = torch.cat([model(x[i:i + 256]).argmax(1) for i in range(0, len(x), 256)])
    return float((predicted == y).float().mean())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=8000)
    parser.add_argument("--test", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ASSETS)
    parser.add_argument("--weight-decay", type=float, default=0.05, help="AdamW's decoupled weight decay")
    parser.add_argument("--conv1-init", type=float, default=0.1,
                        help="scale of conv1's random initialization: small, so that what it shows is learned")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: steady on a busy machine)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    start = time.perf_counter()
    x_train, y_train = shapes_dataset(args.train, seed=args.seed)
    x_test, y_test = shapes_dataset(args.test, seed=args.seed + 1_000_003)
    x_train, x_test = to_tensor(x_train), to_tensor(x_test)
    y_train, y_test = torch.from_numpy(y_train), torch.from_numpy(y_test)
    print(f"generated {len(x_train)} + {len(x_test)} images in {time.perf_counter() - start:.0f} s")

    model = ZFNetMini(num_classes=len(SHAPE_CLASSES))
    with torch.no_grad():
        model.features[0].weight.mul_(args.conv1_init)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=args.weight_decay)
    steps = args.epochs * ((len(x_train) + 63) // 64)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=2e-3, total_steps=steps)
    start = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(x_train), generator=generator)
        for i in range(0, len(order), 64):
            idx = order[i:i + 64]
            batch = x_train[idx]
            flip = torch.rand(len(idx), generator=generator) < 0.5  # mirror images: same class
            batch[flip] = batch[flip].flip(-1)
            loss = nn.functional.cross_entropy(model(batch), y_train[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
        print(f"epoch {epoch + 1}: loss {loss.item():.3f}, held-out accuracy {accuracy(model, x_test, y_test):.4f}, "
              f"{time.perf_counter() - start:.0f} s", flush=True)
    seconds = time.perf_counter() - start
    test_accuracy = accuracy(model, x_test, y_test)

    from safetensors.torch import save_file

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{NAME}.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    path.chmod(0o644)
    record = {
        "model": NAME, "architecture": "zfnet_mini (cnn_explorer.models.zoo.paper.zfnet_mini.ZFNetMini)",
        "dataset": f"generated shapes and textures, {SHAPE_SIZE}×{SHAPE_SIZE} RGB "
                   "(cnn_explorer.models.lab.datasets.shapes_dataset)",
        "split": {"train": len(x_train), "train_seed": args.seed, "test": len(x_test),
                  "test_seed": args.seed + 1_000_003},
        "preprocess": {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD), "range": [0, 1]},
        "training": {"seed": args.seed, "epochs": args.epochs, "optimizer": f"AdamW lr 2e-3 wd {args.weight_decay}, one-cycle",
                     "conv1_init_scale": args.conv1_init,
                     "batch": 64, "augmentation": "horizontal flips", "seconds": round(seconds, 1),
                     "threads": args.threads},
        "test_accuracy": round(test_accuracy, 4),
        "classes": list(SHAPE_CLASSES),
        "command": "python scripts/train_zfnet_shapes.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "date": datetime.date.today().isoformat(),
        "versions": {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__},
    }
    (args.out / f"{NAME}.json").write_text(json.dumps(record, indent=1) + "\n")
    print(f"held-out accuracy {test_accuracy:.4f} ({len(x_test)} images), {seconds:.0f} s; wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
