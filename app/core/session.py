"""The explorer's session: which model is shown, which request is on its way, with which weights and input
size, on which device, and what to do when a request fails. No Qt: the window asks the session, submits its
requests to the request runner, and hands the outcomes back here.

``serve_model`` is the job that serves a ``ModelRequest`` on the runner's thread: build the model, load its
weights, record its graph and turn it into view data. The loaded ``nn.Module`` stays in that thread's state
(``job.state["loaded"]``) for later requests (the lab); the GUI gets a ``ModelResult`` of plain data.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from cnn_explorer.widgets.graph.data import GraphData
from cnn_explorer.widgets.explorer.layer_info import LayerDetails, LayerRow, ModelOverview, Totals

log = logging.getLogger(__name__)

DEFAULT_MODEL = "alexnet"
WEIGHT_CHOICES = ("pretrained", "random")  # or a file path


@dataclass(frozen=True)
class ModelRequest:
    """What the GUI asks for. Immutable: the worker reads it while the GUI goes on."""

    id: int
    name: str
    weights: str = "pretrained"  # "pretrained", "random" or a file path
    input_size: tuple[int, int] | None = None  # the model's default when None


@dataclass
class ModelResult:
    """Everything the window shows about one model, as plain data."""

    request: ModelRequest
    name: str
    overview: ModelOverview
    input_size: tuple[int, int]
    graph: GraphData | None = None
    rows: list[LayerRow] = field(default_factory=list)
    details: dict[str, LayerDetails] = field(default_factory=dict)  # layer name -> details
    blocks: dict[str, LayerDetails] = field(default_factory=dict)  # block path -> totals
    totals: Totals | None = None
    weights_label: str = ""  # "pretrained", "random" or "file:PATH"
    weights_message: str = ""
    device: str = "cpu"
    seconds: float = 0.0
    error: str = ""  # why the graph could not be recorded ("" when it was)

    @property
    def ok(self) -> bool:
        return not self.error and self.graph is not None

    def details_of(self, name: str) -> LayerDetails | None:
        """A layer's details, or a block's totals."""
        return self.details.get(name) or self.blocks.get(name)

    def resolve(self, name: str) -> str:
        """The layer or block that ``name`` means: its module path, or the lecture's name of a layer
        ("conv1", any case) or block ("Inception 3a"); "" when the model has none."""
        if self.details_of(name) is not None:
            return name
        wanted = name.strip().lower()
        return next((key for table in (self.details, self.blocks) for key, d in table.items()
                     if d.label and d.label.lower() == wanted), "")


@dataclass(frozen=True)
class ModelFailure:
    """A request that could not be served at all."""

    request: ModelRequest
    kind: str  # "unknown_model", "weights", "input_size", "cancelled", "internal"
    message: str


@dataclass(frozen=True)
class Recovery:
    """What the window does after a failure: the session decides, the window shows."""

    failure: ModelFailure
    retry: tuple[str, str] | None = None  # (model, weights) to open instead
    page: str = ""  # what the empty graph area says, when no model is shown and nothing is retried


class Session:
    """The current model, the pending request and the failure policy."""

    def __init__(self, weights: str = "pretrained", default_model: str = DEFAULT_MODEL):
        self.weights = weights or "pretrained"
        self.default_model = default_model
        self.current: ModelResult | None = None
        self.pending: ModelRequest | None = None
        self._ids = 0

    # -- asking --------------------------------------------------------------------------------------
    def request(self, name: str, *, weights: str | None = None,
                input_size: tuple[int, int] | None = None) -> ModelRequest | None:
        """A new request for ``name`` (it supersedes the pending one); None for a blank name."""
        name = (name or "").strip()
        if not name:
            return None
        if weights is not None:
            self.weights = weights or "pretrained"
        self._ids += 1
        self.pending = ModelRequest(self._ids, name, self.weights, tuple(input_size) if input_size else None)
        return self.pending

    def reload(self, *, weights: str | None = None, input_size: tuple[int, int] | None = None,
               fallback: str | None = None) -> ModelRequest | None:
        """The current model again, with other weights or another input size (``fallback`` when none is shown)."""
        if self.current is None:
            return self.request(fallback or self.default_model, weights=weights, input_size=input_size)
        return self.request(self.current.name, weights=weights,
                            input_size=input_size or self.current.request.input_size)

    def is_loading(self) -> bool:
        return self.pending is not None

    def current_model(self) -> str:
        return self.current.name if self.current else ""

    # -- answers ---------------------------------------------------------------------------------------
    def accept(self, result: ModelResult) -> bool:
        """Take a served result; False when it is stale (a newer request is on its way)."""
        if self.pending is None or result.request.id != self.pending.id:
            return False
        self.pending = None
        self.current = result
        self.weights = result.request.weights
        return True

    def fail(self, failure: ModelFailure) -> Recovery | None:
        """Take a failure; None when it is stale. The previous model stays; a bad name with nothing shown
        opens the default model, a weights file that cannot be read falls back to pretrained weights."""
        if self.pending is None or failure.request.id != self.pending.id:
            return None
        self.pending = None
        if self.current is not None:
            self.weights = self.current.request.weights
            return Recovery(failure)
        if failure.kind == "cancelled":
            return Recovery(failure, page=f"Loading {failure.request.name} was cancelled.<br>"
                                          "Choose a model in the zoo (Ctrl+L), or open a model file (Ctrl+O).")
        if failure.kind in ("unknown_model", "input_size", "model_file") and failure.request.name != self.default_model:
            return Recovery(failure, retry=(self.default_model, self.weights))
        if failure.kind == "weights":
            return Recovery(failure, retry=(failure.request.name, "pretrained"))
        return Recovery(failure, page=failure.message)


# -- serving a request (on the runner's thread) ----------------------------------------------------------

def first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:400]


def classify(request: ModelRequest, error: BaseException) -> ModelFailure:
    """A failure as the user should read it: one line, and its kind for the recovery policy."""
    from cnn_explorer.app.core.requests import Cancelled

    if isinstance(error, Cancelled):
        return ModelFailure(request, "cancelled", f"{request.name}: cancelled")
    from cnn_explorer.models.zoo.loader import InputSizeError
    from cnn_explorer.models.zoo.registry import UnknownModelError
    from cnn_explorer.models.zoo.weights import WeightsError

    if isinstance(error, UnknownModelError):
        return ModelFailure(request, "unknown_model", str(error).replace(" (see 'cnn-explorer list')", ""))
    if isinstance(error, WeightsError):
        return ModelFailure(request, "weights", str(error))
    if isinstance(error, InputSizeError):
        return ModelFailure(request, "input_size", str(error))
    from cnn_explorer.models.files.errors import InputShapeNeeded, ModelFileError

    if isinstance(error, InputShapeNeeded):
        return ModelFailure(request, "input_shape_needed", str(error))
    if isinstance(error, ModelFileError):
        return ModelFailure(request, "model_file", str(error))
    log.error("loading %s failed", request.name, exc_info=error)
    return ModelFailure(request, "internal", f"{type(error).__name__}: {first_line(error)}")


@contextmanager
def checked_between_modules(job):
    """Check for cancellation before every module's forward on this thread, so that Esc takes effect within
    a detector's pass rather than after it."""
    from torch.nn.modules.module import register_module_forward_pre_hook

    me = threading.get_ident()

    def check(module, args):
        if threading.get_ident() == me:
            job.check()

    handle = register_module_forward_pre_hook(check)
    try:
        yield
    finally:
        handle.remove()


