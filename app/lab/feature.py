"""The lab as a feature: its tab (View › Lab, Ctrl+3), built the first time it is opened (numpy and pyqtgraph
take half a second to import, which the window need not wait for), and the commands predict and visualize."""

from cnn_explorer.app.core.features import Feature, Tab


def _make(ctx):
    from cnn_explorer.app.lab.controller import LabController

    return LabController(ctx)


FEATURE = Feature(name="lab", make=_make, tab=Tab("Lab", "&Lab (look inside with an image)", "Ctrl+3",
                                                  "Opening the lab…"), cli="cnn_explorer.app.lab.cli")
