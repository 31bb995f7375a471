"""Measure a unit's receptive field without any formula: make the network linear and positive, back-propagate
from one unit, and find the box of input pixels whose gradient is non-zero (REFERENCE.md's method)."""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.utils._pytree import tree_flatten


def linear_positive_copy(model: nn.Module) -> nn.Module:
    probe = copy.deepcopy(model).eval().double()

    def replace(parent: nn.Module) -> None:
        for name, child in parent.named_children():
            if isinstance(child, (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.Hardswish, nn.SiLU, nn.GELU, nn.Sigmoid,
                                  nn.Tanh, nn.Dropout, nn.LocalResponseNorm, nn.Hardsigmoid)):
                setattr(parent, name, nn.Identity())
            elif isinstance(child, nn.MaxPool2d):
                setattr(parent, name, nn.AvgPool2d(child.kernel_size, child.stride, child.padding,
                                                   ceil_mode=child.ceil_mode))
            elif isinstance(child, nn.BatchNorm2d):
                setattr(parent, name, nn.Identity())
            else:
                replace(child)

    replace(probe)
    with torch.no_grad():
        for p in probe.parameters():
            p.copy_(p.abs() + 0.01)
    return probe


def measured_field(model: nn.Module, input_shape, layer: str, functional_relu_patch: bool = True):
    """Return ((top, left), (bottom, right), (row, col)) of the input box seen by the centre unit of ``layer``
    (a module path), and the unit's index."""
    probe = linear_positive_copy(model)
    captured = {}
    module = probe.get_submodule(layer)
    handle = module.register_forward_hook(lambda m, a, out: captured.setdefault("out", tree_flatten(out)[0][0]))
    x = torch.zeros(*input_shape, dtype=torch.float64, requires_grad=True)
    relu = torch.nn.functional.relu
    if functional_relu_patch:
        torch.nn.functional.relu = lambda t, inplace=False: t
    try:
        probe(x)
    finally:
        torch.nn.functional.relu = relu
        handle.remove()
    out = captured["out"]
    row, col = out.shape[2] // 2, out.shape[3] // 2
    out[0, :, row, col].sum().backward()
    support = x.grad[0].abs().sum(0) > 0
    rows = torch.nonzero(support.any(1)).flatten()
    cols = torch.nonzero(support.any(0)).flatten()
    return (int(rows[0]), int(cols[0])), (int(rows[-1]), int(cols[-1])), (row, col)
