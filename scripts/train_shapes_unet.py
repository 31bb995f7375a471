"""Train a small U-Net to colour the live view's synthetic shapes pixel by pixel (background, circle, square,
triangle): about 15 minutes on two quiet CPU threads, under a minute on a GPU (``--device cuda``, how the shipped
weights were made). With half the steps the shapes are found but their classes still mixed up.

    uv run python scripts/train_shapes_unet.py [--steps 3000] [--seed 0] [--scenes 1200] [--device cuda]

The scenes are those of scripts/train_shapes_yolo.py (the live view's synthetic source, many seeds from
1000 on, 0 to 6 shapes of varied sizes and colours), halved to 240×320, the size the net works at
(``SmallUNet.work_size``: a frame of another size is resized to it and the class scores back). Training
uses random 128×128 crops (the net is fully convolutional), cross-entropy over the four classes. The held-out
check runs the whole net on full 640×480 frames of the default source at seeds 0 to 9 (never trained on) and
measures the pixel IoU the live view's quality meter reports. Writes ``assets/shapes_unet.safetensors`` and
``assets/shapes_unet.json``.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from train_shapes_yolo import held_out, normalize, scenes, to_batch  # noqa: E402  (the same scenes)

from cnn_explorer.models.live.quality import PixelQuality, pixel_quality  # noqa: E402
from cnn_explorer.models.live.sources import SHAPE_CLASSES  # noqa: E402
from cnn_explorer.models.zoo.paper.unet_small import SmallUNet  # noqa: E402

NAME = "shapes_unet"
ASSETS = Path(__file__).resolve().parents[1] / "assets"
WORK_SIZE = (240, 320)
WIDTHS = (8, 16, 32, 64, 128)
CROP = 128


def build_model() -> SmallUNet:
    return SmallUNet(in_channels=3, num_classes=len(SHAPE_CLASSES), widths=WIDTHS, work_size=WORK_SIZE)


def label_maps(truths, size=WORK_SIZE) -> torch.Tensor:
    """The truths' class maps at ``size`` (nearest): N×h×w int64."""
    import cv2

    return torch.from_numpy(np.stack([cv2.resize(t.label_map, size[::-1], interpolation=cv2.INTER_NEAREST)
                                      for t in truths])).long()


def evaluate(model: SmallUNet, images, truths, foreground: bool = False) -> PixelQuality:
    """Pixel IoU over the shape classes (each class's pixels against its own; ``foreground``: shape or not),
    on full frames."""
    model.eval()
    total = PixelQuality(0, 0)
    with torch.no_grad():
        for image, truth in zip(images, truths):
            x = normalize(torch.from_numpy(image).permute(2, 0, 1).unsqueeze(0))
            pred = model(x).argmax(1)[0].numpy().astype(np.uint8)
            total += pixel_quality(pred, truth.label_map, classes=None if foreground else range(1, len(SHAPE_CLASSES)))
    return total


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--scenes", type=int, default=1200, help="training frames, generated once")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ASSETS)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="cpu (the recorded run) or cuda")
    parser.add_argument("--no-eval", action="store_true", help="skip the held-out check (quick smoke runs)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)

    start = time.perf_counter()
    images, truths = scenes(args.scenes, args.seed + 1)  # other scenes than the detector's, same recipe
    x_all = to_batch(images, WORK_SIZE)
    del images
    y_all = label_maps(truths)
    data_seconds = time.perf_counter() - start
    print(f"{len(x_all)} training frames in {data_seconds:.0f} s", flush=True)

    device = torch.device(args.device)
    model = build_model().to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=max(args.steps, 1),
                                                   pct_start=0.1)
    h, w = WORK_SIZE
    train_start = time.perf_counter()
    model.train()
    for step in range(args.steps):
        idx = torch.randint(0, len(x_all), (args.batch,), generator=generator)
        top = torch.randint(0, h - CROP + 1, (args.batch,), generator=generator).tolist()
        left = torch.randint(0, w - CROP + 1, (args.batch,), generator=generator).tolist()
        flip = (torch.rand(args.batch, generator=generator) < 0.5).tolist()
        xs, ys = [], []
        for i, t, l, f in zip(idx.tolist(), top, left, flip):
            x, y = x_all[i, :, t:t + CROP, l:l + CROP], y_all[i, t:t + CROP, l:l + CROP]
            xs.append(x.flip(-1) if f else x)
            ys.append(y.flip(-1) if f else y)
        x, y = normalize(torch.stack(xs)).to(device), torch.stack(ys).to(device)
        loss = F.cross_entropy(model.segment(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if (step + 1) % 100 == 0 or step + 1 == args.steps:
            print(f"step {step + 1}: loss {loss.item():.4f} ({time.perf_counter() - train_start:.0f} s)", flush=True)
    seconds = time.perf_counter() - train_start
    model = model.cpu().eval()

    record_quality = {}
    if not args.no_eval:
        test_images, test_truths = held_out()
        q = evaluate(model, test_images, test_truths)
        fg = evaluate(model, test_images, test_truths, foreground=True)
        record_quality = {"held_out_frames": len(test_images), "pixel_iou": round(q.iou, 4),
                          "foreground_iou": round(fg.iou, 4)}
        print(f"held-out pixel IoU {q.iou:.4f}, foreground (any shape) {fg.iou:.4f} ({len(test_images)} frames "
              "of 640×480)")

    from safetensors.torch import save_file

    args.out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(args.out / f"{NAME}.safetensors"))
    record = {
        "model": NAME,
        "architecture": f"small U-Net (cnn_explorer.models.zoo.paper.unet_small.SmallUNet), widths {list(WIDTHS)}, "
                        "padded 3×3 convs with batch norm, 4 levels down",
        "work_size": list(WORK_SIZE),
        "dataset": "frames of the live view's synthetic source (models/live/sources.py SyntheticSource), 640×480 "
                   "halved to 240×320: one source per 4 frames, seeds from 1000, 0-6 shapes, radii 5-15 % of the "
                   "shorter side, spread or random colours; per-pixel classes from the source's label_map",
        "held_out": "seeds 0-9 of the default source (4 shapes), 20 frames each, 1.5 s apart, at 640×480; "
                    "never trained on",
        "preprocess": {"resize": "bilinear, antialiased, to 240×320; scores back bilinear",
                       "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "range": [0, 1]},
        "training": {"seed": args.seed, "steps": args.steps, "batch": args.batch, "crop": CROP,
                     "scenes": len(x_all), "optimizer": f"AdamW lr {args.lr:g} wd 1e-4, one-cycle",
                     "loss": "cross-entropy", "augmentation": f"random {CROP}×{CROP} crops, left-right flips",
                     "seconds": round(seconds, 1), "data_seconds": round(data_seconds, 1),
                     "threads": args.threads, "device": args.device},
        **record_quality,
        "classes": list(SHAPE_CLASSES),
        "command": "python scripts/train_shapes_unet.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "date": datetime.date.today().isoformat(),
        "versions": {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__},
    }
    (args.out / f"{NAME}.json").write_text(json.dumps(record, indent=1) + "\n")
    print(f"{seconds:.0f} s of training; wrote {args.out / NAME}.safetensors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
