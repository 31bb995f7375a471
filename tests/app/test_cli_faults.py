"""Start fast, never crash: the command line's faults found by the reliability probe, each reproduced as a
user meets it (a separate process), and the analysis cache."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from processes import cli_here

from cnn_explorer.models.zoo.registry import get_entry

TIMEOUT_S = 600
NO_TORCH = """
import sys
from cnn_explorer.app.cli import main
try:
    code = main({args})
except SystemExit as exit:
    code = exit.code
print('TORCH' if 'torch' in sys.modules else 'NO-TORCH', file=sys.stderr)
sys.exit(code)
"""


@pytest.fixture
def env(tmp_path):
    return {**os.environ, "CNN_EXPLORER_OFFLINE": "1", "CNN_EXPLORER_CACHE_DIR": str(tmp_path / "cache"),
            "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config")}


def cli(env, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cnn_explorer.app.cli", *args], capture_output=True, text=True,
                          env=env, timeout=TIMEOUT_S, **kwargs)


def cli_torch_free(env, *args: str) -> subprocess.CompletedProcess:
    """Run ``cnn-explorer ARGS`` and report on stderr's last line whether torch was imported."""
    return subprocess.run([sys.executable, "-c", NO_TORCH.format(args=list(args))], capture_output=True, text=True,
                          env=env, timeout=TIMEOUT_S)


def one_line_error(result, *fragments: str) -> str:
    lines = [line for line in result.stderr.strip().splitlines() if line not in ("TORCH", "NO-TORCH")]
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# -- cold start: what needs no torch imports none -----------------------------------------------------------

def test_list_help_and_bad_names_answer_without_torch(env):
    listed = cli_torch_free(env, "list", "--task", "Detection")
    assert listed.returncode == 0 and listed.stderr.split()[-1] == "NO-TORCH"
    assert "ssd300_vgg16" in listed.stdout and "resnet18" not in listed.stdout  # --task ignores case
    unknown = cli_torch_free(env, "summary", "resnet51")
    one_line_error(unknown, "unknown model 'resnet51'", "resnet50")
    assert unknown.stderr.split()[-1] == "NO-TORCH"
    bad_flag = cli_torch_free(env, "summary", "resnet18", "--bogus")
    one_line_error(bad_flag, "--bogus", "--help")
    assert bad_flag.stderr.split()[-1] == "NO-TORCH"


def test_help_lists_the_commands_and_a_typo_gets_a_suggestion(env):
    shown = cli(env, "--help")
    assert shown.returncode == 0
    for command in ("list", "summary", "export", "graph"):
        assert f"cnn-explorer {command}" in shown.stdout
    one_line_error(cli(env, "sumary", "resnet18"), "unknown command 'sumary'", "did you mean 'summary'")
    one_line_error(cli(env, "summary"), "the following arguments are required: model", "--help")


# -- the analysis cache --------------------------------------------------------------------------------------

def test_a_second_summary_comes_from_the_cache_without_torch(env, tmp_path):
    first = cli_here("summary", "lenet5", "--json", env=env)
    assert first.returncode == 0, first.stderr
    again = cli_torch_free(env, "summary", "lenet5", "--json")
    assert again.returncode == 0 and again.stderr.split()[-1] == "NO-TORCH"
    assert json.loads(again.stdout) == json.loads(first.stdout)
    table = cli_torch_free(env, "summary", "lenet5")
    assert "total params 61,706" in table.stdout and table.stderr.split()[-1] == "NO-TORCH"

    # Another input size is another entry; a corrupt entry is recounted, never fatal.
    entries = list((tmp_path / "cache" / "analysis").glob("*.json"))
    assert len(entries) == 1
    entries[0].write_text('{"summary": [1, 2')
    repaired = cli_here("summary", "lenet5", "--json", env=env)
    assert repaired.returncode == 0 and json.loads(repaired.stdout) == json.loads(first.stdout)
    assert json.loads(entries[0].read_text())["summary"]["total_params"] == 61_706


TORCH_BLOCKED = """
import sys
sys.modules['torch'] = None  # any `import torch` now raises ImportError
from cnn_explorer.app.cli import main
sys.exit(main({args}))
"""


def cli_torch_blocked(env, *args: str) -> subprocess.CompletedProcess:
    """Run ``cnn-explorer ARGS`` in a process where torch cannot be imported."""
    return subprocess.run([sys.executable, "-c", TORCH_BLOCKED.format(args=list(args))], capture_output=True,
                          text=True, env=env, timeout=TIMEOUT_S)


