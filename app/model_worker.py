"""Heavy work off the GUI thread, after napari's ``_layer_slicer``:

1. the GUI thread builds an immutable ``ModelRequest`` (model name, weights, input size);
2. a one-thread executor runs it: ``load_model`` + ``summarize`` + ``graph_data_from``, and turns every
   number the panels show into plain data (``widgets.layer_info``);
3. a newer request supersedes a stale one: the stale one stops at its next step and its result is
   dropped (a request counter decides what is stale);
4. the result comes back to the GUI thread through a queued Qt signal.

The GUI thread never imports torch through this module: torch and the zoo are imported in the worker
thread, so the window shows at once and stays live while they load.

``ParamCounter`` counts the parameters of every zoo entry for the browser, in a second thread, by building
the models on the meta device (no memory, no arithmetic), and caches the counts in a JSON file.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

from cnn_explorer.widgets.graph_data import GraphData
from cnn_explorer.widgets.layer_info import LayerDetails, LayerRow, ModelOverview, Totals, ZooItem

log = logging.getLogger(__name__)

GLOBAL_RF_SIZE = 10**9  # sort key of a global receptive field
DATA_DEPENDENT_NOTE = ("Once boxes are chosen (region proposals, non-maximum suppression), shapes and MACs "
                       "depend on the image: these numbers come from one pass on a random image.")


@dataclass(frozen=True)
class ModelRequest:
    """What the GUI asks for. Immutable: the worker reads it while the GUI goes on."""

    id: int
    name: str
    weights: str = "pretrained"  # "pretrained", "random" or a file path
    input_size: tuple[int, int] | None = None  # the model's default when None


@dataclass
class ModelResult:
    """Everything the window shows about one model, as plain data (plus the loaded model, kept for the
    app's later use; widgets never see it)."""

    request: ModelRequest
    name: str
    overview: ModelOverview
    input_size: tuple[int, int]
    graph: GraphData | None = None
    rows: list[LayerRow] = field(default_factory=list)
    details: dict[str, LayerDetails] = field(default_factory=dict)  # layer name -> details
    blocks: dict[str, LayerDetails] = field(default_factory=dict)  # block path -> totals
    totals: Totals | None = None
    weights_label: str = ""
    weights_message: str = ""
    device: str = "cpu"
    seconds: float = 0.0
    error: str = ""  # why the graph could not be recorded ("" when it was)
    loaded: Any = None  # models.loader.LoadedModel

    @property
    def ok(self) -> bool:
        return not self.error and self.graph is not None


@dataclass(frozen=True)
class ModelFailure:
    """A request that could not be served at all: the window keeps its previous model."""

    request: ModelRequest
    kind: str  # "unknown_model", "weights", "input_size", "cancelled", "internal"
    message: str


class Cancelled(Exception):
    """The request was cancelled or superseded."""


# -- plain data from the models' objects (runs in the worker thread) -------------------------------------

_SETTING_LABELS = {
    "in_channels": "in channels", "out_channels": "out channels", "kernel_size": "kernel", "stride": "stride",
    "padding": "padding", "dilation": "dilation", "groups": "groups", "output_padding": "output padding",
    "in_features": "in features", "out_features": "out features", "num_features": "features", "eps": "eps",
    "output_size": "output size", "scale_factor": "scale", "mode": "mode", "p": "drop probability",
    "negative_slope": "negative slope", "ceil_mode": "ceil mode", "upscale_factor": "upscale",
    "size": "size", "normalized_shape": "normalized shape", "start_dim": "start dim", "end_dim": "end dim",
    "dims": "dims", "dim": "dim", "pad": "pad",
}
# Settings that say nothing when they have their usual value.
_DEFAULTS = {"dilation": {1, (1, 1)}, "output_padding": {0, (0, 0)}, "ceil_mode": {False}, "groups": {1},
             "inplace": {False, True}, "eps": set(), "end_dim": {-1}}


def _setting_text(key: str, value) -> str:
    if isinstance(value, (tuple, list)):
        values = list(value)
        if key in ("kernel_size", "output_size", "size") and len(values) == 2:
            return "×".join(str(v) for v in values)
        if len(values) == 2 and values[0] == values[1]:
            return str(values[0])
        return "×".join(str(v) for v in values) if key in ("kernel_size",) else ", ".join(str(v) for v in values)
    if key == "kernel_size" and isinstance(value, int):
        return f"{value}×{value}"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def settings_items(settings: dict) -> tuple[tuple[str, str], ...]:
    items = []
    for key, value in settings.items():
        if key == "inplace" or value is None:
            continue
        if key in _DEFAULTS and value in _DEFAULTS[key]:
            continue
        items.append((_SETTING_LABELS.get(key, key.replace("_", " ")), _setting_text(key, value)))
    return tuple(items)


def _rf_size(rf) -> int:
    from cnn_explorer.models.receptive_field import GLOBAL

    if rf == GLOBAL:
        return GLOBAL_RF_SIZE
    if rf is None:
        return -1
    return max(rf.size)


def _module_of(model, node):
    if node.kind != "module":
        return None
    try:
        return model.get_submodule(node.scope)
    except AttributeError:
        return None


def _notes(node, module) -> tuple[str, ...]:
    notes = []
    if node.inplace:
        notes.append("In place: it writes into its input's memory, so it takes none of its own.")
    if ":" in node.name and module is not None and not node.params \
            and any(True for _ in module.parameters(recurse=False)):
        notes.append("A repeated call of a module that ran before: its parameters are counted at its first call.")
    if len(node.output_shapes) > 1:
        notes.append(f"It has {len(node.output_shapes)} outputs; the first is shown.")
    return tuple(notes)


def layer_details(node, graph, model, batch: int | None) -> LayerDetails:
    from cnn_explorer.app.graph_adapter import shape_text
    from cnn_explorer.models.analysis import param_arithmetic, receptive_field_text, shape_arithmetic

    input_shape = graph.nodes[node.inputs[0]].output_shape if node.inputs else None
    module = _module_of(model, node)
    try:
        params_text = param_arithmetic(node, module)
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        params_text = f"{node.params:,}"
    try:
        shape_lines = tuple(shape_arithmetic(node, input_shape))
    except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError):
        shape_lines = ()
    return LayerDetails(
        name=node.name, type=node.op, is_block=False,
        input_shape=shape_text(input_shape, batch) if input_shape else "",
        output_shape=shape_text(node.output_shape, batch) if node.output_shape else "",
        settings=settings_items(node.settings), shape_arithmetic=shape_lines, param_arithmetic=params_text,
        params=node.params, macs=node.macs, memory=node.activation_bytes,
        receptive_field="" if node.kind == "input" else receptive_field_text(node),
        notes=_notes(node, module),
    )


