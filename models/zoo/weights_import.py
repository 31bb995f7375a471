"""Published weight files a user brings (a USB stick in a lecture hall without network): checked against the
SHA-256 prefix torchvision puts in each file's name, then placed in torch's hub cache, where opening the model
finds them. ``status()`` says, for each zoo model with published weights, whether its file is there (timm's on
the Hugging Face hub: in its cache)."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cnn_explorer.models.digest import file_sha256


@dataclass(frozen=True)
class Imported:
    source: str
    models: tuple[str, ...]  # the zoo models that use this file
    destination: str = ""  # where it was put ("" when refused)
    message: str = ""  # why it was refused, or "already there"


def published() -> dict[str, list[str]]:
    """File name (``resnet18-f37072fd.pth``) → the zoo models whose published weights it is."""
    from cnn_explorer.models.zoo.registry import list_entries
    from cnn_explorer.models.zoo.weights import pretrained_url

    files: dict[str, list[str]] = {}
    for entry in list_entries():
        url = pretrained_url(entry)
        if url:
            files.setdefault(os.path.basename(url), []).append(entry.name)
    return files


def import_files(paths, progress=None) -> list[Imported]:
    """Check each file and copy it into the hub cache (whole or not at all); ``progress(name, done, total)``."""
    import torch

    from cnn_explorer.models.zoo.weights import hash_prefix

    known = published()
    folder = Path(torch.hub.get_dir()) / "checkpoints"
    results = []
    for raw in paths:
        path = Path(raw)
        models = tuple(known.get(path.name, ()))
        if not path.is_file():
            results.append(Imported(str(path), models, message="a folder, not a file" if path.is_dir()
                                    else "no such file"))
            continue
        if not models:
            results.append(Imported(str(path), (), message="not a published weights file of the zoo (its name must "
                                                              "be torchvision's, e.g. resnet18-f37072fd.pth)"))
            continue
        prefix = hash_prefix(path)
        per_file = (lambda done, total, name=path.name: progress(name, done, total)) if progress else None
        found = file_sha256(path, per_file)
        if prefix and not found.startswith(prefix):
            results.append(Imported(str(path), models, message=f"its SHA-256 begins {found[:len(prefix)]}…, not "
                                                                f"{prefix}… as its name says: damaged or not the "
                                                                "published file"))
            continue
        destination = folder / path.name
        if destination.is_file() and destination.stat().st_size == path.stat().st_size:
            results.append(Imported(str(path), models, str(destination), "already there"))
            continue
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=folder)
        os.close(handle)
        try:
            shutil.copyfile(path, temporary)
            os.replace(temporary, destination)
        except OSError as error:
            Path(temporary).unlink(missing_ok=True)
            results.append(Imported(str(path), models, message=f"cannot write {destination}: "
                                                                f"{error.strerror or error}"))
            continue
        results.append(Imported(str(path), models, str(destination)))
    return results


def status() -> list[tuple[str, str, bool, str]]:
    """(model, file name, present, path) for every zoo model with published weights."""
    import torch

    from cnn_explorer.models.zoo.registry import list_entries
    from cnn_explorer.models.zoo.weights import hub_cached, hub_file

    folder = Path(torch.hub.get_dir()) / "checkpoints"
    rows = []
    for name, models in sorted(published().items()):
        for model in models:
            rows.append((model, name, (folder / name).is_file(), str(folder / name)))
    for entry in list_entries():  # timm's on the Hugging Face hub, in its cache
        repo = hub_file(entry)
        if repo is not None:
            cached = hub_cached(repo)
            rows.append((entry.name, f"hf://{repo}", cached is not None, cached or ""))
    return sorted(rows)
