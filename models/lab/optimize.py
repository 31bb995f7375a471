"""Feature visualization by optimization (Olah, Mordvintsev & Schubert, "Feature Visualization", Distill 2017):
an input image is made, by gradient ascent, that excites a chosen part of the network as much as it can.

Objectives (``Objective``): one **channel** of a layer (its mean over the map, as Lucid's ``channel``), one
**neuron** (channel + position, the value at that position), a whole **layer** (the mean of all its
activations) or a **class** (see below). Each can be
**negative**: the image that drives it down instead.

A class is optimized by its log-odds, logit − logsumexp(the other logits) = log(p / (1 − p)): the logit
alone can rise together with its rivals (zfnet_shapes' "square" reached logit 153 at probability 0.000), and
the log-probability stops pushing once p is near 1 (the pictures stayed faint); the log-odds does neither.

What makes the pictures recognizable rather than adversarial noise, as in the Distill article:

* **A decorrelated parameterization.** The image is not optimized as raw pixels: its parameters are the
  coefficients of a 2-D Fourier transform, scaled by 1/frequency (so that every frequency starts with about
  the same energy as natural images have, and high frequencies do not dominate the gradient), and for a
  3-channel net the colours go through Lucid's colour decorrelation matrix (the square root of ImageNet's
  colour covariance, from its SVD). A 1-channel net gets the spectrum scaling only.
* **Transformation robustness.** Each step sees every image jittered, scaled and rotated at random (Lucid's
  ``standard_transforms``, scaled to the input size: ±4 % jitter, 0.9–1.1 scale, ±10°), padded with grey.
* **The weights' input range** (``keep_range``, on by default): a sigmoid keeps every pixel in 0..1, so the
  model sees values inside its preprocessing's range, (0 − mean)/std … (1 − mean)/std
  (``models/lab/preprocess.py``); the picture is then exactly what a saved PNG gives back. Off, the pixels
  are free (shown clipped).
* **Diversity.** Several images per objective are optimized together (a batch); a penalty on the cosine
  similarity between their Gram matrices at the layer (Lucid's ``diversity``) pushes them apart. Its weight
  is relative to the objective's size (``diversity`` × |objective|), so one number suits every net.

Progress: ``progress(Snapshot)`` gets the current images a few times a second with the step and the
objective's value; an exception raised in it stops the optimization and goes to the caller, who keeps the
images of that snapshot.

Why by hand: Lucid is TensorFlow 1 only. Lucent is ``torch-lucent`` 0.1.8 (2021, unmaintained): ``uv pip install
--dry-run torch-lucent`` does resolve against today's torch, but pins kornia 0.4.1 (2020) and pulls 81 packages
(ipython, pytest … as run-time dependencies), and its ``render_vis`` has no progress callback that sees the
images, no cancellation and no per-call thread choice (the PyPI name ``lucent`` is another, 0.1.0 package).
Captum's ``optim`` module (captum.optim) was never released in a Captum version. All three were read for the
recipe; none is imported. What is written here is small: the parameterization (a dozen lines), the random affine
transform (torch's ``affine_grid``/``grid_sample``), the objectives and Adam.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnn_explorer.models.lab.errors import LabError

KINDS = ("channel", "neuron", "layer", "class")
DEFAULT_STEPS = 256  # a recognizable picture of a small trained net in 1–4 s on a busy 2-core CPU (128 steps
# left 3–4 of 10 zfnet_shapes conv2 channels below the best of 510 natural images; 256 left 1)
LEARNING_RATE = 0.05  # Lucid's Adam step
PROGRESS_INTERVAL = 0.25  # seconds between snapshots

# Lucid's colour decorrelation: the square root of ImageNet's colour correlation (columns: its SVD directions).
COLOR_CORRELATION_SVD_SQRT = np.asarray([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]],
                                        dtype=np.float32)
COLOR_MATRIX = COLOR_CORRELATION_SVD_SQRT / np.max(np.linalg.norm(COLOR_CORRELATION_SVD_SQRT, axis=0))


@dataclass(frozen=True)
class Objective:
    """What to excite: ``kind`` one of ``KINDS``; ``layer`` a node's name (not for a class); ``channel`` for a
    channel or a neuron, ``position`` (y, x) for a neuron; ``target`` the class index."""

    kind: str
    layer: str | None = None
    channel: int | None = None
    position: tuple[int, int] | None = None
    target: int | None = None
    negative: bool = False

    def describe(self, names: list[str] | None = None) -> str:
        sign = "−" if self.negative else ""
        if self.kind == "class":
            name = names[self.target] if names and 0 <= self.target < len(names) else f"class {self.target}"
            return f"{sign}log-odds of “{name}”"
        if self.kind == "layer":
            return f"{sign}mean activation of {self.layer}"
        if self.kind == "channel":
            return f"{sign}mean of {self.layer} channel {self.channel}"
        y, x = self.position
        return f"{sign}{self.layer} unit ({self.channel}, {y}, {x})"

    def to_json(self) -> dict:
        return {"kind": self.kind, "layer": self.layer, "channel": self.channel,
                "position": list(self.position) if self.position else None, "target": self.target,
                "negative": self.negative}


@dataclass
class Snapshot:
    """The state at one step: ``pixels`` N×H×W×C float32 in 0..1 (C = the model's input channels), ``value``
    the objective (mean over the batch, as seen through this step's random transforms)."""

    step: int
    steps: int
    value: float
    pixels: np.ndarray

    @property
    def images(self) -> np.ndarray:
        return to_uint8(self.pixels)


@dataclass
class OptimizeResult:
    objective: Objective
    layer: str | None  # the layer the objective (or the diversity term of a class) reads
    pixels: np.ndarray  # N×H×W×C float32 in 0..1: the optimized images, C the model's input channels
    values: list[float]  # the objective of each image, untransformed (sign as asked: a negative one is shown low)
    curve: list[tuple[int, float]]  # (step, objective through the step's transforms)
    steps: int  # steps done
    seconds: float
    probabilities: list[float] | None = None  # a class objective: the class's probability for each image
    settings: dict = field(default_factory=dict)

    @property
    def images(self) -> np.ndarray:
        """N×H×W×3 uint8 (grey repeated for a 1-channel net)."""
        return to_uint8(self.pixels)

    @property
    def value(self) -> float:
        return float(np.mean(self.values))

    def to_json(self) -> dict:
        out = {"objective": self.objective.to_json(), "layer": self.layer, "steps": self.steps,
               "value": self.value, "values": self.values, "seconds": round(self.seconds, 3),
               "images": int(self.pixels.shape[0]), "size": list(self.pixels.shape[1:3]), **self.settings}
        if self.probabilities is not None:
            out["probabilities"] = self.probabilities
        return out


def to_uint8(pixels: np.ndarray) -> np.ndarray:
    """N×H×W×C floats in 0..1 to N×H×W×3 uint8 (a grey channel repeated)."""
    out = np.clip(np.rint(np.asarray(pixels) * 255), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(np.repeat(out, 3, axis=-1) if out.shape[-1] == 1 else out)


def curve_picture(values: list[float], height: int = 64, width: int | None = None) -> np.ndarray:
    """The objective over the steps as a small H×W×3 uint8 line plot (white ground, grey axes, blue line), as
    tall as the images beside it so that a slide enlarges both alike."""
    width = width or 2 * height
    out = np.full((height, width, 3), 255, np.uint8)
    out[:, 0] = out[-1, :] = (160, 160, 160)
    v = np.asarray(values, dtype=np.float64)
    if v.size < 2 or not np.isfinite(v).all():
        return out
    x = np.linspace(0, v.size - 1, width - 1)
    y = np.interp(x, np.arange(v.size), v)
    low, high = float(v.min()), float(v.max())
    rows = np.rint((height - 2) * (1 - (y - low) / (high - low if high > low else 1.0))).astype(int)
    for i in range(1, width - 1):  # each column filled between its row and the previous one: a joined line
        a, b = sorted((rows[i - 1], rows[i]))
        out[a:b + 1, i + 1] = (30, 90, 200)
    return out


def roughness(image: np.ndarray) -> float:
    """How grainy an image is: its total variation (mean |difference| of neighbouring pixels, across plus down)
    divided by its standard deviation, averaged over channels. Scale-free (contrast does not change it):
    about 2.26 for white noise (2·2/√π), near 0 for a smooth gradient; optimized zfnet_shapes pictures score
    0.5–0.7."""
    x = np.asarray(image, dtype=np.float64)
    if x.ndim == 2:
        x = x[:, :, None]
    values = []
    for c in range(x.shape[2]):
        channel = x[:, :, c]
        std = channel.std()
        if std > 1e-8:
            tv = np.abs(np.diff(channel, axis=0)).mean() + np.abs(np.diff(channel, axis=1)).mean()
            values.append(tv / std)
    return float(np.mean(values)) if values else 0.0


# -- the parameterization ------------------------------------------------------------------------------------

class FourierImage(nn.Module):
    """N images of C×H×W as scaled Fourier coefficients, colour-decorrelated for C = 3 (Lucid's ``fft_image``
    and ``to_valid_rgb``). ``forward()`` gives pixels, in 0..1 when ``keep_range``."""

    def __init__(self, batch: int, channels: int, size: tuple[int, int], keep_range: bool = True,
                 generator: torch.Generator | None = None, decay: float = 1.0):
        super().__init__()
        h, w = size
        fy = torch.fft.fftfreq(h)[:, None]
        fx = torch.fft.rfftfreq(w)[None, :]
        frequencies = torch.sqrt(fy * fy + fx * fx)
        self.register_buffer("scale", 1.0 / torch.clamp(frequencies, min=1.0 / max(h, w)) ** decay)
        spectrum = 0.01 * torch.randn((batch, channels, h, w // 2 + 1, 2), generator=generator)
        self.spectrum = nn.Parameter(spectrum)
        self.size = (h, w)
        self.keep_range = keep_range
        self.register_buffer("color", torch.from_numpy(COLOR_MATRIX) if channels == 3 else torch.empty(0))

    def forward(self) -> torch.Tensor:
        coefficients = torch.view_as_complex(self.spectrum) * self.scale
        image = torch.fft.irfft2(coefficients, s=self.size, norm="ortho") / 4.0  # Lucid's "magic" 4
        if self.color.numel():
            image = (self.color @ image.flatten(2)).view_as(image)  # each pixel's colour through the matrix
        return torch.sigmoid(image) if self.keep_range else image + 0.5


def random_transform(x: torch.Tensor, generator: torch.Generator, jitter: float = 0.04,
                     scale: tuple[float, float] = (0.9, 1.1), degrees: float = 10.0) -> torch.Tensor:
    """Each image jittered by up to ``jitter`` of its size, scaled and rotated at random (one affine warp,
    bilinear), the uncovered border mid-grey; ``x`` is N×C×H×W pixels in 0..1."""
    n = x.shape[0]
    u = torch.rand((n, 4), generator=generator)
    angle = (2 * u[:, 0] - 1) * math.radians(degrees)
    s = scale[0] + (scale[1] - scale[0]) * u[:, 1]
    shift = (2 * u[:, 2:] - 1) * 2 * jitter  # in affine_grid's −1..1 coordinates: 2·jitter of the side
    cos, sin = torch.cos(angle) / s, torch.sin(angle) / s
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta.to(x), list(x.shape), align_corners=False)
    return F.grid_sample(x - 0.5, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + 0.5


def gram_similarity(activations: torch.Tensor) -> torch.Tensor:
    """The mean cosine similarity between the Gram matrices of the batch's activations (N×C×H×W or N×K), over
    all pairs of different images (Lucid's ``diversity`` objective, negated): 0 for one image."""
    n = activations.shape[0]
    if n < 2:
        return activations.new_zeros(())
    a = activations.reshape(n, activations.shape[1], -1)
    gram = torch.bmm(a, a.transpose(1, 2)) / a.shape[2]
    flat = F.normalize(gram.reshape(n, -1), dim=1)
    similarity = flat @ flat.T
    return (similarity.sum() - similarity.diagonal().sum()) / (n * (n - 1))


class _Reached(Exception):
    """Raised by the layer's hook: the rest of the network is not needed."""


@contextlib.contextmanager
def _frozen(model: nn.Module):
    """No weight gradients while the image is optimized (they would be computed and thrown away)."""
    params = [p for p in model.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


@contextlib.contextmanager
def _threads(count: int | None):
    """torch's intra-op threads set to ``count`` for the duration (None: unchanged). A small net on a small
    image runs its steps faster on one thread: on the shared 2-core machine 32 steps of zfnet_shapes took
    0.2–0.4 s on one thread and 0.7–1.2 s on two (the threads wait on each other for tiny convolutions)."""
    before = torch.get_num_threads()
    if count is not None:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


SMALL_INPUT = 128 * 128  # pixels per image up to which the optimization runs on one thread


# -- resolving what to optimize ------------------------------------------------------------------------------

def objective_for(lab, prepared, kind: str, layer: str | None = None, unit: tuple[int, ...] | None = None,
                  target: int | None = None, negative: bool = False) -> Objective:
    """An ``Objective`` checked against the model: the layer resolved (code or lecture name) to a module
    layer with a map, the channel and position inside it, the class inside the classifier's outputs."""
    from cnn_explorer.models.lab.activations import find_node, require_map, require_unit

    if kind not in KINDS:
        raise LabError(f"an objective is one of {', '.join(KINDS)}, not {kind!r}")
    if kind == "class":
        if not lab.is_classifier:
            raise LabError(f"{lab.entry.name} is a {lab.entry.task.replace('_', ' ')} model: it has no class to "
                           "optimize; choose a layer's channel")
        classes = lab.logits(prepared).numel()
        if target is None or not 0 <= int(target) < classes:
            raise LabError(f"class {target} is outside the model's {classes} classes")
        return Objective("class", target=int(target), negative=negative)
    if not layer:
        raise LabError(f"a {kind} objective needs a layer")
    node = find_node(lab.graph(prepared), layer)
    require_map(node)
    _, channels, h, w = node.output_shape
    if kind == "layer":
        return Objective("layer", node.name, negative=negative)
    if not unit:
        raise LabError(f"a {kind} objective needs a channel of {node.name}")
    if kind == "channel":
        if not 0 <= int(unit[0]) < channels:
            raise LabError(f"channel {unit[0]} is outside {node.name}'s {channels} channels")
        return Objective("channel", node.name, channel=int(unit[0]), negative=negative)
    if len(unit) != 3:
        raise LabError("a neuron objective needs a whole unit: C,Y,X")
    c, y, x = require_unit(node, tuple(unit))
    return Objective("neuron", node.name, channel=c, position=(y, x), negative=negative)


def _value(objective: Objective, activation: torch.Tensor) -> torch.Tensor:
    """The objective of each image (N), before its sign."""
    if objective.kind == "class":
        logits = activation.float()
        others = torch.cat([logits[:, :objective.target], logits[:, objective.target + 1:]], 1)
        return logits[:, objective.target] - torch.logsumexp(others, 1)  # log(p / (1 − p))
    if objective.kind == "layer":
        return activation.flatten(1).mean(1)
    if objective.kind == "channel":
        return activation[:, objective.channel].flatten(1).mean(1)
    y, x = objective.position
    return activation[:, objective.channel, y, x]


# -- the optimization ----------------------------------------------------------------------------------------

def optimize(lab, prepared, objective: Objective, steps: int = DEFAULT_STEPS, images: int = 1,
             diversity: float = 1.0, keep_range: bool = True, transforms: bool = True, seed: int = 0,
             learning_rate: float = LEARNING_RATE, size: tuple[int, int] | None = None,
             progress: Callable[[Snapshot], None] | None = None,
             interval: float = PROGRESS_INTERVAL) -> OptimizeResult:
    """``images`` pictures (a batch, pushed apart by ``diversity`` when more than one) that maximize
    ``objective`` (minimize a negative one) after ``steps`` steps of Adam, at the model's input size (that of
    ``prepared``, or ``size``), normalized with ``prepared``'s mean and std. See the module's docstring."""
    from cnn_explorer.models.lab.activations import default_map_layer, find_node
    from cnn_explorer.models.lab.hooks import module_for, no_inplace
    from cnn_explorer.models.lab.preprocess import normalize

    if steps < 1:
        raise LabError(f"steps must be at least 1, not {steps}")
    if not 1 <= images <= 64:
        raise LabError(f"the number of images must be 1 … 64, not {images}")
    if images > lab.max_batch:
        raise LabError(f"{lab.entry.name} takes one image a pass: ask for one image, without diversity")
    started = time.perf_counter()
    graph = lab.graph(prepared)
    layer = objective.layer
    if layer is None and images > 1:  # a class: diversity at the last convolutional layer
        layer = default_map_layer(graph).name
    module = module_for(lab.model, graph, find_node(graph, layer)) if layer else None
    last = objective.kind != "class"  # the layer is all the objective needs: stop the pass there
    device = lab.device
    generator = torch.Generator().manual_seed(seed)
    channels = prepared.tensor.shape[1]
    size = tuple(size or prepared.tensor.shape[-2:])
    image = FourierImage(images, channels, size, keep_range, generator).to(device)
    optimizer = torch.optim.Adam(image.parameters(), lr=learning_rate)
    sign = -1.0 if objective.negative else 1.0
    captured: dict[str, torch.Tensor] = {}

    def hook(_module, _inputs, output):
        captured["layer"] = output
        if last:
            raise _Reached()

    def run(pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(the objective's activation, the layer's) for model-space input made from ``pixels``."""
        captured.clear()
        try:
            output = lab.model(normalize(pixels, prepared.mean, prepared.std))
        except _Reached:
            output = None
        layer_value = captured.get("layer")
        return (layer_value if last else output), layer_value

    curve: list[tuple[int, float]] = []
    shown = -math.inf
    handle = module.register_forward_hook(hook) if module is not None else None
    small = size[0] * size[1] <= SMALL_INPUT and device.type == "cpu"
    try:
        with no_inplace(lab.model), _frozen(lab.model), _threads(1 if small else None):
            for step in range(1, steps + 1):
                optimizer.zero_grad(set_to_none=True)
                pixels = image()
                seen = random_transform(pixels, generator) if transforms else pixels
                activation, layer_value = run(seen)
                values = _value(objective, activation)
                loss = -sign * values.mean()
                if images > 1 and diversity > 0 and layer_value is not None:
                    loss = loss + diversity * values.detach().abs().mean() * gram_similarity(layer_value)
                loss.backward()
                optimizer.step()
                value = float(values.detach().mean())
                curve.append((step, value))
                now = time.perf_counter()
                if progress is not None and (now - shown >= interval or step == steps):
                    shown = now
                    with torch.no_grad():
                        current = image().permute(0, 2, 3, 1).cpu().numpy()
                    progress(Snapshot(step, steps, value, current))
            with torch.no_grad():
                pixels = image()
                if keep_range:  # what a saved 8-bit PNG gives back
                    pixels = torch.round(pixels * 255) / 255
                final, _ = run(pixels) if last else (lab.model(normalize(pixels, prepared.mean, prepared.std)), None)
                values = _value(objective, final)
                probabilities = (torch.softmax(final.float(), 1)[:, objective.target].tolist()
                                 if objective.kind == "class" else None)
    finally:
        if handle is not None:
            handle.remove()
    settings = {"keep_range": keep_range, "transforms": transforms, "diversity": diversity if images > 1 else 0.0,
                "learning_rate": learning_rate, "seed": seed}
    return OptimizeResult(objective, layer, pixels.permute(0, 2, 3, 1).cpu().numpy().astype(np.float32),
                          [float(v) for v in values], curve, steps, time.perf_counter() - started,
                          probabilities, settings)
