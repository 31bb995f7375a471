"""The collector and imports (``app/core/collector.py``, ``models/runtime/torch_import.py``): long-lived objects are kept out
of full collections, and torch's libraries are loaded without the GIL, with torch working after."""

import gc
import subprocess
import sys

from cnn_explorer.app.core import collector


def test_a_freeze_follows_new_imports_only(monkeypatch):
    monkeypatch.setattr(collector, "_modules_at_freeze", len(sys.modules))
    frozen = gc.get_freeze_count()
    assert not collector.freeze_new_imports()  # nothing imported since
    monkeypatch.setattr(collector, "_modules_at_freeze", len(sys.modules) - collector.MIN_NEW_MODULES)
    kept = [object() for _ in range(10)] + [[] for _ in range(1000)]  # tracked objects alive now
    assert collector.freeze_new_imports()
    assert gc.get_freeze_count() >= frozen + 1000
    del kept


def test_while_importing_full_collections_wait_and_the_thresholds_come_back():
    before = gc.get_threshold()
    with collector.importing():
        assert gc.get_threshold()[2] == collector.WAITING_THRESHOLD
        assert gc.get_threshold()[:2] == before[:2]  # the young generations are collected as usual
        with collector.importing():  # nested (another thread) keeps them raised
            pass
        assert gc.get_threshold()[2] == collector.WAITING_THRESHOLD
    assert gc.get_threshold() == before


PRELOAD = """
import sys
from cnn_explorer.models.runtime.torch_import import load_libraries
loaded = load_libraries()
assert 'torch' not in sys.modules
import torch
assert load_libraries() == []  # torch is imported: nothing to do
print(sorted(loaded), float((torch.ones(2, 2) @ torch.ones(2, 2)).sum()))
"""


def test_torch_libraries_are_loaded_before_torch_and_torch_works():
    result = subprocess.run([sys.executable, "-c", PRELOAD], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    names, total = result.stdout.split("]")[0] + "]", result.stdout.split("]")[1].strip()
    assert "libtorch_cpu" in names and float(total) == 8.0
