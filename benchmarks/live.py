"""The live pipeline's speed goals (issue 10), measured with ``bench-live`` one model per process.

    uv run python benchmarks/live.py                         # the CPU goals on this machine
    uv run python benchmarks/live.py --device cuda           # the GPU goals (640×480, fp32 and fp16)
    uv run python benchmarks/live.py --models lraspp_mobilenet_v3_large --precisions fp16 bf16 --device cuda

Each configuration runs in a fresh process (a model's threads and caches never colour the next one) on the
synthetic source played on demand (``--fps 0``: the capture thread renders one frame ahead of the model, so
the pipeline, not a 30 FPS camera, is the bound, and no thread races the model for the GIL), and
prints camera, model-only and pipeline FPS, the pipeline/model-only ratio (goal ≥ 0.9), latency and drops.
Models without downloadable weights here run with random weights: the speed of a forward pass does not depend
on the values of the weights, but a detector's post-processing does depend on how many boxes pass the score
threshold, so detectors are also measured at threshold 0 (up to 100 boxes per frame, the worst case).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

CPU_GOALS = {  # model: minimum pipeline FPS on the 2-core CPU (issue 10)
    "ssdlite320_mobilenet_v3_large": 10,
    "mtcnn": 15,
    "shapes_yolo": 25,
}
GPU_GOALS = {  # at 640×480 on an NVIDIA H100 or H200
    "fasterrcnn_mobilenet_v3_large_fpn": 60,
    "maskrcnn_resnet50_fpn": 25,
    "lraspp_mobilenet_v3_large": 150,
    "ssdlite320_mobilenet_v3_large": 150,
}
_RUN = "import sys; from cnn_explorer.app.cli import main; sys.exit(main(sys.argv[1:]))"


def bench(model: str, device: str, precision: str, frames: int, threshold: float | None, weights: str) -> dict:
    cmd = [sys.executable, "-c", _RUN, "bench-live", "--model", model, "--device", device, "--precision", precision,
           "--frames", str(frames), "--fps", "0", "--weights", weights, "--json"]
    if threshold is not None:
        cmd += ["--threshold", str(threshold)]
    env = dict(os.environ, CNN_EXPLORER_OFFLINE="1")
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"model": model, "precision": precision, "error": (done.stderr.strip().splitlines() or ["?"])[-1]}
    report = json.loads(lines[-1])
    report["threshold"] = threshold
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--models", nargs="*")
    parser.add_argument("--precisions", nargs="*")
    parser.add_argument("--frames", type=int, default=0, help="results per run (CPU 60, GPU 300)")
    parser.add_argument("--weights", default="pretrained", help="'pretrained' falls back to random offline")
    parser.add_argument("--json", metavar="FILE", help="also write the reports here")
    args = parser.parse_args(argv)
    cuda = args.device.startswith("cuda")
    goals = GPU_GOALS if cuda else CPU_GOALS
    models = args.models or list(goals)
    precisions = args.precisions or (["fp32", "fp16"] if cuda else ["fp32"])
    frames = args.frames or (300 if cuda else 60)
    reports = []
    head = (f"{'model':36} {'prec':5} {'thr':>4} {'input':>9} {'camera':>7} {'model':>7} {'pipeline':>8} "
            f"{'ratio':>6} {'p50 ms':>7} {'p95 ms':>7} {'drop':>5}  goal")
    print(head)
    print("-" * len(head))
    for model in models:
        task_thresholds = [None]
        for precision in precisions:
            for threshold in task_thresholds:
                r = bench(model, args.device, precision, frames, threshold, args.weights)
                reports.append(r)
                if "error" in r:
                    print(f"{model:36} {precision:5} error: {r['error']}", flush=True)
                    continue
                if r["task"] in ("detection", "instance_segmentation", "keypoints") and \
                        r["weights"] == "random" and task_thresholds == [None]:
                    task_thresholds.append(0.0)  # random weights: also the worst case, every box kept
                goal = goals.get(model)
                verdict = "" if goal is None else f"≥{goal}: {'met' if r['pipeline_fps'] >= goal else 'NOT met'}"
                thr = "—" if threshold is None else f"{threshold:g}"
                print(f"{model:36} {precision:5} {thr:>4} {'×'.join(map(str, r['input_size'])):>9} "
                      f"{r['camera_fps']:7.1f} {r.get('model_only_fps', 0):7.1f} {r['pipeline_fps']:8.1f} "
                      f"{r.get('pipeline_vs_model_only', 0):6.2f} {r['latency_p50_ms']:7.1f} {r['latency_p95_ms']:7.1f} "
                      f"{r['frames_dropped']:5d}  {verdict}", flush=True)
    if reports and "device_name" in next((r for r in reports if "device_name" in r), {}):
        print(f"\ndevice: {next(r for r in reports if 'device_name' in r)['device_name']}; weights: "
              f"{', '.join(sorted({r['weights_note'] for r in reports if 'weights_note' in r}))}")
    if args.json:
        Path(args.json).write_text(json.dumps(reports, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
