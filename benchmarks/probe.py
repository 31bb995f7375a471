"""The reliability sweep of issue 18: the kinds of cases the reliability probe ran, rerun, and their totals.

    uv run python benchmarks/probe.py [--quick] [--only TEXT] [--jobs N] [--json] [--list]

Each case is ``python -m cnn_explorer.app.cli ...`` in a process of its own, in a fresh work folder (offline,
offscreen, its own analysis cache, config folder, TMPDIR and TORCH_HOME): bad arguments, images, weights (pickles
that would run code among them) and output targets (a folder, a missing folder, a read-only mount, a full disk);
corrupted analysis caches; a closed standard output; Ctrl+C at seeded random moments while a user's file sits at
the target; a settings file with a planted pickle. How a case is judged: see ``judge``. Prints one line per
failing case and the totals; exits 1 on a traceback, a hang, a file lost or changed unasked, or code that ran.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import fnmatch
import hashlib
import json
import os
import pickle
import random
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

TIMEOUT_S = 120
ASSETS = Path(__file__).resolve().parents[1] / "assets"
OLD = b"the user's own file, which must survive\n"
FALLBACK_MARKER = Path(tempfile.gettempdir()) / "cnn-explorer-probe-PWNED"
TOUCH = f'touch "${{PROBE_MARKER:-{FALLBACK_MARKER}}}"'  # the shell expands each case's own marker path
SETTINGS_INI = Path("CNN Explorer") / "cnn-explorer.ini"  # under XDG_CONFIG_HOME
BASE_INPUTS = ("digit.png", "shape.png", "photo.jpg")  # in every work folder
BENCH = "bench-live --model lenet5_digits --frames 3 --weights random"
VISUALIZE = "visualize lenet5_digits --image digit.png --method featuremaps"
TOTALS = ("cases", "bad inputs", "clean exits", "tracebacks", "hangs", "noisy failures",
          "files lost or changed unasked", "code ran", "unexpected outcomes")
SERIOUS = ("tracebacks", "hangs", "files lost or changed unasked", "code ran")  # any of these: exit code 1
REMOVE = object()  # a cache corruption that deletes the field


class Payload:  # a pickle that runs a shell command when it is loaded
    def __reduce__(self):
        return (os.system, (TOUCH,))


@dataclass
class Run:  # one case's folders and environment
    root: Path
    env: dict = field(default_factory=dict)
    mounts: list = field(default_factory=list)
    clean: bytes = b""  # what a clean run answered, for the checks that compare

    work = property(lambda self: self.root / "work")
    cache = property(lambda self: self.root / "cache")
    marker = property(lambda self: self.root / "PWNED")


@dataclass
class Case:
    name: str
    args: str                          # the command line after ``cnn-explorer``, shell-quoted
    expect: tuple[int, ...] = (2,)
    put: tuple[str, ...] = ()          # fixtures for the work folder (see place)
    outputs: tuple[str, ...] = ()      # what the user named: patterns relative to the work folder
    prepare: tuple[Callable[[Run], str | None], ...] = ()  # each returns a reason to skip, or None
    check: Callable[[Run, bytes], str | None] | None = None  # given stdout, returns a problem or None
    bad: bool = True                   # a bad input (else a control or a Ctrl+C)
    closed_stdout: bool = False
    interrupt: float | str | None = None  # Ctrl+C after this many seconds, or "window": once torch is loaded


# -- fixtures ------------------------------------------------------------------------------------------------

def png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 1024)) + chunk(b"IEND", b""))


def make_fixtures(folder: Path) -> None:
    import numpy as np
    import torch
    from PIL import Image
    from torchvision.models import resnet18

    rng = np.random.default_rng(0)
    digit = np.kron(np.eye(8, dtype=np.uint8) * 255, np.ones((4, 4), np.uint8))
    Image.fromarray(digit).convert("RGB").save(folder / "digit.png")
    shape = np.full((64, 64, 3), 255, np.uint8)
    shape[16:48, 16:48] = (200, 30, 30)
    Image.fromarray(shape).save(folder / "shape.png")
    for name in ("pics", "noimages", "wdir"):
        (folder / name).mkdir()
    photo = Image.fromarray(rng.integers(0, 256, (96, 128, 3), dtype=np.uint8))
    for name in ("photo.jpg", "photo.png", "other.jpg", "other.png"):
        photo.save(folder / name)
        photo.save(folder / "pics" / name)
    for name in ("photo.jpg", "photo.png"):
        data = (folder / name).read_bytes()
        (folder / f"trunc{Path(name).suffix}").write_bytes(data[: len(data) // 3])
    (folder / "text.png").write_text("this is not a picture\n")
    (folder / "noimages" / "readme.txt").write_text("no pictures here\n")
    (folder / "empty.png").write_bytes(b"")
    (folder / "empty.pt").write_bytes(b"")
    Image.fromarray(np.full((32, 32), np.nan, np.float32)).save(folder / "nan.tif")
    (folder / "huge.png").write_bytes(png_header(100_000, 100_000))
    (folder / "garbage.safetensors").write_bytes(rng.bytes(4096))
    (folder / "old.bin").write_bytes(OLD)
    shutil.copy(ASSETS / "lenet5_digits.safetensors", folder)
    (folder / "evil.pt").write_bytes(pickle.dumps({"state_dict": Payload()}))  # a bare pickle
    torch.save({"state_dict": Payload()}, folder / "evil.pth")  # torch's own (zip) format
    zeros = {k: torch.zeros_like(v) for k, v in resnet18(weights=None).state_dict().items()}
    torch.save(zeros, folder / "resnet18-f37072fd.pth")  # the published name, other bytes


FIXTURES = Path()  # made in main()


def place(run: Run, spec: str) -> None:
    """Copy a fixture into the work folder: "NAME", or "TARGET=NAME" (TARGET may lead out of it: ../torch/...);
    "TARGET=FIFO" makes a named pipe."""
    target, _, name = spec.rpartition("=")
    source, destination = FIXTURES / name, run.work / (target or name)
    destination.parent.mkdir(parents=True, exist_ok=True)
    if name == "FIFO":
        os.mkfifo(destination)
    else:
        (shutil.copytree if source.is_dir() else shutil.copy)(source, destination)


# -- preparations and checks ---------------------------------------------------------------------------------

def last_line(text: bytes | str) -> str:
    lines = (text.decode(errors="replace") if isinstance(text, bytes) else text).strip().splitlines()
    return lines[-1][:300] if lines else ""


def mount(name: str, options: str) -> Callable[[Run], str | None]:
    def prepare(run: Run) -> str | None:
        folder = run.work / name
        folder.mkdir(exist_ok=True)
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], check=False,
                              capture_output=True)
        if done.returncode:
            return f"cannot mount a tmpfs: {last_line(done.stderr) or 'not root?'}"
        run.mounts.append(folder)
        return None
    return prepare


def full_disk(run: Run) -> str | None:
    """A 64 KiB disk holding the user's files at the targets, filled up to its last byte."""
    if why := mount("full", "size=64k")(run):
        return why
    for suffix in ("svg", "png", "onnx", "pdf"):
        (run.work / "full" / f"x.{suffix}").write_bytes(OLD)
    with contextlib.suppress(OSError), open(run.work / "full" / "filler", "wb") as filler:
        filler.write(bytes(1 << 20))  # more than the disk holds: it stops at its last byte
    return None


