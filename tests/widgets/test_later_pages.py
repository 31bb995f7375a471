"""widgets/common/later_pages.py: a page whose maker is a generator is made a step a turn in the background, and
finished at once when it is asked for; its tab then holds the page itself."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QTabWidget, QWidget

from cnn_explorer.widgets.common.later_pages import LaterPages


def _tabs(qtbot, turns: bool = False) -> tuple[QTabWidget, list[str], dict]:
    tabs = QTabWidget()
    qtbot.addWidget(tabs)
    tabs.addTab(QLabel("first"), "First")
    steps: list[str] = []
    made: dict[str, QWidget] = {}

    def stepped(name: str):
        page = QWidget(tabs)
        for part in ("a", "b", "c"):
            steps.append(f"{name}.{part}")
            if turns:  # what the turn's other events stand for (a paint, input): run before the next step
                QTimer.singleShot(0, lambda: steps.append("|"))
            yield
        return page

    def plain():
        steps.append("plain")
        return QWidget(tabs)

    later = LaterPages(tabs, {"one": ("One", lambda: stepped("one")), "two": ("Two", plain),
                              "three": ("Three", lambda: stepped("three"))}, made.__setitem__, first=1)
    tabs.later = later
    return tabs, steps, made


def test_a_page_made_by_steps_takes_a_turn_a_step_in_the_background(qtbot):
    tabs, steps, made = _tabs(qtbot, turns=True)
    assert steps == []  # nothing in the panel's own turn
    qtbot.waitUntil(lambda: len(made) == 3, timeout=10_000)
    qtbot.waitUntil(lambda: steps[-1] == "|", timeout=10_000)
    assert steps == ["one.a", "|", "one.b", "|", "one.c", "|", "plain", "three.a", "|", "three.b", "|", "three.c", "|"]
    assert [tabs.widget(i) for i in (1, 2, 3)] == [made["one"], made["two"], made["three"]]


def test_a_page_asked_for_midway_is_finished_at_once(qtbot):
    tabs, steps, made = _tabs(qtbot)
    qtbot.waitUntil(lambda: "one.a" in steps, timeout=10_000)
    tabs.setCurrentIndex(3)  # the user chooses the third tab: it is made now, whole
    assert "three" in made and steps[-3:] == ["three.a", "three.b", "three.c"]
    assert tabs.widget(3) is made["three"] and tabs.currentIndex() == 3
    tabs.later.make("one")  # the page begun in the background is finished, not begun again
    assert steps.count("one.a") == 1 and tabs.widget(1) is made["one"]
    qtbot.waitUntil(lambda: "two" in made, timeout=10_000)
    assert not tabs.later.waiting()