def block_details(graph, batch: int | None, skip: set[str]) -> dict[str, LayerDetails]:
    """The totals of every module path that holds more than one node (and is not a layer itself)."""
    from cnn_explorer.app.graph_adapter import shape_text
    from cnn_explorer.models.analysis import receptive_field_text

    members: dict[str, list] = {}
    for node in graph.nodes:
        if not node.scope:
            continue
        parts = node.scope.split(".")
        for depth in range(1, len(parts) + 1):
            members.setdefault(".".join(parts[:depth]), []).append(node)
    blocks = {}
    for path, nodes in members.items():
        if path in skip:
            continue
        ids = {n.id for n in nodes}
        first_input = next((src for n in nodes for src in n.inputs if src not in ids), None)
        input_shape = graph.nodes[first_input].output_shape if first_input is not None else None
        # The block's output: the last of its nodes whose output leaves the block (else its last node).
        leaving = {e.src for e in graph.edges if e.src in ids and e.dst not in ids}
        last = next((n for n in reversed(nodes) if n.id in leaving), nodes[-1])
        blocks[path] = LayerDetails(
            name=path, type=graph.modules.get(path, "block"), is_block=True,
            input_shape=shape_text(input_shape, batch) if input_shape else "",
            output_shape=shape_text(last.output_shape, batch) if last.output_shape else "",
            params=sum(n.params for n in nodes), macs=sum(n.macs for n in nodes),
            memory=sum(n.activation_bytes for n in nodes), receptive_field=receptive_field_text(last),
            layer_count=len(nodes),
        )
    return blocks


