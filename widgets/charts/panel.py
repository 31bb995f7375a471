"""The Charts tab's widgets: the lectures' figures drawn from the app's data (no torch; the data comes from
``models/charts.py`` through the app). pyqtgraph for the plots, plain Qt painting for the number grids.

``ChartsPanel`` holds seven pages: the ImageNet timeline, accuracy against MACs, a side-by-side comparison, the
convolution explained, the 1×1 / GAP arithmetic, depthwise separable convs and stacked receptive fields.
``set_theme`` and ``set_font_scale`` follow the window.
The pages are in modules of their own: plots.py (the plot, the timeline and accuracy charts), compare.py,
convolution.py, arithmetic.py, separable.py and fields.py; this module holds the panel and names them all.
"""

from __future__ import annotations

from PySide6.QtWidgets import QTabWidget

from cnn_explorer.widgets.charts.arithmetic import ArithmeticView
from cnn_explorer.widgets.charts.compare import MEASURES, CompareView  # noqa: F401 (re-exported)
from cnn_explorer.widgets.charts.fields import FieldsView
from cnn_explorer.widgets.charts.separable import SeparableView
from cnn_explorer.widgets.charts.convolution import ConvExplainView, ImageWithBox, NumberGrid  # noqa: F401
from cnn_explorer.widgets.charts.plots import PALETTE, AccuracyChart, TimelineChart  # noqa: F401 (re-exported)
from cnn_explorer.widgets.common.theme import colors


class ChartsPanel(QTabWidget):
    """The charts as pages."""

    PAGES = ("timeline", "accuracy", "compare", "convolution", "arithmetic", "separable", "fields")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("charts_panel")
        self.timeline = TimelineChart(self)
        self.accuracy = AccuracyChart(self)
        self.compare = CompareView(self)
        self.convolution = ConvExplainView(self)
        self.arithmetic = ArithmeticView(self)
        self.separable = SeparableView(self)
        self.fields = FieldsView(self)
        self.status = {}
        for page, title in zip((self.timeline, self.accuracy, self.compare, self.convolution, self.arithmetic,
                                self.separable, self.fields),
                               ("ImageNet timeline", "Accuracy vs MACs", "Compare", "Convolution",
                                "1×1 and GAP", "Depthwise separable", "Receptive fields")):
            self.addTab(page, title)

    def set_theme(self, theme: str) -> None:
        c = colors(theme)
        self.timeline.restyle(c)
        self.accuracy.restyle(c)
        self.compare.restyle(c)
        self.convolution.restyle(c)
        self.arithmetic.restyle(c)
        self.separable.restyle(c)
        self.fields.restyle(c)

    def set_font_scale(self, _scale: float) -> None:
        """The application font changed (the classroom's scale): chart text follows it."""
        for plot in (self.timeline, self.accuracy, *self.compare.bars.values(), self.arithmetic.plot,
                     self.separable.plot):
            plot.restyle()
        self.compare.restyle()
