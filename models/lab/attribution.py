"""The ZFNet tools and Grad-CAM: deconvnet projections, guided backpropagation, occlusion sensitivity.

* **Deconvnet** (Zeiler & Fergus 2014) is Captum's ``NeuronDeconvolution``: back through the network from
  one unit, max-pools un-pooled with the forward pass's switches, ReLUs applied to the backward signal,
  convolutions transposed. **Guided backprop** (Springenberg et al. 2015) is ``NeuronGuidedBackprop``.
* **Grad-CAM** (Selvaraju et al. 2017) is ``LayerGradCam``, upsampled with ``LayerAttribution.interpolate``.
* **Occlusion** is written here: Captum's ``Occlusion`` returns one per-pixel attribution of one scalar
  when it is done, with no progress callback and no way to cancel. ZFNet's Fig. 7 needs two maps per
  position of the grey square (the correct class's probability, and the total activation of the strongest
  feature map of a layer), filled in while it computes and cancellable. So the occluded images are made
  in batches, one forward pass per batch gives both numbers for every image, and a callback gets progress
  after each batch. ``OcclusionResult.pixel_map`` turns the grid into Captum's per-pixel form (the mean
  over the windows covering a pixel), and a test checks it against Captum's ``Occlusion``.

Captum needs module layers and no in-place ReLUs: ``hooks.module_for`` explains what to choose instead of a
functional op or an earlier call of a shared module, and ``hooks.no_inplace`` switches in-place off for the
duration. Captum's deconvnet and guided backprop modify the backward pass of ``nn.ReLU`` modules only; a
model with functional ReLUs gets a note saying how many were left as plain gradients.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn

from cnn_explorer.models.lab.activations import LabModel, default_map_layer, find_node, require_map, require_unit
from cnn_explorer.models.lab.errors import LabError
from cnn_explorer.models.lab.hooks import functional_relus, module_for, no_inplace
from cnn_explorer.models.lab.preprocess import Prepared

Progress = Callable[[int, int], None]  # (done, total); raising in it cancels the computation


def signed_to_uint8(values: np.ndarray) -> np.ndarray:
    """Signed values to 0..255 with 0 at mid-grey: 128 ± 127·v / max|v| (how ZFNet shows projections)."""
    top = float(np.abs(values).max())
    scaled = 128 + 127 * values / top if top > 0 else np.full_like(values, 128, dtype=np.float64)
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def unit_to_uint8(values: np.ndarray) -> np.ndarray:
    """Non-negative values to 0..255 (min–max)."""
    low, high = float(np.nanmin(values)), float(np.nanmax(values))
    scaled = (values - low) / (high - low) if high > low else np.zeros_like(values, dtype=np.float64)
    return np.clip(np.rint(np.nan_to_num(scaled) * 255), 0, 255).astype(np.uint8)


# -- deconvnet and guided backprop -------------------------------------------------------------------------------

@dataclass
class Projection:
    method: str  # "deconv" or "guided"
    layer: str
    unit: tuple[int, int, int]
    activation: float  # the unit's value in the forward pass
    attribution: np.ndarray  # C×H×W float32, in the model's input space
    notes: list[str] = field(default_factory=list)

    @property
    def picture(self) -> np.ndarray:
        """H×W×3 uint8 (grey for a 1-channel model), 0 at mid-grey."""
        image = signed_to_uint8(self.attribution.transpose(1, 2, 0))
        return np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image

    def to_json(self) -> dict:
        a = self.attribution
        return {"method": self.method, "layer": self.layer, "unit": list(self.unit), "activation": self.activation,
                "shape": list(a.shape), "min": float(a.min()), "max": float(a.max()), "notes": self.notes}


def _notes(lab: LabModel, prepared: Prepared) -> list[str]:
    count = functional_relus(lab.graph(prepared))
    if count:
        return [f"{count} functional ReLU calls are not hooked by Captum and pass the plain gradient"]
    return []


def project(lab: LabModel, image: np.ndarray | Prepared, layer: str, unit: tuple[int, int, int] | None = None,
            method: str = "deconv") -> Projection:
    """Project unit (c, y, x) of ``layer`` (the layer's strongest activation when ``unit`` is None) back to
    the input: ``method`` ``"deconv"`` (Zeiler & Fergus) or ``"guided"`` (guided backpropagation)."""
    from captum.attr import NeuronDeconvolution, NeuronGuidedBackprop

    methods = {"deconv": NeuronDeconvolution, "guided": NeuronGuidedBackprop}
    if method not in methods:
        raise LabError(f"projection method must be deconv or guided, not {method!r}")
    prepared = lab.prepare(image)
    graph = lab.graph(prepared)
    node = find_node(graph, layer)
    require_map(node)
    unit = lab.strongest_unit(prepared, layer) if unit is None else require_unit(node, unit)
    module = module_for(lab.model, graph, node)
    activation = float(lab.feature_map_tensor(prepared, layer)[unit])
    x = prepared.tensor.to(lab.device).clone().requires_grad_(True)
    with no_inplace(lab.model), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Setting backward hooks on ReLU")
        attribution = methods[method](lab.model, module).attribute(x, neuron_selector=unit)
    return Projection(method, layer, unit, activation, attribution[0].detach().float().cpu().numpy(),
                      _notes(lab, prepared))


# -- occlusion -----------------------------------------------------------------------------------------------------

@dataclass
class OcclusionResult:
    target: int  # the class whose probability is mapped
    target_name: str
    layer: str  # the layer whose strongest feature map is mapped
    channel: int  # that feature map
    size: int
    stride: int
    rows: np.ndarray  # top row of each window position (ny)
    columns: np.ndarray  # left column of each window position (nx)
    probability: np.ndarray  # ny×nx: the target's probability with the square at each position (NaN: not yet)
    activation: np.ndarray  # ny×nx: the channel's total activation with the square there (NaN: not yet)
    base_probability: float  # without occlusion
    base_activation: float
    image_size: tuple[int, int]
    fill: int = 128
    done: int = 0
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return self.probability.size

    @property
    def complete(self) -> bool:
        return self.done == self.total

    def pixel_map(self, which: str = "probability") -> np.ndarray:
        """Captum's per-pixel form: for each input pixel, the mean over the windows covering it of (value
        without occlusion − value with the square there). Pixels no window covers are 0."""
        grid = self.probability if which == "probability" else self.activation
        base = self.base_probability if which == "probability" else self.base_activation
        total = np.zeros(self.image_size, np.float64)
        counts = np.zeros(self.image_size, np.float64)
        for i, top in enumerate(self.rows):
            for j, left in enumerate(self.columns):
                if np.isnan(grid[i, j]):
                    continue
                total[top:top + self.size, left:left + self.size] += base - grid[i, j]
                counts[top:top + self.size, left:left + self.size] += 1
        return np.divide(total, counts, out=np.zeros_like(total), where=counts > 0).astype(np.float32)

    def to_json(self) -> dict:
        return {"method": "occlusion", "target": self.target, "target_name": self.target_name, "layer": self.layer,
                "channel": self.channel, "size": self.size, "stride": self.stride, "fill": self.fill,
                "shape": list(self.probability.shape), "base_probability": self.base_probability,
                "min": float(np.nanmin(self.probability)), "max": float(np.nanmax(self.probability)),
                "activation_min": float(np.nanmin(self.activation)),
                "activation_max": float(np.nanmax(self.activation)), "seconds": round(self.seconds, 3)}


class _CallCatcher:
    """Keeps the output of the ``call``-th call of ``module`` in each forward pass."""

    def __init__(self, module: nn.Module, call: int):
        self.call, self.seen, self.value = call, 0, None
        self.handle = module.register_forward_hook(self._hook)

    def _hook(self, module, args, output):
        if self.seen == self.call:
            self.value = output.detach()
        self.seen += 1

    def reset(self):
        self.seen, self.value = 0, None


def window_starts(length: int, size: int, stride: int) -> np.ndarray:
    """Starts of the windows along one axis, as Captum's ``Occlusion`` places them."""
    return np.arange(0, length - size + 1, stride)


