"""Feature maps of any layer, and the top-5 of a classifier, for one image at a time.

``LabModel`` wraps a loaded zoo model (``models.loader.LoadedModel``) on the thread that owns it. The first
request for an image runs one forward pass that records the layer graph exactly as the explorer does
(``models.graph``'s recorder: module hooks plus a ``TorchFunctionMode``) and keeps a copy of every node's
output that is a feature map. So every layer the graph shows, functional ones included (``layer1.0.add``,
``relu:1`` for a module's second call), has its map under the same name, and switching layers afterwards
costs a dictionary look-up and a copy to numpy. The recorded graph, with its receptive fields, comes with it.
Copies are made at once, so in-place ReLUs cannot overwrite the map of the layer before them. Feature maps
beyond a memory budget are not kept; asking for one of those runs the pass again for it alone.

The cache holds the last image only (keyed by the bytes of its input tensor).
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnn_explorer.models.analysis.graph import LayerGraph, Node, _Recorder, _tensors
from cnn_explorer.models.zoo.loader import LoadedModel
from cnn_explorer.models.analysis.ops import has_feature_map, node_kind
from cnn_explorer.models.analysis.receptive_field import GLOBAL, Field, compute_receptive_fields
from cnn_explorer.models.lab.errors import LabError
from cnn_explorer.models.lab.preprocess import Prepared, prepare

MEMORY_BUDGET = 1 << 30  # bytes of feature maps kept per image


class _Capture(_Recorder):
    """The graph recorder, keeping a detached copy of each node's output feature map."""

    def __init__(self, model: nn.Module, budget: int, only: set[str] | None = None):
        super().__init__(model, FlopCounterMode(display=False))  # never entered: no FLOPs are counted
        self.values: dict[str, torch.Tensor] = {}
        self.budget = budget
        self.only = only
        self.used = 0
        self.dropped: set[str] = set()

    def add_node(self, name, op, kind, scope, inputs, outputs, params=0, macs=0, settings=None) -> Node:
        node = super().add_node(name, op, kind, scope, inputs, outputs, params, macs, settings)
        tensors = _tensors(outputs)
        if tensors and tensors[0].dim() == 4 and (self.only is None or node.name in self.only):
            t = tensors[0]
            size = t.numel() * 4
            if self.used + size <= self.budget or self.only is not None:
                self.values[node.name] = t.detach().to(torch.float32, copy=True)
                self.used += size
            else:
                self.dropped.add(node.name)
        return node


@dataclass
class Forward:
    """One recorded pass over one image."""

    key: str
    graph: LayerGraph
    values: dict[str, torch.Tensor]
    output: object
    dropped: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Prediction:
    index: int
    name: str
    probability: float


def _record(model: nn.Module, x: torch.Tensor, budget: int, only: set[str] | None = None) -> tuple[LayerGraph, dict, object, set]:
    capture = _Capture(model, budget, only)
    handles = []
    for module in model.modules():
        handles.append(module.register_forward_pre_hook(capture.pre_hook, with_kwargs=True))
        handles.append(module.register_forward_hook(capture.post_hook, with_kwargs=True, always_call=True))
    capture.add_node("input", "Input", "input", "", [], x)
    try:
        with torch.no_grad(), capture:
            output = model(x)
    finally:
        for handle in handles:
            handle.remove()
    from cnn_explorer.models.analysis.graph import Edge

    edges = [Edge(src, node.id, capture.nodes[src].output_shape) for node in capture.nodes for src in node.inputs]
    graph = LayerGraph(input_shape=tuple(x.shape), nodes=capture.nodes, edges=edges, modules=capture.modules)
    compute_receptive_fields(graph)
    return graph, capture.values, output, capture.dropped


def tensor_key(x: torch.Tensor) -> str:
    data = x.detach().cpu().contiguous().numpy()
    return f"{tuple(data.shape)}:{hashlib.blake2b(data.tobytes(), digest_size=16).hexdigest()}"


def model_device(model: nn.Module) -> torch.device:
    return next(model.parameters(), torch.empty(0)).device


