"""Weights: pretrained ones through torchvision's weights API, or a local file; random when none can be had.

Nothing is ever unpickled beyond tensors: files are read with ``torch.load(weights_only=True)`` or with
safetensors, and downloads go to the torch hub cache and are read the same way.

Published weights are named after their SHA-256 (``resnet18-f37072fd.pth``: the first hex digits of it, as
torch.hub's ``HASH_REGEX`` finds them). As torchvision's ``check_hash`` does, a download is checked before the
partial file takes its name, and a file of the hub cache is checked before it is used: a damaged or planted
file is refused (``WeightsError``), never loaded as "pretrained". Hashing takes about 0.45 s for VGG-16's
528 MB, so a file already checked in this process (same path, size and modification time) is not read again.
"""

from __future__ import annotations

import hashlib
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from cnn_explorer.models.digest import file_sha256
from cnn_explorer.models.zoo.registry import ModelEntry

ProgressCallback = Callable[[int, int], None]  # (bytes done, bytes total)


class WeightsError(ValueError):
    """A weights file that cannot be read, or does not match the model."""


@dataclass
class WeightsResult:
    label: str  # "pretrained", "random" or "file:PATH"
    message: str  # what happened, for the status bar and the CLI
    hub_path: str = ""  # where published weights are (or would be) kept, when the model has any


def _timm_cfg(entry: ModelEntry):
    """timm's default pretrained configuration of a timm entry (its Hugging Face repository or its URL)."""
    import timm

    try:
        return timm.models.get_pretrained_cfg(entry.facts["timm_name"])
    except (KeyError, RuntimeError, ValueError):
        return None


def pretrained_url(entry: ModelEntry) -> str | None:
    """The URL of published weights kept in torch's hub cache: torchvision's, or a timm model's that timm fetches
    from a URL (the others are on the Hugging Face hub: ``hub_file``)."""
    if entry.source == "timm":
        cfg = _timm_cfg(entry)
        return cfg.url if cfg is not None and not cfg.hf_hub_id and cfg.url else None
    if entry.source != "torchvision":
        return None
    from torchvision.models import get_model_weights

    return get_model_weights(entry.name).DEFAULT.url


HUB_FILES = ("model.safetensors", "pytorch_model.bin")  # what timm reads from a Hugging Face repository, in order


def hub_file(entry: ModelEntry) -> str | None:
    """The Hugging Face repository of a timm entry's published weights (``timm/inception_v4.tf_in1k``), else None."""
    cfg = _timm_cfg(entry) if entry.source == "timm" else None
    return cfg.hf_hub_id if cfg is not None and cfg.hf_hub_id else None


def hub_cached(repo: str) -> str | None:
    """The path of ``repo``'s weights in the Hugging Face cache (where timm keeps them), or None."""
    from huggingface_hub import try_to_load_from_cache

    for filename in HUB_FILES:
        found = try_to_load_from_cache(repo, filename)
        if isinstance(found, str):
            return found
    return None


