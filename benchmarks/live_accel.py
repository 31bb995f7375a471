"""Does a CUDA graph or ``torch.compile`` speed up the live models? (issue 10: "measure CUDA graphs or
torch.compile where they help, and keep what wins").

    python benchmarks/live_accel.py --models lraspp_mobilenet_v3_large ssdlite320_mobilenet_v3_large

For each model at 640×480 frames and each precision, the forward pass alone (``Predictor.model_only`` on the
same uploaded frames) in three variants:

- eager: the predictor as it ships;
- graph: a CUDA graph captured once and replayed — of the whole model for segmenters and classifiers (static
  shapes), of the backbone for detectors (their pre- and post-processing have data-dependent shapes and host
  syncs that a graph cannot hold);
- compile: ``torch.compile`` of the same part (default mode; compile time reported separately).

Needs CUDA; prints one table. The figures go to docs/benchmarks.md with the device's name.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch


class Graphed(torch.nn.Module):
    """``module`` replayed from a CUDA graph captured on ``example`` (same shape and dtype every call)."""

    def __init__(self, module, example: torch.Tensor, autocast_dtype=None):
        super().__init__()
        self.module = module
        self.static_in = example.clone()
        self.autocast_dtype = autocast_dtype
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(3):
                self._forward()
        torch.cuda.current_stream().wait_stream(stream)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.static_out = self._forward()

    def _forward(self):
        if self.autocast_dtype is None:
            return self.module(self.static_in)
        with torch.autocast("cuda", dtype=self.autocast_dtype):
            return self.module(self.static_in)

    def forward(self, x):
        self.static_in.copy_(x)
        self.graph.replay()
        return self.static_out


def frames(n: int = 16):
    from cnn_explorer.models.live.sources import SyntheticSource

    source = SyntheticSource(realtime=False)
    return [source.render(i)[0] for i in range(n)]


def measure(predictor, images, repeat: int) -> float:
    fps, _ = predictor.model_only(images, repeat=repeat)
    return fps


def backbone_input(predictor, image):
    """What the detector's backbone sees for ``image`` (after its own transform)."""
    with torch.inference_mode():
        prepared = predictor.preprocess(image)
        batch, _ = predictor.model.transform(prepared.inputs)
        x = batch.tensors
        if predictor.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x


def run(name: str, precision: str, repeat: int) -> dict:
    from cnn_explorer.models.live.predictor import DETECTION_TASKS, Predictor

    images = frames()
    row = {"model": name, "precision": precision}
    predictor = Predictor(name, device="cuda", precision=precision, weights="pretrained")
    predictor.warmup((480, 640), 3)
    row["eager"] = measure(predictor, images, repeat)
    detector = predictor.task in DETECTION_TASKS
    part = "backbone" if detector else "model"
    original = predictor.model.backbone if detector else predictor.model
    with torch.inference_mode():
        example = backbone_input(predictor, images[0]) if detector else predictor.preprocess(images[0]).inputs
        for variant in ("graph", "compile"):
            try:
                start = time.perf_counter()
                if variant == "graph":
                    fast = Graphed(original, example, predictor._autocast_dtype)
                else:
                    fast = torch.compile(original)
                    with predictor._autocast():
                        fast(example)
                        fast(example)
                    torch.cuda.synchronize()
                row[f"{variant}_setup_s"] = time.perf_counter() - start
                if detector:
                    predictor.model.backbone = fast
                else:
                    predictor.model = fast
                row[variant] = measure(predictor, images, repeat)
            except Exception as error:  # noqa: BLE001 - a variant that cannot run is a finding, not a crash
                row[variant] = None
                row[f"{variant}_error"] = f"{type(error).__name__}: {str(error).splitlines()[0][:120]}"
            finally:
                if detector:
                    predictor.model.backbone = original
                else:
                    predictor.model = original
    row["part"] = part
    row["device"] = predictor.device_name
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="*", default=["lraspp_mobilenet_v3_large", "ssdlite320_mobilenet_v3_large",
                                                         "fasterrcnn_mobilenet_v3_large_fpn", "maskrcnn_resnet50_fpn"])
    parser.add_argument("--precisions", nargs="*", default=["fp16"])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("needs a CUDA GPU", file=sys.stderr)
        return 2
    print(f"{'model':36} {'prec':5} {'part':8} {'eager':>8} {'graph':>8} {'compile':>8}  setup (graph, compile)")
    device = ""
    for name in args.models:
        for precision in args.precisions:
            r = run(name, precision, args.repeat)
            device = r["device"]
            cell = lambda k: f"{r[k]:8.1f}" if r.get(k) else f"{'—':>8}"  # noqa: E731
            print(f"{name:36} {precision:5} {r['part']:8} {cell('eager')} {cell('graph')} {cell('compile')}  "
                  f"{r.get('graph_setup_s', float('nan')):.1f} s, {r.get('compile_setup_s', float('nan')):.1f} s", flush=True)
            for k in ("graph_error", "compile_error"):
                if k in r:
                    print(f"    {k}: {r[k]}")
    print(f"\nFPS of the forward pass alone, 640×480 frames, device: {device}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
