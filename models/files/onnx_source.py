"""ONNX files, converted to PyTorch modules by onnx2pytorch, and checked against onnxruntime.

Why onnx2pytorch (measured on this project's machine, torch 2.15, onnx 1.23, Dec 2026): the default
``torch.onnx.export`` (dynamo) writes opset 18+ (ReduceMean v18, AveragePool v19, Reshape with allowzero=1);
onnx2torch 1.5.15 (last release Aug 2024) converts the legacy (opset 17) files of AlexNet, ResNet-18,
SqueezeNet, MobileNet-V2, GoogLeNet and DenseNet-121 once prepared (``onnx_prepare.py``), but none of the six that dynamo
writes, and downgrading those with onnx's version converter still fails (Reshape allowzero=1). onnx2pytorch
0.6.0 converts all twelve (both exporters) once prepared (``onnx_prepare.py``); so do the legacy and dynamo files of nine more (MobileNet-V3, EfficientNet-B0, ConvNeXt-T,
VGG-11-BN, ShuffleNet-V2, RegNet-X, ResNet-50, Inception-V3, MNASNet), all within 2.1e-6 of onnxruntime
relative to the largest output.

Before converting, the graph is prepared with onnxscript's constant folding and onnx_ir's passes (weights
held in Constant nodes lifted to initializers, Identity nodes removed: the legacy exporter shares
identical initializers through Identity nodes, which neither converter reads as weights). ConstantOfShape
nodes of constant shapes are folded too (onnxscript keeps them by default): the legacy exporter's
LocalResponseNorm builds its pads with one, and once they fold, so do its If nodes (where the file fixes its
input's size; else onnx2pytorch runs them); onnx's light/ networks (IR version 3) make every weight with one.

Every conversion is checked: the converted module and onnxruntime run the original file on one random input,
and the file is refused unless ``max|torch - onnxruntime| <= TOLERANCE * max|onnxruntime|`` for each output
(measured on those 30 files: at most 2.1e-6, VGG-11-BN). A file that fixes its batch above 1 runs in
onnxruntime at that batch and in the converted module one image at a time (as the explorer runs it), compared
image by image.

External data (weights in files beside the model) is read only from inside the model's folder.
"""

from __future__ import annotations

import ast
import os
import re
import warnings
from pathlib import Path

from cnn_explorer.models.files.errors import InputShapeNeeded, ModelFileError, first_line
from cnn_explorer.models.files.onnx_prepare import prepare
from cnn_explorer.models.files.opened import Steps, checked_forward, flat_tensors, shape_text

CONVERTER = "onnx2pytorch"
TOLERANCE = 1e-4  # relative to the largest output (measured: at most 2.1e-6, see above)


def converter_version() -> str:
    from importlib import metadata

    try:
        return metadata.version(CONVERTER)
    except metadata.PackageNotFoundError:
        return "?"


try:
    from onnx2pytorch import ConvertModel as _ConvertModel
except ImportError:  # not installed (it needs Python 3.11 or later): ONNX files are refused with a message
    _ConvertModel = None

if _ConvertModel is not None:
    class OnnxModule(_ConvertModel):
        """onnx2pytorch's module with its layers nested as the network's own modules were (``layer1.0.conv1``):
        its forward looks layers up by name, so dotted names are resolved through the submodules."""

        def __getattr__(self, name):
            try:
                return super().__getattr__(name)
            except AttributeError:
                # onnx2pytorch's own names may hold dots too ("If_/features/features.3/If_output_0"): those are
                # found above, before nest_layers moves the layers
                if "." not in name:
                    raise
            return self.get_submodule(name)

        def keep_constants_real(self) -> int:
            """Integer initializers (shapes, axes, pads, indices) and scalars become plain tensors instead of
            buffers: the ops read their values (``.item()``), which a pass on the meta device (the explorer's
            shapes and MACs) cannot give if they are swapped for meta stand-ins as buffers are. They still move
            with ``.to(device)``. Returns how many."""
            names = [name for name, b in self._buffers.items() if b is not None and b.dim() <= 1
                     and (not b.is_floating_point() or b.dim() == 0) and b.numel() <= 64]
            self._real_constants = tuple(names)
            for name in names:
                value = self._buffers.pop(name)
                object.__setattr__(self, name, value)
            return len(names)

        def _apply(self, fn, recurse=True):
            module = super()._apply(fn, recurse)
            for name in getattr(self, "_real_constants", ()):
                object.__setattr__(self, name, fn(getattr(self, name)))
            return module