def _hub_progress(progress: ProgressCallback | None):
    """A tqdm class for huggingface_hub's download that reports (done, total) as torchvision's downloads do."""
    from tqdm.auto import tqdm

    class Reporting(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs["disable"] = True  # no bar on stderr: the caller shows progress
            super().__init__(*args, **kwargs)
            self.done = 0

        def update(self, n=1):
            self.done += n or 0
            if progress:
                progress(self.done, int(self.total or 0))

    return Reporting


def _not_downloading(label: str, where: str, hub_path: str) -> WeightsResult | None:
    """Random weights, and why, when a missing file is not to be downloaded now: CNN_EXPLORER_OFFLINE is set,
    or its download failed a few minutes ago (not again at every open: File › Weights › Retry download tries)."""
    if os.environ.get("CNN_EXPLORER_OFFLINE"):
        return WeightsResult("random", f"pretrained weights not in {where} and CNN_EXPLORER_OFFLINE is set; "
                                       "random initialization", hub_path)
    from cnn_explorer.models.zoo import downloads

    earlier = downloads.failed_recently(label)
    if earlier:
        return WeightsResult("random", f"pretrained weights unavailable ({earlier}, a few minutes ago); "
                                       "random initialization", hub_path)
    return None


def _hub_weights(entry: ModelEntry, model: nn.Module, repo: str, progress: ProgressCallback | None) -> WeightsResult:
    """A timm model's published weights from the Hugging Face hub, through the cache timm uses: read from there
    when present, else downloaded (with progress) unless offline or failed a few minutes ago."""
    path = hub_cached(repo)
    where = f"the Hugging Face cache ({repo})"
    if path is None:
        label = f"hf://{repo}"
        skipped = _not_downloading(label, where, repo)
        if skipped is not None:
            return skipped
        from cnn_explorer.models.zoo import downloads

        from huggingface_hub import constants, hf_hub_download

        try:
            import socket
            from urllib.parse import urlparse

            # huggingface_hub retries a failed lookup for about half a minute: one lookup says it at once
            socket.getaddrinfo(urlparse(constants.ENDPOINT).hostname, 443)
            path = hf_hub_download(repo, HUB_FILES[0], tqdm_class=_hub_progress(progress), etag_timeout=10)
        except Exception as error:  # noqa: BLE001 - huggingface_hub's and requests' errors: no weights, a reason
            reason = downloads.remember(label, error)
            return WeightsResult("random", f"pretrained weights unavailable ({reason}); random initialization", repo)
    load_state_dict_checked(model, _as_built(model, read_state_dict(path)), str(path))
    return WeightsResult("pretrained", f"pretrained weights from {repo} (Hugging Face cache)", str(path))


def asset_path(name: str) -> Path:
    """A file shipped in the ``cnn_explorer.assets`` package (the trained nets' weights)."""
    from importlib import resources

    return Path(str(resources.files("cnn_explorer.assets").joinpath(name)))


def package_file(distribution: str, path: str) -> Path | None:
    """A data file installed by the Python package ``distribution`` (e.g. MTCNN's weights in facenet-pytorch),
    found through its metadata without importing its code; None when the package or the file is not there."""
    from importlib import metadata

    try:
        found = Path(str(metadata.distribution(distribution).locate_file(path)))
    except metadata.PackageNotFoundError:
        return None
    return found if found.is_file() else None


def _package_weights(entry: ModelEntry, model: nn.Module, distribution: str) -> WeightsResult:
    """``facts["weights_files"]``: "prefix: path, …": each file's state dict goes under ``prefix.`` of the model."""
    state, paths = {}, []
    for item in entry.facts["weights_files"].split(","):
        prefix, path = (part.strip() for part in item.split(":", 1))
        found = package_file(distribution, path)
        if found is None:
            return WeightsResult("random", f"{path} not found: the package {distribution} is not installed "
                                           "(uv sync installs it); random initialization")
        state.update({f"{prefix}.{key}": value for key, value in read_state_dict(found).items()})
        paths.append(found)
    load_state_dict_checked(model, state, distribution)
    return WeightsResult("pretrained", f"learned weights from {distribution} ({', '.join(p.name for p in paths)} "
                                       f"in {paths[0].parent})")


def cached_path(url: str) -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)


HASH_REGEX = torch.hub.HASH_REGEX  # "-([a-f0-9]*)\.": the SHA-256 prefix in a published file's name
_verified: dict[str, tuple[int, int]] = {}  # path -> (size, mtime_ns) of the files checked in this process


def hash_prefix(path: str | os.PathLike) -> str:
    """The SHA-256 prefix in a file's name (``resnet18-f37072fd.pth`` → ``f37072fd``); "" when it has none."""
    match = HASH_REGEX.search(os.path.basename(path))
    return match.group(1) if match else ""


def _hash_mismatch(prefix: str, digest: str) -> str:
    return f"expected {prefix}…, got {digest[:len(prefix)]}…"


def verify_hash(path: str | os.PathLike) -> None:
    """Refuse (``WeightsError``) a file whose SHA-256 does not begin with the prefix in its name; a name without
    one is not checked. A file checked before in this process, unchanged since, is not read again."""
    prefix = hash_prefix(path)
    if not prefix:
        return
    path = Path(path)
    try:
        stat = path.stat()
    except OSError as error:
        raise WeightsError(f"cannot read weights file {path}: {error.strerror or error}") from None
    key = os.path.abspath(path)
    if _verified.get(key) == (stat.st_size, stat.st_mtime_ns):
        return
    try:
        found = file_sha256(path)
    except OSError as error:
        raise WeightsError(f"cannot read weights file {path}: {error.strerror or error}") from None
    if not found.startswith(prefix):
        raise WeightsError(f"{path} does not match the SHA-256 prefix in its name ({_hash_mismatch(prefix, found)}): "
                           "it is damaged or not the published file; delete it and open the model again while "
                           "online to download it afresh, or put a good copy in its place")
    _verified[key] = (stat.st_size, stat.st_mtime_ns)


