"""Every command takes a model file where it takes a zoo name: summary, graph, figure, predict, visualize, compare;
bad files are one line and exit 2."""

from __future__ import annotations

import json
import textwrap

import pytest
import torch

from cnn_explorer.app.cli import main

NET = textwrap.dedent("""
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
            self.fc = nn.Linear(8 * 16 * 16, 5)

        def forward(self, x):
            return self.fc(self.features(x).flatten(1))

    class NeedsWidth(nn.Module):
        def __init__(self, width):
            super().__init__()
""")


@pytest.fixture
def net(tmp_path):
    path = tmp_path / "net.py"
    path.write_text(NET)
    return path


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_summary_graph_and_compare_of_a_python_model_with_its_checkpoint(net, tmp_path, capsys):
    import sys

    sys.path.insert(0, str(net.parent))
    sys.modules.pop("net", None)
    try:
        from net import Net
    finally:
        sys.path.remove(str(net.parent))
        sys.modules.pop("net", None)  # another test's net.py is another module
    model = Net()
    ckpt = tmp_path / "net.pth"
    torch.save(model.state_dict(), ckpt)
    spec = f"{net}:Net"
    code, out, _ = run(capsys, "summary", spec, "--input-shape", "3x32x32", "--weights", ckpt, "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["total_params"] == sum(p.numel() for p in model.parameters())
    assert summary["input_shape"] == [1, 3, 32, 32]
    assert [layer["name"] for layer in summary["layers"]][:3] == ["features.0", "features.1", "features.2"]
    code, out, _ = run(capsys, "graph", spec, "--input-shape", "3x32x32", "--out", tmp_path / "net.svg")
    assert code == 0 and (tmp_path / "net.svg").read_text().startswith("<?xml")
    code, out, _ = run(capsys, "compare", spec, "lenet5", "--input-shape", "3x32x32", "--json")
    rows = json.loads(out)["models"]
    assert [r["params"] for r in rows] == [summary["total_params"], 61_706]


def test_a_torch_export_program_brings_its_own_input_shape(tmp_path, capsys):
    from torch import nn

    model = nn.Sequential(nn.Conv2d(1, 4, 5), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 24 * 24, 10)).eval()
    path = tmp_path / "small.pt2"
    torch.export.save(torch.export.export(model, (torch.zeros(1, 1, 28, 28),)), str(path))
    code, out, _ = run(capsys, "summary", path, "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["input_shape"] == [1, 1, 28, 28]
    assert summary["total_params"] == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("case, expected", [
    ("state_dict", "is a state dict"),
    ("no_shape", "--input-shape"),
    ("needs_args", "width"),
    ("syntax", "line 2"),
    ("not_a_model", "is not an ONNX model"),
    ("categories", "cannot read the categories file"),
])
def test_bad_model_files_are_one_line_and_exit_2(case, expected, net, tmp_path, capsys):
    if case == "state_dict":
        path = tmp_path / "w.pth"
        torch.save({"a": torch.zeros(2)}, path)
        spec = str(path)
    elif case == "no_shape":
        spec = f"{net}:Net"
    elif case == "needs_args":
        spec = f"{net}:NeedsWidth"
    elif case == "syntax":
        path = tmp_path / "broken.py"
        path.write_text("import torch\ndef oops(:\n")
        spec = f"{path}:Net"
    elif case == "categories":
        spec = f"{net}:Net"
    else:
        path = tmp_path / "notes.onnx"
        path.write_text("hello")
        spec = str(path)
    extra = ["--input-shape", "3x32x32", "--categories", tmp_path / "nope.txt"] if case == "categories" else []
    code, out, err = run(capsys, "summary", spec, *extra)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and expected in err and "Traceback" not in err


def test_a_torch_export_program_has_the_receptive_fields_of_its_source(tmp_path, capsys):
    import torchvision

    model = torchvision.models.resnet18().eval()
    path = tmp_path / "r18.pt2"
    torch.export.save(torch.export.export(model, (torch.zeros(1, 3, 224, 224),)), str(path))
    code, out, _ = run(capsys, "compare", path, "resnet18", "--json")
    assert code == 0
    program, zoo = json.loads(out)["models"]
    assert program["receptive_field"] == zoo["receptive_field"] and program["macs"] == zoo["macs"]
