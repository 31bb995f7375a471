"""Downloads of published weights that failed: remembered for a while, so that an offline machine does not try
the network again at every open of a model (each try waits for the name lookup to fail), its analysis cache
keeps answering, and the user reads one line of why, not "[Errno -2] Name or service not known".

The record is a small JSON file beside the analysis cache (``download_failures.json``); a failure counts for
``REMEMBER_S``. ``forget()`` (File › Weights › Retry download) clears it. No torch here."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

REMEMBER_S = 15 * 60


def _path() -> Path:
    from cnn_explorer.models.analysis.cache import cache_dir

    return cache_dir().parent / "download_failures.json"


def _read() -> dict:
    try:
        data = json.loads(_path().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def reason_of(error: BaseException) -> str:
    """One line a user understands, for an error of ``urllib``."""
    cause = getattr(error, "reason", None) or error
    chain, seen = [], error  # huggingface_hub and requests wrap the socket's error: look through the chain
    while seen is not None and len(chain) < 8:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    if any(isinstance(e, socket.gaierror) or "Name or service not known" in str(e)
           or "Failed to resolve" in str(e) for e in chain):
        return "no network: the weights' host could not be found"
    if any(isinstance(e, OSError) and e.errno == 101 for e in chain) or any(
            "Network is unreachable" in str(e) for e in chain):
        return "no network: the network is unreachable"
    if isinstance(cause, socket.gaierror):
        return "no network: the weights' host could not be found"
    if isinstance(cause, (socket.timeout, TimeoutError)):
        return "the download timed out"
    if isinstance(cause, ConnectionRefusedError):
        return "the weights' host refused the connection"
    if isinstance(cause, OSError) and cause.errno == 101:
        return "no network: the network is unreachable"
    text = str(getattr(cause, "strerror", None) or cause).strip().splitlines()
    return (text[0] if text else type(cause).__name__)[:200]


def remember(url: str, error: BaseException) -> str:
    """Record the failed download of ``url``; returns its one-line reason."""
    reason = reason_of(error)
    data = _read()
    data[url] = {"reason": reason, "time": time.time()}
    try:
        path = _path()
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.partial")
        temporary.write_text(json.dumps(data))
        os.replace(temporary, path)
    except OSError:
        pass  # a read-only cache: it is remembered nowhere, and tried again next time
    return reason


def failed_recently(url: str | None = None) -> str | None:
    """The reason ``url`` (or any download, when None) failed within ``REMEMBER_S``; None when it did not."""
    now = time.time()
    records = [_read().get(url)] if url else list(_read().values())
    for record in records:
        if isinstance(record, dict) and now - float(record.get("time", 0)) < REMEMBER_S:
            return str(record.get("reason", "the download failed"))
    return None


def forget() -> None:
    """Try the network again (File › Weights › Retry download)."""
    try:
        _path().unlink()
    except OSError:
        pass
