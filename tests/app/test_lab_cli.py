"""``predict`` and ``visualize``, called in-process through their argparse handlers."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
from PIL import Image

from cnn_explorer.app.lab import cli as cli_lab
from cnn_explorer.app.cli import CliError
from cnn_explorer.models.lab.errors import LabError
from cnn_explorer.models.lab.images import ImageError, sample_image


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


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    folder = tmp_path_factory.mktemp("digits")
    for d in (2, 5, 7):
        Image.fromarray(sample_image(f"digit_{d}")).save(folder / f"digit_{d}.png")
    return folder


def test_predict_an_image_and_a_folder(run, digits):
    code, out = run("predict", "lenet5_digits", "--image", digits / "digit_5.png")
    assert code == 0 and out.startswith(f"{digits / 'digit_5.png'}: 5 ")
    code, out = run("predict", "lenet5_digits", "--image", digits, "--json")
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(line["image"].rsplit("/", 1)[1], line["top"][0]["name"]) for line in lines] == \
        [("digit_2.png", "2"), ("digit_5.png", "5"), ("digit_7.png", "7")]
    assert all(len(line["top"]) == 5 and line["weights"] == "pretrained" for line in lines)


def test_visualize_pictures_arrays_and_descriptions(run, digits, tmp_path):
    image = digits / "digit_7.png"
    code, out = run("visualize", "lenet5_digits", "--image", image, "--method", "rf", "--layer", "features.3",
                    "--unit", "2,5,5", "--out", tmp_path / "rf.png", "--json")
    described = json.loads(out)
    assert code == 0 and described["box"] == {"top": 10, "left": 10, "bottom": 24, "right": 24}  # 14×14, stride 2
    assert Image.open(tmp_path / "rf.png").size[0] > 300

    code, out = run("visualize", "lenet5_digits", "--image", image, "--method", "erf", "--layer", "features.3",
                    "--unit", "2,5,5", "--out", tmp_path / "erf.npy", "--json")
    described = json.loads(out)
    heat = np.load(tmp_path / "erf.npy")
    ys, xs = np.nonzero(heat)
    assert described["bbox"] == {"top": int(ys.min()), "left": int(xs.min()), "bottom": int(ys.max()) + 1,
                                 "right": int(xs.max()) + 1}
    assert 10 <= described["bbox"]["top"] and described["bbox"]["bottom"] <= 24

    code, out = run("visualize", "lenet5_digits", "--image", image, "--method", "featuremaps", "--layer",
                    "features.0", "--out", tmp_path / "maps.npy", "--json")
    maps = np.load(tmp_path / "maps.npy")
    described = json.loads(out)
    assert maps.shape == (6, 28, 28) and described["shape"] == [6, 28, 28]
    assert described["min"] == pytest.approx(float(maps.min())) and described["max"] == pytest.approx(float(maps.max()))

    for method in ("kernels", "deconv", "guided", "occlusion", "gradcam"):
        code, out = run("visualize", "zfnet_shapes", "--image", image, "--method", method, "--out",
                        tmp_path / f"{method}.svg", "--json")
        assert code == 0 and json.loads(out)["method"] == method
        assert (tmp_path / f"{method}.svg").read_text().lstrip().startswith("<?xml")

    code, out = run("visualize", "lenet5_digits", "--image", image, "--method", "top9", "--images", digits,
                    "--layer", "features.3", "--unit", "1", "--out", tmp_path / "top9.png", "--json")
    described = json.loads(out)
    assert code == 0 and described["channel"] == 1 and len(described["patches"]) == 3


def test_bad_input_raises_one_line_errors(run, digits, tmp_path):
    fake = tmp_path / "fake.png"
    fake.write_text("hello")
    with pytest.raises(ImageError, match="holds text"):
        run("predict", "lenet5_digits", "--image", fake)
    with pytest.raises(LabError, match="has no spatial feature map"):
        run("visualize", "lenet5_digits", "--image", digits / "digit_2.png", "--method", "featuremaps", "--layer",
            "classifier.0", "--out", tmp_path / "x.png")
    with pytest.raises(CliError, match="--out must end in"):
        run("visualize", "lenet5_digits", "--image", digits / "digit_2.png", "--method", "rf", "--out",
            tmp_path / "x.jpg")
    with pytest.raises(LabError, match="top9 needs --images"):
        run("visualize", "lenet5_digits", "--image", digits / "digit_2.png", "--method", "top9", "--out",
            tmp_path / "x.png")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ImageError, match="no images"):
        run("predict", "lenet5_digits", "--image", empty)
    with pytest.raises(SystemExit):
        run("visualize", "lenet5_digits", "--image", digits / "digit_2.png", "--method", "rf", "--unit", "1,2",
            "--out", tmp_path / "x.png")


@pytest.mark.parametrize("model, lecture, code_name", [("lenet5_digits", "C3", "features.3"),
                                                        ("alexnet_2012", "conv2", None)])
def test_a_layer_can_be_named_as_the_lecture_names_it(run, digits, model, lecture, code_name, tmp_path):
    """``--layer C3`` and ``--layer conv2`` are the layers ``summary`` prints as "C3 (features.3)"."""
    from cnn_explorer.models.analysis import naming
    from cnn_explorer.models.lab.activations import find_node
    from cnn_explorer.models.zoo.loader import load_model, summarize

    graph = summarize(load_model(model, weights="random", structure_only=True)).graph
    names = naming.layer_names(naming.family_of(model), graph.nodes)
    expected = code_name or next(name for name, label in names.items() if label == lecture)
    assert names[expected] == lecture and find_node(graph, lecture.lower()).name == expected
    image = digits / "digit_2.png"
    weights = "pretrained" if model == "lenet5_digits" else "random"  # trained: the same maps twice
    code, out = run("visualize", model, "--weights", weights, "--image", image, "--layer", lecture,
                    "--method", "featuremaps", "--out", tmp_path / "maps.npy", "--json")
    by_lecture = json.loads(out)["shape"]
    code, out = run("visualize", model, "--weights", weights, "--image", image, "--layer", expected,
                    "--method", "featuremaps", "--out", tmp_path / "maps2.npy", "--json")
    assert code == 0 and by_lecture == json.loads(out)["shape"]
    if weights == "pretrained":
        assert np.array_equal(np.load(tmp_path / "maps.npy"), np.load(tmp_path / "maps2.npy"))


def test_a_class_is_named_or_numbered_and_a_wrong_one_is_refused(run, digits, tmp_path):
    """``--class 3`` and ``--class 3`` by name pick the same class; the map differs from another class's."""
    image = digits / "digit_7.png"
    maps = {}
    for given in ("3", "7"):
        code, out = run("visualize", "lenet5_digits", "--image", image, "--method", "gradcam", "--class", given,
                        "--out", tmp_path / f"cam{given}.npy", "--json")
        described = json.loads(out)
        assert code == 0 and described["target"] == int(given) and described["target_name"] == given
        maps[given] = np.load(tmp_path / f"cam{given}.npy")
    assert not np.allclose(maps["3"], maps["7"])
    code, out = run("visualize", "zfnet_shapes", "--image", image, "--method", "gradcam", "--class", "CIRCLE",
                    "--out", tmp_path / "c.npy", "--json")
    assert json.loads(out)["target_name"] == "circle"
    with pytest.raises(LabError, match="no class named 'circel'; did you mean 'circle'"):
        run("visualize", "zfnet_shapes", "--image", image, "--method", "gradcam", "--class", "circel",
            "--out", tmp_path / "c.npy")
    with pytest.raises(LabError, match="class 10 is outside the model's 10 classes"):
        run("visualize", "lenet5_digits", "--image", image, "--method", "occlusion", "--class", "10",
            "--out", tmp_path / "c.npy")


