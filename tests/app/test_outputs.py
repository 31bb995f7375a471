"""Outputs never cost the user a file: every target is checked before any work, written beside itself and
moved into place only when whole; a full disk, a failed write or Ctrl+C leave the old file as it was. Each
case is run as a user meets it (a separate process), on a real small disk where this machine lets us mount
one."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from processes import cli_here

from cnn_explorer.app.explorer.export import check_page, plan_pages
from cnn_explorer.widgets.common.files import OutputError, check_writable, staged_output

TIMEOUT_S = 600
OLD = b"the user's own file, which must survive\n"


@pytest.fixture
def env(tmp_path):
    return {**os.environ, "CNN_EXPLORER_OFFLINE": "1", "CNN_EXPLORER_CACHE_DIR": str(tmp_path / "cache"),
            "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config")}


def cli(env, *args, timeout: float = TIMEOUT_S) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cnn_explorer.app.cli", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=timeout)


def one_line_error(result, *fragments: str) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert len(lines) == 1, result.stderr[-2000:]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@contextlib.contextmanager
def mounted_tmpfs(folder: Path, options: str):
    """A tmpfs mounted at ``folder`` (root only); skips where the machine does not allow it."""
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


@pytest.fixture
def digit(tmp_path) -> Path:
    path = tmp_path / "digit.png"
    Image.fromarray(np.kron(np.eye(8, dtype=np.uint8) * 255, np.ones((4, 4), np.uint8))).convert("RGB").save(path)
    return path


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".cnn-explorer-")]


# -- a full disk ---------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_full_disk_fails_every_command_cleanly_and_keeps_the_old_file(env, tmp_path, digit):
    with mounted_tmpfs(tmp_path / "tiny", "size=64k") as tiny:
        (tiny / "filler").write_bytes(bytes(52 * 1024))  # 12 KiB left: less than any of these outputs
        cases = [("d.svg", ("graph", "resnet18", "--out")),
                 ("d.pdf", ("graph", "densenet121", "--unfold", "--slide", "16:9", "--out")),
                 ("f.png", ("figure", "vgg16", "--out")),
                 ("fm.png", ("visualize", "lenet5_digits", "--image", digit, "--method", "featuremaps", "--out")),
                 ("m.onnx", ("export", "resnet18", "--weights", "random", "--onnx"))]
        for name, args in cases:
            target = tiny / name
            target.write_bytes(OLD)
            result = cli(env, *args, target)
            one_line_error(result, "cannot write", name)
            assert "wrote" not in result.stdout
            assert target.read_bytes() == OLD, name  # the user's file is untouched
            assert leftovers(tiny) == [], name
            assert sorted(p.name for p in tiny.iterdir()) == sorted(["filler", name]), name
            target.unlink()


def test_a_write_that_fails_half_way_keeps_the_old_file(tmp_path):
    target = tmp_path / "graph.svg"
    target.write_bytes(OLD)
    with pytest.raises(ZeroDivisionError), staged_output(target) as partial:
        partial.write_bytes(b"<svg half")
        1 / 0
    assert target.read_bytes() == OLD and leftovers(tmp_path) == []
    with pytest.raises(OutputError, match="came out empty"), staged_output(target) as partial:
        partial.write_bytes(b"")
    assert target.read_bytes() == OLD and leftovers(tmp_path) == []
    with staged_output(target) as partial:
        partial.write_bytes(b"<svg/>")
        (partial.parent / "graph-2.svg").write_bytes(b"<svg/>")  # a second page lands beside it
    assert target.read_bytes() == b"<svg/>" and (tmp_path / "graph-2.svg").exists() and leftovers(tmp_path) == []


# -- Ctrl+C while writing ------------------------------------------------------------------------------------

INTERRUPTED_WRITE = textwrap.dedent("""
    import os, signal, sys
    from cnn_explorer.app import cli
    from cnn_explorer.widgets.common.files import staged_output

    signal.signal(signal.SIGINT, cli._exit_on_sigint)  # the command line's own handler
    with staged_output(sys.argv[1]) as partial:
        with open(partial, "wb") as out:
            out.write(b"half of a picture")
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl+C in the middle of the write
            out.write(b"never reached")
    print("the write ended", flush=True)