READ_ONLY = mount("ro", "ro,size=64k")


def cache_is_a_file(run: Run) -> None:
    shutil.rmtree(run.cache)
    run.cache.write_bytes(OLD)


def clean_run(*args: str, own_cache: bool = False) -> Callable[[Run], str | None]:
    """Run the command once, in the case's cache (to leave an entry there) or in a cache of its own: its answer
    is the one to match."""
    def prepare(run: Run) -> str | None:
        env = {**run.env, **({"CNN_EXPLORER_CACHE_DIR": str(run.root / "clean-cache")} if own_cache else {})}
        done = subprocess.run([sys.executable, "-m", "cnn_explorer.app.cli", *args], cwd=run.work, env=env,
                              check=False, capture_output=True, timeout=TIMEOUT_S)
        run.clean = done.stdout
        return None if done.returncode == 0 else f"the clean run failed: {last_line(done.stderr)}"
    return prepare


def corrupt(change: tuple | str) -> Callable[[Run], str | None]:
    """Change the one analysis cache entry: (path in its JSON, new value or REMOVE), "truncate" or "folder"."""
    def prepare(run: Run) -> str | None:
        entries = list((run.cache / "analysis").glob("*.json"))
        if len(entries) != 1:
            return f"{len(entries)} cache entries, not 1"
        entry = entries[0]
        if change == "truncate":
            entry.write_bytes(entry.read_bytes()[:200])
        elif change == "folder":
            entry.unlink()
            entry.mkdir()
            (entry / "keep.txt").write_bytes(OLD)
        else:
            (*parents, last), value = change
            data = parent = json.loads(entry.read_text())
            for part in parents:
                parent = parent[part]
            if value is REMOVE:
                del parent[last]
            else:
                parent[last] = value
            entry.write_text(json.dumps(data))
        return None
    return prepare


