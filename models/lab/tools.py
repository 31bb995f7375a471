"""The lab's tools, registered once: each makes plain numpy panels from a model and an image, and both
presenters draw them: the window's lab (``app/lab/jobs.py``) shows the panels, ``cnn-explorer visualize``
composes them into a picture for a slide (``pictures.compose``) or saves the raw array. No Qt.

A tool is ``Tool(name, label, needs_unit, in_window, run)``; ``run(lab, prepared, options) -> Picture``.
``TOOLS`` holds them in the order the command line lists them; a new tool is one more entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from cnn_explorer.models.lab import pictures
from cnn_explorer.models.lab.errors import LabError

Progress = Callable[[int, int], None]  # (done, total); raising in it cancels the tool


@dataclass
class Options:
    """What a tool may be asked for; each takes what it needs. ``layer`` is a node's name (None: the tool's
    default layer), ``unit`` (c, y, x) or (c,) (None: the strongest)."""

    layer: str | None = None
    unit: tuple[int, ...] | None = None
    target: int | None = None  # the class (occlusion, Grad-CAM); None: the top-1
    occluder: int = 32
    stride: int = 8
    fill: int = 128
    images: str | None = None  # top-9's folder
    page: tuple[int, int] = (0, 0)  # kernels: which page of a large grid
    objective: str | None = None  # optimize: channel | neuron | layer | class (None: told by target/unit/layer)
    steps: int | None = None  # optimize: steps of gradient ascent (None: its default)
    negative: bool = False  # optimize: drive the objective down instead
    diversity: int = 1  # optimize: how many images, pushed apart
    image: np.ndarray | None = None  # the image as given (H×W×3 uint8): boxcam explains detect's boxes on it
    box: int | None = None  # boxcam: which of detect's boxes (None: the first, the best)
    threshold: float = 0.5  # boxcam: detect's score threshold
    progress: Progress | None = None
    on_partial: Callable[["Picture"], None] | None = None  # occlusion: the maps so far, after each batch;
    # optimize: the images so far, a few times a second


@dataclass
class Picture:
    """What a tool made: its panels (caption, H×W×3 uint8), the raw numbers (for ``.npy``) and a description
    (for ``--json``)."""

    tool: str
    title: str
    panels: list[tuple[str, np.ndarray]]
    array: np.ndarray
    describe: dict = field(default_factory=dict)
    note: str = ""
    complete: bool = True
    scales: dict[int, tuple[float, float, str, str]] = field(default_factory=dict)  # panel → (low, high, map, label)
    choices: list[tuple[str, int]] = field(default_factory=list)  # boxcam, segcam: what else can be explained
    chosen: int = -1  # the choice explained


@dataclass(frozen=True)
class Tool:
    name: str
    label: str
    needs_unit: bool  # reads a whole unit (c, y, x) when one is given
    in_window: bool  # a tool of the window's lab (the others are its views: maps, kernels, fields)
    run: Callable[[object, object, Options], Picture]


def _layer(lab, prepared, options: Options) -> str:
    """The layer asked for, else the last convolutional layer with a spatial map."""
    from cnn_explorer.models.lab.activations import default_map_layer, find_node

    graph = lab.graph(prepared)
    return find_node(graph, options.layer).name if options.layer else default_map_layer(graph).name


def _whole_unit(options: Options, name: str) -> tuple[int, int, int] | None:
    if options.unit is not None and len(options.unit) != 3:
        raise LabError(f"{name} needs a whole unit: C,Y,X")
    return options.unit


# -- the window's tools ------------------------------------------------------------------------------------------

def _projection(method: str):
    label = "Deconvnet" if method == "deconv" else "Guided backprop"

    def run(lab, prepared, options: Options) -> Picture:
        from cnn_explorer.models.lab.attribution import project

        layer = _layer(lab, prepared, options)
        unit = _whole_unit(options, method)
        result = project(lab, prepared, layer, unit, method)
        c, y, x = result.unit
        which = "chosen" if unit is not None else "strongest"
        return Picture(method, f"{label}: the {which} unit ({c}, {y}, {x}) of {layer} "
                               f"(activation {result.activation:.3g}) projected to pixels",
                       [("input", prepared.display), (f"{label.lower()} projection (grey = 0)", result.picture)],
                       result.attribution, result.to_json(), "; ".join(result.notes))
    return run


def _gradcam(lab, prepared, options: Options) -> Picture:
    from cnn_explorer.models.lab.attribution import grad_cam
    from cnn_explorer.models.lab.cams import road

    result = grad_cam(lab, prepared, target=options.target, layer=options.layer)
    score = road(lab, prepared, result.heatmap, result.target, progress=options.progress)
    top = float(result.heatmap.max()) or 1.0
    return Picture("gradcam", f"Grad-CAM of “{result.target_name}” at {result.layer}",
                   [("input", prepared.display),
                    (f"Grad-CAM · {score.text()}", pictures.overlay(prepared.display, result.heatmap))],
                   result.heatmap, {**result.to_json(), "faithfulness": score.to_json()},
                   f"map {result.cam.shape[0]}×{result.cam.shape[1]} at {result.layer}, upsampled",
                   scales={1: (0.0, top, pictures.HEAT_MAP, "Grad-CAM")})


def _class_map(method: str):
    """The CAM family and the pixel attributions (``models/lab/cams.py``), each with its ROAD score."""
    def run(lab, prepared, options: Options) -> Picture:
        from cnn_explorer.models.lab.cams import PIXEL_MAPS, class_map

        result = class_map(lab, prepared, method, options.target, options.layer, options.progress)
        heat = result.heatmap
        # Pixel attributions have a few extreme pixels: the colours stop at the 99th percentile.
        top = float(np.percentile(heat, 99) if method in PIXEL_MAPS else heat.max()) or float(heat.max()) or 1.0
        where = f" at {result.layer}" if result.layer else ""
        return Picture(method, f"{result.label} of “{result.target_name}”{where}",
                       [("input", prepared.display),
                        (f"{result.label} · {result.faithfulness.text()}",
                         pictures.overlay(prepared.display, heat, top=top))],
                       heat, result.to_json(), "; ".join(result.notes) + f"; {result.seconds:.1f} s",
                       scales={1: (0.0, top, pictures.HEAT_MAP, result.label)})
    return run


def _occlusion(lab, prepared, options: Options) -> Picture:
    """ZFNet's Fig. 7: the class probability and the strongest feature map's activation with a grey square at
    each position, drawn as they fill in (``options.on_partial``)."""
    from cnn_explorer.models.lab.attribution import occlusion

    def picture(result) -> Picture:
        # Each map's colours span its own values (a confident net keeps P near 1 everywhere: on 0 … 1 the map
        # was one colour); the colour bars give the numbers.
        prob, act = result.probability, result.activation
        (p_low, p_high), (low, high) = [(float(np.nanmin(v)), float(np.nanmax(v))) if result.done else (0.0, 1.0)
                                        for v in (prob, act)]
        return Picture("occlusion", f"Occlusion: square {result.size} px, stride {result.stride} px — "
                                    f"“{result.target_name}” and {result.layer} map {result.channel}",
                       [(f"P({result.target_name}) with the square there; unoccluded {result.base_probability:.2f}",
                         pictures.colored(prob, p_low, p_high)),
                        (f"total activation of {result.layer} map {result.channel}", pictures.colored(act, low, high))],
                       np.stack([result.probability, result.activation]),
                       {**result.to_json(), "maps": ["probability", "activation"]},
                       f"{result.done}/{result.total} positions, {result.seconds:.1f} s", complete=result.complete,
                       scales={0: (p_low, p_high, "viridis", f"P({result.target_name})"),
                               1: (low, high, "viridis", "total activation")})

    on_batch = (lambda result: options.on_partial(picture(result))) if options.on_partial else None
    result = occlusion(lab, prepared, size=options.occluder, stride=options.stride, target=options.target,
                       layer=options.layer, fill=options.fill, on_batch=on_batch, progress=options.progress)
    return picture(result)


def _pair(patch, side: int = 72) -> np.ndarray:
    from PIL import Image

    def fit(a):
        return np.asarray(Image.fromarray(a).resize((side, side), Image.NEAREST))

    out = np.full((side, 2 * side + 2, 3), 255, np.uint8)
    out[:, :side] = fit(patch.image)
    out[:, side + 2:] = fit(patch.projection)
    return out


def _top9(lab, prepared, options: Options) -> Picture:
    """The nine images of a folder that excite a channel of the layer most (its strongest channel for this
    image when none is given), each as its receptive-field patch beside its deconvnet projection."""
    from cnn_explorer.models.lab.activations import find_node
    from cnn_explorer.models.lab.images import list_images
    from cnn_explorer.models.lab.top9 import top9

    if not options.images:
        raise LabError("top-9 needs a folder of images to search")
    list_images(options.images)  # an empty folder says so before anything runs
    layer = _layer(lab, prepared, options)
    node = find_node(lab.graph(prepared), layer)
    if node.kind != "module":
        raise LabError(f"top-9 needs a module layer with a feature map; {layer} is not one")
    channel = options.unit[0] if options.unit else lab.strongest_unit(prepared, layer)[0]
    result = top9(lab, options.images, layer, channel, progress=options.progress)
    pairs = [_pair(p) for p in result.patches]
    side = pairs[0].shape if pairs else (72, 146, 3)
    grid = np.full((3 * (side[0] + 6) - 6, 3 * (side[1] + 8) - 8, 3), 255, np.uint8)
    for i, pair in enumerate(pairs[:9]):
        r, c = divmod(i, 3)
        grid[r * (side[0] + 6):r * (side[0] + 6) + side[0], c * (side[1] + 8):c * (side[1] + 8) + side[1]] = pair
    size = max((max(p.image.shape[:2]) for p in result.patches), default=1)
    raw = np.full((2, len(result.patches), size, size, 3), 255, np.uint8)  # patches, projections
    for i, p in enumerate(result.patches):
        raw[0, i, :p.image.shape[0], :p.image.shape[1]] = p.image
        raw[1, i, :p.projection.shape[0], :p.projection.shape[1]] = p.projection
    note = (f"{result.images} images scored{' (cached)' if result.cached else ''} in {result.seconds:.1f} s"
            + (f"; {len(result.unreadable)} unreadable" if result.unreadable else "")
            + ("; " + "; ".join(result.notes) if result.notes else "")
            + "; files: " + ", ".join(p.file for p in result.patches))
    return Picture("top9", f"Top-9 of {layer} channel {channel} in {Path(options.images).name}: patch | deconvnet",
                   [("receptive-field patch | its deconvnet projection", np.ascontiguousarray(grid))], raw,
                   result.to_json(), note)


def _optimize(lab, prepared, options: Options) -> Picture:
    """Feature visualization by optimization (``models/lab/optimize.py``): the images that excite a class, a
    layer, a channel or a neuron most, drawn as they evolve (``options.on_partial``); ``array`` holds the
    images themselves (N×H×W×C in 0..1, H×W×C for one)."""
    from cnn_explorer.models.lab import optimize as opt

    kind = options.objective
    if kind is None:
        if options.target is not None:
            kind = "class"
        elif options.unit is not None:
            kind = "neuron" if len(options.unit) == 3 else "channel"
        elif options.layer:
            kind = "layer"
        else:
            raise LabError("optimize needs a class (--class NAME|INDEX) or a layer (--layer L, with --unit C for a "
                           "channel or C,Y,X for a neuron)")
    layer = options.layer if kind == "class" else (options.layer or _layer(lab, prepared, options))
    objective = opt.objective_for(lab, prepared, kind, layer, options.unit, options.target, options.negative)
    steps = options.steps or opt.DEFAULT_STEPS
    text = objective.describe(lab.categories)

    def picture(pixels, curve, note: str, complete: bool, describe: dict) -> Picture:
        images = opt.to_uint8(pixels)
        strip = np.full((images.shape[1], images.shape[0] * (images.shape[2] + 2) - 2, 3), 255, np.uint8)
        for i, one in enumerate(images):
            strip[:, i * (images.shape[2] + 2):i * (images.shape[2] + 2) + images.shape[2]] = one
        panels = [(f"{len(images)} optimized image{'s' if len(images) > 1 else ''} "
                   f"({images.shape[2]}×{images.shape[1]})", strip)]
        if len(curve) > 1:
            panels.append((f"objective over {len(curve)} steps",
                           opt.curve_picture([v for _, v in curve], images.shape[1])))
        array = pixels[0] if len(pixels) == 1 else pixels
        return Picture("optimize", f"Optimized for the {text} of {lab.entry.name}", panels,
                       np.ascontiguousarray(array), describe, note, complete)

    def progress(snapshot) -> None:
        if options.on_partial is not None:
            options.on_partial(picture(snapshot.pixels, [], f"step {snapshot.step}/{snapshot.steps}, objective "
                                       f"{snapshot.value:.4g}", False,
                                       {"step": snapshot.step, "steps": snapshot.steps, "value": snapshot.value}))
        if options.progress is not None:
            options.progress(snapshot.step, snapshot.steps)

    watched = options.on_partial is not None or options.progress is not None
    result = opt.optimize(lab, prepared, objective, steps, images=options.diversity,
                          progress=progress if watched else None)
    describe = {**result.to_json(), "objective_text": text}
    note = (f"{result.steps} steps in {result.seconds:.1f} s; objective {result.value:.4g}"
            + ("; P(class) " + ", ".join(f"{p:.3f}" for p in result.probabilities) if result.probabilities else ""))
    return picture(result.pixels, result.curve, note, True, describe)


# -- the lab's views, as pictures ---------------------------------------------------------------------------------

WHITE = (255, 255, 255)


def mosaic_picture(values: np.ndarray, normalize: str = "channel", sort: str = "none",
                   global_range: tuple[float, float] | None = None) -> tuple[np.ndarray, np.ndarray, int, float, float]:
    """A C×H×W map as the window's mosaic draws it: (tile indices 0…255, order, columns, low, high); index 0 is
    the gap between tiles."""
    values = np.ascontiguousarray(values, dtype=np.float32)
    order = pictures.channel_order(values, sort)
    scaled, low, high = pictures.scale_to_uint8(values, normalize, global_range)
    if sort != "none":
        scaled = scaled[order]
    image, columns = pictures.tile(scaled, gap=pictures.mosaic_gap(values.shape[1:]))
    return image, order, columns, low, high


def _featuremaps(lab, prepared, options: Options) -> Picture:
    layer = options.layer or lab.map_layers(prepared)[0]
    values = lab.feature_map(prepared, layer)
    index, *_ = mosaic_picture(values)
    return Picture("featuremaps", f"{lab.entry.name} — the feature maps of {layer}",
                   [("input", prepared.display),
                    (f"{layer}: {values.shape[0]} maps, each scaled to its own range",
                     np.ascontiguousarray(pictures.lut("viridis", WHITE)[index]))],
                   values, {"layer": layer})


def kernel_picture(model, layer: str, page: tuple[int, int] = (0, 0)) -> dict:
    """A convolution's kernels as the window's kernel pane shows them: colour tiles for a layer that sees 1 or 3
    channels, else a page of the out × in grid. Keys: layer, title, image (H×W×3 uint8), page, pages, weights."""
    from cnn_explorer.models.lab.kernels import first_layer_tiles, kernel_grid, kernel_weights, module_of

    weights = kernel_weights(model, layer).numpy()
    out_c, in_c, kh, kw = weights.shape
    module_groups = getattr(module_of(model, layer), "groups", 1)
    if in_c in (1, 3) and module_groups == 1:
        image = first_layer_tiles(model, layer).mosaic(gap=1, zoom=max(1, 24 // max(kh, kw)))
        title = f"{layer}: {out_c} filters of {kh}×{kw}×{in_c}, each scaled to its own range"
        return dict(layer=layer, title=title, image=np.ascontiguousarray(image), page=(0, 0), pages=(1, 1),
                    weights=weights)
    grid = kernel_grid(model, layer, page)
    image = pictures.gray_to_rgb(grid.mosaic(gap=1, zoom=max(1, 12 // max(kh, kw))))
    title = (f"{layer}: {out_c}×{in_c}×{kh}×{kw} kernels; rows: outputs {grid.out_range[0]}–"
             f"{grid.out_range[1] - 1}, columns: inputs {grid.in_range[0]}–{grid.in_range[1] - 1}"
             + (f" (groups {grid.groups})" if grid.groups > 1 else ""))
    return dict(layer=layer, title=title, image=image, page=tuple(grid.page), pages=tuple(grid.pages),
                weights=weights)


def _kernels(lab, prepared, options: Options) -> Picture:
    from cnn_explorer.models.lab.kernels import first_conv

    layer = options.layer.split(":")[0] if options.layer else first_conv(lab.model)
    made = kernel_picture(lab.model, layer, options.page)
    return Picture("kernels", f"{lab.entry.name} — kernels", [(made["title"], made["image"])], made["weights"],
                   {"layer": layer})


def _unit_or_centre(lab, prepared, layer: str, options: Options) -> tuple[int, int, int]:
    from cnn_explorer.models.lab.activations import find_node, require_map

    node = find_node(lab.graph(prepared), layer)
    require_map(node)
    if options.unit is not None:
        return _whole_unit(options, "a receptive field")
    _, _, h, w = node.output_shape
    return 0, h // 2, w // 2


def draw_box(image: np.ndarray, box, colour: tuple[int, int, int], width: int = 2) -> np.ndarray:
    """``image`` (H×W×3 uint8) with the outline of half-open box (top, left, bottom, right) drawn in."""
    out = np.array(image, copy=True)
    top, left, bottom, right = (int(v) for v in box)
    h, w = out.shape[:2]
    top, left, bottom, right = max(top, 0), max(left, 0), min(bottom, h), min(right, w)
    if bottom <= top or right <= left:
        return out
    for t in range(width):
        out[min(top + t, bottom - 1), left:right] = colour
        out[max(bottom - 1 - t, top), left:right] = colour
        out[top:bottom, min(left + t, right - 1)] = colour
        out[top:bottom, max(right - 1 - t, left)] = colour
    return out


RED, CYAN = (230, 30, 30), (0, 200, 230)


def erf_uint8(heatmap: np.ndarray) -> np.ndarray:
    """|∂unit/∂input| as the window shows it: its square root (faint support stays visible), min–max."""
    from cnn_explorer.models.lab.attribution import unit_to_uint8

    return np.ascontiguousarray(unit_to_uint8(np.sqrt(heatmap)))


def _rf(lab, prepared, options: Options) -> Picture:
    from cnn_explorer.models.lab.fields import receptive_field

    layer = _layer(lab, prepared, options)
    result = receptive_field(lab, prepared, layer, _unit_or_centre(lab, prepared, layer, options))
    box = result.clipped.to_list()
    return Picture("rf", f"{lab.entry.name} — the receptive field of {layer} unit {result.unit}",
                   [(f"{layer} unit {result.unit} (red: its field)", draw_box(prepared.display, box, RED))],
                   np.asarray(box, dtype=np.int64), result.to_json())


def _erf(lab, prepared, options: Options) -> Picture:
    from cnn_explorer.models.lab.fields import effective_receptive_field

    layer = _layer(lab, prepared, options)
    result = effective_receptive_field(lab, prepared, layer, _unit_or_centre(lab, prepared, layer, options))
    theoretical = result.theoretical.to_list()
    heat = pictures.lut("inferno")[erf_uint8(result.heatmap)]
    heat = draw_box(heat, theoretical, RED)
    if result.support:
        heat = draw_box(heat, result.support.to_list(), CYAN)
    return Picture("erf", f"{lab.entry.name} — the effective receptive field of {layer} unit {result.unit}",
                   [("input (red: theoretical field)", draw_box(prepared.display, theoretical, RED)),
                    ("√|∂unit/∂input| (cyan: its support)", heat)],
                   result.heatmap, result.to_json())


def _xyxy_box(xyxy) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = xyxy
    return int(np.floor(y1)), int(np.floor(x1)), int(np.ceil(y2)), int(np.ceil(x2))


def _boxcam(lab, prepared, options: Options) -> Picture:
    """What made a detected box (models/lab/explain.py), over the image as ``detect`` sees it, box drawn."""
    from cnn_explorer.models.lab.explain import box_cam

    image = options.image if options.image is not None else prepared.display
    result = box_cam(lab, image, options.box or 0, options.threshold)
    chosen = result.chosen
    box = _xyxy_box(chosen.box)
    what = "HiResCAM of its score" if result.method == "hirescam" else "|∂score/∂pixel| of its score"
    title = f"What made box {chosen.number} ({chosen.name} {chosen.score:.2f}): {what}"
    where = (f"maps of {', '.join(result.layers)} (finest {result.map_size[0]}×{result.map_size[1]}), summed and "
             "laid over the image" if result.method == "hirescam" else
             "MTCNN scores a 48×48 crop, no map on the image's grid: the gradient at each pixel, smoothed")
    picture = Picture("boxcam", title,
                      [(f"{len(result.detections)} boxes at score ≥ {result.threshold:g} (red: box {chosen.number})",
                        draw_box(image, box, RED)),
                       (f"map of box {chosen.number}'s score over the image", draw_box(
                           pictures.overlay(image, result.cam), box, CYAN))],
                      result.cam, {**result.to_json(), "detections": [d.to_json() for d in result.detections]},
                      where)
    picture.choices = [(f"{d.number}: {d.name} {d.score:.2f}", d.number) for d in result.detections]
    picture.chosen = chosen.number
    return picture


def _segcam(lab, prepared, options: Options) -> Picture:
    """Seg-Grad-CAM of a class's region (models/lab/explain.py)."""
    from cnn_explorer.models.lab.explain import seg_cam

    result = seg_cam(lab, prepared, target=options.target, layer=options.layer)
    outline = np.array(prepared.display, copy=True)
    edge = result.region & ~_eroded(result.region)
    outline[edge] = WHITE
    picture = Picture("segcam", f"Seg-Grad-CAM of “{result.target_name}” at {result.layer}",
                      [(f"pixels predicted “{result.target_name}” (white outline)", outline),
                       ("its Grad-CAM over the input", pictures.overlay(prepared.display, result.heatmap))],
                      result.heatmap, result.to_json(),
                      f"map {result.cam.shape[0]}×{result.cam.shape[1]} at {result.layer}, upsampled")
    picture.choices = [(f"{name} ({count} px)", index) for index, (name, count) in result.present.items()]
    picture.chosen = result.target
    return picture


