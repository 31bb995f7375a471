"""models/files: networks opened from files, checked against the real thing (the original module, onnxruntime).

Every file is written here, into tmp_path: code with a checkpoint, a package, torch.export and TorchScript
archives, ONNX files from both exporters and ONNX graphs built with onnx.helper.
Tolerance for a converted model against the original PyTorch module (and against onnxruntime):
``max|Δ| <= 1e-4 · max|reference|``, the same rule the converter check uses (measured: at most 2.1e-6 on 30 files).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from cnn_explorer.models.files import ModelFileError, is_model_file, open_model_file

TOLERANCE = 1e-4


def close(ours, reference, tolerance=TOLERANCE):
    ours, reference = np.asarray(ours, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    assert ours.shape == reference.shape
    scale = float(np.abs(reference).max()) or 1.0
    worst = float(np.abs(ours - reference).max()) / scale
    assert worst <= tolerance, worst
    return worst


def image(shape=(3, 224, 224), seed=1):
    return torch.randn((1, *shape), generator=torch.Generator().manual_seed(seed))


def fired_layers(model, x):
    """The names of the modules whose forward hooks fired in one pass."""
    fired, handles = [], []
    for name, module in model.named_modules():
        if name:
            handles.append(module.register_forward_hook(lambda m, i, o, name=name: fired.append(name)))
    with torch.no_grad():
        model(x)
    for handle in handles:
        handle.remove()
    return fired


# --- telling files from zoo names -------------------------------------------------------------------------

def test_is_model_file_tells_specs_from_zoo_names():
    for spec in ("nets/net.py:Net", "net.py:Net", "mypkg.nets:Net", "model.onnx", "resnet.pt2", "x.pt", "w.pth",
                 "C:\\models\\net.onnx", "./alexnet", "net.py"):
        assert is_model_file(spec), spec
    for spec in ("resnet18", "alexnet", "lenet5_digits", "", "  "):
        assert not is_model_file(spec), spec


def test_is_model_file_imports_no_torch():
    code = ("import sys, cnn_explorer.models.files as f; assert f.is_model_file('a.onnx'); "
            "assert not f.is_model_file('vgg16'); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


# --- code: net.py:Name and package.module:Name ------------------------------------------------------------

NET_PY = """
    import torch
    from torch import nn
    from blocks import conv_block  # a neighbour: the file's folder is on sys.path while it loads

    class TinyNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(conv_block(3, 8), nn.MaxPool2d(2), conv_block(8, 16))
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(16, 10)

        def forward(self, x):
            return self.fc(torch.flatten(self.pool(self.features(x)), 1))

    class Wide(nn.Module):
        def __init__(self, channels, depth=2):
            super().__init__()

    def build():
        return TinyNet()

    def not_a_model():
        return 42
"""

BLOCKS_PY = """
    from torch import nn

    def conv_block(cin, cout):
        return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU())
