"""Record the layer graph of a network from one real forward pass.

``torch.fx`` cannot trace the detectors, so the graph is recorded while the model runs:

* forward hooks on every module give the module hierarchy, and a node for each call of a leaf module
  (a module with no children, such as ``Conv2d``);
* a ``TorchFunctionMode`` turns the functional operations written in ``forward`` methods (``+``, ``cat``,
  ``flatten``, ``mul``, ``F.relu`` ...) into nodes of their own;
* ``torch.utils.flop_counter.FlopCounterMode`` counts the FLOPs of each node (MACs = FLOPs / 2).

Tensors are followed by identity, so every node knows which nodes produced its inputs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten
from torch.utils.flop_counter import FlopCounterMode
from torch.utils.weak import WeakIdKeyDictionary

Shape = tuple[int, ...]

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


@dataclass
class Node:
    """One recorded operation: a leaf module call, a functional op, or the input."""

    id: int
    name: str
    op: str
    kind: str  # "input", "module" or "function"
    scope: str  # the module path it belongs to ("" is the model itself)
    inputs: list[int]
    output_shapes: list[Shape]
    params: int = 0
    macs: int = 0
    activation_bytes: int = 0  # memory its outputs newly take: 0 for in-place ops and views
    inplace: bool = False
    settings: dict[str, Any] = field(default_factory=dict)
    receptive_field: Any = None  # filled in by the analysis

    @property
    def output_shape(self) -> Shape | None:
        return self.output_shapes[0] if self.output_shapes else None


@dataclass
class Edge:
    src: int
    dst: int
    shape: Shape | None


@dataclass
class LayerGraph:
    """The operations of one forward pass and the module hierarchy they belong to."""

    input_shape: Shape
    nodes: list[Node]
    edges: list[Edge]
    modules: dict[str, str]  # module path -> class name, for every module that ran ("" is the model) and name holder

    def children_of(self, path: str) -> list[str]:
        """Direct sub-modules of ``path`` that ran, in the order they were first called."""
        prefix = f"{path}." if path else ""
        depth = path.count(".") + 1 if path else 0
        return [p for p in self.modules if p.startswith(prefix) and p != path and p.count(".") == depth]

    def nodes_in(self, path: str) -> list[Node]:
        """Nodes recorded inside the module at ``path`` (all of them for the model)."""
        if not path:
            return list(self.nodes)
        from cnn_explorer.models.analysis.ops import inside

        return [n for n in self.nodes if inside(n.scope, path)]

    def to_dict(self) -> dict:
        """Everything recorded, as JSON-ready data (for the analysis cache)."""
        def field(rf):
            return rf.to_dict() if hasattr(rf, "to_dict") else rf

        return {"input_shape": list(self.input_shape), "modules": dict(self.modules),
                "nodes": [{"id": n.id, "name": n.name, "op": n.op, "kind": n.kind, "scope": n.scope,
                           "inputs": list(n.inputs), "output_shapes": [list(s) for s in n.output_shapes],
                           "params": n.params, "macs": n.macs, "activation_bytes": n.activation_bytes,
                           "inplace": n.inplace, "settings": n.settings, "receptive_field": field(n.receptive_field)}
                          for n in self.nodes],
                "edges": [[e.src, e.dst, list(e.shape) if e.shape is not None else None] for e in self.edges]}

    @classmethod
    def from_dict(cls, data: dict) -> LayerGraph:
        """The graph ``to_dict`` wrote (lists that were tuples are tuples again)."""
        from cnn_explorer.models.analysis.receptive_field import Field

        def tuples(value):
            return tuple(tuples(v) for v in value) if isinstance(value, list) else value

        def field(rf):
            if isinstance(rf, dict):
                return Field(tuple(rf["size"]), tuple(rf["stride"]), tuple(rf["padding"]))
            return rf

        nodes = [Node(id=n["id"], name=n["name"], op=n["op"], kind=n["kind"], scope=n["scope"],
                      inputs=list(n["inputs"]), output_shapes=[tuple(s) for s in n["output_shapes"]],
                      params=n["params"], macs=n["macs"], activation_bytes=n["activation_bytes"],
                      inplace=n["inplace"], settings={k: tuples(v) for k, v in n["settings"].items()},
                      receptive_field=field(n["receptive_field"]))
                 for n in data["nodes"]]
        edges = [Edge(src, dst, tuple(shape) if shape is not None else None) for src, dst, shape in data["edges"]]
        return cls(input_shape=tuple(data["input_shape"]), nodes=nodes, edges=edges, modules=dict(data["modules"]))

    def blocks(self):
        """Every module that ran, as an ``ops.Block`` by path: what folds, and which nodes it holds."""
        from cnn_explorer.models.analysis.ops import blocks

        return blocks(self)

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)


def is_leaf_module(module: nn.Module) -> bool:
    """A module recorded as one node. Childless modules of torch.nn and childless modules that hold weights
    are; a childless custom module without weights (a detector's image transform, an anchor generator) is a
    scope whose functional operations are recorded one by one."""
    if isinstance(module, _ATOMIC_MODULES):
        return True
    if next(module.children(), None) is not None:
        return False
    holds_tensors = next(module.parameters(recurse=False), None) is not None \
        or next(module.buffers(recurse=False), None) is not None
    return type(module).__module__.startswith("torch.nn") or holds_tensors


def _tensors(obj) -> list[torch.Tensor]:
    leaves, _ = tree_flatten(obj)
    return [t for t in leaves if isinstance(t, torch.Tensor)]


def _op_name(func) -> str:
    name = getattr(func, "__name__", None) or str(func)
    return _OP_NAMES.get(name, name.rstrip("_") if name.endswith("_") and not name.startswith("_") else name)


class _Recorder(TorchFunctionMode):
    def __init__(self, model: nn.Module, flops: FlopCounterMode):
        super().__init__()
        self.flops = flops
        self.path_of = {id(m): path for path, m in model.named_modules(remove_duplicate=False)}
        self.leaf_ids = {id(m) for m in model.modules() if is_leaf_module(m)}
        if not type(model).__module__.startswith("torch.nn"):
            self.leaf_ids.discard(id(model))  # a model of its own without children: its operations are the layers
        self.producers: WeakIdKeyDictionary = WeakIdKeyDictionary()
        self.nodes: list[Node] = []
        self.modules: dict[str, str] = {}
        self.scopes: list[str] = []
        self.leaf_depth = 0
        self.flop_marks: list[int] = []
        self.counted_params: set[int] = set()
        self.name_uses: Counter[str] = Counter()

    # -- bookkeeping -------------------------------------------------------------------------
    def _total_flops(self) -> int:
        return sum(self.flops.flop_counts["Global"].values())

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
        params = self._new_params(module.parameters())
        inputs = _tensors((args, kwargs))
        self.add_node(path, type(module).__name__, "module", path, inputs, output,
                      params=params, macs=macs, settings=module_settings(module))

    # -- functional operations -----------------------------------------------------------------
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if self.leaf_depth or name in _IGNORED_NAMES:
            return func(*args, **kwargs)
        mark = self._total_flops()
        out = func(*args, **kwargs)
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


def module_settings(module: nn.Module) -> dict[str, Any]:
    """The settings of a layer that shape its output: kernel, stride, padding, channels ..."""
    keys = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups",
            "output_padding", "in_features", "out_features", "num_features", "eps", "output_size",
            "scale_factor", "mode", "p", "negative_slope", "ceil_mode", "upscale_factor", "size",
            "normalized_shape", "start_dim", "end_dim", "inplace", "dims")
    settings = {}
    for key in keys:
        value = getattr(module, key, None)
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
                 kwargs: dict[str, Any] | None = None) -> tuple[LayerGraph, Any]:
    """Run ``model`` once on ``example_input`` and record its layer graph. Returns (graph, output).

    ``example_input`` is one input, or a tuple or list of the positional inputs; ``kwargs`` are keyword
    inputs. Every tensor among them (nested in lists or dicts too) becomes an input node, in that order.
    ``run(*inputs, **kwargs)``, when given, is called instead of ``model(*inputs, **kwargs)``: a way to run the
    same modules with other weights (see summary.py)."""
    kwargs = dict(kwargs or {})
    flops = FlopCounterMode(display=False)
    recorder = _Recorder(model, flops)
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
            recorder.modules[path] = "Module"
    edges = [Edge(src, node.id, recorder.nodes[src].output_shape)
             for node in recorder.nodes for src in node.inputs]
    graph = LayerGraph(input_shape=tuple(input_tensors[0].shape) if input_tensors else (), nodes=recorder.nodes,
                       edges=edges, modules=recorder.modules)
    return graph, output
