"""Everything computed about a network: its layer graph, and the numbers of every node and of the whole.

``analyze(model, input_shape)`` runs one forward pass and returns a ``ModelSummary``; its ``to_json()`` is
the stable scripting interface of ``cnn-explorer summary --json``. The summary itself, and what is read from it,
live in ``model_summary.py``, which needs no torch (a cached analysis is drawn without it).
"""

from __future__ import annotations

import gc
import time
from contextlib import contextmanager

import torch
from torch import nn
from torch.utils._pytree import tree_map

from cnn_explorer.models.analysis.graph import LayerGraph, record_graph
from cnn_explorer.models.analysis.meta_ops import shortcut
from cnn_explorer.models.analysis.model_summary import (ModelSummary, is_shape, layer_json,  # noqa: F401
                                                         param_arithmetic, shape_arithmetic, weight_layer_depth)
from cnn_explorer.models.analysis.receptive_field import compute_receptive_fields
from cnn_explorer.models.runtime.torch_import import lean_imports


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
    positional and keyword inputs, on the meta device. The common operations' shapes and FLOPs are worked out by
    ``meta_ops.shortcut`` rather than by torch's meta kernels (most of a small network's analysis)."""
    with lean_imports(), _meta_weights(model):
        graph, _ = record_graph(model, inputs, kwargs=kwargs, shortcut=shortcut)
    return graph


def _meta_like(t: torch.Tensor) -> torch.Tensor:
    if t.is_contiguous():  # ``empty_like`` onto the meta device takes Python reference code to choose a layout
        new = torch.empty(t.shape, dtype=t.dtype, device="meta")
    else:
        new = torch.empty_like(t, device="meta")
    return nn.Parameter(new, requires_grad=t.requires_grad) if isinstance(t, nn.Parameter) else new


@contextmanager
def _meta_weights(model: nn.Module):
    """Within this context every parameter and buffer of ``model`` is an empty meta tensor of its shape and type
    (a weight shared by two modules stays shared); they are put back after. ``torch.func.functional_call`` does
    the same through generic name lookups, which cost more than the rest of a small network's analysis."""
    stand_in: dict[int, torch.Tensor] = {}
    swapped = []
    try:
        for module in model.modules():
            for table in (module._parameters, module._buffers):
                for name, t in table.items():
                    if t is None:
                        continue
                    new = stand_in.get(id(t))
                    if new is None:
                        new = stand_in[id(t)] = _meta_like(t)
                    swapped.append((table, name, t))
                    table[name] = new
        yield
    finally:
        for table, name, t in reversed(swapped):
            table[name] = t


@contextmanager
def _no_cyclic_gc():
    """Python's cyclic garbage collector paused: a recording makes thousands of small objects (nodes, tuples,
    meta tensors), which set off collections that walk every object of the process (torch's included) and find
    nothing to free; they took a fifth of a DenseNet's analysis. Memory is still freed as it is let go of (by
    reference counting). A collector paused by someone else stays paused."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _on_meta(value):
    """``value`` with every tensor in it replaced by an empty meta tensor of the same shape and type."""
    return tree_map(lambda t: torch.empty_like(t, device="meta") if isinstance(t, torch.Tensor) else t, value)


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
    if on_meta:
        with _no_cyclic_gc():
            graph = _record_on_meta(model, inputs, kwargs)
            compute_receptive_fields(graph)
    else:
        graph = _record_real(model, inputs, kwargs)
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


