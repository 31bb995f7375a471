"""The analysis cache: a recorded graph and its numbers on disk, so that reopening a model, or running
``summary`` again, skips building and recording it.

An entry is keyed by the model, the input size, the weights asked for (a file by its path, size and time), the
versions of torch, torchvision and timm, and a fingerprint of the explorer's own analysis code. It holds the
summary as JSON and the whole graph. Writes go to a unique temporary file that is moved into place, so two
processes can write at once and a reader never sees half an entry; an entry that cannot be read or does not
hold what it should is dropped and recounted, never fatal. Nothing here imports torch: a cached ``summary``
answers without it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from functools import lru_cache
from importlib import metadata
from pathlib import Path

log = logging.getLogger(__name__)

FORMAT = 1
_LIBRARIES = ("torch", "torchvision", "timm")


def cache_dir() -> Path:
    env = os.environ.get("CNN_EXPLORER_CACHE_DIR")
    base = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cnn-explorer"
    return base / "analysis"


def enabled() -> bool:
    return os.environ.get("CNN_EXPLORER_NO_CACHE", "") in ("", "0")


@lru_cache(maxsize=1)
def _versions() -> tuple[tuple[str, str], ...]:
    found = []
    for name in _LIBRARIES:
        try:
            found.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            found.append((name, ""))
    return tuple(found)


@lru_cache(maxsize=1)
def _code_fingerprint() -> str:
    """Changes whenever the analysis code changes (the files' sizes and times), so no stale numbers survive
    an upgrade or an edit."""
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for path in sorted(here.rglob("*.py")):
        stat = path.stat()
        digest.update(f"{path.relative_to(here)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def weights_key(weights: str) -> str:
    """The weights asked for, as part of a key: a file also by its size and modification time."""
    if weights in ("pretrained", "random"):
        return weights
    try:
        stat = os.stat(weights)
    except OSError:
        return f"file:{os.path.abspath(weights)}:missing"
    return f"file:{os.path.abspath(weights)}:{stat.st_size}:{stat.st_mtime_ns}"


def key(model: str, input_size, weights: str) -> str:
    parts = {"format": FORMAT, "model": model, "input_size": list(input_size) if input_size else None,
             "weights": weights_key(weights), "libraries": _versions(), "code": _code_fingerprint()}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def weights_still_valid(entry: dict) -> bool:
    """Whether the weights an entry was made with would be resolved the same way now: pretrained weights
    found in the hub cache must still be there; a random fallback (offline) holds only while still offline
    and still absent."""
    check = entry.get("weights_check") or {}
    path = check.get("path")
    if not path:
        return True
    present = os.path.isfile(path)
    if entry["weights_label"] == "pretrained":
        return present
    return not present and bool(os.environ.get("CNN_EXPLORER_OFFLINE"))


class AnalysisCache:
    REQUIRED = {"summary": dict, "graph": dict, "weights_label": str, "weights_message": str, "depth": int,
                "seconds": float}

    def __init__(self, folder: str | os.PathLike | None = None):
        self.folder = Path(folder) if folder else cache_dir()

    def _path(self, entry_key: str) -> Path:
        return self.folder / f"{entry_key}.json"

    def get(self, entry_key: str) -> dict | None:
        """The entry, or None when there is none or it is unusable (then it is removed)."""
        if not enabled():
            return None
        path = self._path(entry_key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, UnicodeDecodeError) as error:
            log.warning("dropping an unreadable analysis cache entry %s: %s", path.name, error)
            path.unlink(missing_ok=True)
            return None
        if not isinstance(data, dict) or any(not isinstance(data.get(k), t) for k, t in self.REQUIRED.items()):
            log.warning("dropping a malformed analysis cache entry %s", path.name)
            path.unlink(missing_ok=True)
            return None
        return data if weights_still_valid(data) else None

    def put(self, entry_key: str, data: dict) -> bool:
        if not enabled():
            return False
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(prefix=f".{entry_key}.", suffix=".partial", dir=self.folder)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    json.dump(data, out, separators=(",", ":"))
                os.replace(temp, self._path(entry_key))
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
            return True
        except OSError as error:
            log.warning("cannot write the analysis cache in %s: %s", self.folder, error)
            return False
