"""Train a reduced YOLO v1 to find the live view's synthetic shapes (circles, squares, triangles), on the CPU.

    uv run python scripts/train_shapes_yolo.py [--steps 1400] [--seed 0] [--scenes 2400]

The shipped weights took two CPU runs (``command`` in the record): the defaults, 385 s with 2 threads on a
16-core machine (held-out recall 0.88), then, 13 minutes on this project's 2-core machine, a continuation on
other scenes at half the learning rate,
``--init <first>.safetensors --seed 1 --steps 2000 --scenes 4800 --lr 1e-3`` (recall 0.915).

The scenes come from the live view's own synthetic source (``models/live/sources.py``), many of them: each
from a source with its own seed (so its own textured background), 0 to 6 shapes, radii of 5 to 15 % of the
frame's shorter side, spread or random colours, at a random moment of its motion. Seeds from 1000 on are
trained on; the held-out check runs on the sources the live view shows (seeds 0 to 9, 4 shapes, the default
look), never trained on. The network is the zoo's YOLO v1 (``models/zoo/paper/yolo_v1.py``) with a fraction of
the channels, a 224×224 input (the 640×480 frame squeezed to it), a 7×7 grid of 2 boxes and 3 classes, batch
norm, and the paper's sum-squared loss (λcoord 5, λnoobj 0.5, √w and √h), the responsible box's confidence
pulled to 1. Writes ``assets/shapes_yolo.safetensors`` and ``assets/shapes_yolo.json`` (how they were made).
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
import torch.nn.functional as F

from cnn_explorer.models.live.quality import DetectionQuality, detection_quality
from cnn_explorer.models.live.sources import SHAPE_CLASSES, SyntheticSource
from cnn_explorer.models.live.yolo import YOLODetector, to_input
from cnn_explorer.models.zoo.paper.yolo_v1 import SHAPES_LAYOUT, YOLOv1, encode_targets, yolo_v1_loss

NAME = "shapes_yolo"
ASSETS = Path(__file__).resolve().parents[1] / "assets"
INPUT_SIZE = (224, 224)
GRID, BOXES, HIDDEN, HEAD = 7, 2, 128, "conv"
TRAIN_SEED_BASE = 1000  # training scenes come from sources seeded 1000, 1001, …
HELD_OUT_SEEDS = tuple(range(10))  # the live view's own look: seeds 0-9, 4 shapes, default sizes and colours
HELD_OUT_FRAMES = 20  # per held-out seed, 1.5 s apart


def build_model() -> YOLOv1:
    return YOLOv1(grid=GRID, boxes=BOXES, num_classes=len(SHAPE_CLASSES) - 1, dropout=0.0,
                  layout=SHAPES_LAYOUT, hidden=HIDDEN, batch_norm=True, head=HEAD)


def scenes(count: int, seed: int, *, per_source: int = 4, width: int = 640, height: int = 480):
    """``count`` varied frames of the synthetic source and their truths: (images N×H×W×3 uint8, truths)."""
    rng = np.random.default_rng(seed)
    images, truths = [], []
    k = 0
    while len(images) < count:
        source = SyntheticSource(width, height, seed=TRAIN_SEED_BASE + seed * 100_000 + k,
                                 shapes=int(rng.integers(0, 7)), realtime=False, radius=(0.05, 0.15),
                                 random_colours=bool(k % 2))
        for _ in range(min(per_source, count - len(images))):
            image, truth = source.render(int(rng.integers(0, 30 * 120)))
            images.append(image)
            truths.append(truth)
        k += 1
    return np.stack(images), truths


def held_out(width: int = 640, height: int = 480):
    """The held-out frames: the live view's default source at seeds 0-9, frames 1.5 s apart."""
    images, truths = [], []
    for seed in HELD_OUT_SEEDS:
        source = SyntheticSource(width, height, seed=seed, realtime=False)
        for i in range(HELD_OUT_FRAMES):
            image, truth = source.render(45 * i)
            images.append(image)
            truths.append(truth)
    return images, truths


def to_batch(images: np.ndarray, size=INPUT_SIZE, chunk: int = 64) -> torch.Tensor:
    """N×H×W×3 uint8 frames → N×3×h×w uint8 at the network's input size (the detector's own resize)."""
    out = []
    for i in range(0, len(images), chunk):
        x = torch.from_numpy(images[i:i + chunk]).permute(0, 3, 1, 2).float().div(255)
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
        out.append(x.mul(255).round().clamp(0, 255).to(torch.uint8))
    return torch.cat(out)


def normalize(x: torch.Tensor) -> torch.Tensor:
    """uint8 N×3×h×w → the network's input (ImageNet mean and std, as ``to_input``)."""
    return to_input(list(x.float().div(255)), tuple(x.shape[-2:]))


def box_targets(truths, width: int, height: int):
    """Each truth's boxes as image fractions and its labels as class indices 0..2."""
    scale = torch.tensor([width, height, width, height], dtype=torch.float32)
    return [(torch.from_numpy(t.boxes) / scale, torch.from_numpy(t.labels) - 1) for t in truths]


def flip(x: torch.Tensor, targets, which: torch.Tensor):
    """Mirror the chosen images left-right, and their boxes (the shapes stay what they are)."""
    x = x.clone()
    x[which] = x[which].flip(-1)
    out = []
    for i, (boxes, labels) in enumerate(targets):
        if which[i]:
            boxes = torch.stack([1 - boxes[:, 2], boxes[:, 1], 1 - boxes[:, 0], boxes[:, 3]], 1)
        out.append((boxes, labels))
    return x, out