def _grid(lab, prepared, options: Options) -> Picture:
    """SSD's default boxes per scale, or YOLO v1's grid and one cell (models/lab/grids.py)."""
    from cnn_explorer.models.lab.grids import grid_picture

    return grid_picture(lab, prepared, options)


def _eroded(mask: np.ndarray) -> np.ndarray:
    inner = mask.copy()
    inner[1:] &= mask[:-1]
    inner[:-1] &= mask[1:]
    inner[:, 1:] &= mask[:, :-1]
    inner[:, :-1] &= mask[:, 1:]
    return inner


TOOLS: dict[str, Tool] = {tool.name: tool for tool in (
    Tool("featuremaps", "Feature maps", False, False, _featuremaps),
    Tool("kernels", "Kernels", False, False, _kernels),
    Tool("rf", "Receptive field", True, False, _rf),
    Tool("erf", "Effective receptive field", True, False, _erf),
    Tool("deconv", "Deconvnet", True, True, _projection("deconv")),
    Tool("guided", "Guided backprop", True, True, _projection("guided")),
    Tool("occlusion", "Occlusion", False, True, _occlusion),
    Tool("gradcam", "Grad-CAM", False, True, _gradcam),
    Tool("top9", "Top-9", False, True, _top9),
    Tool("gradcampp", "Grad-CAM++", False, True, _class_map("gradcampp")),
    Tool("scorecam", "Score-CAM", False, True, _class_map("scorecam")),
    Tool("eigencam", "EigenCAM", False, True, _class_map("eigencam")),
    Tool("layercam", "LayerCAM", False, True, _class_map("layercam")),
    Tool("hirescam", "HiResCAM", False, True, _class_map("hirescam")),
    Tool("ig", "Integrated Gradients", False, True, _class_map("ig")),
    Tool("smoothgrad", "SmoothGrad", False, True, _class_map("smoothgrad")),
    Tool("optimize", "Optimize", False, True, _optimize),
    Tool("boxcam", "Box map", False, True, _boxcam),
    Tool("segcam", "Seg-Grad-CAM", False, True, _segcam),
    Tool("grid", "Detection grid", False, True, _grid),
)}
