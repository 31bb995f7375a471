"""A feature is a folder and one line: a toy feature, registered at run time, gets a tab, an action in a menu and
a command, without a line of the window's or the command line's code knowing it."""

from __future__ import annotations

import types

import pytest
from PySide6.QtWidgets import QLabel

from cnn_explorer.app.core.features import ActionSpec, Feature, Tab, features, register, unregister


class ToyController:
    def __init__(self, ctx):
        self.ctx = ctx
        self.panel = QLabel("the toy's panel", ctx.parent)
        self.events: list[str] = []
        ctx.model_shown.connect(lambda name: self.events.append(f"model {name}"))

    def opened(self, first: bool) -> None:
        self.events.append(f"opened first={first}")

    def left(self) -> None:
        self.events.append("left")

    def shutdown(self) -> None:
        self.events.append("shutdown")


def _toy_cli():
    def add_commands(subparsers) -> None:
        toy = subparsers.add_parser("toy", help="the toy's command")
        toy.add_argument("--name", default="world")

    def hello(args) -> int:
        print(f"hello {args.name}")
        return 0

    return types.SimpleNamespace(add_commands=add_commands, HANDLERS={"toy": hello})


@pytest.fixture
def toy():
    made: list[ToyController] = []

    def make(ctx):
        made.append(ToyController(ctx))
        return made[-1]

    feature = Feature("toy", make, Tab("Toy", "&Toy", "Ctrl+9", "Opening the toy…"),
                      actions=(ActionSpec("toy_hello", "Say &hello", lambda ctx: ctx.notify("hello from the toy", 5000),
                                          ("Ctrl+Shift+9",), menu="Help", section="help"),),
                      cli=_toy_cli())
    register(feature)
    yield made
    unregister("toy")


def test_a_toy_feature_gets_a_tab_an_action_and_a_command(toy, make_explorer, qtbot, capsys):
    from cnn_explorer.app.cli import main

    assert [f.name for f in features()][-1] == "toy"
    window = make_explorer("lenet5")
    tabs = window.tabs
    assert tabs.tabText(tabs.count() - 1) == "Toy" and not toy  # a placeholder until it is opened
    assert window.action_map["toy_tab"] in window.menus["View"].actions()
    assert window.action_map["toy_hello"] in window.menus["Help"].actions()

    window.action_map["toy_tab"].trigger()  # View › Toy (Ctrl+9): built, then opened
    controller = window.feature("toy")
    assert toy == [controller] and tabs.currentWidget() is controller.panel
    assert controller.events == ["opened first=True"]
    window.action_map["graph_tab"].trigger()
    assert controller.events[-1] == "left"
    window.action_map["toy_hello"].trigger()
    assert window.statusBar().currentMessage() == "hello from the toy"
    assert ("Help", "Say hello", "Ctrl+Shift+9") in window.shortcut_list()

    # It follows the app through its context.
    with qtbot.waitSignal(window.model_shown, timeout=60_000, check_params_cb=lambda n: n == "alexnet"):
        window.open_model("alexnet")
    qtbot.waitUntil(lambda: "model alexnet" in controller.events, timeout=5_000)
    window.close()
    assert controller.events[-1] == "shutdown"

    assert main(["toy", "--name", "class"]) == 0
    assert capsys.readouterr().out == "hello class\n"


def test_two_features_cannot_share_a_name(toy):
    with pytest.raises(ValueError, match="already registered"):
        register(Feature("toy", lambda ctx: None))
    with pytest.raises(ValueError, match="already registered"):
        register(Feature("lab", lambda ctx: None))


def test_the_window_runner_refuses_an_undeclared_channel_and_a_model_load_preempts_the_lab():
    from cnn_explorer.app.core.requests import Cancelled, RequestRunner

    import threading

    posted, both = [], threading.Event()

    def post(fn) -> None:  # the GUI thread's queue: run below, in order
        posted.append(fn)
        if len(posted) == 2:
            both.set()

    runner = RequestRunner(post, strict=True)
    with pytest.raises(ValueError, match="was not declared"):
        runner.submit(lambda job: None, channel="lab.tool")
    runner.declare("lab.tool", cancelled_by=("model",))
    started, release = threading.Event(), threading.Event()
    seen = []

    def tool(job):
        started.set()
        release.wait(10)
        job.check()  # the step boundary where a preempted job stops
        return "done"

    runner.submit(tool, channel="lab.tool", done=lambda _id, value: seen.append(value),
                  failed=lambda _id, error: seen.append(type(error)))
    assert started.wait(10)
    runner.submit(lambda job: "model", channel="model", done=lambda _id, value: seen.append(value))
    release.set()
    assert both.wait(10)
    for fn in posted:
        fn()
    assert seen == [Cancelled, "model"]
    runner.shutdown(wait=True)


def test_f1_lists_the_keys_the_features_panels_handle(make_explorer):
    window = make_explorer("lenet5")
    rows = window.shortcut_list()
    assert ("Live", "Pause / resume the picture", "Space") in rows
    assert ("Live", "Save the picture as shown (PNG)", "Ctrl+S") in rows
    assert any(tab == "Charts" and "→" in keys for tab, _, keys in rows)