class LabModel:
    """A loaded model as the lab uses it: preprocessing, feature maps, predictions (see the module's doc)."""

    def __init__(self, loaded: LoadedModel, memory_budget: int = MEMORY_BUDGET):
        if loaded.entry.facts.get("hooks_work") is False:  # a TorchScript file the lab cannot look inside
            raise LabError(f"the lab cannot look inside {loaded.entry.name}: "
                           f"{loaded.entry.facts.get('hooks_reason') or 'its layers take no forward hooks'}; "
                           "the graph and the numbers are shown")
        self.loaded = loaded
        self.entry = loaded.entry
        self.model = loaded.model.eval()
        self.memory_budget = memory_budget
        self._forward: Forward | None = None
        self._prepared: tuple[str, Prepared] | None = None

    # -- the input -----------------------------------------------------------------------------------------
    def prepare(self, image: np.ndarray | Prepared, input_size: tuple[int, int] | None = None) -> Prepared:
        """``image`` (H×W×3 uint8) as this model's input; the last one is remembered."""
        if isinstance(image, Prepared):
            return image
        digest = hashlib.blake2b(np.ascontiguousarray(image).tobytes(), digest_size=16).hexdigest()
        key = f"{np.shape(image)}:{digest}:{input_size}"
        if self._prepared is None or self._prepared[0] != key:
            self._prepared = (key, prepare(self.entry, image, input_size))
        return self._prepared[1]

    @property
    def device(self) -> torch.device:
        return model_device(self.model)

    # -- the recorded pass -----------------------------------------------------------------------------------
    def forward(self, image: np.ndarray | Prepared) -> Forward:
        """The recorded pass over ``image`` (cached for the last image)."""
        prepared = self.prepare(image)
        key = tensor_key(prepared.tensor)
        if self._forward is None or self._forward.key != key:
            self._forward = None  # the last image's maps go before the next are made
            graph, values, output, dropped = _record(self.model, prepared.tensor.to(self.device), self.memory_budget)
            self._forward = Forward(key, graph, values, output, dropped)
        return self._forward

    def graph(self, image: np.ndarray | Prepared) -> LayerGraph:
        return self.forward(image).graph

    def node(self, image: np.ndarray | Prepared, layer: str) -> Node:
        return find_node(self.graph(image), layer)

    def map_layers(self, image: np.ndarray | Prepared) -> list[str]:
        """Names of the layers that have a feature map, in execution order."""
        return [n.name for n in self.graph(image).nodes if n.kind != "input" and has_feature_map(n)]

    def feature_map_tensor(self, image: np.ndarray | Prepared, layer: str) -> torch.Tensor:
        forward = self.forward(image)
        node = find_node(forward.graph, layer)
        require_map(node)
        value = forward.values.get(node.name)
        if value is None:  # beyond the memory budget: run again for this one
            prepared = self.prepare(image)
            _, values, _, _ = _record(self.model, prepared.tensor.to(self.device), self.memory_budget, {node.name})
            value = values[node.name]
        return value[0]

    def feature_map(self, image: np.ndarray | Prepared, layer: str) -> np.ndarray:
        """The feature map of ``layer`` for ``image``: C×H×W float32."""
        return np.ascontiguousarray(self.feature_map_tensor(image, layer).cpu().numpy())

    def strongest_unit(self, image: np.ndarray | Prepared, layer: str) -> tuple[int, int, int]:
        """(c, y, x) of the largest activation of ``layer``."""
        fmap = self.feature_map_tensor(image, layer)
        flat = int(torch.argmax(fmap))
        c, rest = divmod(flat, fmap.shape[1] * fmap.shape[2])
        return c, *divmod(rest, fmap.shape[2])

    def field(self, image: np.ndarray | Prepared, layer: str):
        """The theoretical receptive field of ``layer`` at this image's input size (a ``Field``, ``"global"``
        or None)."""
        return self.node(image, layer).receptive_field

    # -- predictions -------------------------------------------------------------------------------------------
    @property
    def is_classifier(self) -> bool:
        return self.entry.task == "classification"

    @property
    def max_batch(self) -> int:
        """The most images one forward pass may take: 1 for a file that fixes its batch at one (an ONNX export)."""
        return int(self.entry.facts.get("max_batch") or 1 << 30)

    @property
    def categories(self) -> list[str] | None:
        """The class names; ImageNet's for a 1000-class head that names none (its last Linear's outputs)."""
        names = categories_of(self.entry)
        if names is None and self.entry.task == "classification":
            last = next((m for m in reversed(list(self.model.modules())) if isinstance(m, nn.Linear)), None)
            names = imagenet_categories(last.out_features) if last is not None else None
        return names

    def class_index(self, text: str | int) -> int:
        """A class given by its index ("281") or its name ("tabby", any case): its index. A name that is not one of
        the model's classes, or an index out of range, is a ``LabError`` naming the nearest names."""
        names = self.categories
        text = str(text).strip()
        if text.lstrip("-").isdigit():
            index = int(text)
            if index < 0 or (names and index >= len(names)):
                raise LabError(f"class {index} is outside the model's {len(names) if names else 'known'} classes")
            return index
        if not names:
            raise LabError(f"{self.entry.name} names no classes: give the class as a number")
        folded = [n.lower() for n in names]
        if text.lower() in folded:
            return folded.index(text.lower())
        import difflib

        near = difflib.get_close_matches(text.lower(), folded, n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(repr(names[folded.index(n)]) for n in near)}?" if near else ""
        raise LabError(f"{self.entry.name} has no class named {text!r}{hint}")

    def logits(self, image: np.ndarray | Prepared) -> torch.Tensor:
        output = self.forward(image).output
        if not self.is_classifier or not isinstance(output, torch.Tensor) or output.dim() != 2:
            raise LabError(f"{self.entry.name} is a {self.entry.task.replace('_', ' ')} model: it gives no class "
                           "scores to rank")
        return output[0]

    def predict(self, image: np.ndarray | Prepared, k: int = 5) -> list[Prediction]:
        """The ``k`` most probable classes, with names from the weights' categories (or the trained net's)."""
        probabilities = torch.softmax(self.logits(image).float(), 0)
        top = torch.topk(probabilities, min(k, probabilities.numel()))
        names = self.categories
        return [Prediction(int(i), class_name(names, int(i)), float(p)) for p, i in zip(top.values, top.indices)]