def evaluate(detector: YOLODetector, images, truths, score_threshold: float = 0.5) -> DetectionQuality:
    """Recall at IoU 0.5 and mean IoU, class-aware, as the live view's quality meter counts them."""
    detector.eval()
    total = DetectionQuality(0, 0, 0, 0.0)
    with torch.no_grad():
        for image, truth in zip(images, truths):
            out = detector([torch.from_numpy(image).permute(2, 0, 1).float().div(255)])[0]
            keep = out["scores"] >= score_threshold
            total += detection_quality(out["boxes"][keep].numpy(), truth.boxes, pred_labels=out["labels"][keep].numpy(),
                                       truth_labels=truth.labels)
    return total


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1400)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--scenes", type=int, default=2400, help="training frames, generated once")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ASSETS)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="cpu (the recorded run) or cuda")
    parser.add_argument("--init", type=Path, help="start from these weights (a .safetensors of this model) "
                        "instead of random ones: a second run continues a first")
    parser.add_argument("--no-eval", action="store_true", help="skip the held-out check (quick smoke runs)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)

    start = time.perf_counter()
    images, truths = scenes(args.scenes, args.seed)
    height, width = images.shape[1:3]
    x_all = to_batch(images)
    del images
    targets_all = box_targets(truths, width, height)
    data_seconds = time.perf_counter() - start
    print(f"{len(x_all)} training frames in {data_seconds:.0f} s", flush=True)

    device = torch.device(args.device)
    model = build_model()
    if args.init:
        from safetensors.torch import load_file

        model.load_state_dict(load_file(str(args.init)))
    model = model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=5e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=max(args.steps, 1),
                                                   pct_start=0.1)
    train_start = time.perf_counter()
    model.train()
    for step in range(args.steps):
        idx = torch.randint(0, len(x_all), (args.batch,), generator=generator)
        which = torch.rand(args.batch, generator=generator) < 0.5
        x, targets = flip(x_all[idx], [targets_all[i] for i in idx.tolist()], which)
        has, box, cls = (t.to(device) for t in encode_targets(targets, GRID, model.num_classes))
        loss = yolo_v1_loss(model(normalize(x.to(device))), has, box, cls, BOXES, confidence_target="one")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if (step + 1) % 100 == 0 or step + 1 == args.steps:
            print(f"step {step + 1}: loss {loss.item():.3f} ({time.perf_counter() - train_start:.0f} s)", flush=True)
    seconds = time.perf_counter() - train_start
    model = model.cpu().eval()
    detector = YOLODetector(model, INPUT_SIZE, list(SHAPE_CLASSES))

    record_quality = {}
    if not args.no_eval:
        test_images, test_truths = held_out()
        q = evaluate(detector, test_images, test_truths)
        record_quality = {"held_out_frames": len(test_images), "held_out_boxes": q.truths,
                          "recall_at_iou_0.5": round(q.recall, 4), "mean_iou": round(q.mean_iou, 4),
                          "precision": round(q.precision, 4), "score_threshold": 0.5}
        print(f"held-out recall@0.5 {q.recall:.4f}, mean IoU {q.mean_iou:.4f}, precision {q.precision:.4f} "
              f"({q.truths} boxes in {len(test_images)} frames)")

    from safetensors.torch import save_file

    args.out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(args.out / f"{NAME}.safetensors"))
    record = {
        "model": NAME,
        "architecture": "yolo_v1 reduced (cnn_explorer.models.zoo.paper.yolo_v1.YOLOv1 with SHAPES_LAYOUT, "
                        f"a {HEAD} head of {HIDDEN} channels, batch norm), grid {GRID}, {BOXES} boxes a cell, 3 classes",
        "input_size": list(INPUT_SIZE),
        "dataset": "frames of the live view's synthetic source (models/live/sources.py SyntheticSource), 640×480 "
                   "squeezed to 224×224: one source per 4 frames, seeds from 1000, 0-6 shapes, radii 5-15 % "
                   "of the shorter side, spread or random colours",
        "held_out": f"seeds {HELD_OUT_SEEDS[0]}-{HELD_OUT_SEEDS[-1]} of the default source (4 shapes), "
                    f"{HELD_OUT_FRAMES} frames each, 1.5 s apart; never trained on",
        "preprocess": {"resize": "bilinear, antialiased", "mean": [0.485, 0.456, 0.406],
                       "std": [0.229, 0.224, 0.225], "range": [0, 1]},
        "training": {"init": str(args.init.name) if args.init else "random", "seed": args.seed, "steps": args.steps, "batch": args.batch, "scenes": len(x_all),
                     "optimizer": f"AdamW lr {args.lr:g} wd 5e-4, one-cycle",
                     "loss": "YOLO v1 sum-squared: lambda_coord 5, lambda_noobj 0.5, sqrt w/h; confidence target 1",
                     "augmentation": "left-right flips", "seconds": round(seconds, 1),
                     "data_seconds": round(data_seconds, 1), "threads": args.threads,
                     "device": args.device},
        **record_quality,
        "classes": list(SHAPE_CLASSES),
        "command": "python scripts/train_shapes_yolo.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "date": datetime.date.today().isoformat(),
        "versions": {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__},
    }
    (args.out / f"{NAME}.json").write_text(json.dumps(record, indent=1) + "\n")
    print(f"{seconds:.0f} s of training; wrote {args.out / NAME}.safetensors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