def test_graph_and_figure_of_a_cached_model_draw_without_torch(env, tmp_path):
    """``graph`` and ``figure`` of a model analyzed before draw the graph the analysis cache holds: the same files
    as a first run, with torch blocked from import. A ``summary`` (its default weights) serves them too."""
    fresh = {**env, "CNN_EXPLORER_CACHE_DIR": str(tmp_path / "fresh")}
    first_graph = cli_here("graph", "lenet5", "--out", tmp_path / "first.svg", env=fresh)
    first_figure = cli_here("figure", "lenet5", "--out", tmp_path / "first.png",
                            env={**env, "CNN_EXPLORER_CACHE_DIR": str(tmp_path / "other")})
    assert first_graph.returncode == 0 and first_figure.returncode == 0, first_graph.stderr + first_figure.stderr
    summary = cli_here("summary", "lenet5", env=env)
    assert summary.returncode == 0, summary.stderr

    graph = cli_torch_blocked(env, "graph", "lenet5", "--out", str(tmp_path / "again.svg"))
    assert graph.returncode == 0, graph.stderr[-3000:]
    assert graph.stdout.replace("again.svg", "first.svg") == first_graph.stdout
    assert (tmp_path / "again.svg").read_bytes() == (tmp_path / "first.svg").read_bytes()
    figure = cli_torch_blocked(env, "figure", "lenet5", "--out", str(tmp_path / "again.png"))
    assert figure.returncode == 0, figure.stderr[-3000:]
    assert figure.stdout.replace("again.png", "first.png") == first_figure.stdout
    assert (tmp_path / "again.png").read_bytes() == (tmp_path / "first.png").read_bytes()

    # Without a cached analysis the blocked process fails: the test above could tell.
    uncached = cli_torch_blocked(env, "graph", "alexnet", "--out", str(tmp_path / "alexnet.svg"))
    assert uncached.returncode != 0


TORCHVISION_PROBE = """
import sys
from cnn_explorer.models.runtime.torch_import import install
assert install(), 'this torch was not checked'  # as the command line and the window do
import cnn_explorer.models.zoo.registry
import torch, torchvision.models
assert 'torch._dynamo' not in sys.modules, 'torchvision imported torch._dynamo'
model = torchvision.models.detection.maskrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_classes=3)
with torch.no_grad():
    out = model.eval()([torch.rand(3, 96, 128)])
roi_align = sys.modules['torchvision.ops.roi_align']
assert roi_align.is_compile_supported('cpu') is torch._dynamo.utils.is_compile_supported('cpu')
assert 'torch._dynamo' in sys.modules and hasattr(torch._dynamo, 'optimize')
print('ok', sorted(out[0]))
"""


@pytest.mark.slow
def test_torchvision_is_imported_without_torch_dynamo_which_stays_usable(env):
    """torch._dynamo costs more than torch to import; torchvision needs it for one rarely called function."""
    probe = subprocess.run([sys.executable, "-c", TORCHVISION_PROBE], capture_output=True, text=True, env=env,
                           timeout=TIMEOUT_S)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split("\n")[0] == "ok ['boxes', 'labels', 'masks', 'scores']"


LEAN_ANALYSIS_PROBE = """
import sys, json
from cnn_explorer.models.runtime.torch_import import install
install()  # as the command line and the window do
import torch
from cnn_explorer.models.analysis.summary import analyze
from cnn_explorer.models.zoo.registry import get_entry
from cnn_explorer.models.runtime.torch_import import lean_imports

def numbers(name, shape):
    torch.manual_seed(0)
    entry = get_entry(name)
    return analyze(entry.build(), shape, name=name, on_meta=not entry.data_dependent).to_json()

lean = {'resnet18': numbers('resnet18', (1, 3, 224, 224)),
        'fasterrcnn_mobilenet_v3_large_320_fpn': numbers('fasterrcnn_mobilenet_v3_large_320_fpn', (1, 3, 320, 320))}
import tempfile
from cnn_explorer.models.analysis.cache import AnalysisCache
from cnn_explorer.models.zoo.loader import load_model, summarize
summarize(load_model('resnet50', weights='random', structure_only=True), store=AnalysisCache(tempfile.mkdtemp()))
heavy = [name for name in ('torch._dynamo', 'torch.fx.experimental.symbolic_shapes', 'sympy') if name in sys.modules]
assert not heavy, f'an analysis imported {heavy}'
raw = torch.utils.flop_counter._FlopCounterMode.__torch_dispatch__.__wrapped__
assert '__dynamo_disable' not in vars(raw), 'the compiler guard of the FLOP counter was left out after the analysis'

# The real modules, imported after: torch.compile works, and the numbers are the same with them.
import torch._dynamo, sympy
from torch.fx.experimental.symbolic_shapes import ShapeEnv
compiled = torch.compile(lambda x: x.sin() + 1, backend='eager')
assert torch.equal(compiled(torch.ones(3)), torch.ones(3).sin() + 1)
with lean_imports() as lean_again:
    assert not lean_again.stand_ins, 'stand-ins replaced imported modules'
for name, shape in (('resnet18', (1, 3, 224, 224)), ('fasterrcnn_mobilenet_v3_large_320_fpn', (1, 3, 320, 320))):
    assert numbers(name, shape) == lean[name], name
print('ok')
"""


@pytest.mark.slow
def test_an_analysis_imports_no_compiler_and_counts_the_same(env):
    """A first summary no longer imports torch._dynamo and sympy (0.9 s of 2.7 s); the numbers do not change and
    torch.compile still works after it."""
    probe = subprocess.run([sys.executable, "-c", LEAN_ANALYSIS_PROBE], capture_output=True, text=True, env=env,
                           timeout=TIMEOUT_S)
    assert probe.returncode == 0, probe.stderr[-3000:]
    assert probe.stdout.split("\n")[0] == "ok"


