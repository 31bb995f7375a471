"""Models from files: code (``net.py:Name``, ``package.module:Name``) with optional weights, ONNX (converted
to PyTorch and checked against onnxruntime), ``torch.export`` programs (``.pt2``) and TorchScript.

``is_model_file`` tells a file spec from a zoo name without importing torch; ``open_model_file`` opens one.
Qt-free, as all of ``models/``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnn_explorer.models.files.errors import ModelFileError
from cnn_explorer.models.files.spec import MODEL_SUFFIXES, is_model_file, parse_spec

if TYPE_CHECKING:
    from cnn_explorer.models.files.opened import OpenedFile

__all__ = ["MODEL_SUFFIXES", "ModelFileError", "OpenedFile", "is_model_file", "open_model_file", "parse_spec"]


def open_model_file(spec, **options) -> "OpenedFile":
    """See ``cnn_explorer.models.files.loader.open_model_file``."""
    from cnn_explorer.models.files.loader import open_model_file as _open

    return _open(spec, **options)


def __getattr__(name):
    if name == "OpenedFile":
        from cnn_explorer.models.files.opened import OpenedFile

        return OpenedFile
    raise AttributeError(name)