"""


@pytest.fixture
def code_dir(tmp_path):
    (tmp_path / "net.py").write_text(textwrap.dedent(NET_PY))
    (tmp_path / "blocks.py").write_text(textwrap.dedent(BLOCKS_PY))
    yield tmp_path
    sys.modules.pop("blocks", None)


def _reference_tiny(code_dir):
    """The same class, imported the ordinary way, with trained-looking (non-default) weights."""
    sys.path.insert(0, str(code_dir))
    sys.modules.pop("net", None)  # a "net" another test imported is another file
    try:
        import importlib

        net = importlib.import_module("net")
        model = net.TinyNet()
    finally:
        sys.path.remove(str(code_dir))
        sys.modules.pop("net", None)
    torch.manual_seed(3)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2)
                module.weight.uniform_(0.5, 1.5)
    return model.eval()


def test_python_file_with_a_checkpoint(code_dir):
    reference = _reference_tiny(code_dir)
    torch.save(reference.state_dict(), code_dir / "tiny.pth")
    path_before = list(sys.path)
    steps = []
    opened = open_model_file(f"{code_dir}/net.py:TinyNet", weights=str(code_dir / "tiny.pth"),
                             input_shape=(3, 32, 32), progress=steps.append)
    assert sys.path == path_before  # the file's folder was on the path only while it loaded
    assert opened.kind == "python" and opened.name == "TinyNet" and opened.hooks_work
    assert opened.input_shape == (3, 32, 32)
    assert not opened.model.training
    assert opened.description.startswith(f"from {code_dir}/net.py:TinyNet")
    assert any("weights from" in note for note in opened.notes)
    assert steps and steps[0].startswith("running")
    x = image((3, 32, 32))
    with torch.no_grad():
        assert torch.equal(opened.model(x), reference(x))
    assert "features.0.0" in fired_layers(opened.model, x)


def test_python_function_and_safetensors(code_dir):
    from safetensors.torch import save_file

    reference = _reference_tiny(code_dir)
    save_file(reference.state_dict(), str(code_dir / "tiny.safetensors"))
    opened = open_model_file(f"{code_dir}/net.py:build", weights=str(code_dir / "tiny.safetensors"),
                             input_shape=(3, 16, 16))
    x = image((3, 16, 16))
    with torch.no_grad():
        assert torch.equal(opened.model(x), reference(x))


def test_package_module_name(tmp_path, monkeypatch):
    package = tmp_path / "mfpkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "nets.py").write_text(textwrap.dedent("""
        from torch import nn

        class Small(nn.Module):
            input_shape = (1, 28, 28)  # stated by the code: no shape needs to be given

            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(1, 4, 5)
                self.head = nn.Sequential(nn.Flatten(), nn.Linear(4 * 24 * 24, 10))

            def forward(self, x):
                return self.head(self.conv(x).relu())
    """))
    monkeypatch.chdir(tmp_path)
    try:
        opened = open_model_file("mfpkg.nets:Small")
        assert opened.kind == "module" and opened.input_shape == (1, 28, 28)
        assert isinstance(opened.model.conv, nn.Conv2d)
        with pytest.raises(ModelFileError, match="no module named 'mfpkg.other'"):
            open_model_file("mfpkg.other:Small")
        with pytest.raises(ModelFileError, match="module mfpkg.nets has no 'Big'; its nn.Module classes: Small"):
            open_model_file("mfpkg.nets:Big")
    finally:
        for name in [n for n in sys.modules if n.startswith("mfpkg")]:
            sys.modules.pop(name)


def test_code_errors_are_one_line(code_dir):
    spec = f"{code_dir}/net.py"
    (code_dir / "broken.py").write_text("import torch\n\ndef f(:\n    pass\n")
    cases = [
        (f"{code_dir}/broken.py:Net", "broken.py, line 3: syntax error"),
        (f"{spec}:Wide", r"Wide\(channels, depth=2\) needs arguments \(channels\)"),
        (f"{spec}:Missing", "has no 'Missing'; its nn.Module classes: TinyNet, Wide"),
        (f"{spec}:not_a_model", r"not_a_model\(\) in .* returned a int, not an nn.Module"),
        (spec, r"say which network in .*net.py:Name \(its classes: TinyNet, Wide\)"),
        (f"{code_dir}/nowhere.py:Net", "file not found"),
    ]
    for text, message in cases:
        with pytest.raises(ModelFileError, match=message) as caught:
            open_model_file(text, input_shape=(3, 32, 32))
        assert "\n" not in str(caught.value)
    with pytest.raises(ModelFileError, match="give the input shape"):
        open_model_file(f"{spec}:TinyNet")


def test_a_failing_import_names_the_line_and_a_file_is_not_run_to_list_its_classes(tmp_path):
    (tmp_path / "boom.py").write_text("from torch import nn\n\nclass A(nn.Module):\n    pass\n\nraise RuntimeError('no')\n")
    with pytest.raises(ModelFileError, match=r"boom.py, line 6: loading it failed: RuntimeError: no"):
        open_model_file(f"{tmp_path}/boom.py:A", input_shape=(3, 8, 8))
    with pytest.raises(ModelFileError, match=r"say which network .*\(its classes: A\)"):
        open_model_file(f"{tmp_path}/boom.py")  # read, not run: the RuntimeError is not raised


def test_weights_mismatch_names_the_keys(code_dir):
    state = _reference_tiny(code_dir).state_dict()
    state["extra.weight"] = torch.zeros(2)
    del state["fc.bias"]
    torch.save(state, code_dir / "bad.pth")
    with pytest.raises(ModelFileError, match=r"1 missing \(e.g. fc.bias\); 1 unexpected \(e.g. extra.weight\)"):
        open_model_file(f"{code_dir}/net.py:TinyNet", weights=str(code_dir / "bad.pth"), input_shape=(3, 32, 32))


def test_forward_failure_names_the_layer_and_its_input(tmp_path):
    (tmp_path / "flat.py").write_text(textwrap.dedent("""
        from torch import nn

        class Flat(nn.Module):
            def __init__(self):
                super().__init__()
                self.features = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())
                self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(8 * 30 * 30, 10))

            def forward(self, x):
                return self.classifier(self.features(x))
    """))
    open_model_file(f"{tmp_path}/flat.py:Flat", input_shape=(3, 32, 32))  # the shape it was made for
    with pytest.raises(ModelFileError, match=r"fails on an input of shape 1×3×64×64 in layer 'classifier.1' "
                                             r"\(Linear\), which got 1×30752"):
        open_model_file(f"{tmp_path}/flat.py:Flat", input_shape=(3, 64, 64))


def test_cancel_passes_through_unchanged(code_dir):
    class Stop(Exception):
        pass

    def check():
        raise Stop()

    with pytest.raises(Stop):
        open_model_file(f"{code_dir}/net.py:TinyNet", input_shape=(3, 32, 32), check=check)


# --- checkpoints and files that are no model -------------------------------------------------------------

def test_a_state_dict_alone_says_what_to_give(tmp_path):
    torch.save(nn.Linear(3, 2).state_dict(), tmp_path / "w.pth")
    with pytest.raises(ModelFileError, match=r"w.pth is a state dict \(2 tensors\), not a model: give the code "
                                             r"with it: file.py:Name --weights .*w.pth"):
        open_model_file(str(tmp_path / "w.pth"))


def test_a_pickled_model_is_never_unpickled(tmp_path):
    torch.save(nn.Linear(3, 2), tmp_path / "whole.pt")
    with pytest.raises(ModelFileError, match="pickled Python objects .* never unpickled"):
        open_model_file(str(tmp_path / "whole.pt"))


def test_files_that_are_not_models(tmp_path):
    (tmp_path / "notes.txt").write_text("hello, not a network\n" * 20)
    (tmp_path / "garbage.onnx").write_bytes(b"\xff\x00not protobuf" * 50)
    (tmp_path / "empty.onnx").write_bytes(b"")
    (tmp_path / "folder.onnx").mkdir()
    cases = [("notes.txt", "is not a model file"), ("garbage.onnx", "is not an ONNX model"),
             ("empty.onnx", "is empty"), ("folder.onnx", "is a folder"), ("missing.pt2", "file not found")]
    for name, message in cases:
        with pytest.raises(ModelFileError, match=message) as caught:
            open_model_file(str(tmp_path / name), input_shape=(3, 8, 8))
        assert "\n" not in str(caught.value)
    with pytest.raises(ModelFileError, match="is not a model file nor module:Name"):
        open_model_file("resnet18")


# --- torch.export and TorchScript -------------------------------------------------------------------------

def test_pt2_resnet18(tmp_path):
    from torchvision.models import resnet18

    torch.manual_seed(0)
    reference = resnet18().eval()
    x = image()
    program = torch.export.export(reference, (torch.randn(1, 3, 224, 224),))
    torch.export.save(program, str(tmp_path / "r18.pt2"))
    opened = open_model_file(str(tmp_path / "r18.pt2"))  # the input shape is read from the example input
    assert opened.kind == "pt2" and opened.input_shape == (3, 224, 224) and opened.hooks_work
    with torch.no_grad():
        close(opened.model(x), reference(x), 1e-5)
    fired = fired_layers(opened.model, x)
    assert {"conv1", "layer1.0.conv1", "layer4.1.bn2", "fc"} <= set(fired)
    assert isinstance(opened.model.get_submodule("layer1.0.conv1"), nn.Conv2d)  # the kernel view finds them
    assert isinstance(opened.model.fc, nn.Linear)
    assert any("unflatten" in note for note in opened.notes)


def small_net():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True),
                          nn.Conv2d(8, 8, 3, stride=2, groups=2), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(8, 3))
    with torch.no_grad():
        model[1].running_mean.uniform_(-0.5, 0.5)
        model[1].running_var.uniform_(0.5, 2.0)
    return model.eval()


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:FutureWarning")
@pytest.mark.filterwarnings("ignore:`torch.jit.trace` is deprecated:FutureWarning")
@pytest.mark.filterwarnings("ignore:`torch.jit.trace_method` is deprecated:FutureWarning")
@pytest.mark.parametrize("how", ["script", "trace"])
def test_torchscript_gets_its_layers_back(tmp_path, how):
    """A scripted or traced net opens as a copy whose convolutions, batch norms and linear layers are modules
    again, under their TorchScript names: hooks fire, the numbers per layer are the original's, the lab's
    feature maps equal the original's."""
    from cnn_explorer.models.analysis.summary import analyze

    model = small_net()
    x = image((3, 16, 16))
    saved = torch.jit.script(model) if how == "script" else torch.jit.trace(model, x)
    saved.save(str(tmp_path / "net.pt"))
    with pytest.raises(ModelFileError, match="TorchScript, which stores no input shape: give the input shape"):
        open_model_file(str(tmp_path / "net.pt"))
    opened = open_model_file(str(tmp_path / "net.pt"), input_shape=(3, 16, 16))
    assert opened.kind == "torchscript" and opened.hooks_work and opened.graph_model is None
    assert any("rebuilt under their TorchScript names" in note for note in opened.notes)
    assert isinstance(opened.model.get_submodule("0"), nn.Conv2d) and opened.model.get_submodule("3").groups == 2
    assert isinstance(opened.model.get_submodule("1"), nn.BatchNorm2d)
    assert isinstance(opened.model.get_submodule("7"), nn.Linear)
    assert {"0", "1", "3", "7"} <= set(fired_layers(opened.model, x))
    with torch.no_grad():
        close(opened.model(x), model(x), 1e-5)
    ours, theirs = analyze(opened.model, (1, 3, 16, 16)), analyze(model, (1, 3, 16, 16))
    assert (ours.total_params, ours.trainable_params, ours.total_macs) == \
        (theirs.total_params, theirs.trainable_params, theirs.total_macs)
    by_name = lambda summary: {n.name: (n.params, n.output_shape) for n in summary.graph.nodes  # noqa: E731
                               if n.kind == "module"}
    assert {k: by_name(ours)[k] for k in ("0", "1", "3", "7")} == {k: by_name(theirs)[k] for k in ("0", "1", "3", "7")}
    seen = {}
    handle = opened.model.get_submodule("0").register_forward_hook(lambda m, i, o: seen.setdefault("0", o.clone()))
    with torch.no_grad():
        opened.model(x)
    handle.remove()
    with torch.no_grad():
        close(seen["0"], model[0](x), 1e-5)  # not overwritten by the in-place ReLU after the batch norm


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:FutureWarning")
def test_torchscript_without_layers_to_rebuild_shows_the_graph_without_the_lab(tmp_path):
    model = nn.Sequential(nn.ConvTranspose2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()).eval()
    torch.jit.script(model).save(str(tmp_path / "scripted.pt"))
    opened = open_model_file(str(tmp_path / "scripted.pt"), input_shape=(3, 16, 16))
    assert opened.kind == "torchscript" and not opened.hooks_work
    assert "refuse forward hooks" in opened.hooks_reason and "graph and the numbers" in opened.hooks_reason
    x = image((3, 16, 16))
    with torch.no_grad():
        assert torch.equal(opened.model(x), model(x))
        assert torch.allclose(opened.graph_model(x), model(x), rtol=1e-5, atol=1e-6)
    from cnn_explorer.models.analysis.summary import analyze

    # the graph and the numbers: recorded on the torch.export copy (the ScriptModule refuses hooks)
    recorded = analyze(opened.graph_model, (1, 3, 16, 16))
    assert recorded.total_macs == analyze(model, (1, 3, 16, 16)).total_macs
    assert [n.output_shape for n in recorded.graph.nodes if n.kind != "input"][-1] == (1, 4)


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:FutureWarning")
def test_weights_go_with_code_only(tmp_path):
    model = nn.Sequential(nn.Conv2d(3, 4, 3)).eval()
    torch.jit.script(model).save(str(tmp_path / "s.pt"))
    with pytest.raises(ModelFileError, match="--weights goes with code"):
        open_model_file(str(tmp_path / "s.pt"), weights=str(tmp_path / "w.pth"), input_shape=(3, 8, 8))


