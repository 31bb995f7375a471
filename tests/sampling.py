"""The quick suite and the whole one: what a parametrized sweep keeps in a plain ``pytest`` run.

Tests marked ``slow`` (the heaviest end-to-end cases, and the rest of the sweeps over the whole zoo) are left
out of a plain run (``-m "not slow"`` in pyproject's addopts) and run by ``pytest -m slow``, which CI runs
too (``.ci/run``). A sweep keeps one case per kind in the quick suite, so each behaviour stays covered there.
"""

from __future__ import annotations

import pytest

slow = pytest.mark.slow


def one_per_family(entries, prefer=()) -> list:
    """``pytest.param`` of each zoo entry's name: one of each (source, task, family) in the quick suite (the
    first of ``prefer`` in its order, else the first by name), the others marked ``slow``."""
    prefer = list(prefer)
    chosen: dict[tuple, str] = {}
    for entry in sorted(entries, key=lambda e: (prefer.index(e.name) if e.name in prefer else len(prefer), e.name)):
        chosen.setdefault((entry.source, entry.task, entry.family), entry.name)
    quick = set(chosen.values())
    return [pytest.param(e.name, marks=() if e.name in quick else slow, id=e.name) for e in entries]
