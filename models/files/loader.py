"""``open_model_file``: one entry point for every kind of model file (see ``spec.py`` for the kinds)."""

from __future__ import annotations

from pathlib import Path

from cnn_explorer.models.files.errors import InputShapeNeeded, ModelFileError, first_line
from cnn_explorer.models.files.opened import (Check, OpenedFile, ProgressText, Steps, checked_forward, shape_text,
                                              valid_input_shape)
from cnn_explorer.models.files.spec import Spec, parse_spec

_CHECKPOINT_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt", ".safetensors")


def _input_shape(stored, given, source: str, notes: list[str], how: str) -> tuple[int, int, int]:
    """The stored shape when there is one (a different given one is noted), else the given one."""
    if stored is not None:
        shape = valid_input_shape(stored, f"stored in {source}")
        if given is not None and valid_input_shape(given, "given") != shape:
            notes.append(f"{source} states its input as {shape_text(shape)}; the input shape given "
                         f"({shape_text(valid_input_shape(given, 'given'))}) is not used")
        return shape
    if given is not None:
        return valid_input_shape(given, "given")
    raise InputShapeNeeded(f"{source} {how}: give the input shape (--input-shape CxHxW, e.g. 3x224x224)")


def _open_code(spec: Spec, text: str, weights, given, steps: Steps) -> OpenedFile:
    from cnn_explorer.models.files.python_source import open_code, stored_input_shape

    steps(f"running {spec.path}" if spec.kind == "python" else f"importing {spec.path}")
    model, module, where = open_code(spec)
    notes = []
    if weights:
        from cnn_explorer.models.zoo.weights import WeightsError, load_state_dict_checked, read_state_dict

        steps(f"loading weights from {Path(weights).name}")
        try:
            note = load_state_dict_checked(model, read_state_dict(weights), weights)
        except WeightsError as error:
            raise ModelFileError(str(error)) from None
        notes.append(f"weights from {weights}" + (f" ({note})" if note else ""))
    else:
        notes.append("no weights given: random initialization (give --weights file.pth or .safetensors)")
    shape = _input_shape(stored_input_shape(model, module), given, text, notes,
                         "does not state its input shape (set input_shape = (C, H, W) on the model)")
    model.eval()
    steps(f"trying a forward pass at 1×{shape_text(shape)}")
    checked_forward(model, shape, text)
    description = f"from {text}" + (f" with weights from {Path(weights).name}" if weights else "")
    return OpenedFile(model, shape, spec.kind, description, spec.path, spec.attr.rsplit(".", 1)[-1], notes,
                      weights=weights)


def _refuse_not_a_model(path: Path, detail: str = "") -> ModelFileError:
    tail = f" ({detail})" if detail else ""
    return ModelFileError(f"{path} is not a model file: not ONNX, a torch.export .pt2, TorchScript or a PyTorch "
                          f"checkpoint{tail}")


def _open_file(path_text: str, weights, given, steps: Steps) -> OpenedFile:
    from cnn_explorer.models.files import torch_files

    path = Path(path_text).expanduser()
    if not path.exists():
        raise ModelFileError(f"file not found: {path_text}")
    if path.is_dir():
        raise ModelFileError(f"{path_text} is a folder, not a model file")
    if not path.is_file():
        raise ModelFileError(f"{path_text} is not a regular file")
    if path.stat().st_size == 0:
        raise ModelFileError(f"{path_text} is empty")
    suffix = path.suffix.lower()
    kind = "onnx" if suffix == ".onnx" else torch_files.archive_kind(path)
    if kind in ("torch.save", "") and (suffix in _CHECKPOINT_SUFFIXES or kind == "torch.save"):
        torch_files.refuse_checkpoint(path, path_text)  # always raises: weights are not a model
    if kind == "":
        import onnx

        try:  # a model file under another suffix; protobuf reads much as ONNX, so the graph must have nodes
            model = onnx.load(str(path), load_external_data=False)
            kind = "onnx" if model.graph.node else ""
        except Exception:
            kind = ""
    if kind in ("", "zip"):
        raise _refuse_not_a_model(path)
    if weights:
        raise ModelFileError(f"--weights goes with code (file.py:Name or module:Name); {path_text} holds its "
                             "own weights")
    notes: list[str] = []
    if kind == "onnx":
        from cnn_explorer.models.files.onnx_source import CONVERTER, open_onnx

        model, shape, notes = open_onnx(path, given, steps)
        return OpenedFile(model, shape, "onnx", f"from {path.name} (converted by {CONVERTER})", str(path),
                          path.stem, notes)
    if kind == "pt2":
        model, stored, notes, hooks = torch_files.open_pt2(path, steps)
        shape = _input_shape(stored, given, path.name, notes, "stores no example input of one image")
        model.eval()
        steps(f"trying a forward pass at 1×{shape_text(shape)}")
        checked_forward(model, shape, path.name)
        reason = "" if hooks else "the program could not be unflattened: hooks see the whole model only"
        return OpenedFile(model, shape, "pt2", f"from {path.name} (torch.export)", str(path), path.stem, notes,
                          hooks_work=hooks, hooks_reason=reason)
    model = torch_files.open_torchscript(path, steps)
    shape = _input_shape(None, given, path.name, notes, "is TorchScript, which stores no input shape")
    model.eval()
    steps(f"trying a forward pass at 1×{shape_text(shape)}")
    checked_forward(model, shape, path.name)
    steps("converting TorchScript to a graph the explorer can record")
    graph_model, note, hooks = torch_files.torchscript_graph_module(model, shape)
    if hooks:  # the converted copy, its layers rebuilt, is the model the explorer and the lab look at
        notes.append(f"TorchScript refuses forward hooks: {note}")
        return OpenedFile(graph_model, shape, "torchscript", f"from {path.name} (TorchScript)", str(path),
                          path.stem, notes)
    notes.append(f"TorchScript refuses forward hooks: {note}")
    reason = torch_files.TORCHSCRIPT_REASON
    if graph_model is None:
        reason = reason.replace("the graph and the numbers only", "nor can its graph be recorded")
    return OpenedFile(model, shape, "torchscript", f"from {path.name} (TorchScript)", str(path), path.stem, notes,
                      hooks_work=False, hooks_reason=reason, graph_model=graph_model)


def open_model_file(spec: str, *, weights: str | None = None, input_shape: tuple | None = None,
                    progress: ProgressText | None = None, check: Check | None = None) -> OpenedFile:
    """Open ``spec`` (``net.py:Name``, ``package.module:Name``, ``.onnx``, ``.pt2``, TorchScript) as a model in
    eval mode on the CPU. ``weights``: a ``.pth`` / ``.safetensors`` state dict for code. ``input_shape``:
    (C, H, W), used when the file stores none. ``progress(text)`` is told each step and ``check()`` is called
    between steps (what it raises, to cancel, is passed on). Every other failure is a ``ModelFileError`` with
    a one-line message."""
    steps = Steps(progress, check)
    text = (spec or "").strip()
    parsed = parse_spec(text)
    if parsed is None:
        raise ModelFileError(f"{spec!r} is not a model file nor module:Name")
    try:
        if parsed.kind in ("python", "module"):
            return _open_code(parsed, text, weights, input_shape, steps)
        return _open_file(parsed.path, weights, input_shape, steps)
    except ModelFileError:
        raise
    except BaseException as error:
        if error is steps.raised or not isinstance(error, Exception):
            raise  # the caller's cancellation, KeyboardInterrupt
        raise ModelFileError(f"cannot open {text}: {type(error).__name__}: {first_line(error)}") from None
