"""Everything computed about a network: its layer graph, and the numbers of every node and of the whole.

``analyze(model, input_shape)`` runs one forward pass and returns a ``ModelSummary``; its ``to_json()`` is
the stable scripting interface of ``cnn-explorer summary --json``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_map

from cnn_explorer.models.analysis.graph import LayerGraph, Node, record_graph
from cnn_explorer.models.analysis.ops import WEIGHT_LAYERS, pair
from cnn_explorer.models.analysis.receptive_field import Field, compute_receptive_fields
from cnn_explorer.models.runtime.torch_import import lean_imports


@dataclass
class ModelSummary:
    model: str
    input_shape: tuple  # (N, C, H, W); one shape for each input of a model with several
    weights: str  # "pretrained", "random" or "file:PATH"
    graph: LayerGraph
    total_params: int
    trainable_params: int
    total_macs: int
    activation_bytes: int
    seconds: float
    cached: bool = False  # read from the analysis cache rather than recorded now

    @property
    def layers(self) -> list[Node]:
        return [n for n in self.graph.nodes if n.kind != "input"]

    def to_json(self) -> dict:
        return {
            "model": self.model,
            "input_shape": [list(s) for s in self.input_shape] if self.input_shape and not is_shape(self.input_shape)
            else list(self.input_shape),
            "weights": self.weights,
            "total_params": self.total_params,
            "trainable_params": self.trainable_params,
            "total_macs": self.total_macs,
            "activation_bytes": self.activation_bytes,
            "layers": [layer_json(n) for n in self.layers],
        }


def is_shape(value) -> bool:
    """True for one shape, ``(1, 3, 224, 224)``; False for a list of shapes, ``[(1, 1, 88, 88), (1, 1, 88, 88)]``."""
    return isinstance(value, (tuple, list, torch.Size)) and all(isinstance(d, int) for d in value)


def _random_inputs(input_shape, device) -> tuple[torch.Tensor, ...]:
    """One random tensor for ``input_shape``, or one for each shape of a list of shapes."""
    shapes = [input_shape] if is_shape(input_shape) else list(input_shape)
    with lean_imports():  # a meta tensor's checks would import the compiler's modules (sympy)
        return tuple(torch.randn(*shape, device=device) for shape in shapes)


def _record_real(model: nn.Module, inputs: tuple, kwargs: dict | None = None) -> LayerGraph:
    with lean_imports():
        graph, _ = record_graph(model, inputs, kwargs=kwargs)
    return graph


def _record_on_meta(model: nn.Module, inputs: tuple, kwargs: dict | None = None) -> LayerGraph:
    """Every shape and FLOP of a real forward pass, with no arithmetic done: meta stand-ins replace the
    model's weights for the pass (its own weights stay where they are). ``inputs`` and ``kwargs`` are the
    positional and keyword inputs, on the meta device."""
    with lean_imports():
        stand_ins = {name: nn.Parameter(torch.empty_like(p, device="meta"), requires_grad=p.requires_grad)
                     for name, p in model.named_parameters()}
        stand_ins.update({name: torch.empty_like(b, device="meta") for name, b in model.named_buffers()})

        def run_on_meta(*args, **kw):
            return torch.func.functional_call(model, stand_ins, args, kw, strict=False)

        with _MetaShapePreserving():
            graph, _ = record_graph(model, inputs, run=run_on_meta, kwargs=kwargs)
    return graph


def _on_meta(value):
    """``value`` with every tensor in it replaced by an empty meta tensor of the same shape and type."""
    return tree_map(lambda t: torch.empty_like(t, device="meta") if isinstance(t, torch.Tensor) else t, value)


class _MetaShapePreserving(TorchFunctionMode):
    """On the meta device, a normalization's or an activation's output is a tensor shaped like its input:
    say so at once. torch otherwise works it out through Python decompositions (batch norm, hardswish …),
    which take more than half of a meta pass of a small network. These functions do no multiply-accumulates
    that the MAC count counts (torchvision's ``_ops`` count none either). The mode is entered below the graph
    recorder, so the recorder still sees every call."""

    NEW_TENSOR = frozenset({F.batch_norm, torch.batch_norm, F.layer_norm, torch.layer_norm, F.group_norm,
                            torch.group_norm, F.instance_norm, torch.instance_norm, torch.relu, torch.sigmoid,
                            torch.tanh, F.sigmoid, F.tanh, F.gelu, F.mish})
    # Activations with an ``inplace`` argument, and its position.
    MAYBE_IN_PLACE = {F.relu: 1, F.relu6: 1, F.hardswish: 1, F.hardsigmoid: 1, F.silu: 1, F.elu: 2,
                      F.leaky_relu: 2, F.hardtanh: 3}
    IN_PLACE = frozenset({torch.relu_, torch.sigmoid_, torch.tanh_})

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if args and isinstance(args[0], torch.Tensor) and args[0].is_meta:
            if func in self.NEW_TENSOR:
                return torch.empty_like(args[0])
            if func in self.IN_PLACE:
                return args[0]
            position = self.MAYBE_IN_PLACE.get(func)
            if position is not None:
                in_place = kwargs.get("inplace", args[position] if len(args) > position else False)
                return args[0] if in_place else torch.empty_like(args[0])
        return func(*args, **kwargs)


def weight_layer_depth(graph: LayerGraph) -> int:
    """The depth the papers quote: convolutional and fully connected layers on the longest path from the
    input (GoogLeNet's 22, ResNet-152's 152). Parallel branches, such as a shortcut's projection, do not
    add to it."""
    depth: dict[int, int] = {}
    for node in graph.nodes:
        before = max((depth[i] for i in node.inputs), default=0)
        depth[node.id] = before + (node.op in WEIGHT_LAYERS)
    return max(depth.values(), default=0)


def layer_json(node: Node) -> dict:
    rf = node.receptive_field
    return {
        "name": node.name,
        "type": node.op,
        "output_shape": list(node.output_shape) if node.output_shape is not None else None,
        "params": node.params,
        "macs": node.macs,
        "receptive_field": rf.to_dict() if isinstance(rf, Field) else rf,
    }


def analyze(model: nn.Module, input_shape=None, *, name: str = "", weights: str = "random",
            on_meta: bool = True, example_inputs: tuple | None = None,
            example_kwargs: dict | None = None) -> ModelSummary:
    """Record the graph of ``model`` on a random input of ``input_shape`` and compute all the numbers.

    ``input_shape`` is a whole shape, batch included, or a list of shapes for a model with several inputs.
    ``example_inputs`` (a tuple of the positional inputs) can give the inputs themselves instead, and
    ``example_kwargs`` adds keyword inputs. ``on_meta`` records on the meta device (fast, no arithmetic);
    models whose forward depends on the data (detectors) need ``on_meta=False``."""
    start = time.perf_counter()
    if example_inputs is None:
        device = "meta" if on_meta else next(model.parameters(), torch.empty(0)).device
        inputs = _random_inputs(input_shape, device) if input_shape is not None else ()
    else:
        inputs = _on_meta(tuple(example_inputs)) if on_meta else tuple(example_inputs)
    kwargs = _on_meta(dict(example_kwargs or {})) if on_meta else dict(example_kwargs or {})
    graph = _record_on_meta(model, inputs, kwargs) if on_meta else _record_real(model, inputs, kwargs)
    compute_receptive_fields(graph)
    shapes = [n.output_shape for n in graph.nodes if n.kind == "input"]
    params = list(model.parameters())
    return ModelSummary(
        model=name or type(model).__name__,
        input_shape=shapes[0] if len(shapes) == 1 else tuple(shapes),
        weights=weights,
        graph=graph,
        total_params=sum(p.numel() for p in params),
        trainable_params=sum(p.numel() for p in params if p.requires_grad),
        total_macs=sum(n.macs for n in graph.nodes),
        activation_bytes=sum(n.activation_bytes for n in graph.nodes),
        seconds=time.perf_counter() - start,
    )


# -- the arithmetic a teacher writes on the board ------------------------------------------------------

def shape_arithmetic(node: Node, input_shape) -> list[str]:
    """How the output size of a convolution or pooling follows from its input, one line per axis that differs
    (one line when both agree), e.g. ``(227 − 11 + 2·0)/4 + 1 = 55``."""
    s = node.settings
    if "kernel_size" not in s or "stride" not in s or input_shape is None or len(input_shape) != 4 \
            or node.output_shape is None or len(node.output_shape) != 4:
        return []
    k, st, p, d = pair(s["kernel_size"]), pair(s["stride"]), pair(s.get("padding", 0)), pair(s.get("dilation", 1))
    lines = []
    for axis in range(2):
        size_in, size_out = input_shape[2 + axis], node.output_shape[2 + axis]
        k_eff = d[axis] * (k[axis] - 1) + 1
        kernel = str(k_eff) if d[axis] == 1 else f"({d[axis]}·({k[axis]} − 1) + 1)"
        numerator = size_in - k_eff + 2 * p[axis]
        fraction = f"({size_in} − {kernel} + 2·{p[axis]})/{st[axis]}"
        if numerator % st[axis]:
            fraction = f"⌈{fraction}⌉" if s.get("ceil_mode") else f"⌊{fraction}⌋"
        lines.append(f"{fraction} + 1 = {size_out}")
    return lines[:1] if lines[0] == lines[1] else lines


def param_arithmetic(node: Node, module: nn.Module | None = None) -> str:
    """How the parameter count of a node is made, e.g. ``11·11·3·96 + 96 = 34,944``."""
    s = node.settings
    if not node.params:
        return "0"
    if node.op in ("Conv2d", "conv2d") and "kernel_size" in s:
        kh, kw = pair(s["kernel_size"])
        groups = s.get("groups", 1)
        c_in = f"{s['in_channels']}/{groups}" if groups > 1 else f"{s['in_channels']}"
        weights = kh * kw * s["in_channels"] // groups * s["out_channels"]
        text = f"{kh}·{kw}·{c_in}·{s['out_channels']}"
        if node.params > weights:
            text += f" + {s['out_channels']}"
        return f"{text} = {node.params:,}"
    if node.op == "Linear":
        text = f"{s['in_features']}·{s['out_features']}"
        if node.params > s["in_features"] * s["out_features"]:
            text += f" + {s['out_features']}"
        return f"{text} = {node.params:,}"
    if node.op.startswith("BatchNorm") and "num_features" in s:
        return f"2·{s['num_features']} = {node.params:,}"
    if module is not None:
        parts = ["·".join(str(d) for d in p.shape) or "1" for p in module.parameters(recurse=False)]
        if parts:
            return f"{' + '.join(parts)} = {node.params:,}"
    return f"{node.params:,}"
