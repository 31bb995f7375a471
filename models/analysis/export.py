"""Export a model to ONNX and check the file with ``onnx.checker``."""

from __future__ import annotations

import contextlib
import io
import os
import re
import warnings
from pathlib import Path

import torch
from torch import nn

# ONNX keeps a model in one protobuf of at most 2 GiB; larger weights go to a side file.
_PROTOBUF_LIMIT = 2 * 1024**3 - 64 * 1024**2


class ExportError(RuntimeError):
    """No exporter could handle the model; the message is one line."""


def _first_line(error: Exception) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error)).strip()
    return (text.splitlines() or [type(error).__name__])[0][:200]


def export_onnx(model: nn.Module, input_shape, path: str | os.PathLike) -> list[Path]:
    """Write ``model`` to ``path`` as ONNX, check it, and return the files written (the model, and its
    external weights file for models over 2 GiB).

    torch.export's exporter comes first. The detectors' forward depends on the data (how many boxes
    survive), which torch.export cannot capture; for them the TorchScript exporter, which traces one
    concrete run as torchvision's own ONNX tests do, takes over."""
    import onnx

    path = Path(path)
    weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    external = weight_bytes > _PROTOBUF_LIMIT
    example = torch.randn(*input_shape)
    attempts = [dict(dynamo=True, external_data=external, verbose=False, report=False)]
    if not external:
        attempts.append(dict(dynamo=False, opset_version=17))
    reasons = []
    for options in attempts:
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
                    warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")
                torch.onnx.export(model, (example,), str(path), **options)
            onnx.checker.check_model(str(path))
            break
        except OSError:  # the file could not be written (a full disk): no other exporter would do better
            raise
        except Exception as error:  # the exporters raise many types; all mean "cannot export this model"
            reasons.append(_first_line(error))
    else:
        raise ExportError(f"ONNX export failed: {' / '.join(reasons)}")
    files = [path]
    data = path.with_name(path.name + ".data")
    if options.get("dynamo") and data.exists():
        files.append(data)
    return files
