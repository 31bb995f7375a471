"""What a model spec names, told cheaply (no torch import): a file or ``module:Name``, or else a zoo name.

Kinds:

- ``path/to/net.py:Name``: a class (built with no arguments) or a function returning an ``nn.Module``;
- ``package.module:Name``: the same from an importable module (uvicorn's ``module:attr``);
- ``file.onnx``, ``file.pt2`` (``torch.export``), ``file.pt`` / ``.ts`` (TorchScript), ``.pth`` / ``.pt`` /
  ``.safetensors`` holding a state dict (refused with the way to open it).

Zoo names are plain identifiers (``resnet18``), so anything with a path separator, a ``:`` or a known suffix
is a file spec (a file named like a zoo entry is given as ``./name``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

MODEL_SUFFIXES = (".onnx", ".pt2", ".pt", ".pth", ".ts", ".torchscript", ".jit", ".safetensors", ".bin", ".ckpt")
_ATTR = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_MODULE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


@dataclass(frozen=True)
class Spec:
    kind: str  # "python" (a .py file), "module" (an importable module) or "file" (kind told by content)
    path: str  # the file, or the module's dotted name
    attr: str = ""  # Name after the colon ("" for "file")


def _split_colon(spec: str) -> tuple[str, str] | None:
    """``left:Name`` → (left, Name); a Windows drive (``C:\\net.onnx``) is not a colon of that kind."""
    if ":" not in spec:
        return None
    left, attr = spec.rsplit(":", 1)
    if not left or not _ATTR.match(attr):
        return None
    return left, attr


def parse_spec(spec: str) -> Spec | None:
    """The kind of ``spec``; None when it is not a file spec (then it is a zoo name)."""
    spec = (spec or "").strip()
    if not spec:
        return None
    split = _split_colon(spec)
    if split:
        left, attr = split
        if left.endswith(".py") or "/" in left or os.sep in left:
            return Spec("python", left, attr)
        if _MODULE.match(left):
            return Spec("module", left, attr)
    lowered = spec.lower()
    if lowered.endswith(".py"):
        return Spec("python", spec, "")
    if lowered.endswith(MODEL_SUFFIXES) or "/" in spec or os.sep in spec:
        return Spec("file", spec)
    return None


def is_model_file(spec: str) -> bool:
    """True when ``spec`` names a model file or ``module:Name`` rather than a zoo entry (cheap: no torch)."""
    return parse_spec(spec) is not None
