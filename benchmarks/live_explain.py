"""Explain in the live view (issue 21 §4): the picture's FPS with and without the explanation, on the CPU.

    uv run python benchmarks/live_explain.py                      # zfnet_shapes and shapes_yolo, camera at 30 FPS
    uv run python benchmarks/live_explain.py --fps 0              # on demand: the model is the bound (harshest)
    uv run python benchmarks/live_explain.py --models shapes_yolo --rounds 5 --seconds 8

The synthetic source runs through a ``LivePipeline`` as the Live tab runs it; with Explain, each result's
frame is offered to a ``LiveExplainer`` (its own thread, the newest frame only, at a reduced rate), as the
session does. Runs without and with alternate (``--rounds`` pairs, the explainer loaded and warm before its
runs) so that a busy moment of the machine falls on both; each prints the picture's FPS (results a second over
``--seconds``), the explainer's maps a second, and the ratio with/without of the medians (goal ≥ 0.9).
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

GOAL = 0.9


def measure(model: str, explainer, fps: float, seconds: float, threshold: float) -> tuple[float, float]:
    """(picture FPS, explain maps a second) over ``seconds`` after the model is warm."""
    from cnn_explorer.models.live.pipeline import LivePipeline
    from cnn_explorer.models.live.session import live_predictor
    from cnn_explorer.models.live.sources import SyntheticSource

    def offer(result) -> None:
        if explainer is not None:
            explainer.offer(result.image, result.frame_index)

    source = SyntheticSource(640, 480, fps or 30.0, realtime=bool(fps))
    pipeline = LivePipeline(source, lambda: live_predictor(model, score_threshold=threshold),
                            on_result=offer)
    with pipeline:
        pipeline.start()
        if pipeline.wait_result(0, timeout=300) is None:
            raise SystemExit(f"{model}: no result ({pipeline.error})")
        threading.Event().wait(1.0)  # settle
        results, maps, start = pipeline.results, explainer.count if explainer else 0, time.perf_counter()
        threading.Event().wait(seconds)
        elapsed = time.perf_counter() - start
        picture = (pipeline.results - results) / elapsed
        explained = ((explainer.count - maps) / elapsed) if explainer else 0.0
    return picture, explained


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["zfnet_shapes", "shapes_yolo"])
    parser.add_argument("--fps", type=float, default=30.0, help="the synthetic camera's rate; 0: on demand")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--threshold", type=float, default=0.5)
    args = parser.parse_args()
    import numpy as np

    from cnn_explorer.models.live.explain import LiveExplainer
    from cnn_explorer.models.live.sources import SyntheticSource

    frame = SyntheticSource(640, 480, 30.0).render(3)[0]
    for model in args.models:
        explainer = LiveExplainer(model, threshold=args.threshold)
        explainer.offer(frame, 0)  # loaded and warm before its first run
        while explainer.count < 1 and explainer.error is None:
            threading.Event().wait(0.05)
        if explainer.error:
            raise SystemExit(explainer.error)
        without, with_, rates = [], [], []
        for r in range(args.rounds):
            without.append(measure(model, None, args.fps, args.seconds, args.threshold)[0])
            picture, maps = measure(model, explainer, args.fps, args.seconds, args.threshold)
            with_.append(picture)
            rates.append(maps)
            print(f"{model} round {r + 1}: picture {without[-1]:.1f} FPS without, {picture:.1f} FPS with explain "
                  f"({maps:.1f} maps/s)", flush=True)
        explainer.stop()
        a, b = statistics.median(without), statistics.median(with_)
        ratio = b / a if a else float("nan")
        mean_ms = 1000 * float(np.mean([explainer.latest.seconds])) if explainer.latest else float("nan")
        print(f"{model}: camera {args.fps:g} FPS · picture {a:.1f} FPS without, {b:.1f} FPS with explain "
              f"({statistics.median(rates):.1f} maps/s, last map {mean_ms:.0f} ms) · ratio {ratio:.3f} "
              f"({'meets' if ratio >= GOAL else 'misses'} the goal ≥ {GOAL})", flush=True)


if __name__ == "__main__":
    main()
