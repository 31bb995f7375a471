"""What Captum needs from a model, checked with a clear message: a module layer (not a functional op), the
module's last call when it runs more than once, and no in-place activations while gradients are modified."""

from __future__ import annotations

import contextlib

from torch import nn

from cnn_explorer.models.analysis.layer_graph import LayerGraph, Node
from cnn_explorer.models.lab.errors import LabError
from cnn_explorer.models.lab.kernels import module_of


@contextlib.contextmanager
def no_inplace(model: nn.Module):
    """Switch ``inplace`` off on every module that has it, and back on afterwards.

    Captum's backward hooks (deconvnet, guided backprop) and its saved layer outputs break or read overwritten
    values when a ReLU writes into its input; turning the flag off changes no result, only memory. (Functional
    ``F.relu(x, inplace=True)`` calls inside a ``forward`` cannot be switched; Captum's hooks do not see them.)"""
    switched = [m for m in model.modules() if getattr(m, "inplace", None) is True]
    for module in switched:
        module.inplace = False
    try:
        yield model
    finally:
        for module in switched:
            module.inplace = True


def module_for(model: nn.Module, graph: LayerGraph, node: Node) -> nn.Module:
    """The module whose output is ``node``'s output, as Captum's layer attributions need it."""
    if node.kind == "input":
        raise LabError("choose a layer, not the input")
    if node.kind != "module":
        after = next((n.name for n in graph.nodes if n.kind == "module" and node.id in n.inputs), None)
        hint = f" (the next module layer is {after})" if after else ""
        raise LabError(f"{node.name} is a functional operation ({node.op}), not a module: this tool hooks module "
                       f"layers{hint}")
    calls = [n.name for n in graph.nodes if n.kind == "module" and n.scope == node.scope]
    if len(calls) > 1 and node.name != calls[-1]:
        raise LabError(f"module {node.scope} runs {len(calls)} times in one pass and Captum's hooks keep its last "
                       f"call only: choose {calls[-1]}, or another layer")
    return module_of(model, node.scope)


def functional_relus(graph: LayerGraph) -> int:
    """How many ReLUs are functional calls, which deconvnet and guided backprop treat as plain gradients."""
    return sum(1 for n in graph.nodes if n.kind == "function" and n.op in ("relu", "relu6"))
