"""Record the layer graph of a network from one real forward pass.

``torch.fx`` cannot trace the detectors, so the graph is recorded while the model runs:

* forward hooks on every module give the module hierarchy, and a node for each call of a leaf module
  (a module with no children, such as ``Conv2d``);
* a ``TorchFunctionMode`` turns the functional operations written in ``forward`` methods (``+``, ``cat``,
  ``flatten``, ``mul``, ``F.relu`` ...) into nodes of their own;
* a ``TorchDispatchMode`` (``_FlopCounter``) counts the FLOPs of each node by torch's formulas, those of
  ``torch.utils.flop_counter.FlopCounterMode`` (MACs = FLOPs / 2);
* on the meta device, ``meta_ops.shortcut`` answers the common operations itself (shape and FLOPs), in place
  of torch's meta kernels.

Tensors are followed by identity, so every node knows which nodes produced its inputs.
"""

from __future__ import annotations

import weakref
from collections import Counter
from typing import Any, Callable

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.flop_counter import FlopCounterMode, flop_registry

from cnn_explorer.models.analysis.layer_graph import Edge, LayerGraph, Node, Shape  # noqa: F401 (the recorded data)

# Modules that are one operation although they hold children.
_ATOMIC_MODULES = (nn.MultiheadAttention,)

# Functions that only read metadata, or only copy or move a tensor: they make no node, and their
# outputs count as produced by the producers of their inputs.
_PASS_THROUGH = {
    torch.Tensor.contiguous, torch.Tensor.clone, torch.Tensor.detach, torch.Tensor.to,
    torch.Tensor.float, torch.Tensor.type, torch.Tensor.cpu, torch.Tensor.cuda, torch.Tensor.requires_grad_,
    torch.clone, torch.Tensor.__getitem__, torch.Tensor.unbind, torch.unbind,
}
_IGNORED_NAMES = {"__get__", "size", "dim", "numel", "__len__", "__iter__", "__format__", "__repr__",
                  "__bool__", "__index__", "__int__", "__float__", "tolist", "item", "__hash__",
                  "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__setstate__", "data_ptr",
                  "stride", "is_contiguous", "storage_offset", "untyped_storage", "element_size",
                  "__array__", "__reduce_ex__", "is_floating_point", "get_device", "nelement"}

# Functional names that read nicer in a graph.
_OP_NAMES = {"__add__": "add", "__radd__": "add", "__iadd__": "add", "__mul__": "mul", "__rmul__": "mul",
             "__imul__": "mul", "__sub__": "sub", "__rsub__": "sub", "__isub__": "sub",
             "__truediv__": "div", "__rtruediv__": "div", "__itruediv__": "div", "__matmul__": "matmul",
             "add_": "add", "mul_": "mul", "relu_": "relu", "sigmoid_": "sigmoid", "__setitem__": "setitem"}


def is_leaf_module(module: nn.Module) -> bool:
    """A module recorded as one node. Childless modules of torch.nn and childless modules that hold weights
    are; a childless custom module without weights (a detector's image transform, an anchor generator) is a
    scope whose functional operations are recorded one by one."""
    if isinstance(module, _ATOMIC_MODULES):
        return True
    if next(module.children(), None) is not None:
        return False
    holds_tensors = any(p is not None for p in module._parameters.values()) \
        or any(b is not None for b in module._buffers.values())
    return type(module).__module__.startswith("torch.nn") or holds_tensors


def _tensors(obj) -> list[torch.Tensor]:
    """The tensors in ``obj``, in ``tree_flatten``'s order. Tuples, lists and dicts (the arguments and outputs of
    nearly every call) are walked here, which is several times quicker than ``tree_flatten``; any other container
    is flattened by it."""
    found: list[torch.Tensor] = []
    _collect(obj, found)
    return found


_SCALARS = (int, float, bool, str, type(None))


def _collect(obj, found: list) -> None:
    kind = type(obj)
    if kind is tuple or kind is list:
        for item in obj:
            _collect(item, found)
    elif isinstance(obj, torch.Tensor):
        found.append(obj)
    elif kind is dict:
        for item in obj.values():
            _collect(item, found)
    elif kind not in _SCALARS:
        leaves, _ = tree_flatten(obj)
        found.extend(t for t in leaves if isinstance(t, torch.Tensor))


_no_dispatch = torch._C._DisableTorchDispatch  # no TorchDispatchMode sees the operations run inside it
_DECOMPOSABLE: dict = {}  # ATen operation -> whether it has a composite kernel (fixed once torch is loaded)


