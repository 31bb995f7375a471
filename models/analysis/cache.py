"""The analysis cache: a recorded graph and its numbers on disk, so that reopening a model, or running
``summary`` again, skips building and recording it.

An entry is keyed by the model, the input size, the weights asked for (a file by its path, size and time), the
versions of torch, torchvision and timm, and a fingerprint of the explorer's own analysis code. It holds the
summary as JSON and the whole graph. Writes go to a unique temporary file that is moved into place, so two
processes can write at once and a reader never sees half an entry; temporary files that an interrupted write
left behind are removed once they are an hour old. An entry that cannot be read or does not hold what it
should (every field of every layer and node is checked, ``valid_entry``) is dropped and recounted, never
fatal; a cache folder that cannot be used (``CNN_EXPLORER_CACHE_DIR`` is a file, an entry is a folder) is
one warning, and the work goes on without it. Nothing here imports torch: a cached ``summary`` answers
without it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import stat
import tempfile
import time
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

FORMAT = 1
_LIBRARIES = ("torch", "torchvision", "timm")
STALE_PARTIAL_SECONDS = 3600  # a temporary file this old is what an interrupted write left behind
_warned: set[str] = set()  # what this process has warned about (one warning each)


def warn_once(subject: str, message: str, *args) -> None:
    """One warning line per ``subject`` in this process (a broken cache folder is said once, not per entry)."""
    if subject not in _warned:
        _warned.add(subject)
        log.warning(message, *args)


def remove_stale_partials(folder: str | os.PathLike, prefix: str = "", age: float = STALE_PARTIAL_SECONDS) -> int:
    """Remove the ``PREFIX….partial`` files in ``folder`` older than ``age`` seconds: the temporary files of
    writes that were interrupted (killed, out of disk). A write in progress is younger and is left alone.
    Returns how many were removed; never raises."""
    cutoff = time.time() - age
    removed = 0
    try:
        with os.scandir(folder) as found:
            candidates = [e for e in found if e.name.startswith(prefix) and e.name.endswith(".partial")]
    except OSError:
        return 0
    for item in candidates:
        try:
            if item.is_file(follow_symlinks=False) and item.stat(follow_symlinks=False).st_mtime < cutoff:
                os.unlink(item.path)
                removed += 1
        except OSError:
            continue
    return removed


def cache_dir() -> Path:
    env = os.environ.get("CNN_EXPLORER_CACHE_DIR")
    base = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cnn-explorer"
    return base / "analysis"


def enabled() -> bool:
    return os.environ.get("CNN_EXPLORER_NO_CACHE", "") in ("", "0")


@lru_cache(maxsize=1)
def _versions() -> tuple[tuple[str, str], ...]:
    from importlib import metadata  # here, not above: 40 ms of imports (email, …) the window's first turn skips

    found = []
    for name in _LIBRARIES:
        try:
            found.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            found.append((name, ""))
    return tuple(found)


@lru_cache(maxsize=1)
def _code_fingerprint() -> str:
    """Changes whenever the analysis code, the zoo's code (its paper architectures) or the code that opens model
    files changes (the files' sizes and times), so no stale numbers survive an upgrade or an edit."""
    models = Path(__file__).parent.parent
    digest = hashlib.sha256()
    for path in sorted([*(models / "analysis").rglob("*.py"), *(models / "files").rglob("*.py"),
                          *(models / "zoo").rglob("*.py")]):
        stat = path.stat()
        digest.update(f"{path.relative_to(models)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
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
    found in the hub cache must still be there, the same file (size and time: it was checked against the
    hash in its name when the entry was made, and a file put in its place must be checked again); a random
    fallback (offline) holds only while still absent and still offline (``CNN_EXPLORER_OFFLINE``, or a download
    that failed within the last minutes: ``models/zoo/downloads.py``)."""
    check = entry.get("weights_check") or {}
    path = check.get("path")
    if not path:
        return True
    try:
        found = os.stat(path)
    except OSError:
        found = None
    present = found is not None and stat.S_ISREG(found.st_mode)
    if entry["weights_label"] == "pretrained":
        if not present:
            return False
        if "size" in check or "mtime_ns" in check:
            return (found.st_size, found.st_mtime_ns) == (check.get("size"), check.get("mtime_ns"))
        return True
    if present:
        return False
    from cnn_explorer.models.zoo.downloads import failed_recently

    return bool(os.environ.get("CNN_EXPLORER_OFFLINE")) or failed_recently() is not None  # still offline


# -- what an entry must hold --------------------------------------------------------------------------------

def _count(value) -> bool:
    """A whole number, zero or more (JSON's true and false are not: their type is bool)."""
    return type(value) is int and value >= 0


def _shape(value) -> bool:
    return type(value) is list and all(type(v) is int and v >= 0 for v in value)


def _pair(value, least: int) -> bool:
    return type(value) is list and len(value) == 2 and all(type(v) is int and v >= least for v in value)


def _field(value) -> bool:
    """A receptive field as ``Field.to_dict`` writes it, "global", or None (none computed)."""
    if value is None or value == "global":
        return True
    return (isinstance(value, dict) and set(value) == {"size", "stride", "padding"} and _pair(value["size"], 1)
            and _pair(value["stride"], 1) and _pair(value["padding"], -(2**31)))


_LAYER_KEYS = {"name", "type", "output_shape", "params", "macs", "receptive_field"}
_NODE_KEYS = {"id", "name", "op", "kind", "scope", "inputs", "output_shapes", "params", "macs", "activation_bytes",
              "inplace", "settings", "receptive_field"}
_SUMMARY_KEYS = {"model", "input_shape", "weights", "total_params", "trainable_params", "total_macs",
                 "activation_bytes", "layers"}


def _node_problem(node, index: int) -> str | None:
    if not isinstance(node, dict) or not _NODE_KEYS <= set(node):
        return f"graph node {index} lacks fields"
    if node["id"] != index or isinstance(node["id"], bool):
        return f"graph node {index} has id {node['id']!r}"
    if not all(isinstance(node[k], str) for k in ("name", "op", "kind", "scope")):
        return f"graph node {index} has a name, op, kind or scope that is not text"
    if node["kind"] not in ("input", "module", "function"):
        return f"graph node {index} is of kind {node['kind']!r}"
    if not isinstance(node["inputs"], list) or not all(_count(i) and i < index for i in node["inputs"]):
        return f"graph node {index} has bad inputs"
    if not isinstance(node["output_shapes"], list) or not all(_shape(s) for s in node["output_shapes"]):
        return f"graph node {index} has bad output shapes"
    if not all(_count(node[k]) for k in ("params", "macs", "activation_bytes")):
        return f"graph node {index} has a count that is not a whole number"
    if not isinstance(node["inplace"], bool) or not isinstance(node["settings"], dict):
        return f"graph node {index} has bad settings"
    if not _field(node["receptive_field"]):
        return f"graph node {index} has a bad receptive field"
    return None


def _graph_problem(graph: dict) -> str | None:
    if not {"input_shape", "modules", "nodes", "edges"} <= set(graph):
        return "the graph lacks fields"
    if not _shape(graph["input_shape"]) or len(graph["input_shape"]) != 4:
        return "the graph's input shape is not four whole numbers"
    modules = graph["modules"]
    if not isinstance(modules, dict) or not all(isinstance(v, str) for v in modules.values()):
        return "the graph's modules are not names"
    nodes = graph["nodes"]
    if not isinstance(nodes, list) or not nodes:
        return "the graph has no nodes"
    for index, node in enumerate(nodes):
        if problem := _node_problem(node, index):
            return problem
    edges = graph["edges"]
    if not isinstance(edges, list):
        return "the graph's edges are not a list"
    for edge in edges:
        if not (isinstance(edge, list) and len(edge) == 3 and _count(edge[0]) and _count(edge[1])
                and edge[0] < len(nodes) and edge[1] < len(nodes) and (edge[2] is None or _shape(edge[2]))):
            return f"the graph has a bad edge {str(edge)[:40]}"
    return None


def _layer_problem(layer, node: dict) -> str | None:
    """A layer row of the summary, checked field by field and against the graph node it was made from."""
    if not isinstance(layer, dict) or set(layer) != _LAYER_KEYS:
        return "lacks fields"
    if not isinstance(layer["name"], str) or not isinstance(layer["type"], str):
        return "has a name or type that is not text"
    shape = layer["output_shape"]
    if not (shape is None or _shape(shape)) or not _count(layer["params"]) or not _count(layer["macs"]):
        return "has a bad shape or count"
    if not _field(layer["receptive_field"]):
        return "has a bad receptive field"
    first = node["output_shapes"][0] if node["output_shapes"] else None
    if (layer["name"], layer["type"], shape, layer["params"], layer["macs"], layer["receptive_field"]) != \
            (node["name"], node["op"], first, node["params"], node["macs"], node["receptive_field"]):
        return f"does not agree with its graph node {node['name']!r}"
    return None


def valid_entry(data) -> str | None:
    """Why ``data`` is not a whole, consistent entry (None when it is): every field of the summary, of each of
    its layer rows and of the graph is of its type, and the rows and totals agree with the graph."""
    if not isinstance(data, dict):
        return "not an object"
    for name, kind in AnalysisCache.REQUIRED.items():
        if not isinstance(data.get(name), kind) or isinstance(data.get(name), bool):
            return f"{name} is missing or not a {kind.__name__}"
    if not _count(data["depth"]) or not (math.isfinite(data["seconds"]) and data["seconds"] >= 0):
        return "a bad depth or time"
    label = data["weights_label"]
    if label not in ("pretrained", "random") and not label.startswith("file:"):
        return f"weights label {label[:40]!r}"
    check = data["weights_check"]
    if not isinstance(check.get("path"), str) \
            or any(k in check and not _count(check[k]) for k in ("size", "mtime_ns")):
        return "a bad weights_check"
    if problem := _graph_problem(data["graph"]):
        return problem
    summary, graph = data["summary"], data["graph"]
    if set(summary) != _SUMMARY_KEYS:
        return "the summary lacks fields (or has others)"
    if not isinstance(summary["model"], str) or summary["weights"] != label:
        return "the summary's model or weights are wrong"
    if summary["input_shape"] != graph["input_shape"]:
        return "the summary's input shape is not the graph's"
    if not all(_count(summary[k]) for k in ("total_params", "trainable_params", "total_macs", "activation_bytes")):
        return "a total that is not a whole number"
    if summary["trainable_params"] > summary["total_params"]:
        return "more trainable parameters than parameters"
    nodes = graph["nodes"]
    if summary["total_macs"] != sum(n["macs"] for n in nodes) \
            or summary["activation_bytes"] != sum(n["activation_bytes"] for n in nodes):
        return "totals that are not the sums of the graph's nodes"
    layers = summary["layers"]
    operations = [n for n in nodes if n["kind"] != "input"]
    if not isinstance(layers, list) or len(layers) != len(operations):
        return "layers that are not the graph's operations"
    for index, (layer, node) in enumerate(zip(layers, operations)):
        if problem := _layer_problem(layer, node):
            return f"layer {index} {problem}"
    return None


class AnalysisCache:
    REQUIRED = {"summary": dict, "graph": dict, "weights_label": str, "weights_message": str,
                "weights_check": dict, "depth": int, "seconds": float}

    def __init__(self, folder: str | os.PathLike | None = None):
        self.folder = Path(folder) if folder else cache_dir()

    def _path(self, entry_key: str) -> Path:
        return self.folder / f"{entry_key}.json"

    def get(self, entry_key: str) -> dict | None:
        """The entry, or None when there is none or it is unusable (then it is removed, when it can be)."""
        if not enabled():
            return None
        path = self._path(entry_key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except NotADirectoryError:
            warn_once(str(self.folder), "the analysis cache %s is not a folder (CNN_EXPLORER_CACHE_DIR is a file?); "
                      "going on without it", self.folder)
            return None
        except IsADirectoryError:
            warn_once(str(path), "the analysis cache entry %s is a folder, not a file; going on without it", path)
            return None
        except (OSError, ValueError, UnicodeDecodeError, RecursionError) as error:
            self._drop(path, f"unreadable ({str(error)[:100]})")
            return None
        problem = valid_entry(data)
        if problem:
            self._drop(path, f"malformed ({problem})")
            return None
        return data if weights_still_valid(data) else None

    def _drop(self, path: Path, why: str) -> None:
        log.warning("dropping an analysis cache entry %s: %s", path.name, why)
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass  # a read-only cache: the entry is overwritten when it can be, else recounted each time

    def put(self, entry_key: str, data: dict) -> bool:
        if not enabled():
            return False
        target = self._path(entry_key)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(prefix=f".{entry_key}.", suffix=".partial", dir=self.folder)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    json.dump(data, out, separators=(",", ":"))
                os.replace(temp, target)
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
        except OSError as error:
            subject = str(target) if isinstance(error, IsADirectoryError) else str(self.folder)
            warn_once(subject, "cannot write the analysis cache in %s (%s); going on without it", self.folder,
                      error.strerror or error)
            return False
        remove_stale_partials(self.folder, ".")
        return True