# --- ONNX -------------------------------------------------------------------------------------------------

def export_onnx(model, path, shape=(3, 224, 224), dynamo=True):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kwargs = {} if dynamo else {"opset_version": 17}
        torch.onnx.export(model, (torch.randn(1, *shape),), str(path), dynamo=dynamo, input_names=["input"],
                          output_names=["output"], verbose=False, **kwargs)
    return path


def onnxruntime_output(path, x):
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]


def check_round_trip(reference, path, x):
    opened = open_model_file(str(path))
    assert opened.kind == "onnx" and opened.hooks_work and opened.input_shape == tuple(x.shape[1:])
    assert any("matches onnxruntime" in note and "tolerance 0.0001" in note for note in opened.notes)
    with torch.no_grad():
        ours = opened.model(x)
        close(ours, reference(x))
    close(ours, onnxruntime_output(path, x))
    assert fired_layers(opened.model, x)  # the lab can hook its layers
    return opened


# ResNet-18 through dynamo (6 s) with -m slow: dynamo's files (weights beside the file, BatchNorm folded) stay in
# the quick suite with SqueezeNet here and the U-Net and ZFNet in test_onnx_round_trips.py.
@pytest.mark.parametrize("dynamo", [pytest.param(True, marks=pytest.mark.slow), False], ids=["dynamo", "legacy"])
def test_onnx_resnet18_both_exporters(tmp_path, dynamo):
    from torchvision.models import resnet18

    torch.manual_seed(0)
    reference = resnet18().eval()
    path = export_onnx(reference, tmp_path / "r18.onnx", dynamo=dynamo)
    if dynamo:  # torch 2.15's exporter keeps the weights beside the file, whatever their size
        assert (tmp_path / "r18.onnx.data").is_file()
    opened = check_round_trip(reference, path, image())
    convs = [n for n, m in opened.model.named_modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 20  # BatchNorm folded into them by the exporter: noted
    assert any("BatchNorm" in note for note in opened.notes)
    names = {n for n, _ in opened.model.named_modules()}
    assert {"layer1.0", "layer4.1", "maxpool"} <= names  # the network's own names and nesting
    if not dynamo:
        assert "layer1.0.conv1" in convs  # the legacy exporter names convolutions after the conv
    from cnn_explorer.models.analysis.summary import analyze

    # the explorer's numbers: a pass on the meta device (shapes, MACs) works on the converted module
    assert analyze(opened.model, (1, 3, 224, 224)).total_macs == analyze(reference, (1, 3, 224, 224)).total_macs


@pytest.mark.slow  # the weights beside the file: ResNet-18's dynamo export in the quick suite (244 MB here)
def test_onnx_alexnet_dynamo_with_external_data(tmp_path):
    from torchvision.models import alexnet

    torch.manual_seed(0)
    reference = alexnet().eval()
    path = export_onnx(reference, tmp_path / "alexnet.onnx")
    assert (tmp_path / "alexnet.onnx.data").is_file()  # torch 2.15's exporter keeps the weights beside it
    opened = check_round_trip(reference, path, image())
    assert isinstance(opened.model.get_submodule("features.0"), nn.Conv2d)
    assert opened.model.get_submodule("features.0").weight.shape == (64, 3, 11, 11)


@pytest.mark.parametrize("dynamo", [True, False], ids=["dynamo", "legacy"])
def test_onnx_squeezenet(tmp_path, dynamo):
    from torchvision.models import squeezenet1_0

    torch.manual_seed(0)
    reference = squeezenet1_0().eval()
    path = export_onnx(reference, tmp_path / "squeeze.onnx", dynamo=dynamo)
    assert (tmp_path / "squeeze.onnx.data").is_file() == dynamo  # dynamo keeps the weights beside the file
    opened = check_round_trip(reference, path, image())
    assert isinstance(opened.model.get_submodule("features.3.expand3x3"), nn.Conv2d)


# ONNX graphs built by hand


def constant_weights_model(path):
    """conv(3→4, 3×3) → Relu → GlobalAveragePool → Flatten → Gemm(4→2), every weight in a Constant node (as
    PaddleOCR's files keep them), input 1×3×8×8."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weights = {"W": rng.standard_normal((4, 3, 3, 3)).astype(np.float32),
               "B": rng.standard_normal(4).astype(np.float32),
               "FW": rng.standard_normal((2, 4)).astype(np.float32),
               "FB": rng.standard_normal(2).astype(np.float32)}
    constants = [helper.make_node("Constant", [], [name], value=numpy_helper.from_array(value, name))
                 for name, value in weights.items()]
    nodes = constants + [
        helper.make_node("Conv", ["x", "W", "B"], ["c"], pads=[1, 1, 1, 1], name="conv"),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("GlobalAveragePool", ["r"], ["g"], name="pool"),
        helper.make_node("Flatten", ["g"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "FW", "FB"], ["y"], transB=1, name="fc"),
    ]
    graph = helper.make_graph(nodes, "constants", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return weights


def test_onnx_weights_in_constant_nodes(tmp_path):
    import torch.nn.functional as F

    weights = constant_weights_model(tmp_path / "constants.onnx")
    opened = open_model_file(str(tmp_path / "constants.onnx"))
    assert opened.input_shape == (3, 8, 8)
    x = image((3, 8, 8))
    t = {k: torch.from_numpy(v) for k, v in weights.items()}
    expected = F.linear(F.relu(F.conv2d(x, t["W"], t["B"], padding=1)).mean((2, 3)), t["FW"], t["FB"])
    with torch.no_grad():
        ours = opened.model(x)
    close(ours, expected)
    close(ours, onnxruntime_output(tmp_path / "constants.onnx", x))
    conv = opened.model.get_submodule("conv")
    assert isinstance(conv, nn.Conv2d) and torch.equal(conv.weight.detach(), t["W"])


def _with_external_data(tmp_path, location):
    import onnx

    constant_weights_model(tmp_path / "model.onnx")
    model = onnx.load(str(tmp_path / "model.onnx"))
    from onnx.external_data_helper import convert_model_to_external_data

    import onnx_ir as ir
    import onnx_ir.passes.common as passes

    graph = ir.serde.deserialize_model(model)
    passes.LiftConstantsToInitializersPass(lift_all_constants=True, size_limit=0)(graph)
    model = ir.serde.serialize_model(graph)
    convert_model_to_external_data(model, all_tensors_to_one_file=True, location="weights.bin", size_threshold=0)
    onnx.save(model, str(tmp_path / "model.onnx"))
    model = onnx.load(str(tmp_path / "model.onnx"), load_external_data=False)
    for tensor in model.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = location
    onnx.save(model, str(tmp_path / "model.onnx"))
    return tmp_path / "model.onnx"


def test_onnx_external_data_inside_the_folder_opens(tmp_path):
    path = _with_external_data(tmp_path, "weights.bin")
    opened = open_model_file(str(path))
    close(opened.model(image((3, 8, 8))).detach(), onnxruntime_output(path, image((3, 8, 8))))


def test_onnx_external_data_leaving_the_folder_is_refused(tmp_path):
    inside = tmp_path / "model"
    inside.mkdir()
    path = _with_external_data(inside, "weights.bin")
    (inside / "weights.bin").rename(tmp_path / "secret.bin")
    for location in ("../secret.bin", str(tmp_path / "secret.bin")):
        import onnx

        model = onnx.load(str(path), load_external_data=False)
        for tensor in model.graph.initializer:
            for entry in tensor.external_data:
                if entry.key == "location":
                    entry.value = location
        onnx.save(model, str(path))
        with pytest.raises(ModelFileError, match="outside the model's folder; refused"):
            open_model_file(str(path))


def test_onnx_op_the_converter_lacks(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    node = helper.make_node("FusedConv", ["x", "W"], ["y"], domain="com.microsoft", name="fused")
    weight = helper.make_tensor("W", TensorProto.FLOAT, [2, 3, 1, 1], [0.5] * 6)
    graph = helper.make_graph([node], "custom", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 4, 4])], [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
    onnx.save(model, str(tmp_path / "custom.onnx"))
    with pytest.raises(ModelFileError, match=r"the ONNX op com.microsoft::FusedConv \(node fused\) is not supported by "
                                             r"onnx2pytorch 0\.6\.0"):
        open_model_file(str(tmp_path / "custom.onnx"))


def test_onnx_op_the_converter_fails_on_is_named(tmp_path):
    """Any exception while onnx2pytorch converts a node (not only NotImplementedError) names the node's op: here a
    Gemm whose second operand is computed from the input (onnx2pytorch looks for it among the weights: ValueError)."""
    import onnx
    from onnx import TensorProto, helper

    nodes = [helper.make_node("Flatten", ["x"], ["f"], name="flatten"),
             helper.make_node("Transpose", ["f"], ["t"], name="transpose"),
             helper.make_node("Gemm", ["f", "t"], ["y"], name="outer")]
    graph = helper.make_graph(nodes, "gemm", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(tmp_path / "gemm.onnx"))
    with pytest.raises(ModelFileError, match=r"the ONNX op Gemm \(node outer\) is not supported by onnx2pytorch "
                                             r"0\.6\.0: ValueError: "):
        open_model_file(str(tmp_path / "gemm.onnx"))


def test_onnx_if_on_the_input_opens(tmp_path):
    """An If whose condition depends on the image (so it cannot be folded away): onnx2pytorch converts it. Its
    layers' names hold dots before they are nested (If_/choose.0/If_output_0), which the module must find."""
    import onnx
    from onnx import TensorProto, helper

    def branch(op, name):
        out = helper.make_tensor_value_info(f"{name}_out", TensorProto.FLOAT, [1, 3, 4, 4])
        return helper.make_graph([helper.make_node(op, ["x"], [f"{name}_out"], name=f"/{name}.0/{op}")], name, [],
                                 [out])

    nodes = [helper.make_node("ReduceSum", ["x"], ["s"], keepdims=0, name="/sum.0/ReduceSum"),
             helper.make_node("Constant", [], ["zero"], value=helper.make_tensor("z", TensorProto.FLOAT, [], [0.0])),
             helper.make_node("Greater", ["s", "zero"], ["c"], name="/positive.0/Greater"),
             helper.make_node("If", ["c"], ["/choose.0/If_output_0"], then_branch=branch("Relu", "then"),
                              else_branch=branch("Neg", "else"), name="/choose.0/If"),
             helper.make_node("Relu", ["/choose.0/If_output_0"], ["y"], name="/out/Relu")]
    graph = helper.make_graph(nodes, "if", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 4, 4])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(tmp_path / "if.onnx"))
    opened = open_model_file(str(tmp_path / "if.onnx"))
    for x in (image((3, 4, 4)).abs(), -image((3, 4, 4)).abs()):  # both branches
        with torch.no_grad():
            close(opened.model(x), onnxruntime_output(tmp_path / "if.onnx", x))
            close(opened.model(x), x.relu() if x.sum() > 0 else (-x).relu())