def _converter_class():
    if _ConvertModel is None:
        import sys

        need = " (it needs Python 3.11 or later)" if sys.version_info < (3, 11) else ""
        raise ModelFileError(f"ONNX files need the package {CONVERTER}{need}: uv sync installs it")
    return OnnxModule


# --- reading ----------------------------------------------------------------------------------------------

def _external_tensors(model):
    from onnx.external_data_helper import _get_all_tensors, uses_external_data

    return [t for t in _get_all_tensors(model) if uses_external_data(t)]


def _load(path: Path):
    """The model with its external data, read only from inside ``path``'s folder."""
    import onnx
    from onnx.external_data_helper import load_external_data_for_model

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as error:  # protobuf's DecodeError, and whatever a damaged file brings
        raise ModelFileError(f"{path} is not an ONNX model ({first_line(error, 120)})") from None
    if not model.graph.node:
        raise ModelFileError(f"{path} is not an ONNX model (no graph in it)")
    folder = path.resolve().parent
    for tensor in _external_tensors(model):
        location = next((e.value for e in tensor.external_data if e.key == "location"), "")
        target = (folder / location).resolve()
        if not location or os.path.isabs(location) or not target.is_relative_to(folder):
            raise ModelFileError(f"{path}: the weights of {tensor.name!r} are said to be in {location!r}, outside "
                                 "the model's folder; refused (external data is read only from the folder of "
                                 "the .onnx file)")
        if not target.is_file():
            raise ModelFileError(f"{path}: the weights of {tensor.name!r} are in {location}, which is missing "
                                 f"from {folder}")
    try:
        load_external_data_for_model(model, str(folder))
    except (ValueError, OSError) as error:
        raise ModelFileError(f"{path}: cannot read its external weights: {first_line(error, 160)}") from None
    return model


def _real_inputs(graph):
    initializers = {t.name for t in graph.initializer}
    return [i for i in graph.input if i.name not in initializers]


def stored_shape(model, path: Path) -> tuple[tuple | None, str]:
    """The (C, H, W) the file fixes for its one image input (None where a dim is symbolic) and the input's name."""
    from onnx import TensorProto

    inputs = _real_inputs(model.graph)
    if len(inputs) != 1:
        names = ", ".join(i.name for i in inputs) or "none"
        raise ModelFileError(f"{path} has {len(inputs)} inputs ({names}); the explorer opens models with one "
                             "image input")
    tensor_type = inputs[0].type.tensor_type
    if tensor_type.elem_type not in (TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.DOUBLE):
        kind = TensorProto.DataType.Name(tensor_type.elem_type) if tensor_type.elem_type else "not a tensor"
        raise ModelFileError(f"{path}: its input {inputs[0].name!r} is {kind}, not floating point; the explorer "
                             "feeds images as float tensors")
    if not tensor_type.HasField("shape"):
        return None, inputs[0].name
    dims = [d.dim_value if d.HasField("dim_value") else None for d in tensor_type.shape.dim]
    if len(dims) != 4:
        raise ModelFileError(f"{path}: its input {inputs[0].name!r} has {len(dims)} dimensions; the explorer "
                             "opens image models (N×C×H×W)")
    chw = tuple(dims[1:])
    return (chw if all(d for d in chw) else None), inputs[0].name


# --- preparing --------------------------------------------------------------------------------------------

def _folded_notes(original) -> list[str]:
    rules = " ".join(p.value for n in original.graph.node for p in n.metadata_props
                     if p.key == "pkg.onnxscript.rewriter.rule_name")
    ops = {n.op_type for n in original.graph.node}
    if "FuseBatchNormIntoConv" in rules:
        return ["BatchNorm folded into the convolutions by the exporter (onnxscript's FuseBatchNormIntoConv): "
                "each such convolution carries its BatchNorm's scale and shift and is named after the BatchNorm "
                "(bn1), and the BatchNorm layers are gone"]
    convs = [n for n in original.graph.node if n.op_type == "Conv"]
    # any one will do: convolutions that had no BatchNorm after them keep their weights' own names
    if "BatchNormalization" not in ops and any(len(n.input) > 1 and n.input[1].startswith("onnx::Conv_")
                                               for n in convs):
        return ["the convolutions' weights have exporter-made names (onnx::Conv_…): the legacy exporter folds "
                "BatchNorm into the convolutions, so any BatchNorm layers are gone"]
    return []


# --- converting -------------------------------------------------------------------------------------------

def _failing_node(error: BaseException):
    """The ONNX node onnx2pytorch was converting when ``error`` was raised (a local ``node`` of its frames, the
    innermost first), or None."""
    from onnx import NodeProto

    found = None
    trace = error.__traceback__
    while trace is not None:
        node = trace.tb_frame.f_locals.get("node")
        if isinstance(node, NodeProto):
            found = node
        trace = trace.tb_next
    return found