class _FlopCounter(TorchDispatchMode):
    """The FLOPs of every ATen operation, by torch's formulas (``flop_registry``, those of ``FlopCounterMode``),
    added into one running total: what the recorder asks after each node. ``FlopCounterMode`` keeps them by
    module, for which it hooks every module call and tensor, and tries to decompose every operation that has no
    formula; the recorder has its own module hooks, and only an operation with a composite kernel can decompose.
    Higher-order operations (``cond`` and the like, found only in exported programs) are noted, and the recording
    is made again with ``FlopCounterMode``, which knows how to count them."""

    def __init__(self):
        super().__init__()
        self.total = 0
        self.saw_higher_order = False

    def get_total_flops(self) -> int:
        return self.total

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if isinstance(func, torch._ops.HigherOrderOperator):
            self.saw_higher_order = True
            return func(*args, **kwargs)
        packet = func._overloadpacket
        formula = flop_registry.get(packet)
        if formula is None:
            decomposable = _DECOMPOSABLE.get(func)
            if decomposable is None:
                decomposable = _DECOMPOSABLE[func] = torch._C._dispatch_has_kernel_for_dispatch_key(
                    func.name(), torch._C.DispatchKey.CompositeImplicitAutograd) \
                    or torch._C.DispatchKey.CompositeImplicitAutograd in func.py_kernels
            if decomposable and func is not torch.ops.prim.device.default:
                with self:
                    out = func.decompose(*args, **kwargs)
                if out is not NotImplemented:
                    return out
            return func(*args, **kwargs)
        out = func(*args, **kwargs)
        self.total += formula(*args, **kwargs, out_val=out)
        return out


def _op_name(func) -> str:
    name = getattr(func, "__name__", None) or str(func)
    return _OP_NAMES.get(name, name.rstrip("_") if name.endswith("_") and not name.startswith("_") else name)


class _Producers:
    """Which nodes produced each tensor, by the tensor's identity, holding no tensor alive. ``WeakIdKeyDictionary``
    does the same with a Python object made at every look-up; here an entry keeps a weak reference that tells
    whether the tensor that had the id is still the one asked about (an id is reused once a tensor is freed)."""

    def __init__(self):
        self._by_id: dict[int, tuple] = {}

    def get(self, t: torch.Tensor, default=()):
        entry = self._by_id.get(id(t))
        return entry[1] if entry is not None and entry[0]() is t else default

    def __setitem__(self, t: torch.Tensor, sources: tuple) -> None:
        self._by_id[id(t)] = (weakref.ref(t), sources)


