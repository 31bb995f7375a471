"""Where exports go, and how they are written. No Qt, no torch.

Every output of the explorer, from the command line or the window, goes through this module:

- ``check_writable`` refuses, before any work, a target that cannot be written (a folder, a missing or
  read-only or immutable folder, a read-only file). It asks the file system itself (a probe file), since
  permission bits say nothing about an immutable folder or a read-only mount, nor about what root may do.
- ``staged_output`` hands the writer a path of the same name in a fresh hidden folder beside the target; what
  the writer put there replaces its namesakes only once the whole write has ended well and reached the disk.
  On an error, an interrupt or a full disk the folder is removed and the user's files are untouched.
- ``discard_staged`` removes what is being written now: the command line calls it when Ctrl+C ends it at
  once (``os._exit``), where no ``finally`` runs.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

_STAGING_PREFIX = ".cnn-explorer-"
_in_progress: set[Path] = set()


def check_writable(path: Path) -> None:
    """Refuse, before any work, a target that cannot be written: a folder, a missing folder, a read-only file,
    a folder where no file can be made (read-only, immutable, a read-only mount)."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"cannot write {path}: it is a folder")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot write {path}: folder {path.parent} does not exist")
    if path.exists() and not path.is_file():
        raise OSError(f"cannot write {path}: it is not a regular file")
    if path.exists() and not os.access(path, os.W_OK):
        raise PermissionError(f"cannot write {path}: the file is read-only")
    try:
        probe, name = tempfile.mkstemp(prefix=f"{_STAGING_PREFIX}check-", dir=path.parent)
    except OSError as error:
        if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise PermissionError(f"cannot write {path}: folder {path.parent} is read-only") from None
        raise OSError(f"cannot write {path}: {(error.strerror or str(error)).lower()}") from None
    os.close(probe)
    os.unlink(name)


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` with Python's own file calls, which raise on a full disk (Qt's writers
    report no error there and leave a short file)."""
    with open(path, "wb") as out:
        out.write(data)


class OutputError(OSError):
    """An output that could not be written whole (a full disk, a failed write): one line; the old file stays."""


@contextlib.contextmanager
def staged_output(path: str | os.PathLike) -> Iterator[Path]:
    """Write ``path`` (and files beside it, such as ``x-2.png`` or ``x.onnx.data``) all or nothing.

    Yields a path named like ``path`` in a hidden folder beside it. When the block ends, every file the writer
    made there must be non-empty; each is flushed to the disk and moved over its namesake beside ``path``.
    Anything else (an exception, an empty file, Ctrl+C) removes the folder and leaves the old files as they
    were. An ``OSError`` of the writing is raised as an ``OutputError`` that names the target."""
    path = Path(path)
    try:
        folder = Path(tempfile.mkdtemp(prefix=f"{_STAGING_PREFIX}{path.name}.", suffix=".partial", dir=path.parent))
    except OSError as error:
        raise OutputError(f"cannot write {path}: {_reason(error)}") from None
    _in_progress.add(folder)
    try:
        yield folder / path.name
        written = sorted(p for p in folder.iterdir() if p.is_file())
        if not written:
            raise OutputError(f"cannot write {path}: nothing was written")
        for file in written:
            if file.stat().st_size == 0:
                raise OutputError(f"cannot write {path.parent / file.name}: it came out empty (is the disk full?)")
            with open(file, "rb") as written_file:
                os.fsync(written_file.fileno())  # a full disk shows here on file systems that allocate late
        for file in written:
            os.replace(file, path.parent / file.name)
    except OutputError:
        raise
    except OSError as error:
        raise OutputError(f"cannot write {path}: {_reason(error)}") from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        _in_progress.discard(folder)


def _reason(error: OSError) -> str:
    text = error.strerror or str(error)
    return text[:1].lower() + text[1:]


def discard_staged() -> None:
    """Remove every output being written now (for an exit that runs no ``finally``)."""
    for folder in list(_in_progress):
        shutil.rmtree(folder, ignore_errors=True)
        _in_progress.discard(folder)


def free_name(path: Path, taken: set[Path] = frozenset()) -> Path:
    """``path``, or ``stem-2.suffix``, ``stem-3.suffix`` … : the first name that is neither on disk nor in
    ``taken``."""
    candidate, number = path, 1
    while candidate.exists() or candidate in taken:
        number += 1
        candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
    return candidate
