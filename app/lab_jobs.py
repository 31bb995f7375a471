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

from cnn_explorer.app.requests import Cancelled
from cnn_explorer.widgets.lab_data import FieldData, Histogram, InputData, KernelData, LabView, ToolResult
from cnn_explorer.widgets.mosaic import colormap_lut, make_mosaic

Stop = Callable[[], bool]  # True when the job should give up (a model is being loaded)


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
    import skimage.data  # noqa: F401
    import sklearn.datasets  # noqa: F401

    from cnn_explorer.models.lab import attribution, fields, images, top9  # noqa: F401


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
    if "shapes" in entry.name:
        return "shape_circle"
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
    from cnn_explorer.models.ops import has_feature_map, node_kind

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


def _global_range(job, lab, prepared) -> tuple[float, float]:
    forward = lab.forward(prepared)
    cached = job.state.get("lab_range")
    if cached is None or cached[0] != forward.key:
        lows = [float(v.min()) for v in forward.values.values() if v.numel()]
        highs = [float(v.max()) for v in forward.values.values() if v.numel()]
        cached = job.state["lab_range"] = (forward.key, (min(lows, default=0.0), max(highs, default=1.0)))
    return cached[1]


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
                     note)
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
    from cnn_explorer.models.lab.kernels import first_conv, first_layer_tiles, kernel_grid, module_of

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
    out_c, in_c, kh, kw = module.weight.shape
    if in_c in (1, 3) and module.groups == 1:
        tiles = first_layer_tiles(model, target)
        image = tiles.mosaic(gap=1, zoom=max(1, 24 // max(kh, kw)))
        title = f"{target}: {out_c} filters of {kh}×{kw}×{in_c}, each scaled to its own range"
        pages = (1, 1)
    else:
        grid = kernel_grid(model, target, page)
        gray = grid.mosaic(gap=1, zoom=max(1, 12 // max(kh, kw)))
        image = np.repeat(gray[:, :, None], 3, axis=2)
        title = (f"{target}: {out_c}×{in_c}×{kh}×{kw} kernels; rows: outputs {grid.out_range[0]}–"
                 f"{grid.out_range[1] - 1}, columns: inputs {grid.in_range[0]}–{grid.in_range[1] - 1}"
                 + (f" (groups {grid.groups})" if grid.groups > 1 else ""))
        page, pages = grid.page, grid.pages
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
    from cnn_explorer.models.lab.attribution import unit_to_uint8
    from cnn_explorer.models.lab.fields import effective_receptive_field, receptive_field

    lab = lab_of(job)
    _, image = _image(job, lab, None)
    prepared = lab.prepare(image)
    field = receptive_field(lab, prepared, layer, unit)
    value = float(lab.feature_map_tensor(prepared, layer)[field.unit])
    job.progress("Effective receptive field")
    erf = effective_receptive_field(lab, prepared, layer, field.unit)
    box = lambda b: None if b is None else (b.top, b.left, b.bottom, b.right)  # noqa: E731
    return FieldData(layer, field.unit, value, box(field.clipped), box(field.box), field_text(field.field),
                     np.ascontiguousarray(unit_to_uint8(np.sqrt(erf.heatmap))), box(erf.support))


# -- the tools --------------------------------------------------------------------------------------------------

def _tool_layer(lab, prepared, layer: str):
    """The selected layer when a tool can use it (a module layer with a map), else None (the tool's default)."""
    from cnn_explorer.models.ops import has_feature_map

    node = resolve_layer(lab, prepared, layer)
    return node.name if node.kind == "module" and has_feature_map(node) else None


def _colored(values: np.ndarray, low: float, high: float, name: str = "viridis") -> np.ndarray:
    """A 2-d map through a colour map (NaN: grey), as H×W×3 uint8."""
    lut = colormap_lut(name)
    span = high - low if high > low else 1.0
    index = np.clip(np.nan_to_num((values - low) / span, nan=0.0) * 255, 0, 255).astype(np.uint8)
    image = lut[index]
    image[np.isnan(values)] = 128
    return np.ascontiguousarray(image)


def projection(job, layer: str, unit: tuple[int, int, int] | None, method: str) -> ToolResult:
    from cnn_explorer.models.lab.attribution import project

    lab = lab_of(job)
    _, image = _image(job, lab, None)
    prepared = lab.prepare(image)
    name = "Deconvnet" if method == "deconv" else "Guided backprop"
    job.progress(f"{name} projection")
    node = resolve_layer(lab, prepared, layer)
    result = project(lab, prepared, node.name, unit, method)
    c, y, x = result.unit
    which = "chosen" if unit is not None else "strongest"
    return ToolResult(method, f"{name}: the {which} unit ({c}, {y}, {x}) of {node.name} "
                              f"(activation {result.activation:.3g}) projected to pixels",
                      [("input", prepared.display), (f"{name.lower()} projection (grey = 0)", result.picture)],
                      "; ".join(result.notes))


def gradcam(job, layer: str) -> ToolResult:
    from cnn_explorer.models.lab.attribution import grad_cam

    lab = lab_of(job)
    _, image = _image(job, lab, None)
    prepared = lab.prepare(image)
    job.progress("Grad-CAM")
    result = grad_cam(lab, prepared, layer=_tool_layer(lab, prepared, layer))
    heat = result.heatmap
    colored = _colored(heat, 0.0, float(heat.max()) or 1.0, "inferno")
    blend = (0.45 * prepared.display.astype(np.float32) + 0.55 * colored).astype(np.uint8)
    return ToolResult("gradcam", f"Grad-CAM of “{result.target_name}” at {result.layer}",
                      [("input", prepared.display), ("Grad-CAM over the input", np.ascontiguousarray(blend))],
                      f"map {result.cam.shape[0]}×{result.cam.shape[1]} at {result.layer}, upsampled")


def occlusion(job, layer: str, size: int, stride: int, partial: Callable[[ToolResult], None],
              stop: Stop) -> ToolResult:
    """ZFNet's Fig. 7: the class probability and the strongest feature map's activation with a grey square at
    each position; ``partial`` gets the maps so far after each batch (then ``job.progress`` is reported)."""
    from cnn_explorer.models.lab.attribution import occlusion as occlude

    lab = lab_of(job)
    _, image = _image(job, lab, None)
    prepared = lab.prepare(image)

    def picture(result) -> ToolResult:
        act = result.activation
        low, high = (float(np.nanmin(act)), float(np.nanmax(act))) if result.done else (0.0, 1.0)
        done = f"{result.done}/{result.total} positions"
        return ToolResult("occlusion", f"Occlusion: square {result.size} px, stride {result.stride} px — "
                                       f"“{result.target_name}” and {result.layer} map {result.channel}",
                          [(f"P({result.target_name}) with the square there (0 … 1); "
                            f"unoccluded {result.base_probability:.2f}", _colored(result.probability, 0.0, 1.0)),
                           (f"total activation of {result.layer} map {result.channel}", _colored(act, low, high))],
                          f"{done}, {result.seconds:.1f} s", complete=result.complete)

    def on_batch(result) -> None:
        partial(picture(result))

    def progress(done: int, total: int) -> None:
        if stop():
            raise Cancelled()
        job.progress(f"Occlusion {done}/{total}", int(100 * done / max(total, 1)))

    result = occlude(lab, prepared, size, stride, layer=_tool_layer(lab, prepared, layer), on_batch=on_batch,
                     progress=progress)
    return picture(result)


def _pair(patch, side: int = 72) -> np.ndarray:
    from PIL import Image

    def fit(a):
        return np.asarray(Image.fromarray(a).resize((side, side), Image.NEAREST))

    out = np.full((side, 2 * side + 2, 3), 255, np.uint8)
    out[:, :side] = fit(patch.image)
    out[:, side + 2:] = fit(patch.projection)
    return out


def top9(job, folder: str, layer: str, channel: int | None, stop: Stop) -> ToolResult:
    """The nine images of ``folder`` that excite ``channel`` of the layer most (its strongest channel for
    this image when None), each as its receptive-field patch beside its deconvnet projection."""
    from cnn_explorer.models.lab import top9 as search
    from cnn_explorer.models.lab.errors import LabError
    from cnn_explorer.models.lab.images import list_images

    lab = lab_of(job)
    _, image = _image(job, lab, None)
    prepared = lab.prepare(image)
    list_images(folder)  # an empty folder says so before anything runs
    name = _tool_layer(lab, prepared, layer)
    if name is None:
        raise LabError(f"top-9 needs a module layer with a feature map; {layer or 'this layer'} is not one")
    if channel is None:
        values = lab.feature_map_tensor(prepared, name)
        channel = int(values.flatten(1).max(1).values.argmax())

    def progress(done: int, total: int) -> None:
        if stop():
            raise Cancelled()
        job.progress(f"Top-9: {done}/{total} images", int(100 * done / max(total, 1)))

    result = search.top9(lab, folder, name, channel, progress=progress)
    pairs = [_pair(p) for p in result.patches]
    side = pairs[0].shape if pairs else (72, 146, 3)
    grid = np.full((3 * (side[0] + 6) - 6, 3 * (side[1] + 8) - 8, 3), 255, np.uint8)
    for i, pair in enumerate(pairs[:9]):
        r, c = divmod(i, 3)
        grid[r * (side[0] + 6):r * (side[0] + 6) + side[0], c * (side[1] + 8):c * (side[1] + 8) + side[1]] = pair
    note = (f"{result.images} images scored{' (cached)' if result.cached else ''} in {result.seconds:.1f} s"
            + (f"; {len(result.unreadable)} unreadable" if result.unreadable else "")
            + ("; " + "; ".join(result.notes) if result.notes else "")
            + "; files: " + ", ".join(p.file for p in result.patches))
    return ToolResult("top9", f"Top-9 of {name} channel {channel} in {Path(folder).name}: patch | deconvnet",
                      [("receptive-field patch | its deconvnet projection", np.ascontiguousarray(grid))], note)
