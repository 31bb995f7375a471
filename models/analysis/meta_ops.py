"""The output of the common operations of a network on the meta device, and their FLOPs, worked out here.

On the meta device torch computes an output's shape through its meta kernels, many of them written in Python
(a convolution's ``calc_conv_nd_return_shape``, the elementwise ``_prims_common`` checks, adaptive pooling as a
decomposed ``mean``), each behind a ``TorchDispatchMode`` call. For a small, many-layered network (MobileNet,
ShuffleNet) that is most of an analysis, and made it slower than torchinfo's real pass. The operations below are
nearly all the operations of a CNN: their shapes follow from the arguments in a few lines, and their FLOPs come
from torch's own formulas (``torch.utils.flop_counter.flop_registry``, the same numbers ``FlopCounterMode``
counts). Anything else, and any case not plainly covered (a non-contiguous input, mixed dtypes, ``padding="same"``,
a shape torch would reject), is left to torch: ``shortcut`` answers ``NotImplemented``.

An output made here is a fresh tensor, as torch's is (never a view); an in-place operation returns its input.
``tests/models/test_meta.py`` and ``test_receptive_field.py`` hold the numbers to torchvision's and to the truth.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import flop_registry

_aten = torch.ops.aten
# The formulas themselves, on shapes (the registry's wrappers map every argument through a pytree first).
_CONV_FLOPS = flop_registry[_aten.convolution].__wrapped__
_MM_FLOPS = flop_registry[_aten.mm].__wrapped__

# Shaped like the input: normalizations and activations (no MACs, as torchvision's ``_ops`` count none).
_NEW_TENSOR = frozenset({F.batch_norm, torch.batch_norm, F.layer_norm, torch.layer_norm, F.group_norm,
                         torch.group_norm, F.instance_norm, torch.instance_norm, torch.relu, torch.sigmoid,
                         torch.tanh, F.sigmoid, F.tanh, F.gelu, F.mish, torch.Tensor.relu, torch.Tensor.sigmoid})
# Activations with an ``inplace`` argument, and its position.
_MAYBE_IN_PLACE = {F.relu: 1, F.relu6: 1, F.hardswish: 1, F.hardsigmoid: 1, F.silu: 1, F.elu: 2,
                   F.leaky_relu: 2, F.hardtanh: 3}
_IN_PLACE = frozenset({torch.relu_, torch.sigmoid_, torch.tanh_, torch.Tensor.relu_, torch.Tensor.sigmoid_})

_CONV_DIMS = {torch.conv1d: 1, torch.conv2d: 2, torch.conv3d: 3}
_ADAPTIVE_AVG = {F.adaptive_avg_pool1d: 1, F.adaptive_avg_pool2d: 2, F.adaptive_avg_pool3d: 3}
_CAT = frozenset({torch.cat, torch.concat})
_T = torch.Tensor
_BINARY = frozenset({_T.add, _T.__add__, _T.__radd__, torch.add, _T.mul, _T.__mul__, _T.__rmul__, torch.mul,
                     _T.sub, _T.__sub__, torch.sub, _T.div, _T.__truediv__, torch.div})
_BINARY_IN_PLACE = frozenset({_T.add_, _T.__iadd__, _T.mul_, _T.__imul__, _T.sub_, _T.__isub__, _T.div_,
                              _T.__itruediv__})


def _plain(t) -> bool:
    """A contiguous tensor on the meta device: torch's own output for it would be contiguous too."""
    return isinstance(t, torch.Tensor) and t.is_meta and t.is_contiguous()


def _per_axis(value, n: int) -> tuple | None:
    if type(value) is int:
        return (value,) * n
    if isinstance(value, (tuple, list)) and all(type(v) is int for v in value):
        return tuple(value) * n if len(value) == 1 else tuple(value) if len(value) == n else None
    return None


def _new(shape, like: torch.Tensor) -> torch.Tensor:
    return torch.empty(shape, dtype=like.dtype, device="meta")


def _like(x: torch.Tensor) -> torch.Tensor:
    """``torch.empty_like(x)``: for a contiguous ``x``, as ``torch.empty`` (``empty_like`` on the meta device goes
    through Python reference code to choose the memory format)."""
    return torch.empty(x.shape, dtype=x.dtype, device="meta") if x.is_contiguous() else torch.empty_like(x)


def _arg(args, kwargs, i: int, key: str, default):
    return kwargs.get(key, args[i] if len(args) > i else default)


def _conv(n: int, args, kwargs):
    """``F.conv1d/2d/3d``: (N, C_out, ⌊(i + 2p − d·(k − 1) − 1)/s⌋ + 1 …)."""
    x, w = _arg(args, kwargs, 0, "input", None), _arg(args, kwargs, 1, "weight", None)
    bias = _arg(args, kwargs, 2, "bias", None)
    stride = _per_axis(_arg(args, kwargs, 3, "stride", 1), n)
    padding = _per_axis(_arg(args, kwargs, 4, "padding", 0), n)
    dilation = _per_axis(_arg(args, kwargs, 5, "dilation", 1), n)
    groups = _arg(args, kwargs, 6, "groups", 1)
    if not (_plain(x) and _plain(w) and x.dim() == n + 2 and w.dim() == n + 2 and w.dtype == x.dtype
            and stride and padding and dilation and type(groups) is int and groups > 0
            and (bias is None or (_plain(bias) and bias.shape == (w.shape[0],) and bias.dtype == x.dtype))
            and x.shape[1] == w.shape[1] * groups and w.shape[0] % groups == 0):
        return NotImplemented
    size = tuple((i + 2 * p - d * (k - 1) - 1) // s + 1
                 for i, k, s, p, d in zip(x.shape[2:], w.shape[2:], stride, padding, dilation))
    if min(size, default=1) <= 0 or min(stride) <= 0 or min(dilation) <= 0 or min(padding) < 0:
        return NotImplemented  # torch's error says what is wrong
    out = _new((x.shape[0], w.shape[0]) + size, x)
    return out, _CONV_FLOPS(x.shape, w.shape, None, stride, padding, dilation, False, (0,) * n, groups,
                            out_shape=out.shape)