# -- standard output and Ctrl+C ---------------------------------------------------------------------------------

def test_a_full_disk_and_a_closed_pipe_are_handled(env):
    with open("/dev/full", "w") as full:
        result = subprocess.run([sys.executable, "-m", "cnn_explorer.app.cli", "list"], stdout=full,
                                stderr=subprocess.PIPE, text=True, env=env, timeout=TIMEOUT_S)
    one_line_error(result, "cannot write the output")
    cli(env, "summary", "lenet5", "--json")  # analyzed once: the next one answers from the cache
    with open("/dev/full", "w") as full:
        result = subprocess.run([sys.executable, "-m", "cnn_explorer.app.cli", "summary", "lenet5", "--json"],
                                stdout=full, stderr=subprocess.PIPE, text=True, env=env, timeout=TIMEOUT_S)
    one_line_error(result, "cannot write the output")  # not 0 with the output lost

    # `list --json | head -1`: the reader leaves after one line; the writer ends quietly with 0.
    process = subprocess.Popen([sys.executable, "-m", "cnn_explorer.app.cli", "list", "--json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert process.stdout.readline()
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(TIMEOUT_S) == 0 and stderr == ""


def test_with_stderr_closed_an_error_never_reaches_stdout(env):
    result = subprocess.run([sys.executable, "-m", "cnn_explorer.app.cli", "summary", "resnet51", "--json"],
                            capture_output=False, stdout=subprocess.PIPE, env=env, timeout=TIMEOUT_S,
                            preexec_fn=lambda: os.close(2))
    assert result.returncode == 2 and result.stdout == b""


def _wait_for_torch(pid: int) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while "libtorch" not in Path(f"/proc/{pid}/maps").read_text():
        assert time.monotonic() < deadline, "torch was never loaded"
        time.sleep(0.05)  # polling a condition of the other process, not waiting for time to pass


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux /proc")
def test_ctrl_c_ends_a_command_quietly_with_130(env):
    process = subprocess.Popen([sys.executable, "-m", "cnn_explorer.app.cli", "summary", "densenet201"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    _wait_for_torch(process.pid)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=TIMEOUT_S)
    assert process.returncode == 130
    assert "Traceback" not in err and err.strip() == ""


# -- files that cannot be written, sizes and names that make no sense ---------------------------------------------

def test_bad_targets_are_refused_before_any_work(env, tmp_path):
    folder = tmp_path / "d.svg"
    folder.mkdir()
    result = cli(env, "graph", "resnet18", "--out", str(folder))
    one_line_error(result, "it is a folder")
    assert "QPainter" not in result.stderr and "wrote" not in result.stdout
    one_line_error(cli(env, "export", "lenet5", "--onnx", str(tmp_path / "x.txt")), "must end in .onnx")
    one_line_error(cli_torch_free(env, "export", "lenet5", "--onnx", str(tmp_path / "no" / "x.onnx")),
                   "does not exist")


def test_window_sizes_and_blank_names_are_checked_up_front(env, tmp_path):
    for size in ("abc", "100000x100000"):
        one_line_error(cli(env, "alexnet", "--size", size, "--screenshot", str(tmp_path / "x.png")), "--size")
    one_line_error(cli(env, "   ", "--screenshot", str(tmp_path / "x.png")), "model name is empty")
    one_line_error(cli(env, "resnet18", "--weights", "", "--screenshot", str(tmp_path / "x.png")), "--weights")
    assert not (tmp_path / "x.png").exists()


# -- weights files ------------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_weights_files_that_are_not_files(env, tmp_path):
    one_line_error(cli_torch_free(env, "summary", "lenet5", "--weights", ""), "--weights")
    one_line_error(cli(env, "summary", "lenet5", "--weights", str(tmp_path)), "is a folder")
    one_line_error(cli(env, "summary", "lenet5", "--weights", "/dev/null"), "not a regular file")
    fifo = tmp_path / "pipe.pt"
    os.mkfifo(fifo)
    one_line_error(cli(env, "summary", "lenet5", "--weights", str(fifo)), "not a regular file")


@pytest.mark.slow
def test_weights_of_other_types_are_converted_or_refused_and_dataparallel_keys_load(env, tmp_path):
    state = get_entry("lenet5").build().state_dict()
    torch.save({f"module.{k}": v for k, v in state.items()}, tmp_path / "parallel.pt")
    torch.save({k: v.half() for k, v in state.items()}, tmp_path / "half.pt")
    torch.save({k: v.long() for k, v in state.items()}, tmp_path / "long.pt")
    parallel = cli(env, "summary", "lenet5", "--weights", str(tmp_path / "parallel.pt"))
    assert parallel.returncode == 0, parallel.stderr
    half = cli(env, "summary", "lenet5", "--weights", str(tmp_path / "half.pt"))
    assert half.returncode == 0 and "converted from float16 to float32" in half.stdout
    one_line_error(cli(env, "summary", "lenet5", "--weights", str(tmp_path / "long.pt")), "integer tensors")