def fixed_batch_model(path, flatten_to_batch=False):
    """Conv(3→4, 3×3) → Relu, input fixed at 2×3×8×8 (as onnx's pytorch-converted tests are); with
    ``flatten_to_batch`` the output is reshaped to [2, -1], which holds for a batch of 2 only."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "W")
    shape = numpy_helper.from_array(np.array([2, -1], np.int64), "batch_of_two")
    nodes = [helper.make_node("Conv", ["x", "W"], ["c"], pads=[1, 1, 1, 1], name="/conv/Conv"),
             helper.make_node("Relu", ["c"], ["r" if flatten_to_batch else "y"], name="/relu/Relu")]
    out = [2, 4, 8, 8]
    if flatten_to_batch:
        nodes.append(helper.make_node("Reshape", ["r", "batch_of_two"], ["y"], name="/flatten/Reshape"))
        out = [2, 256]
    graph = helper.make_graph(nodes, "batch2", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, out)], [weight, shape])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return torch.from_numpy(numpy_helper.to_array(weight).copy())


def test_onnx_fixed_batch_of_two_runs_one_image_at_a_time(tmp_path):
    weight = fixed_batch_model(tmp_path / "batch2.onnx")
    opened = open_model_file(str(tmp_path / "batch2.onnx"))
    assert opened.input_shape == (3, 8, 8)
    assert any("fixes its batch at 2; the explorer runs one image at a time" in note for note in opened.notes)
    x = torch.cat([image((3, 8, 8)), image((3, 8, 8), seed=2)])
    expected = onnxruntime_output(tmp_path / "batch2.onnx", x)
    with torch.no_grad():
        for k in range(2):
            ours = opened.model(x[k:k + 1])
            close(ours, expected[k:k + 1])
            close(ours, torch.nn.functional.conv2d(x[k:k + 1], weight, padding=1).relu())


def test_onnx_fixed_batch_that_one_image_cannot_run_is_refused_in_one_line(tmp_path):
    fixed_batch_model(tmp_path / "batch2.onnx", flatten_to_batch=True)
    with pytest.raises(ModelFileError, match=r"batch2\.onnx fixes its batch at 2; the explorer runs one image at a "
                                             r"time \(.*\)$") as refused:
        open_model_file(str(tmp_path / "batch2.onnx"))
    assert "\n" not in str(refused.value) and len(str(refused.value)) < 400, str(refused.value)


def test_onnx_ir3_weights_made_by_constant_of_shape(tmp_path):
    """As onnx's light/ networks are written: IR version 3, initializers listed among the graph's inputs too, every
    weight made by a ConstantOfShape of a shape held in an initializer, a Gemm weight reshaped on its way."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    def fill(name, shape, value):
        return helper.make_node("ConstantOfShape", [f"{name}__SHAPE"], [name], name=f"make_{name}",
                                value=helper.make_tensor("v", TensorProto.FLOAT, [1], [value]))

    shapes = {"W__SHAPE": [4, 3, 3, 3], "B__SHAPE": [4], "FW__SHAPE": [1, 1, 2, 4], "FB__SHAPE": [2],
              "FW_2D": [2, 4]}
    initializers = [numpy_helper.from_array(np.array(v, np.int64), k) for k, v in shapes.items()]
    nodes = [fill("W", shapes["W__SHAPE"], 0.02), fill("B", shapes["B__SHAPE"], 0.5),
             fill("FW4", shapes["FW__SHAPE"], -0.3), fill("FB", shapes["FB__SHAPE"], 0.1)]
    nodes[2].input[0] = "FW__SHAPE"
    nodes += [helper.make_node("Conv", ["x", "W", "B"], ["c"], pads=[1, 1, 1, 1], name="conv"),
              helper.make_node("Relu", ["c"], ["r"], name="relu"),
              helper.make_node("GlobalAveragePool", ["r"], ["g"], name="pool"),
              helper.make_node("Flatten", ["g"], ["f"], name="flatten"),
              helper.make_node("Reshape", ["FW4", "FW_2D"], ["FW"], name="fc_weight"),
              helper.make_node("Gemm", ["f", "FW", "FB"], ["y"], transB=1, name="fc")]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])] + [
        helper.make_tensor_value_info(t.name, TensorProto.INT64, list(t.dims)) for t in initializers]
    graph = helper.make_graph(nodes, "light", inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])],
                              initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 9)])
    model.ir_version = 3
    onnx.save(model, str(tmp_path / "light.onnx"))
    opened = open_model_file(str(tmp_path / "light.onnx"))
    assert opened.input_shape == (3, 8, 8)
    conv = opened.model.get_submodule("conv")
    assert isinstance(conv, nn.Conv2d) and conv.weight.shape == (4, 3, 3, 3)
    assert torch.all(conv.weight == 0.02) and torch.all(conv.bias == 0.5)
    x = image((3, 8, 8))
    with torch.no_grad():
        ours = opened.model(x)
    close(ours, onnxruntime_output(tmp_path / "light.onnx", x))
    features = (torch.nn.functional.conv2d(x, torch.full((4, 3, 3, 3), 0.02), torch.full((4,), 0.5), padding=1)
                .relu().mean((2, 3)))
    close(ours, features @ torch.full((4, 2), -0.3) + 0.1)