def imagenet_categories(classes: int) -> list[str] | None:
    """ImageNet's class names (torchvision's list) for a 1000-class head that names none of its own (a paper's
    AlexNet, ZFNet, a timm net): "class 443" tells a class nothing."""
    if classes != 1000:
        return None
    from torchvision.models._meta import _IMAGENET_CATEGORIES

    return list(_IMAGENET_CATEGORIES)


def categories_of(entry) -> list[str] | None:
    """Class names: torchvision weights' ``meta["categories"]``, or the entry's own (trained nets)."""
    own = entry.facts.get("categories")
    if own:  # a trained net's: "a, b, c" (facts hold plain values)
        return [name.strip() for name in own.split(",")] if isinstance(own, str) else list(own)
    if entry.source == "torchvision":
        from torchvision.models import get_model_weights

        try:
            return list(get_model_weights(entry.name).DEFAULT.meta.get("categories") or []) or None
        except (ValueError, KeyError):
            return None
    return None


def class_name(names: list[str] | None, index: int) -> str:
    return names[index] if names and 0 <= index < len(names) else f"class {index}"


def _lecture_names(graph: LayerGraph) -> dict[str, str]:
    """Lecture name (lower case) → layer, for a network whose paper numbers its layers (conv2, C3, fc7): the
    family is told by the model's class (AlexNet, VGG, LeNet5, ZFNet …)."""
    from cnn_explorer.models.analysis import naming

    root = graph.modules.get("", "").lower()
    family = next((f for f in naming.FAMILY_STYLES if root.startswith(f.lower())), "")
    return {label.lower(): name for name, label in naming.layer_names(family, graph.nodes).items()} if family else {}


def find_node(graph: LayerGraph, layer: str) -> Node:
    """The node ``layer``: its code name (features.3), or its lecture name (conv2, C3) where the paper has one."""
    for node in graph.nodes:
        if node.name == layer:
            return node
    lecture = _lecture_names(graph)
    if layer.strip().lower() in lecture:
        return find_node(graph, lecture[layer.strip().lower()])
    names = [n.name for n in graph.nodes if n.kind != "input"]
    close = difflib.get_close_matches(layer, names, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else f" (layers: {', '.join(names[:6])} …)"
    raise LabError(f"no layer named {layer!r}{hint}")


def require_map(node: Node) -> None:
    if has_feature_map(node):
        return
    shape = "×".join(str(s) for s in (node.output_shape or ())[1:]) or "none"
    raise LabError(f"{node.name} ({node.op}) has no spatial feature map (its output is {shape}); choose a "
                   "convolution, pooling or activation layer before the classifier")


def require_unit(node: Node, unit: tuple[int, int, int]) -> tuple[int, int, int]:
    require_map(node)
    _, channels, height, width = node.output_shape
    c, y, x = (int(v) for v in unit)
    if not (0 <= c < channels and 0 <= y < height and 0 <= x < width):
        raise LabError(f"unit ({c}, {y}, {x}) is outside {node.name}'s map of {channels}×{height}×{width}")
    return c, y, x


def field_or_error(node: Node) -> Field | str:
    rf = node.receptive_field
    if rf is None:
        raise LabError(f"{node.name} has no receptive field of the (size, stride, padding) form: it comes after "
                       "upsampling")
    return rf


def default_map_layer(graph: LayerGraph) -> Node:
    """The last layer with a spatial feature map and a local receptive field that is a convolution or an
    activation (ZFNet's "layer 5"): what occlusion, Grad-CAM and top-9 use when no layer is named."""
    candidates = [n for n in graph.nodes if n.kind == "module" and has_feature_map(n)
                  and n.output_shape[2] * n.output_shape[3] > 1 and n.receptive_field not in (None, GLOBAL)
                  and node_kind(n) in ("conv", "activation", "norm")]
    if not candidates:
        raise LabError("this model has no convolutional layer with a spatial map")
    return candidates[-1]