def _unsupported(error: Exception, model, version: str) -> str:
    text = str(error)
    op = re.search(r"op_type=(\w+)", text)
    if op:
        return f"the ONNX op {op.group(1)} is not supported by {CONVERTER} {version}"
    node = _failing_node(error)
    if node is not None:
        where = f" (node {node.name})" if node.name else ""
        return (f"the ONNX op {node.op_type}{where} is not supported by {CONVERTER} {version}: "
                f"{type(error).__name__}: {first_line(error, 120)}")
    attribute = re.search(r"attribute (\w+) not implemented", text)
    if attribute:
        users = sorted({n.op_type for n in model.graph.node if any(a.name == attribute.group(1) for a in n.attribute)})
        return (f"{CONVERTER} {version} cannot read the attribute {attribute.group(1)} "
                f"of the ONNX op {'/'.join(users) or '?'}")
    return f"{CONVERTER} {version} cannot convert it: {type(error).__name__}: {first_line(error, 160)}"


def convert(prepared, path: Path):
    """The converted module, and the ops the converter only guessed (``torch.<op>`` without attributes)."""
    version = converter_version()
    for node in prepared.graph.node:
        if node.domain not in ("", "ai.onnx"):
            raise ModelFileError(f"{path}: the ONNX op {node.domain}::{node.op_type} (node {node.name or '?'}) is "
                                 f"not supported by {CONVERTER} {version}")
    module_class = _converter_class()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            net = module_class(prepared, experimental=False)
        except Exception as error:  # noqa: BLE001 - NotImplementedError mostly; any other names its node's op
            raise ModelFileError(f"{path}: {_unsupported(error, prepared, version)}") from None
    guessed = sorted({m.group(1) for w in caught for m in [re.search(r"op_type=(\w+), guessing", str(w.message))]
                      if m})
    return net.eval(), guessed


# --- naming the layers ------------------------------------------------------------------------------------

def _legacy_scope(name: str) -> list[str]:
    """``/layer1/layer1.0/conv1/Conv`` → ``layer1.0.conv1`` (the legacy exporter's node names). Each part is
    a called module's name from its last attribute on (``block.0.0`` for ``features.1.block.0.0``): a part
    that extends the part before it (``block.0`` → ``block.0.0``) adds only its new items, any other part is
    a module of the one before (a container that was never called, as a ModuleList, brings its items along:
    ``ups.0``)."""
    taken = re.match(r".*/If(?:_\d+)?_(/.+)$", name)  # a node of an If's branch that folding took
    if taken:
        name = taken.group(1)
    parts = [p for p in name.split("/") if p][:-1]
    path: list[str] = []
    previous = ""
    for part in parts:
        if previous and part.startswith(previous + "."):
            path.extend(part[len(previous) + 1:].split("."))
        else:
            path.extend(part.split("."))
        previous = part
    return [p for p in path if p]


def _scope(node) -> list[str]:
    for prop in node.metadata_props:
        if prop.key == "pkg.torch.onnx.name_scopes":
            try:
                scopes = ast.literal_eval(prop.value)
            except (ValueError, SyntaxError):
                break
            if isinstance(scopes, list) and len(scopes) >= 2 and isinstance(scopes[-2], str):
                return scopes[-2].split(".") if scopes[-2] else []
            return []
    if node.name.startswith("/"):
        return _legacy_scope(node.name)
    return []


def _clean(part: str, reserved: set[str]) -> str:
    part = re.sub(r"\W", "_", part) or "_"
    return part + "_" if part in reserved else part


def nest_layers(net, prepared) -> None:
    """Give the converted layers the network's own names and nesting (``layer1.0.conv1``), read from the
    exporter's scopes (dynamo's ``name_scopes`` metadata, the legacy exporter's node names); layers with no
    scope keep a flat name after their op (``reshape``, ``add_2``)."""
    from torch import nn

    reserved = set(dir(net)) | set(vars(net)) | set(dir(nn.Module()))
    chosen = []
    for node in prepared.graph.node:
        if not node.output or node.output[0] not in net.mapping:
            continue
        old = net.mapping[node.output[0]]
        module = net._modules.get(old)  # names may hold dots ("Conv_/layer1/layer1.0/conv1/Conv_output_0")
        if not isinstance(module, nn.Module):
            continue  # functions (torch.cat) stay as they are
        scope = [_clean(p, reserved) for p in _scope(node)]
        chosen.append((node.output[0], old, module, scope, _clean(node.op_type.lower(), reserved)))
    containers = {tuple(scope[:k]) for *_, scope, _ in chosen for k in range(1, len(scope))}
    used: set[tuple] = set(containers)
    for _, old, *_ in chosen:
        del net._modules[old]
    for op_id, old, module, scope, op in chosen:
        path = tuple(scope) if scope and tuple(scope) not in containers else (*scope, op)
        if path in used:
            n = 2
            while (*path[:-1], f"{path[-1]}_{n}") in used:
                n += 1
            path = (*path[:-1], f"{path[-1]}_{n}")
        used.add(path)
        parent = net
        for part in path[:-1]:
            if not isinstance(getattr(parent, part, None), nn.Module):
                setattr(parent, part, nn.Module())
            parent = getattr(parent, part)
        setattr(parent, path[-1], module)
        net.mapping[op_id] = ".".join(path)


