"""The lecture's vocabulary in the window: View › Shapes (C×H×W or H×W×C, remembered), and the window title
with the network's depth as the papers count it beside the number of operations the graph records.

The names themselves (conv1, fc8, "Inception 3a") come with the view data (``models/analysis/naming.py`` via
``app/core/view_data.py``); how numbers become text stays in ``widgets/common/format.py``.
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QActionGroup

from cnn_explorer.app.window.settings import SHAPE_ORDER_KEY, read_shape_order
from cnn_explorer.widgets.common import format as fmt
class ShapeOrder:
    """View › Shapes: one checkable action per order; choosing one writes every shape again."""

    def __init__(self, window):
        self.window = window
        fmt.set_shape_order(read_shape_order(window.settings))
        menu = window.menus["View"].addMenu("&Shapes")
        menu.setObjectName("shapes_menu")
        group = QActionGroup(window)
        self.actions: dict[str, QAction] = {}
        for order in fmt.SHAPE_ORDERS:
            action = QAction(fmt.SHAPE_ORDER_LABELS[order], window)
            action.setObjectName(f"shape_{order}")
            action.setCheckable(True)
            action.setChecked(order == fmt.shape_order())
            action.triggered.connect(lambda checked=False, o=order: self.set_order(o))
            group.addAction(action)
            menu.addAction(action)
            self.actions[order] = action

    def set_order(self, order: str) -> None:
        """Write shapes as ``order`` ("chw" or "hwc") in the graph, the table and the inspector; remembered."""
        if order not in fmt.SHAPE_ORDERS:
            raise ValueError(f"unknown shape order {order!r}; orders are: {', '.join(fmt.SHAPE_ORDERS)}")
        self.actions[order].setChecked(True)
        self.window.settings.setValue(SHAPE_ORDER_KEY, order)
        if order == fmt.shape_order():
            return
        fmt.set_shape_order(order)
        window = self.window
        graph = window.graph
        data = graph.graph_data()
        if data is not None:
            selected = graph.selected_node()
            graph.set_data(data, folded=graph.folded_blocks())
            if selected:
                graph.select_node(selected)
        window.table.refresh_text()
        window.inspector.refresh()


def window_title(name: str, totals) -> str:
    """``CNN Explorer — resnet50 · depth 50 (weight layers) · 175 ops``."""
    counts = fmt.depth_and_ops(totals.depth, totals.layers) if totals is not None else ""
    return f"CNN Explorer — {name}" + (f" · {counts}" if counts else "")


def register(window, view: str = "graph") -> ShapeOrder:
    """Add View › Shapes to ``window`` and keep its title saying the depth and the number of operations."""
    window.shape_order = ShapeOrder(window)

    def shown(name: str) -> None:
        result = window.session.current
        if result is None or result.name != name:
            return
        window.setWindowTitle(window_title(name, result.totals))
        if result.totals is not None:
            t = result.totals
            window.totals_label.setToolTip(
                f"{t.params:,} parameters, {t.macs:,} MACs, {fmt.size_bytes(t.memory)} of activations; "
                f"{fmt.depth_and_ops(t.depth, t.layers)}")

    window.model_shown.connect(shown)
    return window.shape_order