def plant_settings(run: Run) -> str | None:
    """A settings file written as an attacker would, by QSettings.setValue in another process."""
    ini = run.root / "config" / SETTINGS_INI
    ini.parent.mkdir(parents=True, exist_ok=True)
    plant = textwrap.dedent(f"""
        import os, sys
        from PySide6.QtCore import QSettings
        class Payload:
            def __reduce__(self):
                return (os.system, ({TOUCH!r},))
        settings = QSettings(sys.argv[1], QSettings.IniFormat)
        settings.setValue("theme", Payload())
        settings.setValue("last_model", "lenet5")
        settings.sync()
    """)
    subprocess.run([sys.executable, "-c", plant, str(ini)], env=run.env, check=False, capture_output=True,
                   timeout=TIMEOUT_S)
    run.marker.unlink(missing_ok=True)  # QSettings.sync() read the value back in the planting process
    return None if "PyObjectWrapper" in ini.read_text(errors="replace") else "could not plant the pickle"


def whole(path: Path) -> bool:
    """Whether an output file is complete: not empty, and it parses as what its suffix says."""
    if not path.is_file() or path.stat().st_size == 0:
        return False
    try:
        if path.suffix == ".svg":
            ElementTree.parse(path)
        elif path.suffix == ".png":
            from PIL import Image
            with Image.open(path) as image:
                image.verify()
        elif path.suffix == ".onnx":
            import onnx
            onnx.checker.check_model(str(path))
        return path.suffix != ".pdf" or path.read_bytes().rstrip().endswith(b"%%EOF")
    except Exception:  # noqa: BLE001 - anything that does not parse is a broken file
        return False


def same_answer(run: Run, stdout: bytes) -> str | None:
    try:
        return None if json.loads(stdout) == json.loads(run.clean) else "the answer differs from a clean run's"
    except ValueError:
        return "the answer is not JSON"


def cache_file_kept(run: Run, stdout: bytes) -> str | None:
    return None if run.cache.is_file() and run.cache.read_bytes() == OLD else "the file at the cache path changed"


def old_or_whole(name: str) -> Callable[[Run, bytes], str | None]:
    return lambda run, stdout: (None if (run.work / name).read_bytes() == OLD or whole(run.work / name)
                                else f"{name} is neither the user's old file nor a whole new one")


def written(*names: str) -> Callable[[Run, bytes], str | None]:
    return lambda run, stdout: next((f"{n} is not written whole" for n in names if not whole(run.work / n)), None)


# -- the cases -----------------------------------------------------------------------------------------------

