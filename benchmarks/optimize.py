"""Feature visualization by optimization (models/lab/optimize.py) on zfnet_shapes at 64×64:

* seconds for 256 steps (a class objective, the whole net; a conv2 channel, the pass stopped at conv2), and
  the ratio to 256 bare forward+backward passes of the same batch (1×3×64×64, gradient to the input, weights
  frozen) measured in the same run on the same thread count: the price of the parameterization, the random
  transforms, Adam and the progress snapshots;
* the smoothness measure (``optimize.roughness``: total variation / std, lower is smoother) of class and
  channel pictures of the trained net against the same net with random weights, and lenet5_digits likewise.

Prints a table and a JSON line.

    uv run python benchmarks/optimize.py [--steps 256] [--repeats 3] [--no-smoothness]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("CNN_EXPLORER_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402


def bare_passes(lab, prepared, steps: int) -> float:
    """Seconds for ``steps`` forward+backward passes of one 64×64 image, gradient to the input only."""
    x = prepared.tensor.clone().requires_grad_(True)
    params = [p for p in lab.model.parameters()]
    for p in params:
        p.requires_grad_(False)
    try:
        started = time.perf_counter()
        for _ in range(steps):
            x.grad = None
            lab.model(x)[0, 0].backward()
        return time.perf_counter() - started
    finally:
        for p in params:
            p.requires_grad_(True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-smoothness", action="store_true")
    args = parser.parse_args()

    from cnn_explorer.models.lab.activations import LabModel
    from cnn_explorer.models.lab.images import sample_image
    from cnn_explorer.models.lab.optimize import objective_for, optimize, roughness
    from cnn_explorer.models.zoo.loader import load_model

    lab = LabModel(load_model("zfnet_shapes"))
    prepared = lab.prepare(sample_image("shape_circle"))
    objectives = {"class circle": objective_for(lab, prepared, "class", target=0),
                  "conv2 channel 2": objective_for(lab, prepared, "channel", "conv2", (2,))}
    optimize(lab, prepared, objectives["class circle"], steps=8)  # warm-up
    report: dict = {"steps": args.steps, "size": [64, 64], "cpu_threads_available": os.cpu_count()}
    rows = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        bare = statistics.median(bare_passes(lab, prepared, args.steps) for _ in range(args.repeats))
        rows.append((f"{args.steps} bare forward+backward, {threads} thread(s)", bare, 1.0))
        report[f"bare_{threads}t_s"] = round(bare, 3)
        for name, objective in objectives.items():
            # optimize runs small inputs on one thread whatever the setting (its docstring says why)
            seconds = statistics.median(optimize(lab, prepared, objective, steps=args.steps).seconds
                                        for _ in range(args.repeats))
            rows.append((f"optimize {name}, {args.steps} steps (caller at {threads} thread(s))", seconds,
                         seconds / bare))
            report[f"optimize_{name.replace(' ', '_')}_{threads}t_s"] = round(seconds, 3)
            report[f"ratio_{name.replace(' ', '_')}_{threads}t"] = round(seconds / bare, 2)
    print(f"{'what':70s} {'seconds':>8s} {'× bare':>7s}")
    for what, seconds, ratio in rows:
        print(f"{what:70s} {seconds:8.2f} {ratio:7.2f}")

    if not args.no_smoothness:
        torch.set_num_threads(1)
        for model, sample, layer, channels in (("zfnet_shapes", "shape_circle", "conv2", (2, 11)),
                                               ("lenet5_digits", "digit_3", "C3", (5, 9))):
            for weights in ("pretrained", "random"):
                torch.manual_seed(0)
                net = LabModel(load_model(model, weights=weights))
                p = net.prepare(sample_image(sample))
                chosen = [objective_for(net, p, "class", target=t) for t in (0, 3)]
                chosen += [objective_for(net, p, "channel", layer, (c,)) for c in channels]
                values = [roughness(optimize(net, p, o, steps=args.steps).pixels[0]) for o in chosen]
                report[f"roughness_{model}_{weights}"] = [round(v, 3) for v in values]
                print(f"roughness {model:14s} {weights:10s} classes 0, 3; {layer} channels {channels}: "
                      + ", ".join(f"{v:.3f}" for v in values) + f"  (mean {np.mean(values):.3f})")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
