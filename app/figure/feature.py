"""The figure as a feature: its tab (View › Figure, Ctrl+5), File › Export figure… and File › Export graph for
slides… (``app/explorer/export.py``)."""

from cnn_explorer.app.core.features import ActionSpec, Feature, Tab


def _make(ctx):
    from cnn_explorer.app.figure.controller import FigureController

    return FigureController(ctx)


def _export_figure(ctx):
    from cnn_explorer.app.figure.controller import export_dialog

    export_dialog(ctx)


def _export_slides(ctx):
    from cnn_explorer.app.explorer.export import export_slides_dialog

    export_slides_dialog(ctx)


FEATURE = Feature(
    name="figure", make=_make,
    tab=Tab("Figure", "&Figure (the trunk as volumes)", "Ctrl+5", "Opening the figure…", wide=True),
    actions=(ActionSpec("export_figure", "Export &figure…", _export_figure, menu="File", section="export"),
             ActionSpec("export_slides", "Export graph for s&lides (PDF, PNG)…", _export_slides, menu="File",
                        section="export")))