ARGUMENTS = {  # a command line, and what is added to it for each case (its name): each a one-line refusal
    "": ["summary resnet51", "sumary lenet5", "compare lenet5", "figure lenet5 --size 0x0 --out f.png",
         "compare lenet5 alexnet_2012 lenet5_digits zfnet_shapes resnet18", "predict lenet5_digits --image ''",
         "detect shapes_yolo --image ''", "predict lenet5_digits --image digit.png --top 0",
         "export lenet5 --weights random --onnx m.txt", "resnet51 --weights random --screenshot s.png",
         "lenet5 --weights random --screenshot s.txt",
         "detect ssdlite320_mobilenet_v3_large --weights random --image shape.png --size 100000 100000"],
    "summary lenet5": ["--bogus", "--weights ''", "--input-size 0 0", "--input-size 100000 100000", "--input-size 8 8"],
    "graph lenet5": ["--size 300x5001 --out x.pdf", "--size 100000x100000 --out x.pdf", "--out ''", "--out g.txt"],
    BENCH: ["--timeout inf", "--timeout nan", "--fps -1", "--fps nan", "--threshold 2", "--device tpu", "--source ''",
            "--size 100000 100000"],
    "detect shapes_yolo --image shape.png": ["--threshold 2", "--size 0 0", "--device cuda:x"],
    VISUALIZE: ["--layer '' --out x.png", "--layer no_such_layer --out x.png", "--out x.jpg"],
    "visualize lenet5_digits --image digit.png --method occlusion --out x.png": ["--target 99999", "--occluder 0",
                                                                                 "--fill 300"],
    "visualize lenet5_digits --image digit.png --method rf --layer features.3 --out x.png": ["--unit 999,0,0"],
    "lenet5 --weights random --screenshot s.png": ["--font-scale nan", "--size 0x0", "--select nosuch"],
}

IMAGES = {"missing": "missing.png", "a folder of no images": "noimages", "text as png": "text.png",
          "truncated jpeg": "trunc.jpg", "truncated png": "trunc.png", "zero bytes": "empty.png",
          "a fifo": "pipe.png", "all-nan tiff": "nan.tif", "huge header": "huge.png"}
IMAGE_COMMANDS = {"predict": "predict lenet5_digits --image {}", "detect": "detect shapes_yolo --image {}",
                  "visualize": "visualize lenet5_digits --image {} --method featuremaps --out x.png"}
SOURCES = {"missing": "missing.mp4", "a folder of no images": "noimages", "a fifo": "pipe.png"}  # of bench-live

WEIGHTS = {"missing": "missing.safetensors", "a folder": "wdir", "another model's": "lenet5_digits.safetensors",
           "garbage": "garbage.safetensors", "zero bytes": "empty.pt", "a pickle": "evil.pt",
           "a torch pickle": "evil.pth"}
WEIGHTS_COMMANDS = {"summary": "summary zfnet_shapes --weights {}",
                    "predict": "predict zfnet_shapes --image shape.png --weights {}"}
PICKLE_COMMANDS = {"export": "export lenet5 --onnx m.onnx --weights {}", "visualize": VISUALIZE + " --out x.png "
                   "--weights {}", "detect": "detect shapes_yolo --image shape.png --weights {}",
                   "bench-live": BENCH + " --weights {}", "window": "lenet5 --screenshot s.png --weights {}"}
HUB = ("../torch/hub/checkpoints/resnet18-f37072fd.pth=resnet18-f37072fd.pth",)  # zeros under the published name

OUTPUT_COMMANDS = {"graph": "graph lenet5 --out {}.svg", "figure": "figure lenet5 --out {}.png",
                   "visualize": VISUALIZE + " --out {}.png", "export": "export lenet5 --weights random --onnx {}.onnx"}