def _linear(args, kwargs):
    """``F.linear`` of a batch of vectors: ``addmm`` (or ``mm``), (N, out)."""
    x, w = _arg(args, kwargs, 0, "input", None), _arg(args, kwargs, 1, "weight", None)
    bias = _arg(args, kwargs, 2, "bias", None)
    if not (isinstance(x, torch.Tensor) and x.is_meta and x.dim() == 2 and isinstance(w, torch.Tensor)
            and w.is_meta and w.dim() == 2 and x.shape[1] == w.shape[1] and w.dtype == x.dtype
            and (bias is None or (isinstance(bias, torch.Tensor) and bias.is_meta and bias.shape == (w.shape[0],)
                                  and bias.dtype == x.dtype))):
        return NotImplemented
    out = _new((x.shape[0], w.shape[0]), x)
    return out, _MM_FLOPS(x.shape, (w.shape[1], w.shape[0]), out_shape=out.shape)


def _adaptive_avg(n: int, args, kwargs):
    x, size = _arg(args, kwargs, 0, "input", None), _arg(args, kwargs, 1, "output_size", None)
    if not (_plain(x) and x.dim() == n + 2):
        return NotImplemented
    size = (size,) * n if type(size) is int else tuple(size) if isinstance(size, (tuple, list)) else None
    if size is None or len(size) != n or not all(s is None or (type(s) is int and s > 0) for s in size):
        return NotImplemented
    return _new(x.shape[:2] + tuple(i if s is None else s for i, s in zip(x.shape[2:], size)), x), 0


def _cat(args, kwargs):
    tensors, dim = _arg(args, kwargs, 0, "tensors", None), _arg(args, kwargs, 1, "dim", 0)
    if not (isinstance(tensors, (tuple, list)) and tensors and type(dim) is int
            and all(_plain(t) for t in tensors)):
        return NotImplemented
    first = tensors[0]
    ndim = first.dim()
    if ndim == 0 or not -ndim <= dim < ndim:
        return NotImplemented
    dim %= ndim
    rest = first.shape[:dim] + first.shape[dim + 1:]
    if not all(t.dtype == first.dtype and t.dim() == ndim and t.shape[:dim] + t.shape[dim + 1:] == rest
               for t in tensors):
        return NotImplemented
    shape = list(first.shape)
    shape[dim] = sum(t.shape[dim] for t in tensors)
    return _new(shape, first), 0


def _broadcast(a: torch.Size, b: torch.Size) -> tuple | None:
    shape = []
    for i in range(1, max(len(a), len(b)) + 1):
        x = a[-i] if i <= len(a) else 1
        y = b[-i] if i <= len(b) else 1
        if x != y and x != 1 and y != 1:
            return None
        shape.append(y if x == 1 else x)
    return tuple(reversed(shape))


def _binary(in_place: bool, args, kwargs):
    """Elementwise add, sub, mul, div of a floating-point tensor and a tensor of its dtype or a number."""
    if len(args) != 2 or set(kwargs) - {"alpha"}:
        return NotImplemented
    x, other = args
    if not (_plain(x) and x.dtype.is_floating_point):
        return NotImplemented
    if type(other) in (int, float):
        shape = x.shape
    elif _plain(other) and other.dtype == x.dtype:
        shape = _broadcast(x.shape, other.shape)
        if shape is None:
            return NotImplemented
    else:
        return NotImplemented
    if in_place:
        return (x, 0) if shape == x.shape else NotImplemented
    return _new(shape, x), 0


def _new_tensor(args, kwargs):
    return _like(args[0]), 0


def _in_place(args, kwargs):
    return args[0], 0


def _maybe_in_place(position: int):
    def handler(args, kwargs):
        in_place = kwargs.get("inplace", args[position] if len(args) > position else False)
        return (args[0], 0) if in_place else (_like(args[0]), 0)
    return handler


def _with(handler, *first):
    return lambda args, kwargs: handler(*first, args, kwargs)


# What answers each function; the first argument must be a meta tensor, save for ``cat``'s list.
_HANDLERS = {
    **dict.fromkeys(_NEW_TENSOR, _new_tensor),
    **dict.fromkeys(_IN_PLACE, _in_place),
    **{func: _maybe_in_place(position) for func, position in _MAYBE_IN_PLACE.items()},
    **{func: _with(_conv, n) for func, n in _CONV_DIMS.items()},
    F.linear: _linear,
    **{func: _with(_adaptive_avg, n) for func, n in _ADAPTIVE_AVG.items()},
    **dict.fromkeys(_BINARY, _with(_binary, False)),
    **dict.fromkeys(_BINARY_IN_PLACE, _with(_binary, True)),
}


def shortcut(func, args, kwargs):
    """(output, FLOPs) of ``func(*args, **kwargs)`` on meta tensors without running it, or NotImplemented."""
    handler = _HANDLERS.get(func)
    if handler is None:
        return _cat(args, kwargs) if func in _CAT else NotImplemented
    x = args[0] if args else None
    if not (isinstance(x, torch.Tensor) and x.is_meta):
        return NotImplemented
    return handler(args, kwargs)