class _Recorder(TorchFunctionMode):
    """``flops`` is a ``_FlopCounter`` or a ``FlopCounterMode`` (anything with ``get_total_flops``). ``shortcut``,
    when given, answers an operation in place of torch (``meta_ops.shortcut``): (output, FLOPs) or
    NotImplemented."""

    def __init__(self, model: nn.Module, flops, shortcut: Callable | None = None):
        super().__init__()
        self.flops = flops
        self.shortcut = shortcut
        self.extra_flops = 0  # counted by the shortcut
        self.settings_of: dict[int, dict] = {}
        self.path_of = {id(m): path for path, m in model.named_modules(remove_duplicate=False)}
        self.leaf_ids = {id(m) for m in model.modules() if is_leaf_module(m)}
        if not type(model).__module__.startswith("torch.nn"):
            self.leaf_ids.discard(id(model))  # a model of its own without children: its operations are the layers
        self.producers = _Producers()
        self.nodes: list[Node] = []
        self.modules: dict[str, str] = {}
        self.scopes: list[str] = []
        self.leaf_depth = 0
        self.flop_marks: list[int] = []
        self.counted_params: set[int] = set()
        self.name_uses: Counter[str] = Counter()

    # -- bookkeeping -------------------------------------------------------------------------
    def _total_flops(self) -> int:
        return self.flops.get_total_flops() + self.extra_flops

    def call(self, func, args, kwargs):
        if self.shortcut is not None:
            with _no_dispatch():  # the shortcut counts its own FLOPs: its empty outputs skip the FLOP counter
                answer = self.shortcut(func, args, kwargs)
            if answer is not NotImplemented:
                out, flops = answer
                self.extra_flops += flops
                return out
        return func(*args, **kwargs)

    def _unique(self, name: str) -> str:
        uses = self.name_uses[name]
        self.name_uses[name] += 1
        return name if uses == 0 else f"{name}:{uses}"

    def _sources(self, obj) -> list[int]:
        found: list[int] = []
        for t in _tensors(obj):
            for src in self.producers.get(t, ()):
                if src not in found:
                    found.append(src)
        return found

    def _new_params(self, tensors) -> int:
        count = 0
        for p in tensors:
            if isinstance(p, nn.Parameter) and id(p) not in self.counted_params:
                self.counted_params.add(id(p))
                count += p.numel()
        return count

    def add_node(self, name, op, kind, scope, inputs, outputs, params=0, macs=0, settings=None) -> Node:
        in_tensors = {id(t) for t in inputs}
        out_tensors = _tensors(outputs)
        node = Node(id=len(self.nodes), name=self._unique(name), op=op, kind=kind, scope=scope,
                    inputs=self._sources(inputs), output_shapes=[tuple(t.shape) for t in out_tensors],
                    params=params, macs=macs, settings=settings or {})
        fresh = [t for t in out_tensors if id(t) not in in_tensors and not t._is_view()]
        node.inplace = bool(out_tensors) and not fresh and any(id(t) in in_tensors for t in out_tensors)
        node.activation_bytes = sum(t.numel() * t.element_size() for t in fresh)
        for t in out_tensors:
            self.producers[t] = (node.id,)
            if node.inplace and t._base is not None:
                self.producers[t._base] = (node.id,)  # written into a view: the whole tensor changed
        self.nodes.append(node)
        return node

    # -- module hooks --------------------------------------------------------------------------
    def pre_hook(self, module, args, kwargs):
        path = self.path_of.get(id(module))
        if path is None or self.leaf_depth:
            self.scopes.append(None)
            return
        self.scopes.append(path)
        self.modules.setdefault(path, type(module).__name__)
        if id(module) in self.leaf_ids:
            self.leaf_depth += 1
            self.flop_marks.append(self._total_flops())

    def post_hook(self, module, args, kwargs, output):
        if not self.scopes:  # the pass was stopped (cancelled) before this module's pre-hook ran
            return
        path = self.scopes.pop()
        if path is None or id(module) not in self.leaf_ids:
            return
        self.leaf_depth -= 1
        macs = (self._total_flops() - self.flop_marks.pop()) // 2
        with torch._C.DisableTorchFunction():  # the recorder's own look at tensors is no operation of the model
            params = self._new_params(module._parameters.values() if not module._modules else module.parameters())
            inputs = _tensors((args, kwargs))
            settings = self.settings_of.get(id(module))
            if settings is None:
                settings = self.settings_of[id(module)] = module_settings(module)
            self.add_node(path, type(module).__name__, "module", path, inputs, output,
                          params=params, macs=macs, settings=dict(settings))

    # -- functional operations -----------------------------------------------------------------
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if name in _IGNORED_NAMES:
            return func(*args, **kwargs)
        if self.leaf_depth:
            return self.call(func, args, kwargs)
        mark = self._total_flops()
        out = self.call(func, args, kwargs)
        inputs = _tensors((args, kwargs))
        sources = self._sources(inputs)
        if name == "__setitem__":  # `t[index] = value` writes into t and returns nothing
            out = args[0]
        outputs = _tensors(out)
        if not sources or not outputs:
            return out
        if func in _PASS_THROUGH:
            for t in outputs:
                self.producers[t] = tuple(sources)
            return out
        scope = next((s for s in reversed(self.scopes) if s is not None), "")
        op = _op_name(func)
        self.add_node(f"{scope}.{op}" if scope else op, op, "function", scope, inputs, out,
                      params=self._new_params(inputs), macs=(self._total_flops() - mark) // 2,
                      settings=function_settings(op, args, kwargs))
        return None if name == "__setitem__" else out


_SETTING_KEYS = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups",
                 "output_padding", "in_features", "out_features", "num_features", "eps", "output_size",
                 "scale_factor", "mode", "p", "negative_slope", "ceil_mode", "upscale_factor", "size",
                 "normalized_shape", "start_dim", "end_dim", "inplace", "dims")
_CLASS_SETTINGS: dict[type, frozenset] = {}  # module class -> the setting names its class answers


def module_settings(module: nn.Module) -> dict[str, Any]:
    """The settings of a layer that shape its output: kernel, stride, padding, channels ..."""
    settings = {}
    own, cls = vars(module), type(module)
    on_class = _CLASS_SETTINGS.get(cls)
    if on_class is None:
        on_class = _CLASS_SETTINGS[cls] = frozenset(key for key in _SETTING_KEYS if hasattr(cls, key))
    for key in _SETTING_KEYS:
        if key in on_class:  # a property or a class attribute
            value = getattr(module, key, None)
        elif key in own:
            value = own[key]
        else:  # only a parameter, buffer or sub-module could answer (never a setting): a missed lookup is slow
            continue
        if value is None or callable(value):
            continue
        if isinstance(value, (list, tuple)):
            value = tuple(value)
        elif not isinstance(value, (int, float, str, bool)):
            continue
        settings[key] = value
    if isinstance(module, nn.Conv2d) and isinstance(settings.get("padding"), str):
        # padding="same"/"valid": report the padding actually applied.
        settings["padding"] = tuple(module._reversed_padding_repeated_twice[::2][::-1])
    return settings