OUTPUT_TARGETS = {  # name: (the target without its suffix, fixtures, what makes it)
    "an existing folder": ("taken", ("taken.svg=wdir", "taken.png=wdir", "taken.onnx=wdir"), ()),
    "a missing folder": ("missing/x", (), ()),
    "a read-only mount": ("ro/x", (), (READ_ONLY,)),
    "a full disk": ("full/x", (), (full_disk,)),  # the user's own file at the target
}
MORE_OUTPUTS = [  # (name, command line, fixtures, what makes the target): each a one-line refusal, nothing written
    ("detect: a read-only mount", "detect shapes_yolo --image shape.png --out ro/new", (), (READ_ONLY,)),
    ("detect into a read-only folder", "detect shapes_yolo --image shape.png --out ro", (), (READ_ONLY,)),
    ("detect: a full disk", "detect shapes_yolo --image shape.png --out full", (), (full_disk,)),
    ("screenshot: a read-only mount", "lenet5 --weights random --screenshot ro/s.png", (), (READ_ONLY,)),
    ("graph slides: a full disk", "graph lenet5 --slide 16:9 --out full/x.pdf", (), (full_disk,)),
    ("a failure keeps the user's file",
     "visualize lenet5_digits --image missing.png --method featuremaps --out keep.png", ("keep.png=old.bin",), ()),
    ("a bad size keeps the user's file", "graph lenet5 --input-size 0 0 --out keep.svg", ("keep.svg=old.bin",), ()),
    ("a pickle keeps the user's file", "export lenet5 --weights evil.pt --onnx keep.onnx",
     ("keep.onnx=old.bin", "evil.pt"), ()),
]
GOOD = [  # (name, command line, fixtures, the outputs named): the baseline works, and writes only what is named
    ("summary", "summary lenet5 --json", (), ()), ("predict", "predict lenet5_digits --image digit.png", (), ()),
    ("bench-live", f"{BENCH} --json", (), ()), ("x.NPY", f"{VISUALIZE} --out x.NPY", (), ("x.NPY",)),
    ("screenshot", "lenet5 --weights random --size 800x600 --screenshot s.png", (), ("s.png",)),
    ("detect beside the user's pictures", "detect shapes_yolo --image pics --out pics", ("pics",),
     ("pics/*-[0-9].png",)),
    ("detect of photo.png into its folder", "detect shapes_yolo --image photo.png --out .", ("photo.png",),
     ("photo-[0-9].png",)),
    ("graph over the user's file when asked", "graph lenet5 --out keep.svg", ("keep.svg=old.bin",), ("keep.svg",)),
]

CORRUPTIONS = {  # of a summary's cache entry: each dropped and recounted, the answer the clean run's
    "layers is text": (("summary", "layers"), "x"),
    "total_params is text": (("summary", "total_params"), "abc"),
    "an output_shape is null": (("summary", "layers", 0, "output_shape"), None),
    "a receptive field is bad": (("summary", "layers", 2, "receptive_field"), {"size": "x"}),
    "weights_check is text": (("weights_check",), "str"),
    "layers is missing": (("summary", "layers"), REMOVE),
    "total_macs is a bool": (("summary", "total_macs"), True),
    "a node's output shapes are null": (("graph", "nodes", 1, "output_shapes"), None),
    "the graph is missing": (("graph",), REMOVE),
    "truncated json": "truncate",
    "the entry is a folder": "folder",
}

STDOUT_COMMANDS = ["summary lenet5", "summary lenet5 --json", "list", "compare lenet5 alexnet_2012",  # print answers
                   "predict lenet5_digits --image digit.png", "detect shapes_yolo --image shape.png",
                   f"{BENCH} --json", f"{VISUALIZE} --json --out x.png"]

INTERRUPTS = [  # (name, command line, the target holding the user's file, up to how many seconds, how many)
    ("graph", "graph densenet121 --unfold --out g.svg", "g.svg", 4.0, 4),
    ("occlusion", "visualize alexnet --weights random --image photo.jpg --method occlusion --stride 16 --out occ.png",
     "occ.png", 12.0, 4),
    ("export", "export resnet18 --weights random --onnx m.onnx", "m.onnx", 10.0, 2),
]

QUICK = {
    "args/summary resnet51", "args/summary --bogus", "args/summary --weights ''", "args/summary --input-size 0 0",
    "args/graph --size 300x5001 --out x.pdf", "args/bench-live --timeout inf", "args/detect --threshold 2",
    "args/lenet5 --font-scale nan", "image/predict: a fifo", "image/visualize: truncated png",
    "image/detect: all-nan tiff", "weights/summary: another model's", "weights/export: a torch pickle",
    "weights/a zero-filled hub file: summary", "output/visualize: a read-only mount", "output/graph: a full disk",
    "output/a failure keeps the user's file", "good/detect beside the user's pictures",
    "cache/lenet5: total_params is text", "cache/lenet5: the entry is a folder", "cache/the cache folder is a file",
    "stdout/summary lenet5", "interrupt/graph 1", "interrupt/occlusion 1", "settings/a planted pickle",
}