def occlusion(lab: LabModel, image: np.ndarray | Prepared, size: int = 32, stride: int = 8,
              target: int | None = None, layer: str | None = None, batch_size: int = 16, fill: int = 128,
              progress: Progress | None = None,
              on_batch: Callable[[OcclusionResult], None] | None = None) -> OcclusionResult:
    """Slide a grey ``size``×``size`` square (grey level ``fill``, 0..255: mid-grey by default, as in ZFNet;
    0 is the black background of the digits) over the input with ``stride``, and map (1) the probability
    of ``target`` (default: the predicted class) and (2) the total activation of the strongest feature map of
    ``layer`` (default: the last convolutional layer). ``batch_size`` occluded images go through the model
    at once; after each batch ``progress(done, total)`` is called (raise in it to cancel) and ``on_batch``
    gets the result so far (NaN where not yet computed)."""
    if not lab.is_classifier:
        raise LabError(f"occlusion maps a class probability: {lab.entry.name} is a "
                       f"{lab.entry.task.replace('_', ' ')} model, not a classifier")
    prepared = lab.prepare(image)
    batch_size = min(batch_size, lab.max_batch)
    height, width = prepared.size
    if not (1 <= size <= min(height, width)) or stride < 1:
        raise LabError(f"the occluder must be 1 to {min(height, width)} pixels and the stride at least 1 "
                       f"(got size {size}, stride {stride})")
    graph = lab.graph(prepared)
    node = find_node(graph, layer) if layer else default_map_layer(graph)
    require_map(node)
    if node.kind != "module":
        raise LabError(f"{node.name} is a functional operation; choose a module layer for the feature map")
    call = int(node.name.split(":")[1]) if ":" in node.name else 0
    base_probs = torch.softmax(lab.logits(prepared).float(), 0)
    target = int(base_probs.argmax()) if target is None else int(target)
    if not 0 <= target < base_probs.numel():
        raise LabError(f"class {target} is outside the model's {base_probs.numel()} classes")
    base_map = lab.feature_map_tensor(prepared, node.name)
    channel = int(base_map.flatten(1).max(1).values.argmax())
    rows, columns = window_starts(height, size, stride), window_starts(width, size, stride)
    result = OcclusionResult(
        target=target, target_name=_name(lab, target), layer=node.name, channel=channel, size=size, stride=stride,
        rows=rows, columns=columns, probability=np.full((len(rows), len(columns)), np.nan, np.float32),
        activation=np.full((len(rows), len(columns)), np.nan, np.float32),
        base_probability=float(base_probs[target]), base_activation=float(base_map[channel].sum()),
        image_size=(height, width), fill=fill)
    positions = [(i, j) for i in range(len(rows)) for j in range(len(columns))]
    x = prepared.tensor.to(lab.device)
    if not 0 <= fill <= 255:
        raise LabError(f"the occluder's grey level must be 0 to 255, not {fill}")
    grey = prepared.grey_value(fill).to(x).view(1, -1, 1, 1)
    catcher = _CallCatcher(module_for_any_call(lab, node), call)
    start = time.perf_counter()
    try:
        with torch.no_grad():
            for first in range(0, len(positions), batch_size):
                chunk = positions[first:first + batch_size]
                batch = x.repeat(len(chunk), 1, 1, 1)
                for k, (i, j) in enumerate(chunk):
                    batch[k:k + 1, :, rows[i]:rows[i] + size, columns[j]:columns[j] + size] = grey
                catcher.reset()
                probs = torch.softmax(lab.model(batch).float(), 1)[:, target].cpu().numpy()
                totals = catcher.value[:, channel].flatten(1).sum(1).float().cpu().numpy()
                for k, (i, j) in enumerate(chunk):
                    result.probability[i, j] = probs[k]
                    result.activation[i, j] = totals[k]
                result.done = first + len(chunk)
                result.seconds = time.perf_counter() - start
                if on_batch:
                    on_batch(result)
                if progress:
                    progress(result.done, result.total)
    finally:
        catcher.handle.remove()
    return result


