"""Cold start: how long each command takes, as a ratio to a bare ``python -c "import torch"`` timed in the
same run (this machine is noisy; ratios travel). Medians of --repeat runs, each in a fresh process.

Goals (issue 12): ``list``, ``--help``, an unknown model and a bad flag ≤ 0.1×; ``summary`` and ``graph`` of a
torchvision model ≤ 1.3×; the window drawn with the zoo browsable ≤ 0.15×; a second ``summary`` of the same
model at least 5× faster than the first (the analysis cache). Issue 22: ``graph`` and ``figure`` of a model
analyzed before (drawn from the analysis cache, without torch) ≤ 0.3×.

    uv run python benchmarks/startup.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

WINDOW_PROBE = """
import sys, time
start = time.perf_counter()
from cnn_explorer.app.window.gui_thread import application
app = application([])
from cnn_explorer.app.window.main_window import MainWindow
window = MainWindow("resnet18", weights="random", cache_dir=sys.argv[1])
window.show()
app.processEvents()
drawn = time.perf_counter() - start
assert len(window.zoo.entries()) > 50
while window.current_result() is None:
    app.processEvents()
    time.sleep(0.005)
shown = time.perf_counter() - start
print(drawn, shown)
window.close()
"""


def timed(args: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600)
    return time.perf_counter() - start


def median(fn, repeat: int) -> float:
    return statistics.median(fn() for _ in range(repeat))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    # This package's own sources compiled to bytecode, as an installed wheel's are: an editable install is not
    # compiled by `uv sync --compile-bytecode`, and where PYTHONDONTWRITEBYTECODE is set (this machine) every
    # process would compile them again (60 ms of the window's 210 ms).
    import compileall

    import cnn_explorer.app, cnn_explorer.models, cnn_explorer.widgets  # noqa: E401

    for package in (cnn_explorer.app, cnn_explorer.models, cnn_explorer.widgets):
        compileall.compile_dir(os.path.dirname(package.__file__), quiet=1)
    folder = tempfile.mkdtemp(prefix="startup-")
    env = {**os.environ, "CNN_EXPLORER_OFFLINE": "1", "QT_QPA_PLATFORM": "offscreen",
           "CNN_EXPLORER_CACHE_DIR": os.path.join(folder, "cache"), "XDG_CONFIG_HOME": os.path.join(folder, "config")}
    cli = [sys.executable, "-m", "cnn_explorer.app.cli"]
    torch_s = median(lambda: timed([sys.executable, "-c", "import torch"], env), args.repeat)

    rows = []

    def row(name: str, seconds: float, goal: float | None) -> None:
        ratio = seconds / torch_s
        rows.append({"case": name, "seconds": round(seconds, 3), "ratio": round(ratio, 3), "goal": goal,
                     "ok": None if goal is None else ratio <= goal})

    row("list", median(lambda: timed(cli + ["list"], env), args.repeat), 0.1)
    row("--help", median(lambda: timed(cli + ["--help"], env), args.repeat), 0.1)
    row("summary of an unknown model", median(lambda: timed(cli + ["summary", "resnet51"], env), args.repeat), 0.1)
    row("a bad flag", median(lambda: timed(cli + ["summary", "resnet18", "--bogus"], env), args.repeat), 0.1)

    def summary_pair() -> tuple[float, float]:
        cache = tempfile.mkdtemp(prefix="cache-", dir=folder)
        fresh = {**env, "CNN_EXPLORER_CACHE_DIR": cache}
        return (timed(cli + ["summary", "resnet152", "--json"], fresh),
                timed(cli + ["summary", "resnet152", "--json"], fresh))

    pairs = [summary_pair() for _ in range(args.repeat)]
    first, second = statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)
    row("summary resnet152 --json (first)", first, 1.3)
    row("summary resnet152 --json (again: cached)", second, None)
    svg = os.path.join(folder, "g.svg")
    png = os.path.join(folder, "f.png")

    def drawing_pair(command: list[str]) -> tuple[float, float]:
        cache = tempfile.mkdtemp(prefix="cache-", dir=folder)
        fresh = {**env, "CNN_EXPLORER_CACHE_DIR": cache}
        return timed(cli + command, fresh), timed(cli + command, fresh)

    graphs = [drawing_pair(["graph", "resnet18", "--out", svg]) for _ in range(args.repeat)]
    row("graph resnet18 --out g.svg (first)", statistics.median(p[0] for p in graphs), 1.3)
    row("graph resnet18 --out g.svg (again: cached)", statistics.median(p[1] for p in graphs), 0.3)
    figures = [drawing_pair(["figure", "resnet18", "--out", png]) for _ in range(args.repeat)]
    row("figure resnet18 --out f.png (first)", statistics.median(p[0] for p in figures), None)
    row("figure resnet18 --out f.png (again: cached)", statistics.median(p[1] for p in figures), 0.3)

    def window() -> tuple[float, float]:
        out = subprocess.run([sys.executable, "-c", WINDOW_PROBE, tempfile.mkdtemp(dir=folder)], env=env,
                             capture_output=True, text=True, timeout=600)
        drawn, shown = (float(v) for v in out.stdout.split()[-2:])
        return drawn, shown

    windows = [window() for _ in range(args.repeat)]
    row("window drawn, zoo browsable", statistics.median(w[0] for w in windows), 0.15)
    row("window: first model shown", statistics.median(w[1] for w in windows), None)

    print(f"bare `import torch`: {torch_s:.2f} s (median of {args.repeat})")
    print(f"{'case':<46} {'seconds':>8} {'× torch':>8}  goal")
    for r in rows:
        goal = "" if r["goal"] is None else f"≤ {r['goal']}×  {'ok' if r['ok'] else 'OVER'}"
        print(f"{r['case']:<46} {r['seconds']:>8.2f} {r['ratio']:>8.2f}  {goal}")
    speedup = first / second
    print(f"second summary is {speedup:.1f}× faster than the first (goal ≥ 5×)")
    print(json.dumps({"import_torch_s": round(torch_s, 3), "rows": rows, "summary_speedup": round(speedup, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
