"""The lecture's vocabulary in the window: View › Shapes (C×H×W or H×W×C, remembered), and the window title
and totals tip with the network's depth as the papers count it beside the number of operations the graph
records.

The names themselves (conv1, fc8, "Inception 3a") come with the view data (``models/analysis/naming.py`` via
``app/core/view_data.py``); how numbers become text stays in ``widgets/common/format.py``.
"""

from __future__ import annotations

from cnn_explorer.app.core.features import ActionSpec, QuietController
from cnn_explorer.widgets.common import format as fmt

def window_title(name: str, totals) -> str:
    """``CNN Explorer — resnet50 · depth 50 (weight layers) · 175 ops``."""
    counts = fmt.depth_and_ops(totals.depth, totals.layers) if totals is not None else ""
    return f"CNN Explorer — {name}" + (f" · {counts}" if counts else "")


def totals_tip(t) -> str:
    return (f"{t.params:,} parameters, {t.macs:,} MACs, {fmt.size_bytes(t.memory)} of activations; "
            f"{fmt.depth_and_ops(t.depth, t.layers)}")


class ShapeOrder(QuietController):
    """View › Shapes: one checkable action per order; choosing one writes every shape again."""

    def __init__(self, ctx):
        from cnn_explorer.app.window.settings import read_shape_order  # Qt: imported when the window is

        self.ctx = ctx
        fmt.set_shape_order(read_shape_order(ctx.settings))
        self.actions = {order: ctx.actions[f"shape_{order}"] for order in fmt.SHAPE_ORDERS}
        self.actions[fmt.shape_order()].setChecked(True)

    def set_order(self, order: str) -> None:
        """Write shapes as ``order`` ("chw" or "hwc") in the graph, the table and the inspector; remembered."""
        if order not in fmt.SHAPE_ORDERS:
            raise ValueError(f"unknown shape order {order!r}; orders are: {', '.join(fmt.SHAPE_ORDERS)}")
        self.actions[order].setChecked(True)
        from cnn_explorer.app.window.settings import SHAPE_ORDER_KEY

        self.ctx.settings.setValue(SHAPE_ORDER_KEY, order)
        if order != fmt.shape_order():
            fmt.set_shape_order(order)
            self.ctx.redraw_text()


def shape_actions() -> tuple[ActionSpec, ...]:
    return tuple(ActionSpec(f"shape_{order}", fmt.SHAPE_ORDER_LABELS[order],
                            lambda ctx, o=order: ctx.features.controller("explorer").set_order(o),
                            menu="View/&Shapes", section="classroom", checkable=True, group="shape_order")
                 for order in fmt.SHAPE_ORDERS)
