"""The explorer's own actions, as data (the features add theirs: ``app/core/features.py``)."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence

from cnn_explorer.app.core.features import ActionSpec
from cnn_explorer.widgets.common.theme import THEME_LABELS, THEMES


def _retry_download(w) -> None:
    """File › Weights › Retry download: forget the failed downloads, and ask for the published weights again."""
    from cnn_explorer.models.zoo.downloads import forget

    forget()
    w.reload(weights="pretrained")


def explorer_actions(w) -> list[ActionSpec]:
    """The window's own actions (the features add theirs): id, text, callback(ctx), keys, menu, section."""
    A = ActionSpec  # noqa: N806
    c = w.classroom
    return [
        A("open_file", "&Open model file…", lambda _: w.model_files.choose(), (QKeySequence.Open,), "File", "open",
          "Your own model: net.py:Name, ONNX, torch.export .pt2 or TorchScript"),
        A("open_model", "&Find a model in the zoo…", lambda _: w.focus_zoo_filter(), ("Ctrl+L",), "File", "open",
          "Type a model's name in the zoo filter"),
        A("weights_pretrained", "&Pretrained weights", lambda _: w.set_weights("pretrained"), (), "File/&Weights",
          "weights", "Use published weights when they can be had", True, "weights"),
        A("weights_random", "&Random weights", lambda _: w.set_weights("random"), (), "File/&Weights", "weights",
          "Random initialization", True, "weights"),
        A("weights_retry", "Retry &download", lambda _: _retry_download(w), (), "File/&Weights", "weights",
          "Try to download the published weights again (a failed download is not retried for 15 minutes)"),
        A("weights_file", "Weights from &file…", lambda _: w.choose_weights_file(), ("Ctrl+Shift+O",),
          "File/&Weights", "weights", "Load a .pt/.pth/.safetensors state dict"),
        A("export_png", "Export graph as &PNG…", lambda ctx: w.views.export_dialog(ctx, "graph", "png"), ("Ctrl+E",),
          "File", "export"),
        A("export_svg", "Export graph as &SVG…", lambda ctx: w.views.export_dialog(ctx, "graph", "svg"),
          ("Ctrl+Shift+E",), "File", "export"),
        A("export_csv", "Export summary as &CSV…", lambda ctx: w.views.export_dialog(ctx, "summary", "csv"), (),
          "File", "export"),
        A("export_md", "Export summary as &Markdown…", lambda ctx: w.views.export_dialog(ctx, "summary", "md"), (),
          "File", "export"),
        A("quit", "&Quit", lambda _: w.close(), ("Ctrl+Q",), "File", "quit"),
        A("find", "&Find layer…", lambda _: w.focus_find(), (QKeySequence.Find,), "Layers", "find"),
        A("next_layer", "&Next layer", lambda _: w.navigator.step(1), ("N", "PgDown"), "Layers", "step"),
        A("prev_layer", "&Previous layer", lambda _: w.navigator.step(-1), ("P", "PgUp"), "Layers", "step"),
        A("fold", "F&old block of selection", lambda _: w.navigator.fold_selected(), ("[",), "Layers", "fold"),
        A("unfold", "&Unfold selected block", lambda _: w.navigator.unfold_selected(), ("]",), "Layers", "fold"),
        A("fold_all", "Fold &all blocks", lambda _: w.graph.fold_all(), ("Ctrl+[",), "Layers", "fold"),
        A("unfold_all", "Unfold all b&locks", lambda _: w.graph.unfold_all(), ("Ctrl+]",), "Layers", "fold"),
        A("cancel", "&Cancel loading / leave presentation", lambda _: w.escape(), ("Esc",), "Layers", "cancel"),
        A("graph_tab", "Layer &graph", lambda _: w.tabs.setCurrentWidget(w.graph_stack), ("Ctrl+1",), "View", "tabs"),
        A("table_tab", "Summary &table", lambda _: w.tabs.setCurrentWidget(w.table), ("Ctrl+2",), "View", "tabs"),
        A("fit", "&Fit graph to window", lambda _: w.graph.fit(), ("F",), "View", "graph"),
        A("graph_lr", "Graph left to right, in &rows", lambda _: c.toggle_direction(), ("L",), "View", "graph",
          "Rows that fit the screen", True),
        A("graph_compact", "&Compact graph: conv + norm + activation as one", lambda _: c.toggle_compact(), ("C",),
          "View", "graph", checkable=True),
        A("presentation", "&Presentation (full screen, large text)", lambda _: c.toggle_presentation(), ("F11",),
          "View", "classroom", checkable=True),
        A("zoom_in", "&Larger text", lambda _: c.zoom_in(), (QKeySequence.ZoomIn, "Ctrl+="), "View", "classroom"),
        A("zoom_out", "&Smaller text", lambda _: c.zoom_out(), (QKeySequence.ZoomOut,), "View", "classroom"),
        A("zoom_reset", "&Normal text size", lambda _: c.zoom_reset(), ("Ctrl+0",), "View", "classroom"),
        *(A(f"theme_{t}", f"{THEME_LABELS[t]} theme", lambda _, t=t: c.apply_theme(t), (f"Ctrl+Shift+{t[0].upper()}",),
            "View/T&heme", "classroom", checkable=True, group="theme") for t in THEMES),
        A("shortcuts", "&Keyboard shortcuts", lambda _: w.show_shortcuts(), (QKeySequence.HelpContents,), "Help",
          "help"),
        A("guide", "&Quick guide", lambda _: _guide(w), (), "Help", "help"),
        A("about", "&About CNN Explorer", lambda _: w.show_about(), (), "Help", "help"),
    ]


def _guide(window):
    from cnn_explorer.app.explorer.guide import GUIDE
    from cnn_explorer.widgets.common.panels import guide_dialog

    return guide_dialog(window, GUIDE)
