"""The lab's jobs, run by the request runner on the thread that owns the model (no Qt here).

Each job finds the ``LabModel`` of the loaded model in ``job.state["lab"]`` (made anew when the loaded model
changed), computes with ``models/lab`` and returns plain data (``widgets/lab_data``): uint8 pictures and
numbers, never a tensor. The image the lab looks at lives in ``job.state["lab_image"]`` as (label, array),
so that a file that cannot be read leaves the previous image in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from cnn_explorer.widgets.lab.data import (FieldData, Histogram, InputData, KernelData, LabView, MosaicData,
                                           ToolResult)



@dataclass(frozen=True)
class ViewRequest:
    """One refresh: ``source`` ("sample", name) | ("file", path) | ("default", "") for the model's own sample
    | None to keep the image; ``layer`` "" for the first convolution."""

    source: tuple[str, str] | None
    layer: str
    normalize: str = "channel"
    sort: str = "none"


def warm_up(job) -> None:
    """Import what the lab needs (captum, the samples' packages) before the first image is asked for."""
    import captum.attr  # noqa: F401
    import pytorch_grad_cam.metrics.road  # noqa: F401  (the CAM family and ROAD: seconds to import)
    import skimage.data  # noqa: F401
    import sklearn.datasets  # noqa: F401

    from cnn_explorer.models.lab import attribution, cams, fields, images, optimize, top9  # noqa: F401


def lab_of(job):
    """The LabModel of the loaded model (rebuilt when the model changed)."""
    from cnn_explorer.models.lab.activations import LabModel
    from cnn_explorer.models.lab.errors import LabError

    loaded = job.state.get("loaded")
    if loaded is None:
        raise LabError("no model is loaded yet")
    lab = job.state.get("lab")
    if lab is None or lab.loaded is not loaded:
        job.state.pop("lab", None)
        lab = job.state["lab"] = LabModel(loaded)
    return lab


def default_sample(entry) -> str:
    """The bundled image that suits ``entry``: a held-out digit, a generated shape, or the cat."""
    if "digits" in entry.name or entry.in_channels == 1:
        return "digit_3"
    if entry.name in ("shapes_yolo", "shapes_unet"):  # trained on the live view's synthetic frames
        return "live_shapes"
    if "shapes" in entry.name:
        return "shape_circle"
    if entry.name == "mtcnn":
        return "astronaut"
    return "cat"


def _image(job, lab, source: tuple[str, str] | None) -> tuple[str, np.ndarray]:
    from cnn_explorer.models.lab.images import open_image, sample_image

    current = job.state.get("lab_image")
    if source is None and current is not None:
        return current
    kind, name = source or ("default", "")
    if kind == "file":
        image = (Path(name).name, open_image(name))
    else:
        name = name if kind == "sample" and name else default_sample(lab.entry)
        image = (f"sample: {name}", sample_image(name))
    job.state["lab_image"] = image
    return image


def resolve_layer(lab, prepared, layer: str):
    """The graph node the lab shows for ``layer``: a layer, the output of a block (its last layer with a
    map), or the first convolution when nothing is selected."""
    from cnn_explorer.models.lab.activations import find_node
    from cnn_explorer.models.analysis.ops import has_feature_map, node_kind

    graph = lab.graph(prepared)
    nodes = [n for n in graph.nodes if n.kind != "input"]
    if not layer:
        convs = [n for n in nodes if node_kind(n) == "conv" and has_feature_map(n)]
        return convs[0] if convs else nodes[0]
    inside = [n for n in nodes if n.name.startswith(layer + ".")]
    if not any(n.name == layer for n in nodes) and inside:
        with_map = [n for n in inside if has_feature_map(n)]
        return (with_map or inside)[-1]
    return find_node(graph, layer)


def make_mosaic(values: np.ndarray, layer: str, title: str, normalize: str = "channel", sort: str = "none",
                global_range: tuple[float, float] | None = None) -> MosaicData:
    """The mosaic of a C×H×W feature map for the window (``widgets/mosaic``), as ``visualize --method
    featuremaps`` draws it (``tools.mosaic_picture``); numpy only, made on the worker thread."""
    from cnn_explorer.models.lab import pictures
    from cnn_explorer.models.lab.tools import mosaic_picture

    values = np.ascontiguousarray(values, dtype=np.float32)
    image, order, columns, low, high = mosaic_picture(values, normalize, sort, global_range)
    return MosaicData(layer, title, image, values, order, columns, tuple(values.shape[1:]),
                      pictures.mosaic_gap(values.shape[1:]), normalize, low, high)


def _global_range(job, lab, prepared) -> tuple[float, float]:
    forward = lab.forward(prepared)
    cached = job.state.get("lab_range")
    if cached is None or cached[0] != forward.key:
        lows = [float(v.min()) for v in forward.values.values() if v.numel()]
        highs = [float(v.max()) for v in forward.values.values() if v.numel()]
        cached = job.state["lab_range"] = (forward.key, (min(lows, default=0.0), max(highs, default=1.0)))
    return cached[1]


def class_names(lab, prepared) -> tuple[str, ...]:
    """The classes the lab's class box lists: the model's names, or "class i" when it names none."""
    from cnn_explorer.models.lab.activations import class_name
    from cnn_explorer.models.lab.errors import LabError

    if not lab.is_classifier:
        return ()
    try:
        count = lab.logits(prepared).numel()
    except LabError:
        return ()
    names = lab.categories
    return tuple(class_name(names, i) for i in range(count))


def _shape(node) -> str:
    return "×".join(str(s) for s in (node.output_shape or ())[1:])


def refresh(job, request: ViewRequest) -> tuple[LabView, list[str]]:
    """The input, top-5, preprocessing, the layer's mosaic and its kernels; and the sample names."""
    from cnn_explorer.models.lab.activations import require_map
    from cnn_explorer.models.lab.errors import LabError
    from cnn_explorer.models.lab.images import sample_names
    from cnn_explorer.models.lab.preprocess import describe_steps

    lab = lab_of(job)
    label, image = _image(job, lab, request.source)
    job.progress("Preparing the image")
    prepared = lab.prepare(image)
    job.progress("Running the network")
    predictions, note = [], ""
    if lab.is_classifier:
        try:
            predictions = [(p.name, p.probability) for p in lab.predict(prepared)]
        except LabError as error:
            note = str(error)
    else:
        lab.forward(prepared)
        note = f"{lab.entry.name} is a {lab.entry.task.replace('_', ' ')} model: no top-5."
    data = InputData(label, prepared.display, prepared.original_size, describe_steps(prepared.steps), predictions,
                     note, class_names(lab, prepared))
    node = resolve_layer(lab, prepared, request.layer)
    mosaic, message = None, ""
    try:
        require_map(node)
        values = lab.feature_map(prepared, node.name)
        job.check()
        grange = _global_range(job, lab, prepared) if request.normalize == "global" else None
        mosaic = make_mosaic(values, node.name, f"{node.name} · {node.op} · {_shape(node)}", request.normalize,
                             request.sort, grange)
    except LabError as error:
        message = str(error)
    view = LabView(data, node.name, mosaic, message, kernel_view(lab, node.name))
    return view, sample_names()


# -- kernels ----------------------------------------------------------------------------------------------------

def _histogram(model, layer: str) -> Histogram | None:
    from cnn_explorer.models.lab.errors import LabError
    from cnn_explorer.models.lab.kernels import weight_histogram

    try:
        h = weight_histogram(model, layer)
    except LabError:
        return None
    return Histogram(h.counts, h.edges, f"{h.layer}: {h.count:,} weights · mean {h.mean:.3g} · std {h.std:.3g} · "
                                       f"min {h.min:.3g} · max {h.max:.3g}")


def kernel_view(lab, layer: str, page: tuple[int, int] = (0, 0)) -> KernelData:
    """The layer's kernels (a convolution), else the first convolution's, with a weight histogram."""
    from torch import nn

    from cnn_explorer.models.lab.errors import LabError
    from cnn_explorer.models.lab.kernels import first_conv, module_of
    from cnn_explorer.models.lab.tools import kernel_picture

    model = lab.model
    try:
        module = module_of(model, layer)
    except LabError:
        module = None
    note = ""
    target = layer
    if not isinstance(module, nn.Conv2d):
        try:
            target = first_conv(model)
        except LabError as error:
            return KernelData(layer, "No kernels", None, str(error), histogram=_histogram(model, layer))
        note = f"{layer} has no convolution kernels; the first convolution's are shown."
        module = module_of(model, target)
    made = kernel_picture(model, target, page)
    image, title, page, pages = made["image"], made["title"], made["page"], made["pages"]
    histogram = _histogram(model, layer if module_is_weighted(model, layer) else target)
    return KernelData(target, title, np.ascontiguousarray(image), note, tuple(page), tuple(pages), histogram)


def module_is_weighted(model, layer: str) -> bool:
    from cnn_explorer.models.lab.errors import LabError
    from cnn_explorer.models.lab.kernels import module_of

    try:
        return getattr(module_of(model, layer), "weight", None) is not None
    except LabError:
        return False


def kernels(job, layer: str, page: tuple[int, int]) -> KernelData:
    return kernel_view(lab_of(job), layer, page)


# -- receptive fields -------------------------------------------------------------------------------------------

def field_text(field) -> str:
    if isinstance(field, dict):
        s, t, p = field["size"], field["stride"], field["padding"]
        return f"size {s[0]}×{s[1]} · stride {t[0]}×{t[1]} · padding {p[0]}×{p[1]}"
    return "global (the whole image)"


def unit_field(job, layer: str, unit: tuple[int, int, int]) -> FieldData:
    """The theoretical box of a unit and its effective receptive field."""
    from cnn_explorer.models.lab.fields import effective_receptive_field, receptive_field
    from cnn_explorer.models.lab.tools import erf_uint8

    lab = lab_of(job)
    _, image = _image(job, lab, None)
    prepared = lab.prepare(image)
    field = receptive_field(lab, prepared, layer, unit)
    value = float(lab.feature_map_tensor(prepared, layer)[field.unit])
    job.progress("Effective receptive field")
    erf = effective_receptive_field(lab, prepared, layer, field.unit)
    box = lambda b: None if b is None else (b.top, b.left, b.bottom, b.right)  # noqa: E731
    return FieldData(layer, field.unit, value, box(field.clipped), box(field.box), field_text(field.field),
                     erf_uint8(erf.heatmap), box(erf.support))


# -- the tools ------------------------------------------------------------------------------------------------
# Each is the registry's (models/lab/tools.py), which ``cnn-explorer visualize`` runs too: the same panels.

def _tool_layer(lab, prepared, layer: str):
    """The selected layer when a tool can use it (a module layer with a map), else None (the tool's default)."""
    from cnn_explorer.models.analysis.ops import has_feature_map

    node = resolve_layer(lab, prepared, layer)
    return node.name if node.kind == "module" and has_feature_map(node) else None


def _run_tool(job, name: str, options) -> ToolResult:
    from cnn_explorer.models.lab.tools import TOOLS

    lab = lab_of(job)
    _, image = _image(job, lab, None)
    prepared = lab.prepare(image)
    job.progress(TOOLS[name].label)
    options.image = image  # the image as given: a detector's boxes are found on it, as detect finds them
    if name in ("boxcam", "segcam", "grid"):
        options.layer = None  # where the head reads (models/lab/explain.py), whatever layer is selected
    elif name in ("deconv", "guided"):
        options.layer = resolve_layer(lab, prepared, options.layer).name  # a block: its output
    else:
        options.layer = _tool_layer(lab, prepared, options.layer)
        if options.layer is None and name == "top9":
            from cnn_explorer.models.lab.errors import LabError

            raise LabError("top-9 needs a module layer with a feature map; this layer is not one")
    return as_tool_result(TOOLS[name].run(lab, prepared, options))


def as_tool_result(picture) -> ToolResult:
    return ToolResult(picture.tool, picture.title, picture.panels, picture.note, complete=picture.complete,
                      scales=dict(picture.scales), choices=list(picture.choices), chosen=picture.chosen)


def explain(job, tool: str, choice: int | None, threshold: float = 0.5) -> ToolResult:
    """What made a detected box (``boxcam``: box ``choice`` of detect's list at ``threshold``, the best when
    None) or a class's region (``segcam``: class ``choice``, the largest one when None); ``grid``: scale or cell
    ``choice`` (None: every scale, the strongest cell)."""
    from cnn_explorer.models.lab.tools import Options

    if tool == "grid":  # the choice is a scale (SSD) or a cell's number (YOLO): models/lab/grids.py
        return _run_tool(job, tool, Options(unit=None if choice is None else (choice,)))
    options = Options(box=choice, threshold=threshold) if tool == "boxcam" else Options(target=choice)
    return _run_tool(job, tool, options)


def projection(job, layer: str, unit: tuple[int, int, int] | None, method: str) -> ToolResult:
    from cnn_explorer.models.lab.tools import Options

    return _run_tool(job, method, Options(layer=layer, unit=unit))


def gradcam(job, layer: str, target: int | None = None) -> ToolResult:
    return class_map(job, "gradcam", layer, target)


def class_map(job, method: str, layer: str, target: int | None = None) -> ToolResult:
    """Grad-CAM, the CAM family or a pixel attribution of class ``target`` (None: the top-1), with its ROAD
    score; Score-CAM's batches and the score's steps report progress and can be cancelled."""
    from cnn_explorer.models.lab.tools import TOOLS, Options

    return _run_tool(job, method, Options(layer=layer, target=target,
                                          progress=_cancellable(job, f"{TOOLS[method].label}:")))


def _cancellable(job, what: str):
    """Progress of a long tool; ``job.progress`` raises ``Cancelled`` once the job was cancelled, superseded or
    preempted (a model load cancels the lab's channels)."""
    def progress(done: int, total: int) -> None:
        job.progress(f"{what} {done}/{total}", int(100 * done / max(total, 1)))
    return progress


def occlusion(job, layer: str, size: int, stride: int, partial: Callable[[ToolResult], None],
              target: int | None = None) -> ToolResult:
    """ZFNet's Fig. 7 for class ``target`` (None: the top-1); ``partial`` gets the maps so far after each batch."""
    from cnn_explorer.models.lab.tools import Options

    return _run_tool(job, "occlusion", Options(layer=layer, occluder=size, stride=stride, target=target,
                                               progress=_cancellable(job, "Occlusion"),
                                               on_partial=lambda picture: partial(as_tool_result(picture))))


def top9(job, folder: str, layer: str, channel: int | None) -> ToolResult:
    """The nine images of ``folder`` that excite ``channel`` of the layer most (its strongest for this image
    when None)."""
    from cnn_explorer.models.lab.tools import Options

    return _run_tool(job, "top9", Options(layer=layer, unit=None if channel is None else (channel,), images=folder,
                                          progress=_cancellable(job, "Top-9:")))


def optimize(job, layer: str, unit: tuple[int, int, int] | None, objective: str, class_text: str, steps: int,
             images: int, negative: bool, partial: Callable[[ToolResult], None]) -> ToolResult:
    """Feature visualization by optimization of the clicked channel or unit of ``layer``, the layer, or a class
    (``class_text``, a name or a number); ``partial`` gets the evolving images a few times a second, and the
    progress text says "step k/N, objective v". Cancel stops it: the last images stay shown."""
    from cnn_explorer.models.lab.errors import LabError
    from cnn_explorer.models.lab.tools import Options

    lab = lab_of(job)
    target = None
    if objective == "class":
        if not class_text:
            raise LabError("type or choose a class to optimize")
        target = lab.class_index(class_text)
    elif objective in ("channel", "neuron") and unit is None:
        raise LabError("click a unit of a feature map first: optimize makes an image for its channel or for it")
    chosen = None if objective in ("class", "layer") else (unit if objective == "neuron" else (unit[0],))
    if objective != "class":
        _, image = _image(job, lab, None)
        if _tool_layer(lab, lab.prepare(image), layer) is None:  # not the default layer: the unit is this one's
            raise LabError("optimize needs a module layer with a feature map for a channel, a unit or a layer; "
                           "choose one, or a class")

    def on_partial(picture) -> None:
        partial(as_tool_result(picture))  # stored first: a cancel below keeps these images
        step, total = picture.describe["step"], picture.describe["steps"]
        job.progress(f"Optimize: {picture.note}", int(100 * step / max(total, 1)))

    return _run_tool(job, "optimize", Options(layer=layer, unit=chosen, target=target, objective=objective,
                                              steps=steps, diversity=images, negative=negative,
                                              on_partial=on_partial))
