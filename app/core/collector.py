"""The garbage collector and the GUI thread: one home for keeping long-lived objects out of its walks.

A full collection walks every object the collector tracks, with the GIL held, on whichever thread set it off,
and the GUI thread waits for it. The libraries this app imports are most of those objects: torch and
torchvision alone are ~400,000; timm, imported by the parameter counter, another ~150,000 that made each full
collection take ~120 ms on the 2-core machine, several times a minute.

So background work that may import libraries or build models (the runner's jobs, each parameter count, the
start-up imports) runs in ``importing()``:

- Meanwhile, full collections wait (the oldest generation's threshold is raised), while the young generations
  are still collected as usual. Importing torch set off five full collections of 40-160 ms each.
- When it ends, if new modules were imported, ``gc.freeze()`` moves everything alive into the permanent
  generation (an O(1) splice of lists): a module's functions, classes and constants live as long as the
  process, and full collections walk only what was made since (~2,300 objects, 0.5 ms, in a window showing
  DenseNet-201, against ~200,000 before). Objects frozen that die later are still freed by reference
  counting; what was already cyclic garbage at a freeze stays (118 small objects left by imports in that
  window), and freezes happen only when modules were imported, a few times per process.

Disabling the collector outright was tried and is worse: everything made meanwhile stays young, and the first
collection after walks it all, on whichever thread comes next.
"""

from __future__ import annotations

import gc
import sys
import threading
from contextlib import contextmanager

# Fewer new modules than this (a lazily imported submodule) are not worth a freeze.
MIN_NEW_MODULES = 10

_lock = threading.Lock()
_modules_at_freeze = 0
_importing = 0  # threads inside importing()
_threshold: tuple[int, int, int] | None = None  # the thresholds to restore
# The oldest generation's threshold while importing: collections of the young ones, counted.
WAITING_THRESHOLD = 1_000_000


def freeze_new_imports(min_new: int = MIN_NEW_MODULES) -> bool:
    """Freeze what is alive if at least ``min_new`` modules were imported since the last freeze; say whether."""
    global _modules_at_freeze
    with _lock:
        if len(sys.modules) < _modules_at_freeze + min_new:
            return False
        gc.freeze()
        _modules_at_freeze = len(sys.modules)
        return True


@contextmanager
def importing():
    """No full collection while the block runs (in any thread; young generations are still collected), and
    new imports frozen when it ends."""
    global _importing, _threshold
    with _lock:
        if _importing == 0:
            _threshold = gc.get_threshold()
            gc.set_threshold(_threshold[0], _threshold[1], WAITING_THRESHOLD)
        _importing += 1
    try:
        yield
    finally:
        freeze_new_imports()
        with _lock:
            _importing -= 1
            if _importing == 0 and _threshold is not None:
                gc.set_threshold(*_threshold)
