"""Train the zoo's LeNet-5 on scikit-learn's handwritten digits, offline, in well under a CPU minute.

    uv run python scripts/train_lenet5_digits.py [--epochs 40] [--seed 0]

The 8×8 digits are upscaled to 32×32 (``cnn_explorer.models.lab.datasets``); a stratified 20 % is held out
and never trained on. Inputs are normalized as the lab does for a 1-channel model (mean 0.5, std 0.5), so the
lab's default preprocessing feeds the net what it learned from. Training shifts the digits by up to 2 pixels. C1 starts from a small random initialization (0.1× torch's
default), so the filters the lab shows are what training put there, not the initial noise.
Writes ``assets/lenet5_digits.safetensors`` and ``assets/lenet5_digits.json`` (how they were made).
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

from cnn_explorer.models.lab.datasets import DIGITS_SEED, DIGITS_TEST_FRACTION, digits_split
from cnn_explorer.models.lab.preprocess import GRAY_MEAN, GRAY_STD
from cnn_explorer.models.zoo.paper.lenet import LeNet5

NAME = "lenet5_digits"
ASSETS = Path(__file__).resolve().parents[1] / "assets"


def to_tensor(images: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(images).float().div(255.0).unsqueeze(1)
    return (x - GRAY_MEAN[0]) / GRAY_STD[0]


def shift(batch: torch.Tensor, generator: torch.Generator, most: int = 2) -> torch.Tensor:
    """Each image moved by up to ``most`` pixels (the background, -1 after normalization, fills in)."""
    padded = nn.functional.pad(batch, (most,) * 4, value=float(batch.min()))
    out = torch.empty_like(batch)
    offsets = torch.randint(0, 2 * most + 1, (len(batch), 2), generator=generator)
    h, w = batch.shape[-2:]
    for i, (dy, dx) in enumerate(offsets.tolist()):
        out[i] = padded[i, :, dy:dy + h, dx:dx + w]
    return out


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ASSETS)
    parser.add_argument("--conv1-init", type=float, default=0.1,
                        help="scale of C1's random initialization: small, so that what it shows is learned")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: steady on a busy machine)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    x_train, y_train, x_test, y_test = digits_split()
    x_train, x_test = to_tensor(x_train), to_tensor(x_test)
    y_train, y_test = torch.from_numpy(y_train), torch.from_numpy(y_test)

    model = LeNet5(num_classes=10)
    with torch.no_grad():
        model.features[0].weight.mul_(args.conv1_init)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, args.epochs)
    start = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(x_train), generator=generator)
        for i in range(0, len(order), 64):
            idx = order[i:i + 64]
            loss = nn.functional.cross_entropy(model(shift(x_train[idx], generator)), y_train[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        schedule.step()
        if (epoch + 1) % 10 == 0:
            print(f"epoch {epoch + 1}: loss {loss.item():.3f}, held-out accuracy {accuracy(model, x_test, y_test):.4f}")
    seconds = time.perf_counter() - start
    test_accuracy = accuracy(model, x_test, y_test)
    train_accuracy = accuracy(model, x_train, y_train)

    from safetensors.torch import save_file
    import sklearn

    args.out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(args.out / f"{NAME}.safetensors"))
    record = {
        "model": NAME, "architecture": "lenet5 (cnn_explorer.models.zoo.paper.lenet.LeNet5)",
        "dataset": "scikit-learn load_digits (1,797 8×8 images) upscaled bilinearly to 32×32",
        "split": {"test_fraction": DIGITS_TEST_FRACTION, "stratified": True, "random_state": DIGITS_SEED,
                  "train": len(x_train), "test": len(x_test)},
        "preprocess": {"mean": list(GRAY_MEAN), "std": list(GRAY_STD), "range": [0, 1]},
        "training": {"seed": args.seed, "epochs": args.epochs, "optimizer": "Adam lr 2e-3 wd 1e-4, cosine",
                     "batch": 64, "augmentation": "shifts up to 2 px",
                     "conv1_init_scale": args.conv1_init, "seconds": round(seconds, 1),
                     "threads": args.threads},
        "test_accuracy": round(test_accuracy, 4), "train_accuracy": round(train_accuracy, 4),
        "classes": [str(d) for d in range(10)],
        "command": "python scripts/train_lenet5_digits.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "date": datetime.date.today().isoformat(),
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "numpy": np.__version__, "scikit-learn": sklearn.__version__},
    }
    (args.out / f"{NAME}.json").write_text(json.dumps(record, indent=1) + "\n")
    print(f"held-out accuracy {test_accuracy:.4f} ({len(x_test)} digits), {seconds:.0f} s; "
          f"wrote {args.out / NAME}.safetensors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
