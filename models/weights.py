"""Weights: pretrained ones through torchvision's weights API, or a local file; random when none can be had.

Nothing is ever unpickled beyond tensors: files are read with ``torch.load(weights_only=True)`` or with
safetensors, and downloads go to the torch hub cache and are read the same way.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from .registry import ModelEntry

ProgressCallback = Callable[[int, int], None]  # (bytes done, bytes total)


class WeightsError(ValueError):
    """A weights file that cannot be read, or does not match the model."""


@dataclass
class WeightsResult:
    label: str  # "pretrained", "random" or "file:PATH"
    message: str  # what happened, for the status bar and the CLI


def pretrained_url(entry: ModelEntry) -> str | None:
    if entry.source != "torchvision":
        return None
    from torchvision.models import get_model_weights

    return get_model_weights(entry.name).DEFAULT.url


def cached_path(url: str) -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)


def _download(url: str, destination: Path, progress: ProgressCallback | None) -> None:
    """Download ``url`` to ``destination`` with progress; a partial file never takes its name."""
    import urllib.request

    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_suffix(destination.suffix + ".partial")
    with urllib.request.urlopen(url, timeout=10) as response, open(partial, "wb") as out:
        total = int(response.headers.get("Content-Length") or 0)
        done = 0
        while chunk := response.read(1 << 20):
            out.write(chunk)
            done += len(chunk)
            if progress:
                progress(done, total)
    partial.replace(destination)


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read a state dict of tensors from a ``.safetensors`` file or a ``torch.save`` file, safely."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            with warnings.catch_warnings():  # torch warns about the pickle protocol of garbage files
                warnings.simplefilter("ignore")
                state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # corrupt, truncated, or holding more than tensors
        raise WeightsError(f"cannot read weights file {path}: {_why_unreadable(error)}") from None
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"{path} does not hold a state dict of tensors")
    return state


def _why_unreadable(error: Exception) -> str:
    text = str(error)
    if text.startswith("Weights only load failed"):
        # torch's message: a generic paragraph, then the reason, then a pointer to its documentation.
        detail = text.split("Check the documentation")[0].split("\n", 1)[-1]
        detail = " ".join(detail.split("WeightsUnpickler error:")[-1].split())
        if "GLOBAL" in detail or "global" in detail:
            return f"it holds Python objects, not only tensors, and is refused for safety ({detail[:120]})"
        return f"not a valid PyTorch weights file ({detail[:120]})"
    first = (text.strip().splitlines() or [type(error).__name__])[0]
    return f"not a valid weights file ({first[:160]})"


def load_state_dict_checked(model: nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Load ``state`` into ``model``; on any mismatch raise a ``WeightsError`` naming the first ones."""
    expected = model.state_dict()
    # BatchNorm's step counter is not needed to run a model (frozen BatchNorm has none).
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    wrong_shape = [f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}" for k, v in expected.items()
                   if k in state and state[k].shape != v.shape]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing (e.g. {', '.join(missing[:3])})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected (e.g. {', '.join(unexpected[:3])})")
    if wrong_shape:
        problems.append(f"{len(wrong_shape)} of another shape (e.g. {', '.join(wrong_shape[:2])})")
    if problems:
        raise WeightsError(f"weights in {source} do not match the model: " + "; ".join(problems))
    model.load_state_dict(state, strict=False)


_OLD_DENSENET_KEY = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$")


def _as_built(model: nn.Module, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Adapt a published torchvision state dict to the model as the zoo builds it: drop the heads that the
    build removes (googlenet's auxiliary classifiers, the segmenters' auxiliary head) and rename DenseNet's
    old keys, as torchvision itself does when it loads them."""
    adapted = {}
    for key, value in state.items():
        key = _OLD_DENSENET_KEY.sub(r"\1\2", key)
        head = key.split(".", 1)[0]
        if hasattr(model, head) and getattr(model, head) is None:
            continue
        adapted[key] = value
    return adapted


def apply_weights(entry: ModelEntry, model: nn.Module, weights: str = "pretrained",
                  progress: ProgressCallback | None = None) -> WeightsResult:
    """Put weights into ``model``: ``"pretrained"``, ``"random"`` or the path of a local file."""
    if weights == "random":
        return WeightsResult("random", "random initialization")
    if weights != "pretrained":
        load_state_dict_checked(model, read_state_dict(weights), weights)
        return WeightsResult(f"file:{weights}", f"weights from {weights}")
    url = pretrained_url(entry)
    if url is None:
        return WeightsResult("random", f"no pretrained weights are published for {entry.name}; "
                                       "random initialization")
    path = cached_path(url)
    if not path.is_file():
        if os.environ.get("CNN_EXPLORER_OFFLINE"):
            return WeightsResult("random", f"pretrained weights not in {path.parent} and CNN_EXPLORER_OFFLINE "
                                           "is set; random initialization")
        try:
            _download(url, path, progress)
        except OSError as error:
            reason = getattr(error, "reason", None) or error
            return WeightsResult("random", f"pretrained weights unavailable offline ({reason}); "
                                           "random initialization")
    load_state_dict_checked(model, _as_built(model, read_state_dict(path)), str(path))
    return WeightsResult("pretrained", f"pretrained weights from {path}")