def all_cases() -> list[Case]:
    cases = [Case(f"args/{base.split(' ')[0]} {extra}".replace("/ ", "/"), f"{base} {extra}".strip())
             for base, extras in ARGUMENTS.items() for extra in extras]
    for name, image in IMAGES.items():
        put = {"missing.png": (), "pipe.png": ("pipe.png=FIFO",)}.get(image, (image,))
        cases += [Case(f"image/{command}: {name}", args.format(image), put=put)
                  for command, args in IMAGE_COMMANDS.items()]
        if name in SOURCES:
            cases.append(Case(f"image/bench-live source: {name}", f"{BENCH} --source {SOURCES[name]}", put=put))
    weights = ("wdir", "lenet5_digits.safetensors", "garbage.safetensors", "empty.pt", "evil.pt", "evil.pth")
    cases += [Case(f"weights/{command}: {name}", args.format(path), put=weights)
              for name, path in WEIGHTS.items() for command, args in WEIGHTS_COMMANDS.items()]
    cases += [Case(f"weights/{command}: a torch pickle", args.format("evil.pth"), put=weights)
              for command, args in PICKLE_COMMANDS.items()]
    cases += [Case("weights/a zero-filled hub file: summary", "summary resnet18 --json", put=HUB),
              Case("weights/a zero-filled hub file: predict", "predict resnet18 --image photo.jpg", put=HUB)]
    cases += [Case(f"output/{command}: {name}", args.format(stem), put=put, prepare=make)
              for name, (stem, put, make) in OUTPUT_TARGETS.items() for command, args in OUTPUT_COMMANDS.items()]
    cases += [Case(f"output/{name}", args, put=put, prepare=make) for name, args, put, make in MORE_OUTPUTS]
    cases += [Case(f"cache/{model}: {name}", f"summary {model} --json", expect=(0,), check=same_answer,
                   prepare=(clean_run("summary", model, "--json"), corrupt(CORRUPTIONS[name])))
              for model, names in (("lenet5", CORRUPTIONS), ("zfnet_shapes", ["total_params is text"]))
              for name in names]
    cases += [Case("cache/the cache folder is a file", "summary lenet5 --json", expect=(0,),
                   prepare=(clean_run("summary", "lenet5", "--json", own_cache=True), cache_is_a_file),
                   check=lambda run, out: cache_file_kept(run, out) or same_answer(run, out)),
              Case("cache/the cache folder is a file: graph", "graph lenet5 --out g.svg", expect=(0,),
                   outputs=("g.svg",), prepare=(cache_is_a_file,), check=cache_file_kept)]
    cases += [Case(f"stdout/{args}", args, closed_stdout=True) for args in STDOUT_COMMANDS]
    cases.append(Case("stdout/graph", "graph lenet5 --out g.svg", expect=(0, 2), outputs=("g.svg",),
                      closed_stdout=True))
    rng = random.Random(0)
    cases += [Case(f"interrupt/{name} {i + 1}", args, expect=(130, 0), put=(f"{target}=old.bin",), outputs=(target,),
                   check=old_or_whole(target), bad=False, interrupt=round(rng.uniform(0.2, longest), 2))
              for name, args, target, longest, count in INTERRUPTS for i in range(count)]
    cases.append(Case("settings/a planted pickle", "--weights random", expect=(130,), prepare=(plant_settings,),
                      interrupt="window"))
    cases += [Case(f"good/{name}", args, expect=(0,), put=put, outputs=outputs, bad=False,
                   check=written(*(o for o in outputs if not set(o) & set("*?["))))
              for name, args, put, outputs in GOOD]
    return cases


# -- running and judging -------------------------------------------------------------------------------------

def snapshot(folder: Path) -> dict[str, tuple]:
    """Every file and folder below ``folder``: a file by size and SHA-256, anything else by its kind."""
    found = {}
    for top, folders, files in os.walk(folder):
        for path in (Path(top, name) for name in folders + files):
            kind = ("folder",) if path.is_dir() else ("special",) if path.is_symlink() or not path.is_file() else ()
            found[path.relative_to(folder).as_posix()] = kind or (path.stat().st_size,  # a FIFO is never opened
                                                                  hashlib.sha256(path.read_bytes()).hexdigest())
    return found


