"""The one selection that the graph, the table and the inspector (and the views to come) follow and set."""

from __future__ import annotations

from cnn_explorer.app.window.selection import Selection


def test_select_emits_once_and_refuses_what_the_model_lacks(qtbot):
    selection = Selection()
    selection.set_valid(lambda name: name in {"conv1", "layer1.0"})
    seen = []
    selection.changed.connect(seen.append)
    assert selection.select("conv1") and selection.layer() == "conv1"
    assert selection.select("conv1")  # again: already selected, nothing emitted
    assert not selection.select("conv9") and selection.layer() == "conv1"
    assert selection.select("layer1.0")
    selection.clear()
    assert seen == ["conv1", "layer1.0", ""] and selection.layer() == ""


def test_a_view_that_echoes_the_selection_cannot_loop(qtbot):
    """Two views that both set the selection whenever they show it (the worst echo): one change each."""
    selection = Selection()
    shown = {"graph": [], "table": []}

    def view(name):
        def show(layer):
            shown[name].append(layer)
            selection.select(layer)  # the echo a careless view would send back
        return show

    selection.changed.connect(view("graph"))
    selection.changed.connect(view("table"))
    selection.select("fc")
    assert shown == {"graph": ["fc"], "table": ["fc"]}


def test_a_new_model_clears_the_selection(qtbot):
    selection = Selection()
    selection.select("features.0")
    cleared = []
    selection.changed.connect(cleared.append)
    selection.set_valid(lambda name: name.startswith("layer"))
    assert cleared == [""] and selection.layer() == ""
    assert not selection.select("features.0") and selection.select("layer2.1")
