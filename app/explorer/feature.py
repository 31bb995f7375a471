"""The explorer as a feature: View › Shapes and the commands list, summary, export, graph and figure. (Its
views, the graph, the table and the inspector, are the window's own: ``app/explorer/views.py``.)"""

from cnn_explorer.app.core.features import Feature
from cnn_explorer.app.explorer.vocabulary import shape_actions


def _make(ctx):
    from cnn_explorer.app.explorer.vocabulary import ShapeOrder

    return ShapeOrder(ctx)


FEATURE = Feature(name="explorer", make=_make, actions=shape_actions(), cli="cnn_explorer.app.explorer.cli")
