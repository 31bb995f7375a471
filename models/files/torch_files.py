"""Files written by PyTorch: ``torch.export`` programs (``.pt2``), TorchScript archives, and ``torch.save``
checkpoints (which hold weights, not a model).

The kind is told by the archive's contents, not its suffix: ``.pt`` is used for all three.
Loading a ``.pt2`` or TorchScript file runs the code it holds (torch's own documentation warns): treat it as a
``.py``. A ``torch.save`` file is only ever read with ``weights_only=True``.
"""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path

from cnn_explorer.models.files.errors import ModelFileError, first_line


def archive_kind(path: Path) -> str:
    """"pt2", "torchscript", "torch.save", "zip" (another zip), or "" when the file is no zip archive."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return ""
    tails = {name.split("/", 1)[-1] for name in names}
    if "archive_format" in tails or "models/model.json" in tails or any(
            t.startswith("serialized_exported_program") for t in tails):
        return "pt2"
    if "constants.pkl" in tails and any(t.startswith("code/") for t in tails):
        return "torchscript"
    if "data.pkl" in tails:
        return "torch.save"
    return "zip"


# --- torch.export -----------------------------------------------------------------------------------------

def _example_shape(program) -> tuple | None:
    """The stored example input's shape, when it has exactly one tensor input."""
    import torch

    example = getattr(program, "example_inputs", None)
    if not example:
        return None
    args, kwargs = example
    tensors = [a for a in list(args) + list(kwargs.values()) if isinstance(a, torch.Tensor)]
    return tuple(tensors[0].shape) if len(tensors) == 1 else None


def _layer_for_call(target, args: list, tensor):
    """The ``nn.Conv2d``, ``nn.Linear`` or ``nn.BatchNorm`` that one ``aten.conv2d`` (or a 2-d, not transposed
    ``aten.convolution``) / ``aten.linear`` / ``aten.batch_norm`` call stands for, holding its tensors (``tensor(arg)`` gives an argument's tensor, or None
    when it is no stored tensor); else None."""
    import torch
    from torch import nn

    args = list(args) + [None] * 9
    if target is torch.ops.aten.convolution.default:  # (x, w, b, stride, padding, dilation, transposed, _, groups)
        if args[6] or not args[3]:
            return None  # a transposed convolution
        target, args = torch.ops.aten.conv2d.default, args[:6] + [args[8]] + [None] * 3
    weight, bias = tensor(args[1]), (tensor(args[2]) if args[2] is not None else None)
    if weight is None or (args[2] is not None and bias is None):
        return None
    if target is torch.ops.aten.conv2d.default and weight.dim() == 4:
        stride, padding, dilation, groups = (args[3] or [1, 1], args[4] or [0, 0], args[5] or [1, 1],
                                             args[6] or 1)
        if not isinstance(padding, (list, tuple)):
            return None  # padding="same" / "valid"
        out_channels, in_per_group, kh, kw = weight.shape
        layer = nn.Conv2d(in_per_group * groups, out_channels, (kh, kw), stride=tuple(stride),
                          padding=tuple(padding), dilation=tuple(dilation), groups=groups, bias=bias is not None,
                          device="meta")
    elif target is torch.ops.aten.linear.default and weight.dim() == 2:
        layer = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None, device="meta")
    elif target is torch.ops.aten.batch_norm.default and weight.dim() == 1 and bias is not None:
        mean, var = tensor(args[3]), tensor(args[4])
        rank = getattr(getattr(args[0], "meta", {}).get("val"), "dim", lambda: 0)()
        kind = {2: nn.BatchNorm1d, 3: nn.BatchNorm1d, 4: nn.BatchNorm2d}.get(rank)
        if mean is None or var is None or args[5] is not False or kind is None:
            return None  # training-mode statistics, or an input of unknown rank
        layer = kind(weight.shape[0], eps=float(args[7]), momentum=float(args[6] or 0.1), device="meta")
        layer.running_mean, layer.running_var = mean, var
    else:
        return None
    layer.weight = weight if isinstance(weight, nn.Parameter) else nn.Parameter(weight, requires_grad=False)
    if bias is not None:
        layer.bias = bias if isinstance(bias, nn.Parameter) else nn.Parameter(bias, requires_grad=False)
    return layer


def _restore_leaf(module):
    """The ``nn.Conv2d`` or ``nn.Linear`` that an unflattened leaf stands for, when its graph is exactly one
    ``aten.conv2d`` / ``aten.linear`` call on its own weight (and bias); else None. Views that look for
    ``nn.Conv2d`` (the kernels) then find the layers."""
    import torch

    graph = getattr(module, "graph", None)
    if graph is None or any(True for _ in module.children()):
        return None
    calls = [n for n in graph.nodes if n.op == "call_function"]
    placeholders = [n for n in graph.nodes if n.op == "placeholder"]
    if len(calls) != 1 or len(placeholders) != 1:
        return None
    call = calls[0]
    if call.kwargs or not call.args or call.args[0] is not placeholders[0] or call.target not in (
            torch.ops.aten.conv2d.default, torch.ops.aten.linear.default):
        return None
    attrs = {n: n.target for n in graph.nodes if n.op == "get_attr"}
    return _layer_for_call(call.target, call.args, lambda arg: getattr(module, attrs[arg]) if arg in attrs else None)