def unasked_changes(case: Case, run: Run, code: int | None, before: dict, after: dict) -> list[str]:
    """What was added, removed or changed in the work folder that the user did not name (a failure may change
    nothing; a named output may not be removed or left empty), hidden ``.cnn-explorer-*`` leftovers, and the
    product's leftovers in TMPDIR. The cache is outside the work folder: its changes do not count."""
    problems = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        named = any(fnmatch.fnmatch(key, pattern) or fnmatch.fnmatch(key, pattern + "/*") for pattern in case.outputs)
        if ".cnn-explorer-" in key and new:
            problems.append(f"{key} left behind")
        elif old == new:
            continue
        elif new is None:
            problems.append(f"{key} removed")
        elif not named or code not in (0, 130):  # a failure may change nothing
            problems.append(f"{key} {'added' if old is None else 'changed'}")
        elif new[0] == 0:
            problems.append(f"{key} left empty")
    return problems + [f"TMPDIR/{p.name} left behind" for p in (run.root / "tmp").iterdir() if "cnn-explorer" in p.name]


def execute(case: Case, run: Run) -> int | None:
    """Run the case's command; its exit code, or None when it hung (then its process group is killed)."""
    argv = [sys.executable, "-m", "cnn_explorer.app.cli", *shlex.split(case.args)]
    if case.closed_stdout:  # as `cnn-explorer ... >&-` (a shell's exec: preexec_fn is unsafe beside threads)
        argv = ["sh", "-c", 'exec "$@" >&-', "sh", *argv]
    with open(run.root / "stdout", "wb") as out, open(run.root / "stderr", "wb") as err:
        process = subprocess.Popen(argv, cwd=run.work, env=run.env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                   start_new_session=True)
        deadline = time.monotonic() + TIMEOUT_S
        try:
            if case.interrupt == "window":  # the window is up once torch is loaded (as tests/test_screenshot.py)
                maps = Path(f"/proc/{process.pid}/maps")
                while process.poll() is None and time.monotonic() < deadline and "libtorch" not in maps.read_text():
                    time.sleep(0.05)
                os.killpg(process.pid, signal.SIGINT)
            elif case.interrupt is not None:
                try:
                    process.wait(timeout=case.interrupt)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGINT)  # as Ctrl+C does: to the whole foreground group
            return process.wait(timeout=max(1.0, deadline - time.monotonic()))
        except (subprocess.TimeoutExpired, ProcessLookupError, FileNotFoundError):
            if process.poll() is not None:  # it ended while being interrupted
                return process.returncode
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return None


def judge(case: Case, run: Run, code: int | None, changes: list[str]) -> dict:
    """Expected: an exit code the case expects, and its own check holds. A clean exit: 0; 2 with exactly one line on
    stderr; 130 for a Ctrl+C case. A traceback: "Traceback" on stderr, or an exit code other than 0, 2, 130. A hang:
    past TIMEOUT_S (code None). Noise: 2 with more lines. Files: see unasked_changes. Code ran: the marker is there."""
    stdout, stderr = (run.root / "stdout").read_bytes(), (run.root / "stderr").read_bytes().decode(errors="replace")
    lines = stderr.strip().splitlines()
    try:
        problem = case.check(run, stdout) if case.check and code in case.expect else None
    except OSError as error:  # an output the check reads is missing
        problem = f"check: {error}"
    found = {"cases": True, "bad inputs": case.bad, "hangs": code is None,
             "tracebacks": code is not None and ("Traceback" in stderr or code not in (0, 2, 130)),
             "noisy failures": code == 2 and len(lines) > 1,
             "clean exits": code == 0 or (code == 2 and len(lines) == 1) or (code == 130 and bool(case.interrupt)),
             "files lost or changed unasked": bool(changes),
             "code ran": run.marker.exists() or FALLBACK_MARKER.exists(),
             "unexpected outcomes": code not in case.expect or problem is not None}
    wrong = []
    if code is None:
        wrong.append(f"hang (over {TIMEOUT_S} s)")
    elif found["unexpected outcomes"]:
        wrong.append(problem or f"exit {code}, expected {'/'.join(map(str, case.expect))}")
    wrong += [what for key, what in (("tracebacks", "traceback"), ("noisy failures", f"{len(lines)} lines on stderr"),
                                     ("code ran", "CODE RAN")) if found[key]]
    if code is not None and not found["clean exits"] and not wrong:
        wrong.append("not a clean exit")
    if changes:
        wrong.append("files: " + ", ".join(changes[:4]))
    return {"name": case.name, "exit": code, **found, "wrong": wrong, "stderr": last_line(stderr)}