def serve_model(request: ModelRequest, job) -> ModelResult:
    """Build, load and record ``request`` (``job``: the runner's Job); the model stays in ``job.state``."""
    from cnn_explorer.app.core import view_data
    from cnn_explorer.models.zoo.loader import AnalysisError, InputSizeError, load_model, summarize
    from cnn_explorer.models.zoo.registry import get_entry

    start = time.perf_counter()
    from cnn_explorer.models.files.spec import is_model_file
    from cnn_explorer.models.zoo.user import register_file, user_entry

    if is_model_file(request.name) and user_entry(request.name) is None:  # a model file: opened here, step by step
        register_file(request.name, progress=lambda text: job.progress(f"Opening {text}"), check=job.check)
    entry = get_entry(request.name)  # UnknownModelError before anything is built
    input_size = tuple(request.input_size or entry.input_size)
    input_shape = entry.input_shape(input_size)
    job.state.pop("loaded", None)  # the previous model's memory goes before the next is built
    if request.weights in WEIGHT_CHOICES:
        job.progress(f"Building {entry.name}")
    else:
        job.progress(f"Building {entry.name} and reading {os.path.basename(request.weights)}")

    def on_download(done: int, total: int) -> None:
        if total:
            job.progress(f"Downloading {entry.name} weights", int(100 * done / total))
        else:
            job.check()

    loaded = load_model(entry.name, weights=request.weights, progress=on_download)
    parameter = next(loaded.model.parameters(), None)
    result = ModelResult(request=request, name=entry.name, input_size=input_size,
                         overview=view_data.overview_of(entry, input_shape, loaded.weights.message),
                         weights_label=loaded.weights.label, weights_message=loaded.weights.message,
                         device=parameter.device.type if parameter is not None else "cpu")

    job.progress("Recording the layer graph")
    try:
        with checked_between_modules(job):
            summary = summarize(loaded, input_size)
    except InputSizeError:
        raise
    except (AnalysisError, RuntimeError, ValueError, IndexError, NotImplementedError, TypeError) as error:
        result.error = f"its layer graph could not be recorded: {first_line(error)}"
        result.overview = view_data.overview_of(entry, input_shape, loaded.weights.message, error=result.error)
        result.seconds = time.perf_counter() - start
        job.state["loaded"] = loaded
        return result

    job.progress("Preparing the graph")
    try:
        result.graph = view_data.graph_data_from(summary)
    except Exception as error:  # noqa: BLE001 - the tables can still be shown
        log.exception("graph_data_from(%s) failed", entry.name)
        result.error = f"its layer graph could not be drawn: {first_line(error)}"

    job.progress("Computing the tables")
    batch = summary.input_shape[0] if summary.input_shape else None
    result.rows = view_data.layer_rows(summary)
    result.details = {n.name: view_data.layer_details(n, summary.graph, loaded.model, batch)
                      for n in summary.graph.nodes}
    result.blocks = view_data.block_details(summary.graph, batch, skip=set(result.details))
    result.totals = view_data.totals_of(summary)
    result.overview = view_data.overview_of(entry, summary.input_shape, loaded.weights.message, result.totals,
                                            error=result.error)
    job.check()
    job.state["loaded"] = loaded
    result.seconds = time.perf_counter() - start
    return result