@pytest.mark.parametrize("method", ["gradcampp", "scorecam", "eigencam", "layercam", "hirescam", "ig", "smoothgrad"])
def test_class_maps_write_the_map_and_its_faithfulness(run, method, tmp_path):
    """Each class map: ``.npy`` holds the H×W map, ``--json`` its ROAD score; ``--class`` picks the class and
    ``--layer`` the layer; a ``.png`` has the map with its score in the caption and a colour bar."""
    image = tmp_path / "triangle.png"
    Image.fromarray(sample_image("shape_triangle")).save(image)
    code, out = run("visualize", "zfnet_shapes", "--image", image, "--method", method, "--out",
                    tmp_path / "top1.npy", "--json")
    top1 = json.loads(out)
    heat = np.load(tmp_path / "top1.npy")
    assert code == 0 and top1["method"] == method and top1["target_name"] == "triangle"
    assert heat.shape == (64, 64) and top1["shape"] == [64, 64] and np.ptp(heat) > 0
    assert top1["max"] == pytest.approx(float(heat.max()))
    road = top1["faithfulness"]
    assert road["metric"] == "ROAD" and -1 <= road["score"] <= 1 and "higher = more faithful" in road["meaning"]
    assert road["score"] > 0.02  # the map of the predicted class is better than chance
    code, out = run("visualize", "zfnet_shapes", "--image", image, "--method", method, "--class", "ring",
                    "--layer", "features.10", "--out", tmp_path / "ring.npy", "--json")
    ring = json.loads(out)
    assert ring["target_name"] == "ring" and ring["target"] == 4
    assert ring["layer"] == (None if method in ("ig", "smoothgrad") else "features.10")
    if method != "eigencam":  # EigenCAM ignores the class (its map still changes with the layer)
        assert ring["faithfulness"]["score"] != road["score"]
    assert not np.allclose(np.load(tmp_path / "ring.npy"), heat)
    if method in ("scorecam", "ig"):
        code, _ = run("visualize", "zfnet_shapes", "--image", image, "--method", method, "--out", tmp_path / "m.png")
        assert code == 0 and Image.open(tmp_path / "m.png").size[1] > 400


def test_a_class_map_of_a_model_that_ranks_no_classes_is_refused(run, tmp_path):
    image = tmp_path / "circle.png"
    Image.fromarray(sample_image("shape_circle")).save(image)
    with pytest.raises(LabError, match="not a classifier"):
        run("visualize", "shapes_unet", "--image", image, "--method", "scorecam", "--out", tmp_path / "m.npy")