""")


def test_ctrl_c_while_writing_exits_130_and_keeps_the_old_file(tmp_path):
    target = tmp_path / "occlusion.png"
    target.write_bytes(OLD)
    result = subprocess.run([sys.executable, "-c", INTERRUPTED_WRITE, str(target)], capture_output=True, text=True,
                            timeout=TIMEOUT_S)
    assert result.returncode == 130 and "the write ended" not in result.stdout, result.stderr
    assert target.read_bytes() == OLD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["occlusion.png"]


# -- targets checked before any work -------------------------------------------------------------------------

def test_visualize_checks_its_target_before_any_work(env, tmp_path, digit):
    folder = tmp_path / "x.png"
    folder.mkdir()
    base = ("visualize", "lenet5_digits", "--image", digit, "--method", "featuremaps", "--out")
    one_line_error(cli(env, *base, folder), "it is a folder")
    one_line_error(cli(env, *base, tmp_path / "missing" / "x.png"), "does not exist")
    with mounted_tmpfs(tmp_path / "ro", "ro,size=64k") as read_only:
        one_line_error(cli(env, *base, read_only / "x.png"), "read-only")
        one_line_error(cli(env, "graph", "lenet5", "--out", read_only / "g.svg"), "read-only")
        with pytest.raises(PermissionError, match="read-only"):
            check_writable(read_only / "x.png")


def test_npy_in_capitals_is_written_under_its_own_name(tmp_path, digit):
    out = tmp_path / "x.NPY"
    result = cli_here("visualize", "lenet5_digits", "--image", str(digit), "--method", "featuremaps", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert out.is_file() and not (tmp_path / "x.NPY.npy").exists()
    assert np.load(out).ndim == 3


def test_a_failure_is_its_one_line_without_a_note_about_random_weights(tmp_path, digit):
    """What the command answers (its own process is not needed: tests/processes.py ``cli_here``)."""
    result = cli_here("visualize", "lenet5", "--weights", "random", "--image", str(digit), "--method", "featuremaps",
                      "--layer", "no_such_layer", "--out", str(tmp_path / "x.png"))
    one_line_error(result, "no_such_layer")
    done = cli_here("visualize", "lenet5", "--weights", "random", "--image", str(digit), "--method", "featuremaps",
                    "--out", str(tmp_path / "x.png"))
    assert done.returncode == 0 and "random initialization" in done.stderr  # said once the work succeeded


@pytest.mark.slow
def test_a_detector_takes_the_layer_given(env, tmp_path, digit):
    """A detector has no default map layer (its output is boxes): the layer given is used, none looked up."""
    base = ("visualize", "fasterrcnn_mobilenet_v3_large_320_fpn", "--weights", "random", "--image", digit,
            "--layer", "backbone.body.0.0", "--json", "--method")
    result = cli(env, *base, "deconv", "--out", tmp_path / "deconv.png")
    assert result.returncode == 0, result.stderr
    assert '"layer": "backbone.body.0.0"' in result.stdout
    # The theoretical field of a layer behind the detector's resize is no (size, stride, padding): said so.
    one_line_error(cli(env, *base, "rf", "--out", tmp_path / "rf.png"), "backbone.body.0.0", "upsampling")


# -- empty values and a closed standard output ---------------------------------------------------------------

def test_empty_option_values_are_refused(env, tmp_path, digit):
    one_line_error(cli(env, "predict", "lenet5_digits", "--image", digit, "--weights", ""), "--weights")
    for command in (("predict", "lenet5_digits"), ("detect", "shapes_yolo")):  # '' was the current folder
        one_line_error(cli(env, *command, "--image", ""), "--image")
    one_line_error(cli(env, "visualize", "lenet5_digits", "--image", digit, "--method", "featuremaps", "--layer", "",
                       "--out", tmp_path / "x.png"), "--layer")


@pytest.mark.parametrize("args", [("summary", "lenet5"), ("list",), ("compare", "lenet5", "alexnet")],
                         ids=["summary", "list", "compare"])
def test_a_closed_standard_output_is_an_error(env, args):
    result = subprocess.run([sys.executable, "-m", "cnn_explorer.app.cli", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=env, timeout=TIMEOUT_S,
                            preexec_fn=lambda: os.close(1))  # as `cnn-explorer summary lenet5 >&-`
    one_line_error(result, "standard output is closed")


# -- slides: pages that leave no room ------------------------------------------------------------------------

@pytest.mark.parametrize("size", ["300x5001", "250x5000", "5000x250"])
def test_a_page_too_narrow_is_refused_at_once(env, tmp_path, size):
    result = cli(env, "graph", "lenet5", "--size", size, "--out", tmp_path / "x.pdf", timeout=120)
    one_line_error(result, "too narrow")
    assert not (tmp_path / "x.pdf").exists()


def test_pagination_ends_for_any_page():
    nodes = [(0.0, 40.0 * i, 100.0, 30.0) for i in range(50)]
    with pytest.raises(ValueError, match="too narrow"):
        plan_pages((0.0, 0.0, 100.0, 2000.0), nodes, (300, 5001), 1.0)
    check_page((1920, 1080))
    scale, pages = plan_pages((0.0, 0.0, 100.0, 2000.0), nodes, (400, 1600), 3.0)  # 4:1, the tallest allowed
    assert scale == 3.0 and sum(len(p) for p in pages) >= 2

