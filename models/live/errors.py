"""The live view's errors: ``ValueError``s whose message is one line, ready for a status bar or the CLI."""

from __future__ import annotations


def one_line(text: object) -> str:
    return " ".join(str(text).split())


class LiveError(ValueError):
    """The live pipeline cannot run as asked (a device that is missing, CUDA out of memory, a model the live
    view cannot run …). ``suggestions`` says what the user can do instead (``"smaller input"``, ``"cpu"``)."""

    def __init__(self, message: object, *, suggestions: tuple[str, ...] = ()):
        super().__init__(one_line(message))
        self.suggestions = tuple(suggestions)


class SourceError(LiveError):
    """A frame source failed: a camera that is missing or unplugged, a video file that is missing, unreadable,
    truncated or deleted while playing, an image folder that is empty or emptied while running."""