# --- checking ---------------------------------------------------------------------------------------------

def fixed_batch(model) -> int | None:
    """The batch the file fixes for its image input; None where it is symbolic (or not said)."""
    inputs = _real_inputs(model.graph)
    if len(inputs) != 1 or not inputs[0].type.tensor_type.HasField("shape"):
        return None
    dims = inputs[0].type.tensor_type.shape.dim
    return dims[0].dim_value if dims and dims[0].HasField("dim_value") and dims[0].dim_value > 0 else None


def _one_at_a_time(net, rest, got: list) -> list:
    """``got`` (the outputs of the first image) with those of each image of ``rest`` run alone through ``net``,
    joined along the batch."""
    import torch

    outputs = [[tensor] for tensor in got]
    with torch.no_grad():
        for k in range(rest.shape[0]):
            more = flat_tensors(net(rest[k:k + 1]))
            if len(more) != len(outputs):
                raise ModelFileError(f"the converted model gives {len(more)} outputs on one image, then "
                                     f"{len(outputs)}; refused")
            for each, tensor in zip(outputs, more):
                each.append(tensor)
    try:
        return [torch.cat(each) for each in outputs]
    except RuntimeError as error:  # 0-d outputs, or outputs that are not a batch of one
        raise ModelFileError(f"the converted model's outputs for one image cannot be joined into a batch "
                             f"({first_line(error, 100)}); refused") from None


def compare_with_onnxruntime(original, net, input_shape, path: Path, batch: int = 1) -> float:
    """Run the original file in onnxruntime and the converted module on one random image; the largest
    difference relative to the largest output; ModelFileError when over ``TOLERANCE``. Where the file fixes
    its batch at ``batch`` > 1, onnxruntime runs that many images at once and the converted module each of
    them alone (as the explorer runs it), and the outputs are compared image by image."""
    import numpy as np
    import torch

    try:
        import onnxruntime
    except ImportError:
        raise ModelFileError("ONNX files need the package onnxruntime to check the conversion: uv sync "
                             "installs it") from None
    name = _real_inputs(original.graph)[0].name
    x = torch.randn((1, *input_shape), generator=torch.Generator().manual_seed(0))  # as checked_forward's
    rest = torch.randn((batch - 1, *input_shape), generator=torch.Generator().manual_seed(1))
    try:
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        session = onnxruntime.InferenceSession(original.SerializeToString(), options,
                                               providers=["CPUExecutionProvider"])
        feed_type = session.get_inputs()[0].type
        feed = torch.cat([x, rest]).numpy().astype(np.float16 if "float16" in feed_type else
                                                   np.float64 if "double" in feed_type else np.float32)
        expected = session.run(None, {name: feed})
    except Exception as error:
        raise ModelFileError(f"{path}: onnxruntime cannot run it at input {batch}×{shape_text(input_shape)}, so "
                             f"its conversion cannot be checked: {first_line(error, 160)}") from None
    try:
        return _difference(net, input_shape, path, expected, rest)
    except ModelFileError as error:
        if batch == 1:
            raise
        # the explorer feeds one image: a file made for a batch of several opens only where the module converted
        # for one image gives, image by image, what onnxruntime gives for the batch
        detail = str(error).removeprefix(f"{path}: ").replace(str(path), path.name)
        raise ModelFileError(f"{path} fixes its batch at {batch}; the explorer runs one image at a time "
                             f"({detail})") from None