def run_case(case: Case, base_env: dict) -> dict:
    run = Run(Path(tempfile.mkdtemp(prefix="probe-case-")))
    try:
        for sub in ("work", "cache", "config", "tmp", "torch"):
            (run.root / sub).mkdir()
        run.env = {**base_env, "CNN_EXPLORER_CACHE_DIR": str(run.cache), "TMPDIR": str(run.root / "tmp"),
                   "XDG_CONFIG_HOME": str(run.root / "config"), "TORCH_HOME": str(run.root / "torch"),
                   "PROBE_MARKER": str(run.marker)}
        for spec in BASE_INPUTS + case.put:
            place(run, spec)
        for prepare in case.prepare:
            if why := prepare(run):
                return {"name": case.name, "skipped": why}
        before = snapshot(run.work)
        code = execute(case, run)
        result = judge(case, run, code, unasked_changes(case, run, code, before, snapshot(run.work)))
        FALLBACK_MARKER.unlink(missing_ok=True)
        return result
    finally:
        for folder in reversed(run.mounts):
            subprocess.run(["umount", "-l", str(folder)], check=False, capture_output=True)
        shutil.rmtree(run.root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    global FIXTURES
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", metavar="SUBSTRING", help="only the cases whose name holds this")
    parser.add_argument("--jobs", type=int, default=1, help="cases at once (default 1)")
    parser.add_argument("--quick", action="store_true", help=f"a representative subset ({len(QUICK)} cases)")
    parser.add_argument("--json", action="store_true", help="the totals and failures as one JSON object")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    args = parser.parse_args(argv)
    cases = [c for c in all_cases() if (not args.quick or c.name in QUICK) and (not args.only or args.only in c.name)]
    if args.list:
        print("\n".join(f"{c.name}\t{c.args}" for c in cases))
        return 0
    base_env = {k: v for k, v in os.environ.items() if k not in ("CNN_EXPLORER_NO_CACHE", "OPENCV_FFMPEG_LOGLEVEL")}
    base_env.update(CNN_EXPLORER_OFFLINE="1", QT_QPA_PLATFORM="offscreen")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="probe-fixtures-") as folder:
        FIXTURES = Path(folder)
        make_fixtures(FIXTURES)
        FALLBACK_MARKER.unlink(missing_ok=True)
        with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
            futures = [pool.submit(run_case, case, base_env) for case in cases]
            results = [future.result() for future in futures]
    ran = [r for r in results if "skipped" not in r]
    totals = {key: sum(r[key] for r in ran) for key in TOTALS} | {"skipped": len(results) - len(ran)}
    failures = [{k: r[k] for k in ("name", "exit", "wrong", "stderr")} for r in ran if r["wrong"]]
    skipped = [{"name": r["name"], "why": r["skipped"]} for r in results if "skipped" in r]
    seconds = round(time.monotonic() - started)
    if args.json:
        print(json.dumps({"totals": totals, "failures": failures, "skipped": skipped, "seconds": seconds},
                         ensure_ascii=False))
    else:
        for failure in failures:
            print(f"{failure['name']}: {'; '.join(failure['wrong'])} | stderr: {failure['stderr']}")
        print("".join(f"{skip['name']}: skipped ({skip['why']})\n" for skip in skipped), end="")
        print(" | ".join(f"{key} {value}" for key, value in totals.items()) + f" | {seconds} s")
    return 1 if any(totals[key] for key in SERIOUS) else 0


if __name__ == "__main__":
    sys.exit(main())
