"""Time our full analysis of every torchvision classifier against torchinfo.summary, in one run.

Ours records the graph, parameters, MACs (FlopCounterMode), activation memory and receptive fields;
torchinfo gives shapes, parameters and MACs. Both get the same built model and the same input size.
Each time is the best of --repeat runs after one warm-up run (as timeit advises: on a shared machine the
other processes only ever add time, so the least is the one nearest the code's own cost, for both sides),
taken at torch's default number of threads and again at one thread (ours does no arithmetic, torchinfo's
real pass does: the one-thread comparison is the one a busy machine disturbs least).

Goals (issue 22): no model above 1.0× torchinfo, and ≤ 0.25× in total, at both thread settings.

    uv run python benchmarks/analyze_zoo.py [--models resnet152 vgg16 ...] [--repeat 3] [--threads default 1]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import torch
import torchinfo

from cnn_explorer.models.analysis.summary import analyze
from cnn_explorer.models.zoo.registry import list_entries
from cnn_explorer.models.runtime.torch_import import install

install()  # as the command line and the window run


def _best_seconds(fn, repeat: int) -> float:
    fn()  # warm-up: first-call allocations and kernel selection
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", help="names (default: every torchvision classifier)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", nargs="*", default=["default", "1"],
                        help="thread settings to time at: 'default' (torch's own) and/or numbers")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    entries = [e for e in list_entries("classification") if e.source == "torchvision"]
    if args.models:
        unknown = set(args.models) - {e.name for e in entries}
        if unknown:
            parser.error(f"not a torchvision classifier: {', '.join(sorted(unknown))}")
        entries = [e for e in entries if e.name in args.models]
    default_threads = torch.get_num_threads()
    settings = [default_threads if t == "default" else int(t) for t in args.threads]

    print(f"torch {torch.__version__}, default {default_threads} threads, torchinfo {torchinfo.__version__}")
    header = "".join(f" | {'ours s':>7} {'tinfo s':>8} {'ratio':>6}" for _ in settings)
    print(f"{'':<22} {'':>5}" + "".join(f" | {f'{n} thread(s)':^23}" for n in settings))
    print(f"{'model':<22} {'input':>5}{header}")
    rows = []
    for entry in entries:
        model = entry.build()
        shape = entry.input_shape()
        row = {"model": entry.name, "input": shape[-1], "threads": {}}
        for threads in settings:
            torch.set_num_threads(threads)
            ours = _best_seconds(lambda: analyze(model, shape), args.repeat)
            theirs = _best_seconds(lambda: torchinfo.summary(model, input_size=shape, verbose=0), args.repeat)
            row["threads"][threads] = {"ours_s": ours, "torchinfo_s": theirs, "ratio": ours / theirs}
        torch.set_num_threads(default_threads)
        rows.append(row)
        cells = "".join(f" | {t['ours_s']:>7.3f} {t['torchinfo_s']:>8.3f} {t['ratio']:>6.2f}"
                        for t in row["threads"].values())
        print(f"{entry.name:<22} {shape[-1]:>5}{cells}", flush=True)
        del model

    totals = {}
    for threads in settings:
        ours = sum(r["threads"][threads]["ours_s"] for r in rows)
        theirs = sum(r["threads"][threads]["torchinfo_s"] for r in rows)
        worst = max(rows, key=lambda r: r["threads"][threads]["ratio"])
        over = [r["model"] for r in rows if r["threads"][threads]["ratio"] > 1.0]
        totals[threads] = {"ours_s": ours, "torchinfo_s": theirs, "ratio": ours / theirs,
                           "worst": worst["model"], "worst_ratio": worst["threads"][threads]["ratio"],
                           "above_1": over}
    cells = "".join(f" | {t['ours_s']:>7.2f} {t['torchinfo_s']:>8.2f} {t['ratio']:>6.2f}" for t in totals.values())
    print(f"{'TOTAL':<22} {'':>5}{cells}")
    for threads, t in totals.items():
        verdict = "ok" if t["ratio"] <= 0.25 and not t["above_1"] else "OVER"
        print(f"{threads} thread(s): total {t['ratio']:.2f}× (goal ≤ 0.25×), worst {t['worst']} "
              f"{t['worst_ratio']:.2f}× (goal ≤ 1.0×), {len(t['above_1'])} above 1.0× "
              f"{' '.join(t['above_1'])}  {verdict}")
    print(json.dumps({"models": rows, "totals": totals}))


if __name__ == "__main__":
    main()
