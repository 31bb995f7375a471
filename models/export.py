"""Export a model to ONNX and check the file with ``onnx.checker``."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import torch
from torch import nn

# ONNX keeps a model in one protobuf of at most 2 GiB; larger weights go to a side file.
_PROTOBUF_LIMIT = 2 * 1024**3 - 64 * 1024**2


class ExportError(RuntimeError):
    """The exporter could not handle the model; the message is one line."""


def export_onnx(model: nn.Module, input_shape, path: str | os.PathLike) -> list[Path]:
    """Write ``model`` to ``path`` as ONNX, check it, and return the files written (the model, and its
    external weights file for models over 2 GiB)."""
    import onnx

    path = Path(path)
    weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    external = weight_bytes > _PROTOBUF_LIMIT
    example = torch.randn(*input_shape)
    try:
        with contextlib.redirect_stdout(io.StringIO()), torch.no_grad():
            torch.onnx.export(model, (example,), str(path), dynamo=True, external_data=external,
                              verbose=False, report=False)
        onnx.checker.check_model(str(path))
    except Exception as error:  # the exporter raises many types; all mean "cannot export this model"
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
        raise ExportError(f"ONNX export failed: {reason}") from None
    files = [path]
    data = path.with_name(path.name + ".data")
    if data.exists():
        files.append(data)
    return files