def _difference(net, input_shape, path: Path, expected: list, rest) -> float:
    """The converted module's largest difference from onnxruntime's outputs ``expected``, relative to the
    largest output: on the image checked_forward makes, then on each image of ``rest`` alone."""
    import numpy as np

    got = flat_tensors(checked_forward(net, input_shape, f"{path.name} (converted by {CONVERTER})"))
    alone = [tuple(t.shape) for t in got]
    if len(rest):
        try:
            got = _one_at_a_time(net, rest, got)
        except ModelFileError as error:
            raise ModelFileError(f"{path}: {error}") from None
        except Exception as error:  # noqa: BLE001 - the converted model fails on another image
            raise ModelFileError(f"{path}: the converted model fails on another image: {type(error).__name__}: "
                                 f"{first_line(error, 120)}") from None
    if len(got) != len(expected):
        raise ModelFileError(f"{path}: the converted model gives {len(got)} outputs, onnxruntime {len(expected)}; "
                             "refused")
    worst = 0.0
    for ours, theirs, one in zip(got, expected, alone):
        theirs = np.asarray(theirs)
        ours = ours.detach().double().numpy()
        if ours.shape != theirs.shape:
            if len(rest):
                raise ModelFileError(f"{path}: the converted model's output for one image has shape "
                                     f"{shape_text(one)}, onnxruntime's, for {len(rest) + 1} images, "
                                     f"{shape_text(theirs.shape)}; refused")
            raise ModelFileError(f"{path}: the converted model's output has shape {shape_text(ours.shape)}, "
                                 f"onnxruntime's {shape_text(theirs.shape)}; refused")
        if theirs.size == 0:
            continue
        if not np.issubdtype(theirs.dtype, np.number) or theirs.dtype == np.bool_:
            if not np.array_equal(ours, theirs):
                raise ModelFileError(f"{path}: the converted model's output differs from onnxruntime's; refused")
            continue
        scale = float(np.abs(theirs).max()) or 1.0  # relative: random weights can give outputs of 1e-15
        worst = max(worst, float(np.abs(ours - theirs.astype(np.float64)).max()) / scale)
    if not worst <= TOLERANCE:  # NaN too
        raise ModelFileError(f"{path}: the conversion by {CONVERTER} {converter_version()} differs from "
                             f"onnxruntime by {worst:.2g} of the largest output (tolerance {TOLERANCE:g}); "
                             "refused rather than shown wrong")
    return worst


def open_onnx(path: Path, given_shape, steps: Steps):
    """(model, input_shape, notes)."""
    from cnn_explorer.models.files.opened import valid_input_shape

    steps(f"reading {path.name} (ONNX)")
    original = _load(path)
    opset = next((o.version for o in original.opset_import if o.domain in ("", "ai.onnx")), None)
    stored, _ = stored_shape(original, path)
    notes = []
    if stored:
        shape = valid_input_shape(stored, f"stored in {path.name}")
        if given_shape and valid_input_shape(given_shape, "given") != shape:
            notes.append(f"{path.name} fixes its input at {shape_text(shape)}; the input shape given "
                         f"({shape_text(valid_input_shape(given_shape, 'given'))}) is not used")
    elif given_shape:
        shape = valid_input_shape(given_shape, "given")
    else:
        raise InputShapeNeeded(f"{path} does not fix its input's height and width: give the input shape "
                               "(--input-shape CxHxW, e.g. 3x224x224)")
    if shape[2] in (1, 3, 4) and shape[0] not in (1, 3, 4):
        notes.append(f"its input {shape_text(shape)} looks channels-last (N×H×W×C, as TensorFlow writes): the "
                     "explorer takes it as C×H×W, so its pictures of the input and feature maps are transposed")
    steps("preparing the graph (onnxscript optimizer)")
    prepared = prepare(original, path)
    steps(f"converting to PyTorch ({CONVERTER})")
    net, guessed = convert(prepared, path)
    nest_layers(net, prepared)
    net.keep_constants_real()
    net.onnx_model.graph.ClearField("initializer")  # forward reads only the nodes; the weights are in the layers
    steps("checking the conversion against onnxruntime")
    batch = fixed_batch(original) or 1
    try:
        worst = compare_with_onnxruntime(original, net, shape, path, batch)
    except ModelFileError as error:
        if guessed:
            raise ModelFileError(f"{error} ({CONVERTER} has no conversion for {', '.join(guessed)} and guessed "
                                 "one)") from None
        raise
    if batch > 1:
        notes.append(f"{path.name} fixes its batch at {batch}; the explorer runs one image at a time: the "
                     f"converted model was checked on {batch} images, each alone, against onnxruntime on the "
                     "batch")
    notes.append(f"converted by {CONVERTER} {converter_version()} from ONNX opset {opset}; matches onnxruntime to "
                 f"{worst:.1e} of the largest output (tolerance {TOLERANCE:g})")
    notes.extend(_folded_notes(original))
    if guessed:
        notes.append(f"{CONVERTER} guessed the ops {', '.join(guessed)}; the check against onnxruntime passed")
    return net, shape, notes
