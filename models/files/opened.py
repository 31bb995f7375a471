"""What opening a model file gives, the steps' progress and cancellation, and the checked forward pass."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from cnn_explorer.models.files.errors import ModelFileError, first_line

if TYPE_CHECKING:
    from torch import nn

ProgressText = Callable[[str], None]
Check = Callable[[], None]  # raises (the caller's own exception) when the caller cancelled


@dataclass
class OpenedFile:
    """A model read from a file, ready for every view (eval mode, on the CPU)."""

    model: "nn.Module"
    input_shape: tuple[int, int, int]  # (C, H, W) of one image; a batch of 1 is run
    kind: str  # "python", "module", "pt2", "onnx" or "torchscript"
    description: str  # "from net.py:Net", "from resnet18.onnx (converted by onnx2pytorch 0.6.0)"
    path: str  # the file (or the module's name for module:Name)
    name: str  # a short display name: the class or function, else the file's stem
    notes: list[str] = field(default_factory=list)  # what was done to it, what the exporter did, what differs
    hooks_work: bool = True  # forward hooks reach the layers: the lab (feature maps, Grad-CAM) works
    hooks_reason: str = ""  # why not, when they do not (then only the graph and the numbers are possible)
    weights: str | None = None  # the checkpoint loaded into it, if any
    # Where ``model`` refuses the hooks that recording needs (TorchScript): a module that computes the same (checked
    # on a random input) and can be recorded for the graph, shapes and MACs; its layers are functions and it holds
    # no parameters (count them on ``model``). None where ``model`` itself records, or no such copy could be made.
    graph_model: "nn.Module | None" = None

    def summary(self) -> str:
        """One line for the status bar."""
        shape = "×".join(str(d) for d in self.input_shape)
        tail = "" if self.hooks_work else f"; {self.hooks_reason}"
        return f"{self.name} {self.description}, input {shape}{tail}"


class Steps:
    """``progress(text)`` and ``check()`` between the slow steps; both optional."""

    def __init__(self, progress: ProgressText | None = None, check: Check | None = None):
        self._progress, self._check = progress, check
        self.raised: BaseException | None = None  # what check() raised: passed on as it is, never rewritten

    def __call__(self, text: str) -> None:
        self.check()
        if self._progress:
            self._progress(text)

    def check(self) -> None:
        if self._check:
            try:
                self._check()
            except BaseException as error:
                self.raised = error
                raise


def shape_text(shape) -> str:
    return "×".join(str(int(d)) for d in shape)


def valid_input_shape(shape: Any, where: str) -> tuple[int, int, int]:
    """``shape`` as (C, H, W) of positive ints; a (1, C, H, W) batch of one is taken as its image."""
    try:
        dims = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise ModelFileError(f"input shape {shape!r} ({where}) is not a list of numbers: give C,H,W") from None
    if len(dims) == 4 and dims[0] == 1:
        dims = dims[1:]
    if len(dims) != 3 or min(dims) <= 0:
        raise ModelFileError(f"input shape {shape_text(dims) if dims else '()'} ({where}) is not C×H×W of "
                             "positive sizes (an image: channels, height, width)")
    return dims  # type: ignore[return-value]


def flat_tensors(outputs) -> list:
    """The tensors of a model's output (a tensor, or lists, tuples and dicts of them), in order."""
    import torch

    if isinstance(outputs, torch.Tensor):
        return [outputs]
    if isinstance(outputs, dict):
        outputs = list(outputs.values())
    if isinstance(outputs, (list, tuple)):
        return [t for item in outputs for t in flat_tensors(item)]
    return []


def _innermost(active: list) -> tuple[str, str, str] | None:
    return active[-1] if active else None


def _shapes(args) -> str:
    import torch

    found = [shape_text(a.shape) for a in args if isinstance(a, torch.Tensor)]
    return ", ".join(found) or "no tensor"


def error_text(error: BaseException) -> str:
    """The line that says what went wrong; TorchScript puts it last, after its own traceback."""
    text = str(error)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > 1 and ("TorchScript" in text or "Traceback" in text):
        return first_line(lines[-1]) if lines else type(error).__name__
    return first_line(error)


def checked_forward(model: "nn.Module", input_shape: tuple[int, int, int], source: str, seed: int = 0):
    """Run ``model`` once on a random batch of one image; on failure raise a ``ModelFileError`` naming the
    layer where it failed and the shape that layer got (forward pre-hooks track the module being run).
    Returns the output."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    x = torch.randn((1, *input_shape), generator=generator)
    active: list[tuple[str, str, str]] = []
    handles = []

    def pre(name):
        def hook(module, args):
            active.append((name, type(module).__name__, _shapes(args)))
        return hook

    def post(name):
        def hook(module, args, output):
            if active and active[-1][0] == name:
                active.pop()
        return hook

    try:
        for name, module in model.named_modules():
            handles.append(module.register_forward_pre_hook(pre(name)))
            handles.append(module.register_forward_hook(post(name)))
    except RuntimeError:  # a ScriptModule refuses hooks: run it untracked
        for handle in handles:
            handle.remove()
        handles = []
    try:
        with torch.no_grad():
            return model(x)
    except Exception as error:  # the user's code: anything may fail
        where = _innermost(active)
        what = error_text(error)
        if where is None or where[0] == "":
            inside = f" in the forward of {type(model).__name__}" if where else ""
            raise ModelFileError(f"the model from {source} fails on an input of shape 1×{shape_text(input_shape)}"
                                 f"{inside}: {what}") from None
        name, kind, got = where
        raise ModelFileError(f"the model from {source} fails on an input of shape 1×{shape_text(input_shape)} in "
                             f"layer {name!r} ({kind}), which got {got}: {what}") from None
    finally:
        for handle in handles:
            handle.remove()
