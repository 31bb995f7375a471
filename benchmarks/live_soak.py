"""The live pipeline's leak check (issue 10: a 10-minute soak on the synthetic source grows the process's
memory by less than 50 MB).

    uv run python benchmarks/live_soak.py                      # 10 minutes, ssdlite320_mobilenet_v3_large
    uv run python benchmarks/live_soak.py --minutes 2 --model lraspp_mobilenet_v3_large --stop-start 3

Runs the pipeline (capture thread + inference thread, overlays on) on the synthetic source at a webcam's
30 FPS, reading the newest result as the GUI does, and samples the process's resident memory every 10 s. The
baseline is taken after the first minute (the allocator's pools and the model's caches have grown by then);
the growth is the last sample minus that baseline, and the slope over the second half says whether it is still
climbing. ``--stop-start N`` also stops and restarts the pipeline N times along the way (threads and the
source must be released each time). Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time


def rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="ssdlite320_mobilenet_v3_large")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--stop-start", type=int, default=2, metavar="N")
    parser.add_argument("--threshold", type=float, default=0.5)
    args = parser.parse_args(argv)
    os.environ.setdefault("CNN_EXPLORER_OFFLINE", "1")
    import numpy as np

    from cnn_explorer.models.live.pipeline import LivePipeline
    from cnn_explorer.models.live.predictor import Predictor
    from cnn_explorer.models.live.sources import SyntheticSource

    pipeline = LivePipeline(SyntheticSource(fps=args.fps), lambda: Predictor(args.model, score_threshold=args.threshold))
    pipeline.start()
    pipeline.wait_ready(600)
    seconds = args.minutes * 60
    restarts = set(np.linspace(0, seconds, args.stop_start + 2)[1:-1].round().astype(int)) if args.stop_start else set()
    start = time.perf_counter()
    samples: list[tuple[float, float]] = []
    baseline = None
    results = 0
    next_sample = 0.0
    print(f"{'t (s)':>6} {'RSS MB':>8} {'results':>8} {'threads':>7}")
    while (t := time.perf_counter() - start) < seconds:
        result = pipeline.wait_result(timeout=1.0)
        if result is not None:
            results += 1
            _ = result.overlay  # the GUI reads it
        if pipeline.error is not None and not pipeline.running:
            print(f"the pipeline ended: {pipeline.error}", file=sys.stderr)
            return 1
        for mark in sorted(restarts):
            if t >= mark:
                restarts.discard(mark)
                pipeline.stop()
                pipeline.start()
        if t >= next_sample:
            mb = rss_mb()
            samples.append((t, mb))
            if baseline is None and t >= 60:
                baseline = mb
            print(f"{t:6.0f} {mb:8.1f} {results:8d} {threading.active_count():7d}", flush=True)
            next_sample += 10.0
    pipeline.stop()
    final = rss_mb()
    samples.append((time.perf_counter() - start, final))
    base = baseline if baseline is not None else samples[0][1]
    half = [s for s in samples if s[0] >= seconds / 2]
    slope = float(np.polyfit([s[0] for s in half], [s[1] for s in half], 1)[0] * 60) if len(half) >= 3 else 0.0
    report = {"model": args.model, "minutes": args.minutes, "results": results, "baseline_mb": round(base, 1),
              "final_mb": round(final, 1), "growth_mb": round(final - base, 1),
              "slope_mb_per_min_second_half": round(slope, 2), "restarts": args.stop_start,
              "threads_after_stop": threading.active_count(), "goal": "growth < 50 MB"}
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
