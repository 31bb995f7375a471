"""The Charts tab's widgets: the lectures' figures drawn from the app's data (no torch; the data comes from
``models/charts.py`` through the app). pyqtgraph for the plots, plain Qt painting for the number grids.

``ChartsPanel`` holds seven pages: the ImageNet timeline, accuracy against MACs, a side-by-side comparison, the
convolution explained, the 1×1 / GAP arithmetic, depthwise separable convs and stacked receptive fields.
``set_theme`` and ``set_font_scale`` follow the window.
The pages are in modules of their own: plots.py (the plot, the timeline and accuracy charts), compare.py,
convolution.py, arithmetic.py, separable.py and fields.py; this module holds the panel and names them all.
"""

from __future__ import annotations

from PySide6.QtWidgets import QTabWidget, QWidget

from cnn_explorer.widgets.charts.arithmetic import ArithmeticView
from cnn_explorer.widgets.charts.compare import MEASURES, CompareView  # noqa: F401 (re-exported)
from cnn_explorer.widgets.charts.fields import FieldsView
from cnn_explorer.widgets.charts.separable import SeparableView
from cnn_explorer.widgets.charts.convolution import ConvExplainView, ImageWithBox, NumberGrid  # noqa: F401
from cnn_explorer.widgets.charts.plots import PALETTE, AccuracyChart, TimelineChart  # noqa: F401 (re-exported)
from cnn_explorer.widgets.common.later_pages import LaterPages
from cnn_explorer.widgets.common.theme import colors

# (name, tab title, page class), in the tabs' order
PAGE_KINDS = (("timeline", "ImageNet timeline", TimelineChart), ("accuracy", "Accuracy vs MACs", AccuracyChart),
              ("compare", "Compare", CompareView), ("convolution", "Convolution", ConvExplainView),
              ("arithmetic", "1×1 and GAP", ArithmeticView), ("separable", "Depthwise separable", SeparableView),
              ("fields", "Receptive fields", FieldsView))


def _page(name: str):
    return property(lambda self: self.page(name), doc=f"The {name} page (made when first asked for).")


class ChartsPanel(QTabWidget):
    """The charts as pages. Only the first page is made with the panel, and the others after (``LaterPages``: one
    per turn of the event loop; all seven take 0.1-0.5 s, which the tab's first opening need not wait for); a page
    asked for before (``page(name)``, the attributes) is made then. ``when_made(name, fn)`` wires a page: at once
    if it is made, else when it is."""

    PAGES = tuple(name for name, _, _ in PAGE_KINDS)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("charts_panel")
        self.status = {}
        self._made: dict[str, QWidget] = {}
        self._wiring: dict[str, list] = {}
        self._colors = None
        (name, title, kind), *later = PAGE_KINDS
        self._made[name] = kind(self)
        self.addTab(self._made[name], title)
        self._later = LaterPages(self, {name: (title, lambda kind=kind: kind(self)) for name, title, kind in later},
                                 self._page_made, first=1)

    timeline, accuracy, compare, convolution = _page("timeline"), _page("accuracy"), _page("compare"), \
        _page("convolution")
    arithmetic, separable, fields = _page("arithmetic"), _page("separable"), _page("fields")

    def page(self, name: str) -> QWidget:
        """The page ``name``, made (in its tab's place, styled and wired) if it was not yet."""
        self._later.make(name)
        return self._made[name]

    def is_made(self, name: str) -> bool:
        return name in self._made

    def when_made(self, name: str, wire) -> None:
        """Call ``wire(page)`` once the page ``name`` is made."""
        if name in self._made:
            wire(self._made[name])
        else:
            self._wiring.setdefault(name, []).append(wire)

    def _page_made(self, name: str, page: QWidget) -> None:
        self._made[name] = page
        if self._colors is not None:
            page.restyle(self._colors)
        for wire in self._wiring.pop(name, []):
            wire(page)

    def set_theme(self, theme: str) -> None:
        self._colors = colors(theme)
        for page in self._made.values():
            page.restyle(self._colors)

    def set_font_scale(self, _scale: float) -> None:
        """The application font changed (the classroom's scale): chart text follows it."""
        made = self._made
        plots = [made[name] for name in ("timeline", "accuracy") if name in made]
        plots += list(made["compare"].bars.values()) if "compare" in made else []
        plots += [made[name].plot for name in ("arithmetic", "separable") if name in made]
        for plot in plots:
            plot.restyle()
        if "compare" in made:
            made["compare"].restyle()
