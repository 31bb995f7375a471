"""``cnn-explorer atlas``: the microscope's sheet and description, through the command's own handlers; its
``--help`` and a bad flag answer without torch, as a real process."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from cnn_explorer.app.atlas import cli as cli_atlas
from cnn_explorer.app.cli import CliError
from cnn_explorer.models.lab.datasets import digits_split
from cnn_explorer.models.lab.errors import LabError


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


@pytest.fixture()
def run(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_EXPLORER_CACHE_DIR", str(tmp_path / "cache"))
    parser = argparse.ArgumentParser(prog="cnn-explorer")
    cli_atlas.add_commands(parser.add_subparsers(dest="command", required=True))

    def run(*argv):
        args = parser.parse_args([str(a) for a in argv])
        code = cli_atlas.HANDLERS[args.command](args)
        return code, capsys.readouterr().out
    return run


@pytest.fixture()
def digits(tmp_path):
    _, _, x_test, _ = digits_split()
    folder = tmp_path / "digits"
    folder.mkdir()
    for i, x in enumerate(x_test[:12]):
        Image.fromarray(x, "L").save(folder / f"d{i:02d}.png")
    return folder


def test_atlas_writes_a_row_per_channel_and_describes_the_examples(run, digits, tmp_path):
    out = tmp_path / "atlas.png"
    code, text = run("atlas", "lenet5_digits", "--images", digits, "--layer", "features.3", "--k", "3",
                     "--no-optimize", "--out", out, "--json")
    described = json.loads(text)
    assert code == 0 and described["images"] == 12 and len(described["channels"]) == 16
    assert all(len(c["top"]) == len(c["bottom"]) == 3 for c in described["channels"])
    picture = np.asarray(Image.open(out))
    assert picture.shape[0] == 16 * (64 + 4) and picture.std() > 10  # 16 rows, not a blank page

    # The same command again: the pass and the examples' crops come from the cache, the sheet is the same.
    again = tmp_path / "again.png"
    code, text = run("atlas", "lenet5_digits", "--images", digits, "--layer", "features.3", "--k", "3",
                     "--no-optimize", "--out", again, "--json")
    described_again = json.loads(text)
    assert code == 0 and described_again["cached"] and described_again["crops_cached"]
    assert not described["cached"] and not described["crops_cached"]
    assert described_again["channels"] == described["channels"]
    assert np.array_equal(np.asarray(Image.open(again)), picture)

    # One channel, with its optimized image, as an array; the second run's pass comes from the cache.
    array = tmp_path / "one.npy"
    code, text = run("atlas", "lenet5_digits", "--images", digits, "--layer", "C3", "--channel", "4", "--k", "2",
                     "--steps", "4", "--no-bottom", "--out", array, "--json")
    described = json.loads(text)
    assert described["cached"] and [c["channel"] for c in described["channels"]] == [4]
    assert described["channels"][0]["optimized"] and np.load(array).shape[0] == 64 + 4


def test_atlas_bad_input_is_one_line(run, digits, tmp_path):
    with pytest.raises(LabError, match="must be a folder"):
        run("atlas", "lenet5_digits", "--images", tmp_path / "nowhere", "--layer", "features.3", "--json")
    with pytest.raises(LabError, match="channel 99 is outside"):
        run("atlas", "lenet5_digits", "--images", digits, "--layer", "features.3", "--channel", "99", "--json")
    with pytest.raises(LabError, match="needs --out"):
        run("atlas", "lenet5_digits", "--images", digits, "--layer", "features.3")
    with pytest.raises(CliError, match="--out must end in"):
        run("atlas", "lenet5_digits", "--images", digits, "--layer", "features.3", "--out", tmp_path / "x.jpg")
    with pytest.raises(LabError, match="no spatial feature map"):
        run("atlas", "lenet5_digits", "--images", digits, "--layer", "classifier.0", "--json")


def test_atlas_help_imports_no_torch_and_a_bad_value_exits_2():
    probe = ("import sys\nfrom cnn_explorer.app.cli import main\n"
             "try:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n    code = e.code\n"
             "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH', code, file=sys.stderr)")
    shown = subprocess.run([sys.executable, "-c", probe, "atlas", "--help"], capture_output=True, text=True,
                           timeout=300)
    assert "--no-optimize" in shown.stdout and shown.stderr.split()[-2:] == ["NO-TORCH", "0"]
    bad = subprocess.run([sys.executable, "-c", probe, "atlas", "lenet5_digits", "--k", "x"], capture_output=True,
                         text=True, timeout=300)
    lines = bad.stderr.strip().splitlines()
    assert lines[-1].split() == ["NO-TORCH", "2"] and len(lines) == 2 and "--k" in lines[0]
