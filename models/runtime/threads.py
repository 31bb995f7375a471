"""How many torch threads a worker of the app runs on: every core but one, which is left to the window (and the
Live tab's capture thread).

On this project's 2-core machine that is one thread, and it is the robust choice: with two, OpenMP's barriers
wait for whichever worker the other threads (or any other process) preempted. Measured on the busy 2-core
machine: a frame of SSDlite took 0.3-3 s instead of 25 ms (``bench-live``; quiet, two threads are about 20 %
faster); the lab's first view of DenseNet-201 took 28-34 s instead of 2.7-4 s, and the window's heartbeat had
21-31 stalls over 100 ms meanwhile instead of 1-3 (the GUI thread waited for a core). No torch import here.
"""

from __future__ import annotations

import os


def spare_core_threads() -> int:
    """Torch threads for a worker thread: every core but one (at least one). Set with ``torch.set_num_threads``
    on the worker's own thread (OpenMP's setting is per thread)."""
    return max(1, (os.cpu_count() or 1) - 1)