def layer_rows(summary, batch: int | None) -> list[LayerRow]:
    from cnn_explorer.app.graph_adapter import shape_text
    from cnn_explorer.models.analysis import receptive_field_text

    rows = []
    for node in summary.layers:
        extra = len(node.output_shapes) - 1
        shape = shape_text(node.output_shape, batch) if node.output_shape else "—"
        if extra > 0:
            shape += f" (+{extra})"
        rows.append(LayerRow(name=node.name, type=node.op, shape=shape, params=node.params, macs=node.macs,
                             memory=node.activation_bytes, receptive_field=receptive_field_text(node),
                             rf_size=_rf_size(node.receptive_field)))
    return rows


def zoo_item(entry) -> ZooItem:
    return ZooItem(name=entry.name, family=entry.family, year=entry.year, task=entry.task, paper=entry.paper,
                   source=entry.source, input_size=tuple(entry.input_size), in_channels=entry.in_channels)


def _fact_text(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def overview_of(entry, input_shape, weights: str = "", totals: Totals | None = None,
                error: str = "") -> ModelOverview:
    from cnn_explorer.app.graph_adapter import shape_text

    facts = tuple((key.replace("_", " "), _fact_text(value)) for key, value in entry.facts.items())
    note = DATA_DEPENDENT_NOTE if entry.data_dependent else ""
    return ModelOverview(name=entry.name, family=entry.family, year=entry.year, paper=entry.paper,
                         task=entry.task, input_shape=shape_text(input_shape), weights=weights,
                         totals=totals, facts=facts, error=error, note=note)


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:400]


# -- the worker -------------------------------------------------------------------------------------------

