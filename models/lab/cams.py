"""Class maps beyond Grad-CAM: the CAM family of pytorch-grad-cam, Captum's pixel attributions, and a
faithfulness score for every map.

* **The CAM family** (``pytorch_grad_cam``): Grad-CAM++ (Chattopadhyay et al. 2018), Score-CAM (Wang et al.
  2020), EigenCAM (Muhammad & Yeasin 2020), LayerCAM (Jiang et al. 2021) and HiResCAM (Draelos & Carin 2020),
  each at one layer, upsampled to the input and scaled 0…1 by the library. Grad-CAM itself stays Captum's
  ``LayerGradCam`` (``attribution.grad_cam``). Three things are added by hand, because the library lacks them:
  Score-CAM's masked passes report progress and can be cancelled (its loop prints a tqdm bar and offers
  neither), a layer that runs more than once in a pass is read at the call the lab names (the library keeps
  the first call), and EigenCAM's principal component gets the sign that agrees with the activations (an SVD's
  sign is arbitrary, so the library's map is sometimes the background).
* **Pixel attributions** (Captum): Integrated Gradients (Sundararajan et al. 2017) from a black image, summed
  over the colour channels (its completeness axiom: the pixels add up to the change of the class score) and
  shown as its magnitude, evidence for or against the class alike (ROAD of the signed sum on zfnet_shapes was
  no better than a random map's, −0.01 on the circle, as parts of one stroke pull both ways; its magnitude
  scored +0.04 … +0.12), and
  SmoothGrad (Smilkov et al. 2017), ``NoiseTunnel`` over ``Saliency``: |gradient| averaged over noisy copies,
  the largest over the colour channels (as Simonyan et al. show saliency).
* **Faithfulness** is ROAD (Rong et al. 2022, ``pytorch_grad_cam.metrics.road``), not a deletion curve: a
  deletion curve fills removed pixels with a constant, which makes images the net never saw, so its score
  mixes faithfulness with the net's surprise at grey squares; ROAD fills them by noisy linear imputation from
  their neighbours, which hides the information without a tell-tale shape. The score is the library's
  ``ROADCombined`` at 20, 40, 60 and 80 %: half the mean of (class probability change when the least relevant
  pixels are removed − change when the most relevant are removed). It lies in −1…+1; higher = more faithful,
  about 0 for a random map, below 0 for an inverted one. The map is ranked with ties broken at random (seeded)
  first: the library thresholds at a percentile with ``<``, which removes all or none of a block of equal
  values (a CAM's zeros).

All work runs on the caller's thread; ``progress(done, total)`` is called between steps (raise in it to
cancel), and the random draws (SmoothGrad's noise, ROAD's imputation noise) are seeded so that the same image
gives the same map and score. No Qt.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from cnn_explorer.models.lab.activations import LabModel, default_map_layer, find_node, require_map
from cnn_explorer.models.lab.errors import LabError
from cnn_explorer.models.lab.hooks import no_inplace
from cnn_explorer.models.lab.preprocess import Prepared

Progress = Callable[[int, int], None]  # (done, total); raising in it cancels the computation

#: The CAM family, by the name the lab and ``visualize --method`` use: (label, pytorch-grad-cam class name).
CAMS = {"gradcampp": ("Grad-CAM++", "GradCAMPlusPlus"), "scorecam": ("Score-CAM", "ScoreCAM"),
        "eigencam": ("EigenCAM", "EigenCAM"), "layercam": ("LayerCAM", "LayerCAM"),
        "hirescam": ("HiResCAM", "HiResCAM")}
#: Captum's pixel attributions.
PIXEL_MAPS = {"ig": "Integrated Gradients", "smoothgrad": "SmoothGrad"}
#: Maps that do not depend on the class asked for.
CLASS_AGNOSTIC = {"eigencam"}

ROAD_PERCENTILES = (20, 40, 60, 80)
IG_STEPS = 32
SMOOTHGRAD_SAMPLES = 16
SMOOTHGRAD_NOISE = 0.15  # the noise's standard deviation, as a fraction of the input's range (the paper's 10–20 %)
SEED = 0
BATCH_ELEMENTS = 2_000_000  # input values in one batch of masked images: 13 images at 224×224×3, 64 at 64×64


@dataclass
class Faithfulness:
    """ROAD (see the module's doc): ``score`` = mean over ``percentiles`` of (lerf − morf) / 2."""

    score: float
    percentiles: tuple[int, ...]
    morf: list[float]  # P(class) change with the most relevant (100 − p) % of pixels imputed away
    lerf: list[float]  # … with the least relevant (100 − p) % imputed away

    def text(self) -> str:
        return f"ROAD {self.score:+.2f} (higher = more faithful)"

    def to_json(self) -> dict:
        return {"metric": "ROAD", "score": round(self.score, 6), "percentiles": list(self.percentiles),
                "most_relevant_first": [round(v, 6) for v in self.morf],
                "least_relevant_first": [round(v, 6) for v in self.lerf],
                "meaning": "higher = more faithful; about 0 for a random map; -1..+1"}


@dataclass
class MapResult:
    method: str
    label: str
    target: int
    target_name: str
    heatmap: np.ndarray  # H×W float32 in input pixels: a CAM scaled 0…1, or a pixel attribution
    layer: str | None = None  # None: a pixel attribution
    faithfulness: Faithfulness | None = None
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        h = self.heatmap
        out = {"method": self.method, "label": self.label, "target": self.target, "target_name": self.target_name,
               "layer": self.layer, "shape": list(h.shape), "min": float(h.min()), "max": float(h.max()),
               "seconds": round(self.seconds, 3), **self.extra}
        if self.faithfulness is not None:
            out["faithfulness"] = self.faithfulness.to_json()
        return out


class _Steps:
    """One progress count over the map's steps and the score's."""

    def __init__(self, total: int, progress: Progress | None):
        self.done, self.total, self.progress = 0, total, progress

    def tick(self, count: int = 1) -> None:
        self.done = min(self.total, self.done + count)
        if self.progress:
            self.progress(self.done, self.total)


def _require_classifier(lab: LabModel, what: str) -> None:
    if not lab.is_classifier:
        raise LabError(f"{what} explains a class score: {lab.entry.name} is a "
                       f"{lab.entry.task.replace('_', ' ')} model, not a classifier")


def _target(lab: LabModel, prepared: Prepared, target: int | None) -> int:
    logits = lab.logits(prepared)
    target = int(logits.argmax()) if target is None else int(target)
    if not 0 <= target < logits.numel():
        raise LabError(f"class {target} is outside the model's {logits.numel()} classes")
    return target


def _name(lab: LabModel, index: int) -> str:
    from cnn_explorer.models.lab.activations import class_name

    return class_name(lab.categories, index)


# -- the CAM family ---------------------------------------------------------------------------------------------

def _one_call(call: int):
    """pytorch-grad-cam's activation and gradient recorder, keeping only the ``call``-th call of the layer in
    the model's pass (the library keeps every call and reads the first)."""
    from pytorch_grad_cam.activations_and_gradients import ActivationsAndGradients

    class OneCall(ActivationsAndGradients):
        def __init__(self, model, target_layers):
            self.call, self.seen = call, 0
            super().__init__(model, target_layers, None)

        def save_activation(self, module, input, output):
            if self.seen == self.call:
                super().save_activation(module, input, output)

        def save_gradient(self, module, input, output):  # registered after save_activation: counts the call
            if self.seen == self.call:
                super().save_gradient(module, input, output)
            self.seen += 1

        def __call__(self, x):
            self.seen = 0
            return super().__call__(x)

    return OneCall


def _cam_class(method: str, steps: _Steps, batch_size: int):
    """The pytorch-grad-cam class for ``method``; Score-CAM and EigenCAM with the additions the module's doc
    explains."""
    import pytorch_grad_cam as gc

    base = getattr(gc, CAMS[method][1])
    if method == "scorecam":
        class ScoreCAM(base):
            def get_cam_weights(self, input_tensor, target_layer, targets, activations, grads):
                # The library's Score-CAM (each channel's map, upsampled and scaled 0…1, masks the input; the
                # class score of each masked image, softmaxed over the channels, weighs the channels), with the
                # masked images made one batch at a time, and progress between batches.
                with torch.no_grad():
                    maps = torch.nn.functional.interpolate(torch.from_numpy(activations).to(self.device),
                                                           size=input_tensor.shape[-2:], mode="bilinear",
                                                           align_corners=True)
                    flat = maps.flatten(2)
                    low, high = flat.min(-1).values[..., None, None], flat.max(-1).values[..., None, None]
                    maps = (maps - low) / (high - low + 1e-8)
                    scores = []
                    for target, image, masks in zip(targets, input_tensor, maps):
                        for first in range(0, masks.shape[0], batch_size):
                            batch = image[None] * masks[first:first + batch_size, None]
                            scores.extend(float(target(o)) for o in self.model(batch))
                            steps.tick()
                    scores = torch.tensor(scores).view(activations.shape[0], activations.shape[1])
                    return torch.softmax(scores, -1).numpy()
        return ScoreCAM
    if method == "eigencam":
        class EigenCAM(base):
            def get_cam_image(self, input_tensor, target_layer, target_category, activations, grads, eigen_smooth):
                projection = super().get_cam_image(input_tensor, target_layer, target_category, activations,
                                                   grads, eigen_smooth)
                # The SVD's sign is arbitrary: take the one that agrees with the summed activations.
                total = activations.sum(axis=1)
                for i in range(projection.shape[0]):
                    if np.corrcoef(projection[i].ravel(), total[i].ravel())[0, 1] < 0:
                        projection[i] = -projection[i]
                return projection
        return EigenCAM
    return base


def cam_batch_size(lab: LabModel, prepared: Prepared) -> int:
    """Score-CAM's masked images per forward pass: about ``BATCH_ELEMENTS`` input values (13 images at 224×224,
    64 at 64×64), at most the model's own limit."""
    return int(max(1, min(64, lab.max_batch, BATCH_ELEMENTS // max(1, prepared.tensor[0].numel()))))


def class_activation_map(lab: LabModel, image: np.ndarray | Prepared, method: str, target: int | None = None,
                         layer: str | None = None, batch_size: int | None = None,
                         progress: Progress | None = None, faithfulness: bool = True) -> MapResult:
    """The ``method`` map (a key of ``CAMS``) of class ``target`` (default: the top-1) at ``layer`` (default: the
    last convolutional layer with a spatial map), with its ROAD score unless ``faithfulness`` is False."""
    if method not in CAMS:
        raise LabError(f"no CAM method {method!r}; choose one of {', '.join(CAMS)}")
    label = CAMS[method][0]
    _require_classifier(lab, label)
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    from cnn_explorer.models.lab.kernels import module_of

    start = time.perf_counter()
    prepared = lab.prepare(image)
    graph = lab.graph(prepared)
    node = find_node(graph, layer) if layer else default_map_layer(graph)
    require_map(node)
    if node.kind != "module":
        raise LabError(f"{node.name} is a functional operation ({node.op}); {label} hooks a module layer")
    call = int(node.name.split(":")[1]) if ":" in node.name else 0
    target = _target(lab, prepared, target)
    batch_size = batch_size or cam_batch_size(lab, prepared)
    channels = node.output_shape[1]
    map_steps = -(-channels // batch_size) if method == "scorecam" else 1
    steps = _Steps(map_steps + (2 * len(ROAD_PERCENTILES) if faithfulness else 0), progress)
    cls = _cam_class(method, steps, batch_size)
    x = prepared.tensor.to(lab.device)
    with no_inplace(lab.model), torch.enable_grad():
        cam = cls(lab.model, [module_of(lab.model, node.scope)])
        try:
            cam.activations_and_grads.release()
            cam.activations_and_grads = _one_call(call)(lab.model, cam.target_layers)
            grayscale = cam(x, targets=[ClassifierOutputTarget(target)])
        finally:
            cam.activations_and_grads.release()
            lab.model.zero_grad(set_to_none=True)
    if method != "scorecam":
        steps.tick()
    heatmap = np.ascontiguousarray(grayscale[0], dtype=np.float32)
    result = MapResult(method, label, target, _name(lab, target), heatmap, layer=node.name,
                       notes=[f"{label} of the layer's {channels} maps of "
                              f"{node.output_shape[2]}×{node.output_shape[3]}, upsampled and scaled 0…1"])
    if method in CLASS_AGNOSTIC:
        result.notes.append(f"{label} ignores the class: the activations' first principal component")
    if faithfulness:
        result.faithfulness = road(lab, prepared, heatmap, target, steps=steps)
    result.seconds = time.perf_counter() - start
    return result


# -- pixel attributions -----------------------------------------------------------------------------------------

def pixel_attribution(lab: LabModel, image: np.ndarray | Prepared, method: str, target: int | None = None,
                      batch_size: int = 8, progress: Progress | None = None,
                      faithfulness: bool = True) -> MapResult:
    """Integrated Gradients (``"ig"``) or SmoothGrad (``"smoothgrad"``) of class ``target`` (default: the top-1),
    as an H×W map (see the module's doc), with its ROAD score unless ``faithfulness`` is False."""
    if method not in PIXEL_MAPS:
        raise LabError(f"no pixel attribution {method!r}; choose one of {', '.join(PIXEL_MAPS)}")
    label = PIXEL_MAPS[method]
    _require_classifier(lab, label)
    from captum.attr import IntegratedGradients, NoiseTunnel, Saliency

    start = time.perf_counter()
    prepared = lab.prepare(image)
    target = _target(lab, prepared, target)
    batch_size = max(1, min(batch_size, lab.max_batch))
    count = IG_STEPS if method == "ig" else SMOOTHGRAD_SAMPLES
    steps = _Steps(-(-count // batch_size) + (2 * len(ROAD_PERCENTILES) if faithfulness else 0), progress)

    def forward(inputs):  # Captum calls it once per batch of steps or noisy copies: progress, and cancel
        output = lab.model(inputs)
        steps.tick()
        return output

    x = prepared.tensor.to(lab.device)
    extra: dict = {}
    with no_inplace(lab.model), torch.enable_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        if method == "ig":
            baseline = prepared.grey_value(0).to(x).view(1, -1, 1, 1).expand_as(x)
            attribution, delta = IntegratedGradients(forward).attribute(
                x, baselines=baseline, target=target, n_steps=IG_STEPS, internal_batch_size=batch_size,
                return_convergence_delta=True)
            heatmap = attribution[0].sum(0).abs()
            extra = {"baseline": "black", "steps": IG_STEPS, "convergence_delta": float(delta.abs().max()),
                     "sum": float(attribution.sum())}
            notes = [f"|Σ over colour channels| of {IG_STEPS} steps from a black image: evidence for or against "
                     "the class"]
        else:
            noise = SMOOTHGRAD_NOISE * float(x.max() - x.min())
            attribution = NoiseTunnel(Saliency(forward)).attribute(
                x, nt_type="smoothgrad", nt_samples=SMOOTHGRAD_SAMPLES, nt_samples_batch_size=batch_size,
                stdevs=noise, target=target)
            heatmap = attribution[0].amax(0)
            extra = {"samples": SMOOTHGRAD_SAMPLES, "noise": SMOOTHGRAD_NOISE}
            notes = [f"|gradient| averaged over {SMOOTHGRAD_SAMPLES} copies with noise σ = "
                     f"{int(100 * SMOOTHGRAD_NOISE)} % of the input's range; the largest over the colour channels"]
    heatmap = np.ascontiguousarray(heatmap.detach().float().cpu().numpy())
    result = MapResult(method, label, target, _name(lab, target), heatmap, notes=notes, extra=extra)
    if faithfulness:
        result.faithfulness = road(lab, prepared, heatmap, target, steps=steps)
    result.seconds = time.perf_counter() - start
    return result


def class_map(lab: LabModel, image: np.ndarray | Prepared, method: str, target: int | None = None,
            layer: str | None = None, progress: Progress | None = None, faithfulness: bool = True) -> MapResult:
    """One of ``CAMS`` or ``PIXEL_MAPS`` by name (``layer`` is ignored by the pixel attributions)."""
    if method in CAMS:
        return class_activation_map(lab, image, method, target, layer, progress=progress, faithfulness=faithfulness)
    return pixel_attribution(lab, image, method, target, progress=progress, faithfulness=faithfulness)


# -- faithfulness -----------------------------------------------------------------------------------------------

def relevance_ranks(heatmap: np.ndarray, seed: int = SEED) -> np.ndarray:
    """``heatmap``'s pixels as ranks scaled 0…1 (the most relevant 1), equal values in a seeded random order."""
    values = np.asarray(heatmap, dtype=np.float64).ravel()
    tie_break = np.random.default_rng(seed).permutation(values.size)
    order = np.lexsort((tie_break, np.nan_to_num(values, nan=-np.inf)))
    ranks = np.empty(values.size, np.float64)
    ranks[order] = np.arange(values.size) / max(1, values.size - 1)
    return ranks.reshape(np.shape(heatmap)).astype(np.float32)


def road(lab: LabModel, image: np.ndarray | Prepared, heatmap: np.ndarray, target: int,
         percentiles: tuple[int, ...] = ROAD_PERCENTILES, steps: _Steps | None = None,
         progress: Progress | None = None) -> Faithfulness:
    """ROAD of ``heatmap`` (H×W, higher = more relevant) for class ``target``'s probability (see the module's
    doc), with pytorch-grad-cam's ``ROADMostRelevantFirst`` and ``ROADLeastRelevantFirst``."""
    from pytorch_grad_cam.metrics.road import ROADLeastRelevantFirst, ROADMostRelevantFirst
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget

    prepared = lab.prepare(image)
    x = prepared.tensor.to(lab.device)
    if np.shape(heatmap) != tuple(x.shape[-2:]):
        raise LabError(f"a map of {np.shape(heatmap)} does not fit the input of {tuple(x.shape[-2:])}")
    steps = steps or _Steps(2 * len(percentiles), progress)
    ranks = relevance_ranks(heatmap)[None]
    targets = [ClassifierOutputSoftmaxTarget(int(target))]
    morf, lerf = [], []
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        # The library's imputer hands torch tensors to numpy functions, which NumPy 2 warns about at each call.
        warnings.filterwarnings("ignore", message="__array_wrap__", category=DeprecationWarning)
        torch.manual_seed(SEED)
        for p in percentiles:
            morf.append(float(ROADMostRelevantFirst(p)(x, ranks, targets, lab.model)[0]))
            steps.tick()
            lerf.append(float(ROADLeastRelevantFirst(p)(x, ranks, targets, lab.model)[0]))
            steps.tick()
    score = float(np.mean([(l - m) / 2 for l, m in zip(lerf, morf)]))
    return Faithfulness(score, tuple(percentiles), morf, lerf)