def _download(url: str, destination: Path, progress: ProgressCallback | None) -> None:
    """Download ``url`` to ``destination`` with progress; a partial file never takes its name, nor does one whose
    SHA-256 does not begin with the prefix in the file's name (``WeightsError``, and the partial file is
    removed)."""
    import urllib.request

    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_suffix(destination.suffix + ".partial")
    prefix = hash_prefix(destination)
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=10) as response, open(partial, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0)
            done = 0
            while chunk := response.read(1 << 20):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
        found = digest.hexdigest()
        if not found.startswith(prefix):
            raise WeightsError(f"the download of {destination.name} does not match the SHA-256 prefix in its name "
                               f"({_hash_mismatch(prefix, found)}): try again later, or put a good copy at "
                               f"{destination}")
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(destination)
    if prefix:
        stat = destination.stat()
        _verified[os.path.abspath(destination)] = (stat.st_size, stat.st_mtime_ns)


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read a state dict of tensors from a ``.safetensors`` file or a ``torch.save`` file, safely."""
    path = Path(path)
    if not path.exists():
        raise WeightsError(f"weights file not found: {path}")
    if path.is_dir():
        raise WeightsError(f"{path} is a folder, not a weights file")
    if not path.is_file():
        raise WeightsError(f"{path} is not a regular file (a device or a pipe), not a weights file")
    if path.stat().st_size == 0:
        raise WeightsError(f"weights file {path} is empty")
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


def load_state_dict_checked(model: nn.Module, state: dict[str, torch.Tensor], source: str) -> str:
    """Load ``state`` into ``model``; on any mismatch raise a ``WeightsError`` naming the first ones. Keys saved
    through ``nn.DataParallel`` (``module.`` in front) are taken as they are meant. Integer tensors where the
    model holds floating-point ones are refused; floating-point tensors of another precision are converted,
    and the returned note says so ("" when nothing was converted)."""
    expected = model.state_dict()
    if state and all(k.startswith("module.") for k in state) and not any(k.startswith("module.") for k in expected):
        state = {k[len("module."):]: v for k, v in state.items()}
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
    integers = [k for k, v in expected.items() if k in state and v.is_floating_point()
                and not state[k].is_floating_point()]
    if integers:
        raise WeightsError(f"weights in {source} hold integer tensors where the model has floating-point ones "
                           f"(e.g. {integers[0]}: {state[integers[0]].dtype}); refused rather than cast")
    changes = [(str(state[k].dtype), str(v.dtype)) for k, v in expected.items()
               if k in state and v.is_floating_point() and state[k].dtype != v.dtype]
    model.load_state_dict(state, strict=False)
    if not changes:
        return ""
    kinds = ", ".join(f"{a} to {b}".replace("torch.", "") for a, b in sorted(set(changes)))
    return f"{len(changes)} tensors converted from {kinds}"


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
    """Put weights into ``model``: ``"pretrained"``, ``"random"`` or the path of a local file. A model the user
    brought keeps its own for "pretrained" (``facts["own_weights"]``: what they are)."""
    own = entry.facts.get("own_weights")
    if own and weights == "pretrained":
        origin = entry.facts.get("origin", "")
        if own == "random":
            return WeightsResult("random", f"random initialization: {origin} was given no weights "
                                           "(give --weights file.pth or .safetensors)")
        if own.startswith("file:"):
            return WeightsResult(own, f"weights from {own[5:]}")
        return WeightsResult("pretrained", f"its own weights ({'as given' if own == 'given' else 'stored in the file'})")
    if weights == "random":
        return WeightsResult("random", "random initialization")
    if weights != "pretrained":
        note = load_state_dict_checked(model, read_state_dict(weights), weights)
        return WeightsResult(f"file:{weights}", f"weights from {weights}" + (f" ({note})" if note else ""))
    asset = entry.facts.get("weights_asset")
    if asset:  # a net trained by a script of this repository, shipped in assets/
        path = asset_path(asset)
        load_state_dict_checked(model, read_state_dict(path), str(path))
        return WeightsResult("pretrained", f"trained weights from {path}")
    if entry.facts.get("weights_package"):  # learned weights shipped as data files of a Python package
        return _package_weights(entry, model, entry.facts["weights_package"])
    repo = hub_file(entry)
    if repo is not None:
        return _hub_weights(entry, model, repo, progress)
    url = pretrained_url(entry)
    if url is None:
        return WeightsResult("random", f"no pretrained weights are published for {entry.name}; "
                                       "random initialization")
    path = cached_path(url)
    if not path.is_file():
        skipped = _not_downloading(url, str(path.parent), str(path))
        if skipped is not None:
            return skipped
        from cnn_explorer.models.zoo import downloads

        try:
            _download(url, path, progress)
        except OSError as error:
            reason = downloads.remember(url, error)
            return WeightsResult("random", f"pretrained weights unavailable ({reason}); random initialization",
                                 str(path))
    verify_hash(path)  # here, where the file is read: a structure-only load checks it as much as a real one
    load_state_dict_checked(model, _as_built(model, read_state_dict(path)), str(path))
    return WeightsResult("pretrained", f"pretrained weights from {path}", str(path))