class ModelWorker(QObject):
    """Runs model requests one at a time in a worker thread. Signals arrive on the GUI thread (queued)."""

    zoo_listed = Signal(object)  # list[ZooItem]
    progress = Signal(int, str, int)  # request id, step, percent (-1: busy, no percentage)
    finished = Signal(object)  # ModelResult
    failed = Signal(object)  # ModelFailure

    STEPS = ("building", "weights", "recording", "graph", "tables")

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cnn-explorer-model")
        self._lock = threading.Lock()
        self._counter = 0
        self._latest = 0
        self._cancelled: set[int] = set()
        self._futures: list[Future] = []
        self._closed = False

    # -- GUI thread API ------------------------------------------------------------------------------
    def list_zoo(self) -> Future:
        return self._submit(self._list_zoo)

    def submit(self, name: str, weights: str = "pretrained",
               input_size: tuple[int, int] | None = None) -> ModelRequest:
        """Ask for a model; a request still running or waiting is superseded."""
        with self._lock:
            self._counter += 1
            request = ModelRequest(self._counter, name.strip(), weights,
                                   tuple(input_size) if input_size else None)
            if self._latest:
                self._cancelled.add(self._latest)
            self._latest = request.id
        self._submit(self._run, request)
        return request

    def cancel(self, request_id: int | None = None) -> None:
        """Cancel ``request_id`` (the latest when None); it stops at its next step and reports 'cancelled'."""
        with self._lock:
            self._cancelled.add(request_id or self._latest)

    def is_current(self, request: ModelRequest) -> bool:
        return request.id == self._latest and request.id not in self._cancelled

    def is_busy(self) -> bool:
        return any(not f.done() for f in self._futures)

    def shutdown(self, wait: bool = True) -> None:
        """Cancel everything and let the thread end (it finishes the torch call it is in)."""
        if self._closed:
            return
        self._closed = True
        with self._lock:
            self._cancelled.add(self._latest)
        self._executor.shutdown(wait=wait, cancel_futures=True)
        gc.unfreeze()  # let the interpreter's last collections reach them again

    def _submit(self, fn: Callable, *args) -> Future:
        if self._closed:
            raise RuntimeError("the model worker is shut down")
        future = self._executor.submit(fn, *args)
        self._futures = [f for f in self._futures if not f.done()] + [future]
        return future

    # -- worker thread -------------------------------------------------------------------------------
    def _list_zoo(self) -> list[ZooItem]:
        import torch  # noqa: F401 - imported here, in steps, with the collector kept off the old objects

        gc.freeze()
        import torchvision.models  # noqa: F401

        gc.freeze()
        from cnn_explorer.models.registry import list_entries

        items = [zoo_item(e) for e in list_entries()]
        # torch, torchvision, timm and the zoo are imported now: ~400,000 long-lived objects. Move them
        # out of the garbage collector's reach, or each full collection (set off by any thread) walks them
        # all with the GIL held, and the GUI thread stalls for ~300 ms.
        gc.freeze()
        self.zoo_listed.emit(items)
        return items

    def _check(self, request: ModelRequest) -> None:
        if request.id in self._cancelled or request.id != self._latest or self._closed:
            raise Cancelled()

    def _step(self, request: ModelRequest, text: str, percent: int = -1) -> None:
        self._check(request)
        self.progress.emit(request.id, text, percent)

    def _run(self, request: ModelRequest) -> None:
        try:
            result = self._serve(request)
        except Cancelled:
            self.failed.emit(ModelFailure(request, "cancelled", f"{request.name}: cancelled"))
            return
        except Exception as error:  # noqa: BLE001 - every failure becomes a message, never a traceback
            kind, message = self._classify(error)
            if kind == "internal":
                log.exception("loading %s failed", request.name)
            self.failed.emit(ModelFailure(request, kind, message))
            return
        finally:
            with self._lock:
                self._cancelled.discard(request.id)
        if request.id == self._latest:  # a stale result is dropped here, and again on the GUI side
            self.finished.emit(result)

    @staticmethod
    def _classify(error: Exception) -> tuple[str, str]:
        from cnn_explorer.models.loader import InputSizeError
        from cnn_explorer.models.registry import UnknownModelError
        from cnn_explorer.models.weights import WeightsError

        if isinstance(error, UnknownModelError):
            return "unknown_model", str(error).replace(" (see 'cnn-explorer list')", "")
        if isinstance(error, WeightsError):
            return "weights", str(error)
        if isinstance(error, InputSizeError):
            return "input_size", str(error)
        return "internal", f"{type(error).__name__}: {_first_line(error)}"

    def _serve(self, request: ModelRequest) -> ModelResult:
        from cnn_explorer.app.graph_adapter import graph_data_from
        from cnn_explorer.models.loader import AnalysisError, InputSizeError, load_model, summarize
        from cnn_explorer.models.registry import get_entry

        start = time.perf_counter()
        self._check(request)
        entry = get_entry(request.name)  # UnknownModelError before anything is built
        input_size = tuple(request.input_size or entry.input_size)
        input_shape = entry.input_shape(input_size)
        self._step(request, f"Building {entry.name}")

        def on_download(done: int, total: int) -> None:
            self._check(request)
            if total:
                self.progress.emit(request.id, f"Downloading {entry.name} weights", int(100 * done / total))

        if request.weights not in ("pretrained", "random"):
            self._step(request, f"Building {entry.name} and reading {os.path.basename(request.weights)}")
        loaded = load_model(entry.name, weights=request.weights, progress=on_download)
        device = next(loaded.model.parameters(), None)
        device = device.device.type if device is not None else "cpu"
        result = ModelResult(request=request, name=entry.name, input_size=input_size,
                             overview=overview_of(entry, input_shape, loaded.weights.message),
                             weights_label=loaded.weights.label, weights_message=loaded.weights.message,
                             device=device, loaded=loaded)

        self._step(request, "Recording the layer graph")
        try:
            summary = summarize(loaded, input_size)
        except InputSizeError:
            raise
        except (AnalysisError, RuntimeError, ValueError, IndexError, NotImplementedError, TypeError) as error:
            result.error = f"its layer graph could not be recorded: {_first_line(error)}"
            result.overview = overview_of(entry, input_shape, loaded.weights.message, error=result.error)
            result.seconds = time.perf_counter() - start
            return result

        self._step(request, "Preparing the graph")
        batch = summary.input_shape[0] if summary.input_shape else None
        try:
            result.graph = graph_data_from(summary)
        except Exception as error:  # noqa: BLE001
            log.exception("graph_data_from(%s) failed", entry.name)
            result.error = f"its layer graph could not be drawn: {_first_line(error)}"

        self._step(request, "Computing the tables")
        result.rows = layer_rows(summary, batch)
        model = loaded.model
        result.details = {n.name: layer_details(n, summary.graph, model, batch) for n in summary.graph.nodes}
        result.blocks = block_details(summary.graph, batch, skip=set(result.details))
        result.totals = Totals(params=summary.total_params, trainable_params=summary.trainable_params,
                               macs=summary.total_macs, memory=summary.activation_bytes,
                               layers=len(summary.layers))
        result.overview = overview_of(entry, summary.input_shape, loaded.weights.message, result.totals,
                                      error=result.error)
        self._check(request)
        result.seconds = time.perf_counter() - start
        return result


