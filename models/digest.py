"""The SHA-256 of a file, read in blocks: the one home for hashing a file (published weights checked against the
prefix in their names, a model file's cache key, the trust the window remembers per content). No torch here."""

from __future__ import annotations

import hashlib
import os
from typing import Callable


def file_sha256(path: str | os.PathLike, progress: Callable[[int, int], None] | None = None) -> str:
    """The hex digest of ``path``'s bytes; ``progress(done, total)`` after each block (OSError when unreadable)."""
    digest, done, total = hashlib.sha256(), 0, os.path.getsize(path)
    with open(path, "rb") as file:
        while block := file.read(1 << 22):
            digest.update(block)
            done += len(block)
            if progress is not None:
                progress(done, total)
    return digest.hexdigest()