def restore_layers(model) -> int:
    """Put ``nn.Conv2d`` / ``nn.Linear`` in place of the unflattened leaves that are exactly one of them."""
    count = 0
    for name, module in list(model.named_modules()):
        if not name:
            continue
        layer = _restore_leaf(module)
        if layer is None:
            continue
        parent_name, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent_name) if parent_name else model, child, layer)
        count += 1
    return count


def open_pt2(path: Path, steps):
    """(model, input_shape or None, notes) from a ``torch.export.save`` file, unflattened so that forward
    hooks fire on each layer as in eager mode."""
    import torch

    steps(f"reading {path.name} (torch.export)")
    try:
        program = torch.export.load(str(path))
    except Exception as error:
        raise ModelFileError(f"cannot read {path} as a torch.export program: {first_line(error)}") from None
    shape = _example_shape(program)
    steps("rebuilding the layers (torch.export.unflatten)")
    notes = []
    try:
        model = torch.export.unflatten(program)
    except Exception as error:  # programs with an unusual module call graph
        model = program.module()
        notes.append(f"torch.export.unflatten failed ({first_line(error, 120)}); the flat graph module is used: "
                     "forward hooks fire on the whole model only, not on its layers")
        return model, shape, notes, False
    restored = restore_layers(model)
    flat = program.module()
    if shape:
        from cnn_explorer.models.files.opened import flat_tensors

        x = torch.randn(shape, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            ours, theirs = flat_tensors(model(x)), flat_tensors(flat(x))
        if len(ours) != len(theirs) or not all(
                a.shape == b.shape and torch.allclose(a, b, rtol=1e-5, atol=1e-6) for a, b in zip(ours, theirs)):
            raise ModelFileError(f"{path}: the rebuilt layers do not reproduce the exported program; "
                                 "please report this file")
    notes.append("layers rebuilt by torch.export.unflatten: forward hooks fire on every layer as in eager "
                 f"mode; {restored} convolution and linear layers are nn.Conv2d / nn.Linear again, the others "
                 "are torch.export InterpreterModules (their code is the exported graph)")
    if shape and shape[0] != 1:
        notes.append(f"exported with a batch of {shape[0]}")
    return model, shape, notes, True


# --- TorchScript ------------------------------------------------------------------------------------------

TORCHSCRIPT_REASON = ("TorchScript modules refuse forward hooks, and torch's converter could not rebuild its "
                      "layers, so the lab (feature maps, Grad-CAM) cannot look inside: the graph and the numbers "
                      "only; open the Python code or a .pt2 (torch.export) file to look inside")


def _owner(nodes: list, graph_module) -> str | None:
    """The one submodule that holds every stored tensor among ``nodes`` (``get_attr`` nodes), else None."""
    owners = {n.target.rpartition(".")[0] for n in nodes if getattr(n, "op", None) == "get_attr"}
    return owners.pop() if len(owners) == 1 and "" not in owners else None


def rebuild_layers(graph_module, parameter_names: dict[str, bool]) -> int:
    """Turn a converted TorchScript graph back into layers that forward hooks see: each ``aten.conv2d`` /
    ``aten.linear`` / ``aten.batch_norm`` call on the tensors of one TorchScript submodule becomes a call of an
    ``nn.Conv2d`` / ``nn.Linear`` / ``nn.BatchNorm`` of that name (``layer1.0.conv1``), holding the same tensors
    (its parameters as ``nn.Parameter``, as in the ScriptModule); in-place aten ops whose input is used nowhere
    else become their out-of-place forms, so that a recorded feature map is not overwritten by a later ReLU.
    ``parameter_names``: the ScriptModule's parameters, each with its ``requires_grad``. Returns how many layers
    were rebuilt; the caller checks the output against the ScriptModule's."""
    import torch
    from torch import nn

    graph = graph_module.graph
    count = 0
    for node in list(graph.nodes):
        if node.op != "call_function" or node.kwargs:
            continue
        name = getattr(node.target, "_opname", "")
        if name.endswith("_") and not name.startswith("_") and len(node.args) and len(node.args[0].users) == 1:
            functional = getattr(getattr(torch.ops.aten, name[:-1], None), node.target._overloadname, None)
            if functional is not None:
                node.target = functional
            continue
        owner = _owner(list(node.args[1:5]), graph_module)
        if owner is None:
            continue
        holder = graph_module.get_submodule(owner)
        tensor = lambda arg: (getattr(holder, arg.target.rpartition(".")[2], None)  # noqa: E731
                              if getattr(arg, "op", None) == "get_attr" and arg.target.startswith(owner + ".")
                              else None)
        layer = _layer_for_call(node.target, node.args, tensor)
        held = set(holder._buffers) | set(holder._parameters)
        if layer is None or any(True for _ in holder.children()) or not held <= {
                n for n, _ in layer.named_parameters()} | {n for n, _ in layer.named_buffers()}:
            continue
        for attr, value in list(layer.named_parameters(recurse=False)):
            if f"{owner}.{attr}" not in parameter_names:  # a buffer in the ScriptModule stays one
                delattr(layer, attr)
                layer.register_buffer(attr, value.data)
            else:
                value.requires_grad_(parameter_names[f"{owner}.{attr}"])
        layer.train(False)  # the converted graph computes batch norm with the running statistics
        parent, _, child = owner.rpartition(".")
        setattr(graph_module.get_submodule(parent) if parent else graph_module, child, layer)
        with graph.inserting_before(node):
            call = graph.call_module(owner, (node.args[0],))
        call.meta = dict(node.meta)  # its output's shape, which a following batch norm's rebuild reads
        node.replace_all_uses_with(call)
        graph.erase_node(node)
        count += 1
    graph.eliminate_dead_code()
    graph_module.recompile()
    for name, buffer in list(graph_module.named_buffers()):  # tensors of the layers left as functions
        if name in parameter_names:
            owner, _, attr = name.rpartition(".")
            module = graph_module.get_submodule(owner) if owner else graph_module
            del module._buffers[attr]
            module.register_parameter(attr, nn.Parameter(buffer, requires_grad=parameter_names[name]))
    return count


def torchscript_graph_module(model, shape: tuple[int, int, int]):
    """(module, note, hooks): the TorchScript model's computation as a graph module, which the explorer can
    record where the ScriptModule refuses the hooks that recording needs. It comes from torch's TorchScript
    converter (``torch._export.converter``, a private API), then ``rebuild_layers`` gives it its named
    convolution, batch-norm and linear layers back; ``hooks`` says whether it has any, so that the lab can look
    inside. Used only when its output equals the ScriptModule's on a random input; else (None, why, False)."""
    import logging

    import torch

    from cnn_explorer.models.files.opened import flat_tensors

    x = torch.randn((1, *shape), generator=torch.Generator().manual_seed(0))
    quiet = logging.getLogger("torch._export")
    level = quiet.level
    try:
        from torch._export.converter import TS2EPConverter

        quiet.setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            graph_module = TS2EPConverter(model, (x,)).convert().module()
            rebuilt = rebuild_layers(graph_module, {name: p.requires_grad for name, p in model.named_parameters()})
            # A plain GraphModule of the same graph: the exported one refuses .eval() and .train()
            graph_module = torch.fx.GraphModule(graph_module, graph_module.graph, "TorchScriptModel")
            with torch.no_grad():
                ours, theirs = flat_tensors(graph_module(x)), flat_tensors(model(x))
    except Exception as error:  # a private converter: anything it cannot do ends here
        return None, f"torch's TorchScript converter cannot turn it into a graph ({first_line(error, 120)})", False
    finally:
        quiet.setLevel(level)
    if len(ours) != len(theirs) or not all(a.shape == b.shape and torch.allclose(a, b, rtol=1e-5, atol=1e-6)
                                           for a, b in zip(ours, theirs)):
        return None, "torch's TorchScript converter gives another output; its graph is not used", False
    if not rebuilt:
        return graph_module, ("the graph and the numbers are recorded on a copy made by torch's TorchScript "
                              "converter (same output on a random input); it has no layers that hooks see"), False
    return graph_module, (f"the explorer looks at a copy made by torch's TorchScript converter, with its {rebuilt} "
                          "convolution, batch-norm and linear layers rebuilt under their TorchScript names (same "
                          "output on a random input); the other operations are functions"), True


def open_torchscript(path: Path, steps):
    import torch

    steps(f"reading {path.name} (TorchScript)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch 2.15: "torch.jit.load is deprecated"
            return torch.jit.load(str(path), map_location="cpu")
    except Exception as error:
        raise ModelFileError(f"cannot read {path} as TorchScript: {first_line(error)}") from None


# --- torch.save checkpoints -------------------------------------------------------------------------------

def refuse_checkpoint(path: Path, spec_text: str):
    """A ``torch.save`` or ``.safetensors`` file is weights, not a model: say how to open it, or why it is
    refused (a pickled model object is never unpickled)."""
    from cnn_explorer.models.zoo.weights import WeightsError, read_state_dict

    try:
        state = read_state_dict(path)
    except WeightsError as error:
        text = str(error)
        if "Python objects" in text:
            raise ModelFileError(f"{spec_text} holds pickled Python objects (a whole model saved with "
                                 "torch.save(model)), which are never unpickled, for safety: save "
                                 "model.state_dict() instead and give the code with it: file.py:Name --weights "
                                 f"{spec_text}") from None
        raise ModelFileError(text) from None
    raise ModelFileError(f"{spec_text} is a state dict ({len(state)} tensors), not a model: give the code with "
                         f"it: file.py:Name --weights {spec_text}")
