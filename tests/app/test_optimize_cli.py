"""``visualize --method optimize``, called in-process through its argparse handler as test_lab_cli.py does: the
PNG is the optimized input itself, which ``predict`` reads back as the class it was made for."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
from PIL import Image

from cnn_explorer.app.lab import cli as cli_lab
from cnn_explorer.models.lab.errors import LabError


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def parser():
    parser = argparse.ArgumentParser(prog="cnn-explorer")
    cli_lab.add_commands(parser.add_subparsers(dest="command", required=True))
    return parser


@pytest.fixture()
def run(parser, capsys):
    def run(*argv):
        args = parser.parse_args([str(a) for a in argv])
        code = cli_lab.HANDLERS[args.command](args)
        return code, capsys.readouterr().out
    return run


@pytest.mark.parametrize("model, name, mode, side", [("zfnet_shapes", "triangle", "RGB", 64),
                                                     ("lenet5_digits", "4", "L", 32)])
def test_a_class_picture_saved_as_png_is_read_back_as_that_class(run, tmp_path, model, name, mode, side):
    out = tmp_path / "class.png"
    code, printed = run("visualize", model, "--method", "optimize", "--class", name, "--out", out, "--json")
    described = json.loads(printed)
    assert code == 0 and described["method"] == "optimize" and described["steps"] == 256
    assert described["objective"]["kind"] == "class" and described["objective_text"].endswith(f"“{name}”")
    assert described["seconds"] > 0 and described["probabilities"][0] >= 0.9
    with Image.open(out) as image:
        assert image.mode == mode and image.size == (side, side)  # the input itself, not a slide
    code, printed = run("predict", model, "--image", out, "--json")
    top = json.loads(printed)["top"][0]
    assert top["name"] == name and top["probability"] >= 0.9


def test_channels_neurons_arrays_and_diversity(run, tmp_path):
    code, printed = run("visualize", "zfnet_shapes", "--method", "optimize", "--layer", "conv2", "--unit", "2",
                        "--steps", "24", "--diversity", "2", "--out", tmp_path / "c.png", "--json")
    described = json.loads(printed)
    assert described["objective"] == {"kind": "channel", "layer": "features.4", "channel": 2, "position": None,
                                      "target": None, "negative": False}
    assert described["steps"] == 24 and described["images"] == 2 and described["diversity"] > 0
    assert described["files"] == [str(tmp_path / "c.png"), str(tmp_path / "c_2.png")]
    first, second = (np.asarray(Image.open(f)) for f in described["files"])
    assert first.shape == second.shape == (64, 64, 3) and not np.array_equal(first, second)

    code, printed = run("visualize", "lenet5_digits", "--method", "optimize", "--layer", "C3", "--unit", "5,2,2",
                        "--steps", "16", "--negative", "--out", tmp_path / "n.npy", "--json")
    described = json.loads(printed)
    array = np.load(tmp_path / "n.npy")
    assert described["objective"]["kind"] == "neuron" and described["objective"]["negative"]
    assert array.shape == (32, 32, 1) and described["shape"] == [32, 32, 1]
    assert 0 <= array.min() and array.max() <= 1

    code, printed = run("visualize", "zfnet_shapes", "--method", "optimize", "--layer", "conv1", "--steps", "8",
                        "--out", tmp_path / "slide.svg", "--json")
    assert json.loads(printed)["objective"]["kind"] == "layer"
    assert (tmp_path / "slide.svg").read_text().lstrip().startswith("<?xml")


def test_optimize_refuses_bad_input_in_one_line(run, tmp_path):
    out = tmp_path / "x.png"
    with pytest.raises(LabError, match="optimize needs --class NAME|INDEX, or --layer L"):
        run("visualize", "zfnet_shapes", "--method", "optimize", "--out", out)
    with pytest.raises(LabError, match="not both"):
        run("visualize", "zfnet_shapes", "--method", "optimize", "--class", "circle", "--layer", "conv2",
            "--out", out)
    with pytest.raises(LabError, match="--steps must be 1"):
        run("visualize", "zfnet_shapes", "--method", "optimize", "--class", "circle", "--steps", "0", "--out", out)
    with pytest.raises(LabError, match="channel 99 is outside features.4's 64 channels"):
        run("visualize", "zfnet_shapes", "--method", "optimize", "--layer", "conv2", "--unit", "99", "--out", out)
    with pytest.raises(LabError, match="gradcam needs --image IMG"):
        run("visualize", "zfnet_shapes", "--method", "gradcam", "--out", out)
    assert not out.exists()
