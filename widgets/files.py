"""Where exports go: a target is checked before any work is done for it. No Qt, no torch."""

from __future__ import annotations

import os
from pathlib import Path


def check_writable(path: Path) -> None:
    """Refuse, before any work, a target that cannot be written: a folder, a missing folder, a read-only file
    or folder."""
    if path.is_dir():
        raise IsADirectoryError(f"cannot write {path}: it is a folder")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot write {path}: folder {path.parent} does not exist")
    if path.exists() and not os.access(path, os.W_OK):
        raise PermissionError(f"cannot write {path}: the file is read-only")
    if not path.exists() and not os.access(path.parent, os.W_OK):
        raise PermissionError(f"cannot write {path}: folder {path.parent} is read-only")
