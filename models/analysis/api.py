"""The engine of ``cnn_explorer.summary``: the numbers of any ``nn.Module``, for Python code (Qt-free).

It is the explorer's own analysis (``summary.analyze``: one recorded forward pass, MACs by torch's
FLOP formulas (``torch.utils.flop_counter``), the receptive fields of ``receptive_field.py``) wrapped for a model handed over by Python
code: the batch of 1 is added to the shapes, several inputs and keyword inputs are accepted, the pass runs on
the meta device when it can (no arithmetic, the model untouched) and for real when the forward depends on the
data, and the result prints as a table.

Parameters are counted as PyTorch counts them: ``total_params == sum(p.numel() for p in model.parameters())``,
so a module called twice, or a weight tied to another, counts once, and parameters held by the model itself
outside any sub-module count too. Each row counts the parameters first used by that call; a later call of the
same module (or a layer whose weight was counted at the layer it is tied to) shows them as ``shared_params``.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from cnn_explorer.models.analysis.graph import Node
from cnn_explorer.models.analysis.receptive_field import GLOBAL, Field
from cnn_explorer.models.analysis.summary import (ModelSummary, analyze, is_shape, param_arithmetic,
                                                  shape_arithmetic)

DEFAULT_INPUT_SHAPE = (3, 224, 224)


@dataclass(frozen=True)
class Layer:
    """One row: a call of a leaf module (``Conv2d``, ``Linear`` ...) or a functional operation (``add``, ``cat``,
    ``F.conv2d`` ...), in the order they ran. ``to_json()`` is the row of ``cnn-explorer summary --json``, with the
    input shapes and the arithmetic added."""

    name: str  # module path, or scope + operation; a repeated name gets ":1", ":2" ...
    type: str  # the module's class, or the function's name
    kind: str  # "module" or "function"
    input_shapes: tuple[tuple[int, ...] | None, ...]
    output_shape: tuple[int, ...] | None  # batch included; the first output of an operation with several
    params: int  # parameters counted at this row (each parameter at the first row that used it)
    shared_params: int  # parameters of this module that were counted at an earlier row
    macs: int  # multiply-accumulates of this call
    activation_bytes: int  # memory its outputs newly take (0 for in-place operations and views)
    receptive_field: Field | str | None  # a Field, "global", or None (upsampled, or not an image)
    shape_arithmetic: tuple[str, ...]  # e.g. "(224 − 7 + 2·3)/2 + 1 = 112"
    param_arithmetic: str  # e.g. "7·7·3·64 = 9,408"

    def to_json(self) -> dict:
        rf = self.receptive_field
        return {
            "name": self.name,
            "type": self.type,
            "output_shape": list(self.output_shape) if self.output_shape is not None else None,
            "params": self.params,
            "macs": self.macs,
            "receptive_field": rf.to_dict() if isinstance(rf, Field) else rf,
            "kind": self.kind,
            "input_shapes": [list(s) if s is not None else None for s in self.input_shapes],
            "shared_params": self.shared_params,
            "activation_bytes": self.activation_bytes,
            "shape_arithmetic": list(self.shape_arithmetic),
            "param_arithmetic": self.param_arithmetic,
        }


@dataclass(repr=False)
class Summary:
    """What ``cnn_explorer.summary`` returns. ``str()`` (and ``repr()``) is a table of the layers with their
    receptive fields, ``to_json()`` plain data."""

    model: str
    input_shapes: tuple[tuple[int, ...], ...]  # batch included, one per input tensor
    total_params: int
    trainable_params: int
    total_macs: int
    activation_bytes: int
    layers: list[Layer]
    analysis: ModelSummary  # the explorer's own summary: the recorded graph (``analysis.graph``) and more

    @property
    def non_trainable_params(self) -> int:
        return self.total_params - self.trainable_params

    @property
    def graph(self):
        return self.analysis.graph

    def to_json(self) -> dict:
        data = self.analysis.to_json()
        data["input_shape"] = [list(s) for s in self.input_shapes]
        data["layers"] = [layer.to_json() for layer in self.layers]
        return data

    def __str__(self) -> str:
        return format_table(self)

    __repr__ = __str__

    def _repr_pretty_(self, printer, cycle):  # IPython
        printer.text(str(self))


def _normalized_shapes(input_shape) -> list[tuple[int, ...]]:
    """One shape or a list of shapes, each without its batch, as whole shapes with a batch of 1."""
    shapes = [input_shape] if is_shape(input_shape) else list(input_shape) if isinstance(input_shape, (list, tuple)) \
        else None
    if not shapes or not all(is_shape(s) and all(d > 0 for d in s) for s in shapes):
        raise ValueError(f"input_shape must be a shape such as (3, 224, 224), or a list of shapes, not {input_shape!r}")
    return [(1, *tuple(s)) for s in shapes]


def _positional(example_inputs) -> tuple:
    """A tensor is one input; a tuple or list holds the positional inputs; anything else is one input."""
    return tuple(example_inputs) if isinstance(example_inputs, (tuple, list)) else (example_inputs,)


class _EvalMode:
    """The model in eval mode for the pass (as ``torchinfo.summary`` does): batch norm uses, and does not update,
    its running statistics, and dropout keeps everything. Each module's mode is put back after."""

    def __init__(self, model: nn.Module):
        self.model = model
        self.modes = [(m, m.training) for m in model.modules()]

    def __enter__(self):
        self.model.eval()

    def __exit__(self, *exc):
        for module, training in self.modes:
            module.training = training


