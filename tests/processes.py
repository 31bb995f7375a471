"""Running the explorer as a user does, in a process of its own."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path


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