def function_settings(op: str, args, kwargs) -> dict[str, Any]:
    """Geometry of functional convolutions and pools, and the dims of reshapes and concatenations."""
    def arg(i, key, default):
        return kwargs.get(key, args[i] if len(args) > i else default)

    op = op.split(".")[0]  # an ATen overload (a torch.export program's "max_pool2d.default") as its function
    if op in ("conv2d", "conv1d", "conv3d"):
        weight = arg(1, "weight", None)
        return {"kernel_size": tuple(weight.shape[2:]), "stride": arg(3, "stride", 1),
                "padding": arg(4, "padding", 0), "dilation": arg(5, "dilation", 1), "groups": arg(6, "groups", 1),
                "in_channels": weight.shape[1] * arg(6, "groups", 1), "out_channels": weight.shape[0]}
    if op in ("max_pool2d", "avg_pool2d", "max_pool2d_with_indices"):
        kernel = arg(1, "kernel_size", None)
        stride = arg(2, "stride", None) or kernel
        settings = {"kernel_size": kernel, "stride": stride, "padding": arg(3, "padding", 0)}
        if op != "avg_pool2d":
            settings["dilation"] = arg(4, "dilation", 1)
        return settings
    if op in ("adaptive_avg_pool2d", "adaptive_max_pool2d"):
        return {"output_size": arg(1, "output_size", None)}
    if op == "permute":
        dims = args[1:] if len(args) > 1 and isinstance(args[1], int) else (arg(1, "dims", ()))
        return {"dims": tuple(dims)}
    if op == "pad":
        return {"pad": tuple(arg(1, "pad", ()))}
    if op in ("cat", "concat", "stack", "chunk", "split", "flatten", "mean", "sum", "softmax", "transpose"):
        dim = kwargs.get("dim")
        if dim is None:
            dim = next((a for a in args[1:] if isinstance(a, int)), None)
        return {"dim": dim} if dim is not None else {}
    if op == "interpolate":
        size = arg(1, "size", None)
        return {"size": tuple(size) if isinstance(size, (list, tuple)) else size,
                "scale_factor": arg(2, "scale_factor", None), "mode": arg(3, "mode", "nearest")}
    return {}


def record_graph(model: nn.Module, example_input, run: Callable | None = None,
                 kwargs: dict[str, Any] | None = None, shortcut: Callable | None = None) -> tuple[LayerGraph, Any]:
    """Run ``model`` once on ``example_input`` and record its layer graph. Returns (graph, output).

    ``example_input`` is one input, or a tuple or list of the positional inputs; ``kwargs`` are keyword
    inputs. Every tensor among them (nested in lists or dicts too) becomes an input node, in that order.
    ``run(*inputs, **kwargs)``, when given, is called instead of ``model(*inputs, **kwargs)``: a way to run the
    same modules with other weights (see summary.py). ``shortcut`` answers operations in place of torch (see
    ``_Recorder``)."""
    graph, output, flops = _record(model, example_input, run, kwargs, shortcut, _FlopCounter())
    if flops.saw_higher_order:  # counted by FlopCounterMode, which knows them
        graph, output, _ = _record(model, example_input, run, kwargs, shortcut, FlopCounterMode(display=False))
    return graph, output


def _record(model, example_input, run, kwargs, shortcut, flops):
    kwargs = dict(kwargs or {})
    recorder = _Recorder(model, flops, shortcut)
    handles = []
    for module in model.modules():
        handles.append(module.register_forward_pre_hook(recorder.pre_hook, with_kwargs=True))
        handles.append(module.register_forward_hook(recorder.post_hook, with_kwargs=True, always_call=True))
    inputs = example_input if isinstance(example_input, (tuple, list)) else (example_input,)
    input_tensors = list({id(t): t for t in _tensors((tuple(inputs), kwargs))}.values())  # each tensor once
    for t in input_tensors:
        recorder.add_node("input", "Input", "input", "", [], t)
    try:
        with torch.no_grad(), flops, recorder:
            output = (run or model)(*inputs, **kwargs)
    finally:
        for handle in handles:
            handle.remove()
    # A converted file's name holders (onnx2pytorch nests ``layer1.0.conv1`` in plain nn.Module objects that its
    # flat forward never calls; so does a TorchScript file's rebuilt copy): listed as modules, so that they fold.
    for path, module in model.named_modules():
        if path and path not in recorder.modules and type(module) is nn.Module:
            recorder.modules[path] = "Block"
    edges = [Edge(src, node.id, recorder.nodes[src].output_shape)
             for node in recorder.nodes for src in node.inputs]
    graph = LayerGraph(input_shape=tuple(input_tensors[0].shape) if input_tensors else (), nodes=recorder.nodes,
                       edges=edges, modules=recorder.modules)
    return graph, output, flops