def module_for_any_call(lab: LabModel, node) -> nn.Module:
    from cnn_explorer.models.lab.kernels import module_of

    return module_of(lab.model, node.scope)


def _name(lab: LabModel, index: int) -> str:
    from cnn_explorer.models.lab.activations import class_name

    return class_name(lab.categories, index)


def captum_occlusion(lab: LabModel, image: np.ndarray | Prepared, size: int = 32, stride: int = 8,
                     target: int | None = None, perturbations_per_eval: int = 1, fill: int = 128) -> np.ndarray:
    """Captum's ``Occlusion`` of the target's probability with the same grey square, as an H×W map (the
    window spans all channels, so every channel holds the same map; the first is returned). For comparison
    with ``occlusion``: the benchmark times it, a test checks that ``OcclusionResult.pixel_map()`` equals it."""
    from captum.attr import Occlusion

    prepared = lab.prepare(image)
    x = prepared.tensor.to(lab.device)
    if target is None:
        target = int(lab.logits(prepared).argmax())
    channels = x.shape[1]
    grey = prepared.grey_value(fill).to(x).view(1, -1, 1, 1)

    def probability(inputs):
        return torch.softmax(lab.model(inputs).float(), 1)

    with torch.no_grad():
        attribution = Occlusion(probability).attribute(
            x, sliding_window_shapes=(channels, size, size), strides=(channels, stride, stride), baselines=grey,
            target=target, perturbations_per_eval=perturbations_per_eval)
    return attribution[0, 0].float().cpu().numpy()


