"""The one error type of model files: what is wrong, in one line, for the status bar and the CLI."""

from __future__ import annotations


class ModelFileError(ValueError):
    """A model file (or ``module:Name`` spec) that cannot be opened; the message is one line, never a traceback."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class InputShapeNeeded(ModelFileError):
    """The file does not state its input shape, and none was given (the window then asks for one)."""


def first_line(error: BaseException, limit: int = 200) -> str:
    """An exception as one short line: its first non-empty line, else its type's name."""
    for line in str(error).splitlines():
        if line.strip():
            text = line.strip()
            return text if len(text) <= limit else text[:limit - 1] + "…"
    return type(error).__name__