def test_onnx_dynamic_size_needs_a_shape(tmp_path):
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(1, 3, 32, 32),), str(tmp_path / "dyn.onnx"), dynamo=False,
                          opset_version=17, input_names=["x"], dynamic_axes={"x": {2: "h", 3: "w"}})
    with pytest.raises(ModelFileError, match="does not fix its input's height and width: give the input shape"):
        open_model_file(str(tmp_path / "dyn.onnx"))
    opened = open_model_file(str(tmp_path / "dyn.onnx"), input_shape=(3, 40, 48))
    assert opened.input_shape == (3, 40, 48)
    x = image((3, 40, 48))
    with torch.no_grad():
        close(opened.model(x), model(x))


def test_a_conversion_that_differs_from_onnxruntime_is_refused(tmp_path):
    """The check itself, on a real module that computes something else than the file."""
    import onnx

    from cnn_explorer.models.files.onnx_source import compare_with_onnxruntime

    constant_weights_model(tmp_path / "c.onnx")
    original = onnx.load(str(tmp_path / "c.onnx"))
    wrong = nn.Sequential(nn.Conv2d(3, 2, 8), nn.Flatten()).eval()
    with pytest.raises(ModelFileError, match=r"differs from onnxruntime by .* \(tolerance 0.0001\); refused"):
        compare_with_onnxruntime(original, wrong, (3, 8, 8), tmp_path / "c.onnx")