# -- parameter counts for the zoo browser ----------------------------------------------------------------

def count_parameters(name: str) -> int:
    """The parameter count of zoo model ``name``, built on the meta device (fast, no memory); models that
    cannot be built there are counted from torchvision's weights metadata, or built for real."""
    import torch

    from cnn_explorer.models.registry import get_entry

    entry = get_entry(name)
    try:
        with torch.device("meta"):
            model = entry.builder()
        return sum(p.numel() for p in model.parameters())
    except Exception:  # noqa: BLE001 - some builders compute on tensors (regnet); try the other ways
        pass
    if entry.source == "torchvision":
        try:
            from torchvision.models import get_model_weights

            return int(get_model_weights(name).DEFAULT.meta["num_params"])
        except (ValueError, KeyError, AttributeError):
            pass
    model = entry.builder()
    return sum(p.numel() for p in model.parameters())


def _versions() -> dict[str, str]:
    import torch
    import torchvision

    versions = {"torch": torch.__version__, "torchvision": torchvision.__version__}
    try:
        import timm

        versions["timm"] = timm.__version__
    except ImportError:
        pass
    return versions


class ParamCounter(QObject):
    """Counts parameters of zoo entries in its own thread and caches them in ``cache_path`` (JSON)."""

    counted = Signal(str, int)  # name, count (-1: could not be counted)
    all_counted = Signal()

    def __init__(self, cache_path: str | os.PathLike, parent: QObject | None = None):
        super().__init__(parent)
        self.cache_path = Path(cache_path)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cnn-explorer-params")
        self._stop = threading.Event()
        self._running = threading.Event()  # cleared while paused
        self._running.set()
        self._future: Future | None = None

    def cached(self) -> dict[str, int]:
        """The counts on file (read on the calling thread: a small JSON). Their versions are checked when
        the counting thread starts; stale counts are recounted then."""
        try:
            data = json.loads(self.cache_path.read_text(encoding="utf-8"))
            return {k: int(v) for k, v in data.get("counts", {}).items()}
        except (OSError, ValueError, TypeError, AttributeError):
            return {}

    def start(self, names: list[str]) -> None:
        if self._future is None or self._future.done():
            self._future = self._executor.submit(self._count_all, list(names))

    def pause(self) -> None:
        """Let the model the user asked for have the CPU (and the GIL): counting waits after the model
        it is on."""
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def shutdown(self, wait: bool = True) -> None:
        self._stop.set()
        self._running.set()
        self._executor.shutdown(wait=wait, cancel_futures=True)

    def is_busy(self) -> bool:
        return self._future is not None and not self._future.done()

    def _count_all(self, names: list[str]) -> None:
        versions = _versions()
        try:
            data = json.loads(self.cache_path.read_text(encoding="utf-8"))
            counts = data.get("counts", {}) if data.get("versions") == versions else {}
        except (OSError, ValueError, TypeError, AttributeError):
            counts = {}
        for name in names:
            if name in counts:
                self.counted.emit(name, int(counts[name]))
        todo = [n for n in names if n not in counts]
        for i, name in enumerate(todo):
            while not self._running.wait(0.1) and not self._stop.is_set():
                pass
            if self._stop.is_set():
                break
            try:
                counts[name] = count_parameters(name)
            except Exception as error:  # noqa: BLE001
                log.warning("cannot count the parameters of %s: %s", name, _first_line(error))
                self.counted.emit(name, -1)
                continue
            self.counted.emit(name, counts[name])
            if i % 10 == 9 or i == len(todo) - 1:
                self._save(versions, counts)
        if not self._stop.is_set():
            self.all_counted.emit()

    def _save(self, versions: dict, counts: dict) -> None:
        try:
            self.cache_path.parent.mkdir(parents=True, exist_ok=True)
            partial = self.cache_path.with_suffix(".partial")
            partial.write_text(json.dumps({"versions": versions, "counts": counts}, indent=0), encoding="utf-8")
            partial.replace(self.cache_path)
        except OSError as error:
            log.warning("cannot write the parameter cache %s: %s", self.cache_path, error)
