"""Detection grids over a real image: SSD's default boxes at each scale, YOLO v1's S×S grid with one cell's
boxes and class probabilities. No Qt.

SSD (Liu et al., 2016) predicts, at every cell of each of its feature maps, offsets from a fixed set of
"default boxes" centred on that cell. The boxes here are the model's own: its ``anchor_generator``
(torchvision's ``DefaultBoxGenerator``) run on the model's real feature maps for this image (a forward pass of
its backbone), so the count (8732 for SSD300) and the positions are exactly what the detector decodes against.
torchvision draws none of this, hence the drawing here (PIL).

YOLO v1 (Redmon et al., 2016) splits the image into S×S cells; each cell predicts B boxes (x, y, √w, √h,
confidence) and C class probabilities. The boxes are decoded by the zoo's own ``grid_boxes`` from a forward
pass of the model; the chosen cell is by default the one holding the strongest object (confidence × class
probability), as ``decode`` scores boxes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnn_explorer.models.lab.errors import LabError

#: One colour per default box / predicted box of a cell (distinct on photographs and on the shapes frames).
BOX_COLOURS = [(255, 60, 60), (40, 220, 255), (255, 210, 0), (120, 255, 80), (255, 90, 255), (255, 150, 40)]
GRID_COLOUR = (255, 255, 255)
CELL_COLOUR = (255, 230, 0)
DRAW_PX = 480  # the model's view is enlarged by a whole factor to about this size, so 1-px grid lines stay apart


# -- which model --------------------------------------------------------------------------------------------------

def _default_box_generator(model):
    from torchvision.models.detection.anchor_utils import DefaultBoxGenerator

    generator = getattr(model, "anchor_generator", None)
    generator = getattr(generator, "generator", generator)  # the live view's CachedAnchors wraps it
    return generator if isinstance(generator, DefaultBoxGenerator) else None


def grid_kind(lab) -> str:
    """"ssd" or "yolo"; anything else is a LabError (one line)."""
    from cnn_explorer.models.zoo.paper.yolo_v1 import YOLOv1

    if _default_box_generator(lab.model) is not None:
        return "ssd"
    if isinstance(lab.model, YOLOv1):
        return "yolo"
    raise LabError(f"{lab.entry.name} is a {lab.entry.task.replace('_', ' ')} model without a detection grid: "
                   "grid draws SSD's default boxes or YOLO v1's cells")


def _tensor(image: np.ndarray, device):
    import torch

    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] < 3 or image.dtype != np.uint8:
        raise LabError(f"an image must be an H×W×3 uint8 array, not {image.dtype} {image.shape}")
    return torch.from_numpy(np.array(image[:, :, :3], copy=True)).permute(2, 0, 1).float().div(255).to(device)


def _resized(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    h, w = size
    return np.asarray(Image.fromarray(np.ascontiguousarray(image[:, :, :3])).resize((w, h), Image.BILINEAR))


# -- SSD ----------------------------------------------------------------------------------------------------------

@dataclass
class Scale:
    """One feature map's default boxes: ``boxes`` (h·w·k × 4, x1 y1 x2 y2 in the model's input pixels) in
    torchvision's order (cell by cell, row-major, k boxes each); ``pitch``/``origin`` (x, y) place the cells:
    cell (r, c) spans origin + (c, r)·pitch … origin + (c+1, r+1)·pitch and its boxes are centred in it."""

    index: int
    name: str
    size: tuple[int, int]  # (h, w) of the feature map
    per_cell: int
    boxes: np.ndarray
    pitch: tuple[float, float]
    origin: tuple[float, float]

    def cell_boxes(self, row: int, col: int) -> np.ndarray:
        start = (row * self.size[1] + col) * self.per_cell
        return self.boxes[start:start + self.per_cell]

    def lines(self) -> tuple[np.ndarray, np.ndarray]:
        """The cell boundaries: x of the vertical lines, y of the horizontal ones (input pixels)."""
        h, w = self.size
        return (self.origin[0] + np.arange(w + 1) * self.pitch[0],
                self.origin[1] + np.arange(h + 1) * self.pitch[1])


@dataclass
class SSDGrid:
    image: np.ndarray  # the image as the model sees it (its input size), H×W×3 uint8
    scales: list[Scale]
    anchors: np.ndarray  # all default boxes, N × 4

    @property
    def total(self) -> int:
        return int(self.anchors.shape[0])


def ssd_grid(lab, image: np.ndarray) -> SSDGrid:
    """The model's default boxes for ``image``: its transform, its backbone's feature maps, its generator."""
    import torch

    model, generator = lab.model, _default_box_generator(lab.model)
    with torch.no_grad():
        images, _ = model.transform([_tensor(image, lab.device)])
        features = model.backbone(images.tensors)
        features = list(features.values()) if isinstance(features, dict) else list(features)
        anchors = generator(images, features)[0].float().cpu().numpy()
    per_cell = generator.num_anchors_per_location()
    padded = tuple(int(v) for v in images.tensors.shape[-2:])
    used = tuple(int(v) for v in images.image_sizes[0])
    view = np.full((*padded, 3), 128, np.uint8)
    view[:used[0], :used[1]] = _resized(image, used)
    scales, start = [], 0
    for i, (fmap, k) in enumerate(zip(features, per_cell)):
        h, w = (int(v) for v in fmap.shape[-2:])
        boxes = anchors[start:start + h * w * k]
        start += h * w * k
        # torchvision centres cell (r, c) at ((c + ½)·step, (r + ½)·step) pixels when the generator has
        # steps (SSD300: 8, 16, 32, 64, 100, 300), else at ((c + ½)·W/w, (r + ½)·H/h)
        steps = generator.steps
        step_x, step_y = (float(steps[i]), float(steps[i])) if steps is not None else (padded[1] / w, padded[0] / h)
        scales.append(Scale(i, f"feature map {i}", (h, w), int(k), boxes, (step_x, step_y), (0.0, 0.0)))
    if start != anchors.shape[0]:
        raise LabError(f"{lab.entry.name}: {anchors.shape[0]} default boxes, but its maps hold {start}")
    return SSDGrid(view, scales, anchors)


def _zoom(size: tuple[int, int]) -> int:
    return max(1, round(DRAW_PX / max(size)))


def _canvas(image: np.ndarray, zoom: int):
    from PIL import Image

    return Image.fromarray(np.ascontiguousarray(image)).resize((image.shape[1] * zoom, image.shape[0] * zoom),
                                                               Image.BILINEAR).convert("RGB")


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: a fixed bitmap font
        return ImageFont.load_default()


def _grid_lines(canvas, xs, ys, zoom: int, cell=None) -> None:
    """Grid lines (white, half-transparent) at ``xs``/``ys`` (input pixels); ``cell`` (x1 y1 x2 y2) outlined."""
    from PIL import Image, ImageDraw

    layer = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    width, height = canvas.size
    for x in xs:
        draw.line([(x * zoom, 0), (x * zoom, height)], fill=(*GRID_COLOUR, 150), width=1)
    for y in ys:
        draw.line([(0, y * zoom), (width, y * zoom)], fill=(*GRID_COLOUR, 150), width=1)
    if cell is not None:
        x1, y1, x2, y2 = (v * zoom for v in cell)
        draw.rectangle([x1, y1, x2, y2], fill=(*CELL_COLOUR, 90), outline=(*CELL_COLOUR, 255), width=2)
    canvas.paste(Image.alpha_composite(canvas.convert("RGBA"), layer).convert("RGB"))


def _boxes(canvas, boxes, zoom: int, labels=None) -> None:
    from PIL import ImageDraw

    draw = ImageDraw.Draw(canvas)
    font = _font(14)
    for j, box in enumerate(boxes):
        colour = BOX_COLOURS[j % len(BOX_COLOURS)]
        x1, y1, x2, y2 = (float(v) * zoom for v in box)
        draw.rectangle([x1, y1, x2, y2], outline=colour, width=2)
        if labels:
            tx, ty = max(x1, 0) + 3, max(y1, 0) + 2
            draw.text((tx, ty), labels[j], fill=colour, font=font, stroke_width=2, stroke_fill=(0, 0, 0))


def ssd_panel(grid: SSDGrid, scale: Scale, cell: tuple[int, int], zoom: int | None = None) -> np.ndarray:
    """``scale``'s grid over the model's view, ``cell`` (row, col) filled, its default boxes drawn; enlarged
    ``zoom`` times (None: to about ``DRAW_PX``)."""
    zoom = zoom or _zoom(grid.image.shape[:2])
    canvas = _canvas(grid.image, zoom)
    xs, ys = scale.lines()
    row, col = cell
    outline = (xs[col], ys[row], xs[col + 1], ys[row + 1])
    _grid_lines(canvas, xs, ys, zoom, outline)
    _boxes(canvas, scale.cell_boxes(row, col), zoom)
    return np.asarray(canvas)


def _ssd_choice(grid: SSDGrid, options) -> tuple[list[int], tuple[int, int] | None]:
    """The scales to draw and the chosen cell (None: each scale's centre cell), from ``--unit S[,Y,X]`` (the
    window's choice is ``unit=(S,)``) or ``--layer S``."""
    count = len(grid.scales)
    unit = tuple(options.unit) if options.unit is not None else None
    scale = None
    if unit:
        scale = unit[0]
    elif options.layer:
        if not str(options.layer).isdigit():
            raise LabError(f"grid: --layer picks a scale by its number 0 … {count - 1}, not {options.layer!r}")
        scale = int(options.layer)
    if scale is None:
        return list(range(count)), None
    if not 0 <= scale < count:
        raise LabError(f"grid: scale {scale} is outside the model's {count} scales (0 … {count - 1})")
    if unit and len(unit) == 3:
        h, w = grid.scales[scale].size
        if not (unit[1] < h and unit[2] < w):
            raise LabError(f"grid: cell ({unit[1]}, {unit[2]}) is outside scale {scale}'s {h}×{w} map")
        return [scale], (unit[1], unit[2])
    return [scale], None


def _ssd_picture(lab, image, options):
    from cnn_explorer.models.lab.tools import Picture

    grid = ssd_grid(lab, image)
    chosen, cell = _ssd_choice(grid, options)
    panels, cells = [], []
    for index in chosen:
        scale = grid.scales[index]
        here = cell or (scale.size[0] // 2, scale.size[1] // 2)
        cells.append(list(here))
        panels.append((f"scale {index}: {scale.size[0]}×{scale.size[1]} cells × {scale.per_cell} boxes = "
                       f"{len(scale.boxes)}; cell {here}",
                       ssd_panel(grid, scale, here, 1 if len(chosen) > 1 else None)))  # all six: a slide's width
    h, w = grid.image.shape[:2]
    title = (f"{lab.entry.name}: default boxes, {grid.total} in all "
             f"({' + '.join(str(len(s.boxes)) for s in grid.scales)}) on its {w}×{h} input" if len(chosen) > 1
             else f"{lab.entry.name}: scale {chosen[0]} of {len(grid.scales)}, {grid.total} boxes in all")
    describe = {"kind": "ssd", "input_size": [h, w], "total_default_boxes": grid.total,
                "scales": [{"scale": s.index, "feature_map": list(s.size), "boxes_per_cell": s.per_cell,
                            "boxes": len(s.boxes), "cell_px": [round(s.pitch[0], 3), round(s.pitch[1], 3)]}
                           for s in grid.scales],
                "drawn": [{"scale": i, "cell": c, "default_boxes": grid.scales[i].cell_boxes(*c).round(2).tolist()}
                          for i, c in zip(chosen, cells)]}
    note = ("the model's own DefaultBoxGenerator at its real feature-map sizes; boxes in input pixels "
            "(the .npy holds all of them, x1 y1 x2 y2)")
    picture = Picture("grid", title, panels, grid.anchors, describe, note)
    picture.choices = [("all scales", -1)] + [(f"scale {s.index}: {s.size[0]}×{s.size[1]} × {s.per_cell}", s.index)
                                              for s in grid.scales]
    picture.chosen = chosen[0] if len(chosen) == 1 else -1
    return picture


# -- YOLO v1 ------------------------------------------------------------------------------------------------------

@dataclass
class YoloCell:
    image: np.ndarray  # the image as the model sees it (its input size), H×W×3 uint8
    grid: int  # S
    cell: tuple[int, int]  # (row, col)
    boxes: np.ndarray  # B × 4, x1 y1 x2 y2 in input pixels
    confidences: np.ndarray  # B
    probabilities: np.ndarray  # C, the cell's class probabilities
    names: list[str]
    output: np.ndarray  # the raw grid, S × S × (B·5 + C)
    detections: list[dict]  # decode's boxes (input pixels)
    strongest: bool  # the cell was chosen as the one holding the strongest object


def _yolo_names(lab, classes: int) -> list[str]:
    from cnn_explorer.models.live.yolo import VOC_CATEGORIES, _categories

    names = _categories(lab.entry) or VOC_CATEGORIES[:classes + 1]
    return list(names[1:classes + 1]) + [f"class {i}" for i in range(len(names) - 1, classes)]


def yolo_cell(lab, image: np.ndarray, cell: tuple[int, int] | None = None) -> YoloCell:
    """YOLO v1's prediction for one cell of ``image`` (default: the cell of the strongest box)."""
    import torch

    from cnn_explorer.models.live.yolo import to_input
    from cnn_explorer.models.zoo.paper.yolo_v1 import decode, grid_boxes

    model = lab.model
    size = tuple(int(v) for v in lab.entry.input_size)
    with torch.no_grad():
        out = model(to_input([_tensor(image, lab.device)], size)).float()
        xyxy, confidence, classes = grid_boxes(out, model.boxes)
        found = decode(out, model.boxes, size)[0]
    s = int(out.shape[1])
    scores = confidence.clamp(0, 1) * classes.clamp(0, 1).max(-1).values.unsqueeze(-1)  # decode's scores
    if cell is None:
        row, col = divmod(int(scores[0].amax(-1).argmax()), s)
    else:
        row, col = cell
        if not (0 <= row < s and 0 <= col < s):
            raise LabError(f"grid: cell ({row}, {col}) is outside the {s}×{s} grid")
    h, w = size
    scale = np.array([w, h, w, h], np.float32)
    names = _yolo_names(lab, model.num_classes)
    detections = [{"box": [round(float(v), 2) for v in b], "score": round(float(sc), 4),
                   "name": names[int(lb) - 1] if 0 < int(lb) <= len(names) else str(int(lb))}
                  for b, sc, lb in zip(found["boxes"].cpu(), found["scores"].cpu(), found["labels"].cpu())]
    return YoloCell(_resized(image, size), s, (row, col), xyxy[0, row, col].cpu().numpy() * scale,
                    confidence[0, row, col].cpu().numpy(), classes[0, row, col].cpu().numpy(), names,
                    out[0].cpu().numpy(), detections, cell is None)


def yolo_panel(result: YoloCell) -> np.ndarray:
    zoom = _zoom(result.image.shape[:2])
    canvas = _canvas(result.image, zoom)
    h, w = result.image.shape[:2]
    xs, ys = np.linspace(0, w, result.grid + 1), np.linspace(0, h, result.grid + 1)
    row, col = result.cell
    _grid_lines(canvas, xs, ys, zoom, (xs[col], ys[row], xs[col + 1], ys[row + 1]))
    _boxes(canvas, result.boxes, zoom)
    return np.asarray(canvas)


def bars(names: list[str], values: np.ndarray, height: int, width: int = 320,
         boxes: list[float] | None = None) -> np.ndarray:
    """A small bar list: one row per class, its value as a bar (clipped to 0 … 1) and its number; under it,
    ``boxes``' confidences in the colours their boxes are drawn in."""
    from PIL import Image, ImageDraw

    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    font = _font(16)
    rows = len(names) + (len(boxes) + 1 if boxes else 0)
    row = min(36, (height - 10) // max(rows, 1))
    label_px, span = 100, width - 100 - 56
    best = int(np.argmax(values)) if len(values) else -1
    for i, (name, value) in enumerate(zip(names, values)):
        y = 5 + i * row
        v = float(np.clip(value, 0, 1))
        draw.text((4, y + row / 2), name[:11], fill=(0, 0, 0), font=font, anchor="lm")
        draw.rectangle([label_px, y + 4, label_px + span, y + row - 4], outline=(180, 180, 180))
        draw.rectangle([label_px, y + 4, label_px + int(span * v), y + row - 4],
                       fill=(230, 60, 40) if i == best else (90, 130, 200))
        draw.text((label_px + span + 6, y + row / 2), f"{float(value):.2f}", fill=(0, 0, 0), font=font, anchor="lm")
    if boxes:
        y = 5 + (len(names) + 0.5) * row
        draw.text((4, y + row / 2), "the cell's boxes: confidence", fill=(0, 0, 0), font=font, anchor="lm")
        for j, confidence in enumerate(boxes):
            y += row
            colour = BOX_COLOURS[j % len(BOX_COLOURS)]
            draw.rectangle([4, y + 6, 34, y + row - 6], outline=colour, width=3)
            draw.text((44, y + row / 2), f"box {j}: {confidence:.2f}", fill=(0, 0, 0), font=font, anchor="lm")
    return np.asarray(canvas)


def _yolo_picture(lab, image, options):
    from cnn_explorer.models.lab.tools import Picture

    unit = tuple(options.unit) if options.unit is not None else None
    cell = None
    if unit is not None:  # 0,ROW,COL, or the cell's number N = ROW·S + COL (the window's choice)
        cell = tuple(unit[1:]) if len(unit) == 3 else divmod(int(unit[0]), lab.model.grid)
        if len(unit) == 3 and unit[0] != 0:
            raise LabError("grid: a YOLO cell is --unit 0,ROW,COL (or --unit N, the cell's number ROW·S + COL)")
    result = yolo_cell(lab, image, cell)
    s, (row, col) = result.grid, result.cell
    b, c = len(result.boxes), len(result.probabilities)
    panel = yolo_panel(result)
    why = "the strongest object's cell" if result.strongest else "the chosen cell"
    title = f"{lab.entry.name}: {s}×{s} cells, each {b} boxes + {c} class probabilities"
    best = int(np.argmax(result.probabilities))
    panels = [(f"{why} ({row}, {col}) and its {b} boxes", panel),
              (f"the cell's class probabilities (best: {result.names[best]})",
               bars(result.names, result.probabilities, panel.shape[0],
                    boxes=[float(v) for v in result.confidences]))]
    describe = {"kind": "yolo", "grid": s, "boxes_per_cell": b, "classes": c, "cell": [row, col],
                "strongest": result.strongest, "input_size": list(result.image.shape[:2]),
                "boxes": [[round(float(v), 2) for v in box] for box in result.boxes],
                "confidences": [round(float(v), 4) for v in result.confidences],
                "class_probabilities": {n: round(float(p), 4) for n, p in zip(result.names, result.probabilities)},
                "detections": result.detections}
    note = f"{len(result.detections)} boxes after decode (score ≥ 0.2, NMS); the .npy is the raw {s}×{s} grid"
    picture = Picture("grid", title, panels, result.output, describe, note)
    cells = {}
    for d in result.detections:  # the cells that hold a detected box's centre
        x1, y1, x2, y2 = d["box"]
        r = min(s - 1, int((y1 + y2) / 2 * s / result.image.shape[0]))
        c = min(s - 1, int((x1 + x2) / 2 * s / result.image.shape[1]))
        cells.setdefault(r * s + c, f"cell ({r}, {c}): {d['name']} {d['score']:.2f}")
    cells.setdefault(row * s + col, f"cell ({row}, {col})")
    picture.choices = [("the strongest object's cell", -1)] + sorted(((t, v) for v, t in cells.items()),
                                                                      key=lambda item: item[1])
    picture.chosen = -1 if result.strongest else row * s + col
    return picture


def grid_picture(lab, prepared, options):
    """The lab tool ``grid`` (models/lab/tools.py): SSD's default boxes per scale, or YOLO v1's cell."""
    image = options.image if options.image is not None else prepared.display  # the image as given
    return (_ssd_picture if grid_kind(lab) == "ssd" else _yolo_picture)(lab, image, options)