def test_onnx_channels_last_input_is_noted(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    nodes = [helper.make_node("Transpose", ["x"], ["t"], perm=[0, 3, 1, 2], name="to_nchw"),
             helper.make_node("Relu", ["t"], ["y"], name="relu")]
    graph = helper.make_graph(nodes, "nhwc", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 8, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 8, 8])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(tmp_path / "nhwc.onnx"))
    opened = open_model_file(str(tmp_path / "nhwc.onnx"))
    assert opened.input_shape == (8, 8, 3)
    assert any("looks channels-last" in note for note in opened.notes)
    x = image((8, 8, 3))
    close(opened.model(x), onnxruntime_output(tmp_path / "nhwc.onnx", x))


class Residual(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return torch.relu(x + self.conv2(torch.relu(self.conv1(x))))


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:FutureWarning")
def test_a_torchscript_residual_net_folds_and_draws_its_figure(tmp_path):
    """The residual add of a scripted net runs in the model's own code, outside its rebuilt layers: the blocks
    (plain name holders in the converted copy) still fold and the figure draws one volume per block."""
    from cnn_explorer.app.core.figure_data import figure_from_summary
    from cnn_explorer.models.analysis.summary import analyze

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(), Residual(8), Residual(8),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 8 * 8, 4)).eval()
    torch.jit.script(model).save(str(tmp_path / "res.pt"))
    opened = open_model_file(str(tmp_path / "res.pt"), input_shape=(3, 32, 32))
    assert opened.hooks_work
    figure = figure_from_summary(analyze(opened.model, (1, 3, 32, 32)))
    assert figure.ok, figure.message
    assert [v.name for v in figure.volumes if v.kind == "block"] == ["2", "3"]
