"""Time our full analysis of every torchvision classifier against torchinfo.summary, in one run.

Ours records the graph, parameters, MACs (FlopCounterMode), activation memory and receptive fields;
torchinfo gives shapes, parameters and MACs. Both get the same built model and the same input size.
Each time is the median of --repeat runs after one warm-up run.

    uv run python benchmarks/analyze_zoo.py [--models resnet152 vgg16 ...] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings

import torch
import torchinfo

from cnn_explorer.models.analysis.summary import analyze
from cnn_explorer.models.zoo.registry import list_entries
from cnn_explorer.models.runtime.torch_import import install

install()  # as the command line and the window run


def _median_seconds(fn, repeat: int) -> float:
    fn()  # warm-up: first-call allocations and kernel selection
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", help="names (default: every torchvision classifier)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    entries = [e for e in list_entries("classification") if e.source == "torchvision"]
    if args.models:
        entries = [e for e in entries if e.name in args.models]

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, torchinfo {torchinfo.__version__}")
    print(f"{'model':<22} {'input':>7} {'ours s':>8} {'torchinfo s':>12} {'ratio':>6}")
    rows = []
    for entry in entries:
        model = entry.build()
        shape = entry.input_shape()
        ours = _median_seconds(lambda: analyze(model, shape), args.repeat)
        theirs = _median_seconds(lambda: torchinfo.summary(model, input_size=shape, verbose=0), args.repeat)
        rows.append({"model": entry.name, "input": shape[-1], "ours_s": ours, "torchinfo_s": theirs,
                     "ratio": ours / theirs})
        print(f"{entry.name:<22} {shape[-1]:>7} {ours:>8.3f} {theirs:>12.3f} {ours / theirs:>6.2f}", flush=True)
        del model

    total_ours = sum(r["ours_s"] for r in rows)
    total_theirs = sum(r["torchinfo_s"] for r in rows)
    print(f"{'TOTAL':<22} {'':>7} {total_ours:>8.2f} {total_theirs:>12.2f} {total_ours / total_theirs:>6.2f}")
    print(json.dumps({"models": rows, "total_ours_s": total_ours, "total_torchinfo_s": total_theirs,
                      "ratio": total_ours / total_theirs}))


if __name__ == "__main__":
    main()
