"""The Qt-free rooms (the session, the request runner, the view data, the fold state, the caches) pass
their tests in a process where PySide6 cannot be imported (tests/qt_free/conftest.py blocks it)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def test_qt_free_units_pass_with_qt_blocked():
    env = dict(os.environ, CNN_EXPLORER_OFFLINE="1", CNN_EXPLORER_QT_FREE="1")
    # In one process (-n 0): this test's worker already shares the cores with the others; two workers more
    # would each import torch again.
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:pytest-qt",
                             "-p", "no:cacheprovider", str(HERE / "qt_free")],
                            capture_output=True, text=True, env=env, timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    passed = re.search(r"(\d+) passed", result.stdout)
    assert passed and int(passed.group(1)) >= 15, result.stdout[-2000:]
    print(result.stdout.strip().splitlines()[-1])
