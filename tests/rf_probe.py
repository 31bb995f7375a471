"""Measure a unit's receptive field without any formula: make the network linear and positive, back-propagate
from one unit, and find the box of input pixels whose gradient is non-zero (REFERENCE.md's method)."""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.utils._pytree import tree_flatten


class _Captured(Exception):
    pass


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


def measured_field(model: nn.Module, input_shape, layer: str):
    """Measure the receptive field of ``layer`` (a module path) on a linear, positive copy of ``model``.

    Returns (size, stride, padding) per axis (height, width): the size of the input box that the centre
    unit's gradient reaches, the shift of that box to the next unit, and the padding implied by where the
    box starts (``top = -padding + index·stride``)."""
    probe = linear_positive_copy(model)
    captured = {}
    module = probe.get_submodule(layer)

    def capture_and_stop(module, args, out):
        captured["out"] = tree_flatten(out)[0][0]
        raise _Captured  # the layers after it are not needed (and may want another input size)

    handle = module.register_forward_hook(capture_and_stop)
    x = torch.zeros(*input_shape, dtype=torch.float64, requires_grad=True)
    functional = torch.nn.functional
    saved = functional.relu, functional.max_pool2d
    functional.relu = lambda t, inplace=False: t
    functional.max_pool2d = lambda t, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, \
        return_indices=False: functional.avg_pool2d(t, kernel_size, stride, padding, ceil_mode)
    try:
        probe(x)
    except _Captured:
        pass
    finally:
        functional.relu, functional.max_pool2d = saved
        handle.remove()
    out = captured["out"]
    row, col = out.shape[2] // 2, out.shape[3] // 2

    def box(r, c):
        x.grad = None
        out[0, :, r, c].sum().backward(retain_graph=True)
        support = x.grad[0].abs().sum(0) > 0
        rows = torch.nonzero(support.any(1)).flatten()
        cols = torch.nonzero(support.any(0)).flatten()
        assert rows[0] > 0 and cols[0] > 0 and rows[-1] < x.shape[2] - 1 and cols[-1] < x.shape[3] - 1, \
            "the field touches the border: use a larger input"
        return int(rows[0]), int(cols[0]), int(rows[-1]), int(cols[-1])

    top, left, bottom, right = box(row, col)
    next_top, next_left, _, _ = box(row + 1, col + 1)
    size = (bottom - top + 1, right - left + 1)
    stride = (next_top - top, next_left - left)
    padding = (row * stride[0] - top, col * stride[1] - left)
    return size, stride, padding
