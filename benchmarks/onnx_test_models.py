"""Which of onnx's bundled test models the explorer opens, and why the others are refused (issue 20).

    uv run python benchmarks/onnx_test_models.py [--folders pytorch-converted,light] [--only TEXT] [--verbose]

The ``onnx`` package ships backend test data under ``onnx/backend/test/data/``: ``node/`` (one op per model;
absent from some wheels), ``simple/``, ``pytorch-converted/``, ``pytorch-operator/`` (each a folder holding a
``model.onnx``) and ``light/`` (whole networks, ``light_*.onnx``, their weights made by ConstantOfShape nodes).
Each model is opened with ``open_model_file`` (which converts it and checks it against onnxruntime) and its
line says "opens" (with the difference measured against onnxruntime) or the refusal's one-line reason. Anything
raised that is not a ``ModelFileError`` is a product bug: it is printed as CRASH and the script exits 1.
The totals follow, with the refusals grouped by reason.
"""

from __future__ import annotations

import argparse
import collections
import re
import sys
import time
import warnings
from pathlib import Path

FOLDERS = ("node", "simple", "pytorch-converted", "pytorch-operator", "light")


def data_folder() -> Path:
    import onnx

    return Path(onnx.__file__).resolve().parent / "backend" / "test" / "data"


def test_models(folders=FOLDERS) -> list[tuple[str, Path]]:
    """(label, path) of every model file in ``folders``: ``<folder>/<case>/model.onnx`` and ``light/*.onnx``."""
    root = data_folder()
    found = []
    for folder in folders:
        base = root / folder
        if not base.is_dir():
            continue
        paths = sorted(base.glob("*/model.onnx")) + sorted(base.glob("*.onnx"))
        for path in paths:
            label = f"{folder}/{path.parent.name if path.name == 'model.onnx' else path.stem}"
            found.append((label, path))
    return found


def reason_group(message: str, path: Path) -> str:
    """A refusal's message without the file's path and the details that differ from file to file."""
    text = message.replace(str(path), "").lstrip(": ").strip()
    text = re.sub(r"'[^']*'", "'…'", text)
    text = re.sub(r"\b\d+(\.\d+)?(e-?\d+)?\b", "N", text)
    text = re.sub(r"(N×)+N", "shape", text)
    return text


def open_one(path: Path):
    """("opens", note) or ("refused", message) or ("crash", text)."""
    from cnn_explorer.models.files import ModelFileError, open_model_file

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            opened = open_model_file(str(path))
    except ModelFileError as error:
        return "refused", str(error)
    except Exception as error:  # noqa: BLE001 - the point: anything else is a bug
        return "crash", f"{type(error).__name__}: {error}".splitlines()[0][:300]
    note = next((n for n in opened.notes if "matches onnxruntime" in n), "")
    match = re.search(r"matches onnxruntime to (\S+)", note)
    return "opens", f"input {'×'.join(map(str, opened.input_shape))}, max|Δ| {match.group(1) if match else '?'}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folders", default=",".join(FOLDERS), help="comma-separated, of " + ", ".join(FOLDERS))
    parser.add_argument("--only", default="", help="models whose label contains this text")
    parser.add_argument("--verbose", action="store_true", help="the full reason on every line")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    everything = test_models(args.folders.split(","))
    missing = [f for f in args.folders.split(",") if not any(label.startswith(f + "/") for label, _ in everything)]
    models = [(label, path) for label, path in everything if args.only in label]
    present = sorted({label.split("/")[0] for label, _ in models})
    print(f"onnx test data: {data_folder()}")
    if missing:
        print(f"folders without models here: {', '.join(missing)}")
    results = {}
    start = time.perf_counter()
    for label, path in models:
        t = time.perf_counter()
        outcome, text = open_one(path)
        results[label] = (outcome, text, path)
        shown = text if args.verbose or outcome != "refused" else reason_group(text, path)
        print(f"{label:60s} {outcome:8s} {time.perf_counter() - t:5.1f}s  {shown}", flush=True)
    total = time.perf_counter() - start
    counts = collections.Counter(outcome for outcome, _, _ in results.values())
    print(f"\n{len(results)} models in {total:.0f} s: {counts['opens']} open, {counts['refused']} refused "
          f"(one-line ModelFileError), {counts['crash']} crashed (another exception)")
    for folder in present:
        mine = [o for label, (o, _, _) in results.items() if label.startswith(folder + "/")]
        c = collections.Counter(mine)
        print(f"  {folder}: {len(mine)} models, {c['opens']} open, {c['refused']} refused, {c['crash']} crashed")
    groups = collections.defaultdict(list)
    for label, (outcome, text, path) in results.items():
        if outcome != "opens":
            groups[(outcome, reason_group(text, path))].append(label)
    if groups:
        print("\nrefusals by reason:")
        for (outcome, reason), labels in sorted(groups.items(), key=lambda kv: -len(kv[1])):
            print(f"  {len(labels):3d} {outcome}: {reason}")
            print(f"      {', '.join(label.split('/', 1)[1] for label in labels)}")
    return 1 if counts["crash"] else 0


if __name__ == "__main__":
    sys.exit(main())