# -- Grad-CAM ---------------------------------------------------------------------------------------------------

@dataclass
class GradCamResult:
    layer: str
    target: int
    target_name: str
    cam: np.ndarray  # h×w at the layer's resolution (ReLU applied)
    heatmap: np.ndarray  # H×W, upsampled to the input (bilinear)

    def to_json(self) -> dict:
        return {"method": "gradcam", "layer": self.layer, "target": self.target, "target_name": self.target_name,
                "shape": list(self.heatmap.shape), "min": float(self.heatmap.min()), "max": float(self.heatmap.max())}


def grad_cam(lab: LabModel, image: np.ndarray | Prepared, target: int | None = None,
             layer: str | None = None) -> GradCamResult:
    """Grad-CAM of ``target`` (default: the predicted class) at ``layer`` (default: the last convolutional
    layer with a spatial map). Classifiers only."""
    if not lab.is_classifier:
        raise LabError(f"Grad-CAM explains a class score: {lab.entry.name} is a "
                       f"{lab.entry.task.replace('_', ' ')} model, not a classifier")
    from captum.attr import LayerAttribution, LayerGradCam

    prepared = lab.prepare(image)
    graph = lab.graph(prepared)
    node = find_node(graph, layer) if layer else default_map_layer(graph)
    require_map(node)
    module = module_for(lab.model, graph, node)
    logits = lab.logits(prepared)
    target = int(logits.argmax()) if target is None else int(target)
    if not 0 <= target < logits.numel():
        raise LabError(f"class {target} is outside the model's {logits.numel()} classes")
    x = prepared.tensor.to(lab.device).clone().requires_grad_(True)
    with no_inplace(lab.model):
        cam = LayerGradCam(lab.model, module).attribute(x, target=target, relu_attributions=True)
    cam = cam.detach().float()
    heatmap = LayerAttribution.interpolate(cam, tuple(prepared.size), "bilinear")
    return GradCamResult(node.name, target, _name(lab, target), cam[0, 0].cpu().numpy(),
                         np.ascontiguousarray(heatmap[0, 0].cpu().numpy()))
