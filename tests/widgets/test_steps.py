"""widgets/common/steps.py: work queued from several places runs a step per event-loop turn, in order, so that
posted events (a paint, input) come between two steps, whoever queued them; a deleted owner's step is dropped."""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QObject, QTimer

from cnn_explorer.widgets.common.steps import later


def test_steps_of_two_chains_take_a_turn_each_and_a_deleted_owners_step_is_dropped(qtbot):
    order: list[str] = []

    def step(name: str, then=None):
        def run():
            order.append(name)
            QTimer.singleShot(0, lambda: order.append(f"posted after {name}"))  # what the turn's events stand for
            if then is not None:
                later(then)
        return run

    gone = QObject()
    later(step("a1", then=step("a2")))
    later(step("b1"))
    later(step("dropped"), gone)
    shiboken6.delete(gone)  # as Qt deletes a panel's child with the panel
    qtbot.waitUntil(lambda: "posted after a2" in order, timeout=10_000)
    assert order == ["a1", "posted after a1", "b1", "posted after b1", "a2", "posted after a2"]