def summary(model: nn.Module, input_shape=None, *, example_inputs=None, example_kwargs: dict | None = None,
            name: str | None = None, on_meta: bool | None = None) -> Summary:
    """See ``cnn_explorer.summary`` (app/api/__init__.py), which documents it."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"summary() needs a torch.nn.Module, not {type(model).__name__}")
    if example_inputs is not None and input_shape is not None:
        raise ValueError("give input_shape or example_inputs, not both")
    shapes: list[tuple[int, ...]] = []
    if example_inputs is not None:
        inputs = _positional(example_inputs)
    elif input_shape is not None or example_kwargs is None:
        inputs = None  # random inputs of these shapes
        shapes = _normalized_shapes(DEFAULT_INPUT_SHAPE if input_shape is None else input_shape)
    else:
        inputs = ()  # keyword inputs only
    if example_kwargs is not None and not isinstance(example_kwargs, dict):
        raise TypeError("example_kwargs must be a dict of keyword inputs")

    def run(meta: bool) -> ModelSummary:
        options = dict(name=name or type(model).__name__, weights="as given", on_meta=meta,
                       example_kwargs=example_kwargs)
        if inputs is None:
            return analyze(model, shapes[0] if len(shapes) == 1 else shapes, **options)
        return analyze(model, example_inputs=inputs, **options)

    with _EvalMode(model):
        analysis = None
        if on_meta is not False:
            try:
                analysis = run(True)
            except Exception:  # noqa: BLE001 - a forward that reads its data (.item(), nonzero, if x.sum() ...)
                if on_meta:
                    raise
        if analysis is None:  # run for real outside the handler: its own error, if any, is the one shown
            analysis = run(False)
    return _summary_of(model, analysis)


def _summary_of(model: nn.Module, analysis: ModelSummary) -> Summary:
    graph = analysis.graph
    layers = [_layer(node, graph, model) for node in analysis.layers]
    shapes = [n.output_shape for n in graph.nodes if n.kind == "input"]
    return Summary(model=analysis.model, input_shapes=tuple(shapes), total_params=analysis.total_params,
                   trainable_params=analysis.trainable_params, total_macs=analysis.total_macs,
                   activation_bytes=analysis.activation_bytes, layers=layers, analysis=analysis)


def _module_of(model: nn.Module, node: Node) -> nn.Module | None:
    if node.kind != "module":
        return None
    try:
        return model.get_submodule(node.scope)
    except AttributeError:
        return None


def _layer(node: Node, graph, model: nn.Module) -> Layer:
    module = _module_of(model, node)
    input_shapes = tuple(graph.nodes[i].output_shape for i in node.inputs)
    try:
        shape_lines = tuple(shape_arithmetic(node, input_shapes[0] if input_shapes else None))
    except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError):
        shape_lines = ()
    try:
        params_text = param_arithmetic(node, module)
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        params_text = f"{node.params:,}"
    own = sum(p.numel() for p in module.parameters()) if module is not None else 0
    return Layer(name=node.name, type=node.op, kind=node.kind, input_shapes=input_shapes,
                 output_shape=node.output_shape, params=node.params, shared_params=max(own - node.params, 0),
                 macs=node.macs, activation_bytes=node.activation_bytes, receptive_field=node.receptive_field,
                 shape_arithmetic=shape_lines, param_arithmetic=params_text)


# -- the table ---------------------------------------------------------------------------------------------

def _compact(value: int) -> str:
    """118013952 -> "118.01M"; 512 -> "512"."""
    for suffix, size in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            return f"{value / size:.2f}{suffix}"
    return str(int(value))


def _shape_text(shape) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]" if shape is not None else "—"


def receptive_field_text(rf) -> str:
    """``Field((11, 11), (4, 4), (0, 0))`` -> ``11 / 4``; ``Field((7, 5), (2, 1), ...)`` -> ``7×5 / 2×1``;
    "global" -> ``global``; None -> ``—``."""
    if rf == GLOBAL:
        return "global"
    if not isinstance(rf, Field):
        return "—"

    def axis(values):
        return str(values[0]) if values[0] == values[1] else f"{values[0]}×{values[1]}"
    return f"{axis(rf.size)} / {axis(rf.stride)}"


def _bytes_text(count: int) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= size:
            return f"{count / size:.2f} {unit}"
    return f"{count} B"


def format_table(s: Summary) -> str:
    """The layers as a table in the manner of ``torchinfo.summary``, with each layer's receptive field."""
    header = ("Layer (type)", "Output shape", "Params", "MACs", "RF size / stride")
    rows = []
    for layer in s.layers:
        if layer.kind == "module":  # a model that is itself one layer (nn.Conv2d) has the name ""
            label = f"{layer.name} ({layer.type})" if layer.name else layer.type
        else:
            label = layer.name
        params = f"{layer.params:,}"
        if layer.shared_params:
            params = "(shared)" if not layer.params else f"{params} + shared"
        rows.append((label, _shape_text(layer.output_shape), params, _compact(layer.macs) if layer.macs else "--",
                     receptive_field_text(layer.receptive_field)))
    widths = [min(max([len(header[i])] + [len(r[i]) for r in rows]), 60 if i == 0 else 32) for i in range(5)]

    def line(cells):
        first = cells[0] if len(cells[0]) <= widths[0] else cells[0][:widths[0] - 1] + "…"
        return (f"{first:<{widths[0]}}  {cells[1]:<{widths[1]}}  {cells[2]:>{widths[2]}}  "
                f"{cells[3]:>{widths[3]}}  {cells[4]:<{widths[4]}}").rstrip()

    rule_width = sum(widths) + 8
    thick, thin = "=" * rule_width, "-" * rule_width
    inputs = ", ".join("×".join(str(d) for d in shape) for shape in s.input_shapes) or "none"
    per = "per image" if all(shape[:1] == (1,) for shape in s.input_shapes) else "for the batch given"
    lines = [thick, f"{s.model}: input {inputs}", thick, line(header), thin, *(line(r) for r in rows), thick,
             f"Total params: {s.total_params:,}",
             f"Trainable params: {s.trainable_params:,}",
             f"Non-trainable params: {s.non_trainable_params:,}",
             f"Total MACs: {s.total_macs:,} ({_compact(s.total_macs)}) {per}",
             f"Activations: {_bytes_text(s.activation_bytes)} (outputs of every operation)",
             f"Operations: {len(s.layers)}",
             "RF: the receptive field of a unit of the layer's output, in input pixels (size / stride); "
             "global: the whole input",
             thick]
    return "\n".join(lines)
