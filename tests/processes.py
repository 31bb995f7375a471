"""Running the explorer as a user does, in a process of its own."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock


def interrupt_window(env: dict, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Start ``cnn-explorer ARGS`` (the window), press Ctrl+C once it is up and loading its model (torch's
    library is mapped), and return how it ended."""
    process = subprocess.Popen([sys.executable, "-m", "cnn_explorer.app.cli", *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + timeout
    while "libtorch" not in Path(f"/proc/{process.pid}/maps").read_text():  # the window is up and loading
        assert time.monotonic() < deadline and process.poll() is None, process.stderr.read()
        time.sleep(0.05)  # polling a condition of the other process, not waiting for time to pass
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def cli_here(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """``cnn-explorer ARGS`` run in this process (``app.cli.main``, as ``python -m`` runs it, without the exit):
    its exit status and what it wrote, for the checks of what a command answers, and for the reference runs
    that a separate process must equal. ``env``: the environment for the call (os.environ again after it).
    Checks that need a process of their own (what is imported, signals, closed pipes, a full disk, a library's
    lines on the real standard error) start one."""
    from cnn_explorer.app import cli

    out, err = io.StringIO(), io.StringIO()
    environment = mock.patch.dict(os.environ, env, clear=True) if env is not None else contextlib.nullcontext()
    with environment, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main([str(a) for a in args])
        except SystemExit as exit:  # argparse's --help and its errors
            code = exit.code if isinstance(exit.code, int) else 1
    return subprocess.CompletedProcess(["cnn-explorer", *map(str, args)], code, out.getvalue(), err.getvalue())
