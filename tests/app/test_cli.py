"""The scripting interface: `cnn-explorer list | summary | export`, what each command answers (run in this process;
tests/app/test_cli_faults.py starts commands as a user does)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import torch

from cnn_explorer.models.zoo.registry import get_entry
from processes import cli_here


def cli(*args: str) -> subprocess.CompletedProcess:
    """In this process: what a command answers. tests/app/test_cli_faults.py runs commands as processes."""
    return cli_here(*args)


def assert_clean_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_list_json_holds_the_zoo_and_filters_by_task():
    everything = json.loads(cli("list", "--json").stdout)
    names = {e["name"] for e in everything}
    assert {"lenet5", "alexnet", "yolo_v1", "maskrcnn_resnet50_fpn", "unet"} <= names
    detection = json.loads(cli("list", "--task", "detection", "--json").stdout)
    assert detection and all(e["task"] == "detection" for e in detection)
    assert {"yolo_v1", "ssd300_vgg16"} <= {e["name"] for e in detection}
    assert_clean_error(cli("list", "--task", "dancing"), "unknown task")


def test_summary_json_has_the_stable_shape_and_the_lecture_numbers():
    result = cli("summary", "alexnet_2012", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"model", "input_shape", "weights", "total_params", "trainable_params", "total_macs",
                         "activation_bytes", "layers"}
    assert data["input_shape"] == [1, 3, 227, 227]
    assert data["weights"] == "random"
    layers = {layer["name"]: layer for layer in data["layers"]}
    conv1, pool1 = layers["features.0"], layers["features.3"]
    assert conv1["type"] == "Conv2d" and conv1["output_shape"] == [1, 96, 55, 55]
    assert conv1["params"] == 11 * 11 * 3 * 96 + 96 == 34_944
    assert conv1["receptive_field"] == {"size": [11, 11], "stride": [4, 4], "padding": [0, 0]}
    assert pool1["type"] == "MaxPool2d" and pool1["output_shape"] == [1, 96, 27, 27]
    assert layers["classifier.6"]["receptive_field"] == "global"
    assert data["total_params"] == sum(layer["params"] for layer in data["layers"])
    assert data["total_macs"] == sum(layer["macs"] for layer in data["layers"])
    for layer in data["layers"]:
        assert set(layer) == {"name", "type", "output_shape", "params", "macs", "receptive_field"}


def test_summary_table_and_input_size():
    result = cli("summary", "resnet18", "--input-size", "160", "200")
    assert result.returncode == 0, result.stderr
    assert "layer4.1.conv2" in result.stdout and "512×5×7" in result.stdout
    assert "total params 11,689,512" in result.stdout
    assert "random initialization" in result.stdout


def test_unknown_model_suggests_names():
    assert_clean_error(cli("summary", "resnet51"), "unknown model 'resnet51'", "resnet50")


@pytest.mark.parametrize("size,fragment", [(("8", "8"), "too small"), (("0", "224"), "out of range"),
                                           (("100000", "224"), "out of range")])
def test_bad_input_sizes(size, fragment):
    assert_clean_error(cli("summary", "vgg16", "--input-size", *size), fragment)


@pytest.mark.slow
def test_weights_files(tmp_path):
    model = get_entry("lenet5").build()
    torch.save(model.state_dict(), tmp_path / "lenet.pt")
    result = cli("summary", "lenet5", "--weights", str(tmp_path / "lenet.pt"), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["weights"] == f"file:{tmp_path / 'lenet.pt'}"

    from safetensors.torch import save_file
    save_file(model.state_dict(), str(tmp_path / "lenet.safetensors"))
    result = cli("summary", "lenet5", "--weights", str(tmp_path / "lenet.safetensors"), "--json")
    assert json.loads(result.stdout)["weights"].endswith("lenet.safetensors")

    # Weights of another network: the error names the first mismatching keys.
    torch.save(get_entry("alexnet").build().state_dict(), tmp_path / "alexnet.pt")
    assert_clean_error(cli("summary", "lenet5", "--weights", str(tmp_path / "alexnet.pt")),
                       "do not match", "features.0.weight")

    (tmp_path / "corrupt.pt").write_bytes(b"\x80\x04garbage")
    assert_clean_error(cli("summary", "lenet5", "--weights", str(tmp_path / "corrupt.pt")), "cannot read")
    assert_clean_error(cli("summary", "lenet5", "--weights", str(tmp_path / "missing.pt")), "not found")


def test_a_checkpoint_holding_code_is_refused_not_run(tmp_path):
    marker = tmp_path / "ran"
    torch.save({"weight": torch.zeros(1), "hook": os.getcwd}, tmp_path / "code.pt")
    result = cli("summary", "lenet5", "--weights", str(tmp_path / "code.pt"))
    assert_clean_error(result, "refused for safety")
    assert not marker.exists()


@pytest.mark.slow
def test_export_onnx_writes_a_checked_file(tmp_path):
    import onnx

    out = tmp_path / "lenet5.onnx"
    result = cli("export", "lenet5", "--onnx", str(out))
    assert result.returncode == 0, result.stderr
    assert "checked by onnx.checker" in result.stdout and "MiB" in result.stdout
    graph = onnx.load(str(out)).graph
    assert [d.dim_value for d in graph.input[0].type.tensor_type.shape.dim] == [1, 1, 32, 32]
    assert [d.dim_value for d in graph.output[0].type.tensor_type.shape.dim] == [1, 10]


@pytest.mark.slow
def test_export_a_detector(tmp_path):
    # torch.export cannot capture a detector's data-dependent forward; the TorchScript exporter can.
    out = tmp_path / "ssdlite.onnx"
    result = cli("export", "ssdlite320_mobilenet_v3_large", "--onnx", str(out))
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 1_000_000
