"""The charts as a feature: their tab (View › Charts, Ctrl+6) and the command compare."""

from cnn_explorer.app.core.features import Feature, Tab


def _make(ctx):
    from cnn_explorer.app.charts.controller import ChartsController

    return ChartsController(ctx)


FEATURE = Feature(name="charts", make=_make,
                  tab=Tab("Charts", "&Charts (the lectures' figures)", "Ctrl+6", "Opening the charts…", wide=True),
                  cli="cnn_explorer.app.charts.cli",
                  keys=(("Convolution explained: next / previous output position", "→ ↓ / ← ↑"),))
