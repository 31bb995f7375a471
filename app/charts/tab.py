"""The Charts tab (Ctrl+6): the lectures' figures from the app's own data, built when first opened.

The data comes from ``models/charts.py`` on the window's request runner (torchvision's import, the summaries,
the trained net's forward pass never run on the GUI thread); the widgets are ``widgets/charts/panel.py``. The trained
net of "Convolution explained" lives in the runner's state; the GUI gets plain ``ConvStep`` data.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer

from cnn_explorer.app.window.lazy_tab import LazyTab

DEFAULT_COMPARE = ("resnet18", "vgg16", "googlenet", "mobilenet_v2")
PLAY_INTERVAL_MS = 700
SHORTCUT = "Ctrl+6"  # Ctrl+5 is the Figure tab's (app/figure/tab.py)
_CONV_STATE = "charts.conv"  # the ConvExplainer in the runner's state


def _conv_load(job, model: str):
    from cnn_explorer.models.charts import ConvExplainer

    job.progress(f"{model}: loading the trained weights and running the image through it")
    explainer = job.state.get(_CONV_STATE)
    if explainer is None or explainer.model_name != model:
        explainer = ConvExplainer(model)
        job.state[_CONV_STATE] = explainer
    return explainer.step((0, explainer.out_shape[1] // 2, explainer.out_shape[2] // 2))


def _conv_step(job, unit, delta: int):
    explainer = job.state[_CONV_STATE]
    return explainer.step(explainer.neighbour(unit, delta) if delta else unit)


def _accuracy(job):
    from cnn_explorer.models.charts import accuracy_points

    return accuracy_points(job.progress)


def _arithmetic(job):
    from cnn_explorer.models.charts import bottleneck_arithmetic, gap_vs_fc

    job.progress("building the modules (meta device)")
    return [*bottleneck_arithmetic(), gap_vs_fc()]


def _compare(job, names):
    from cnn_explorer.models.charts import compare

    return compare(names, progress=job.progress, check=job.check)


class ChartsController:
    """Fills the panel's pages on demand through the window's runner."""

    def __init__(self, window, tab):
        from cnn_explorer.app.explorer.zoo import zoo_items
        from cnn_explorer.models.charts import TRAINED_NETS, human_top5_error, timeline
        from cnn_explorer.widgets.charts.panel import ChartsPanel

        self.window, self.tab = window, tab
        self.runner = window.runner
        self.panel = ChartsPanel(window)
        self.panel.timeline.set_points(timeline(), human_top5_error())
        self.loaded: set[str] = set()
        self.panel.currentChanged.connect(self._page_changed)
        names = [item.name for item in zoo_items() if item.task == "classification"]
        self.panel.compare.set_models(names, list(DEFAULT_COMPARE))
        self.panel.compare.compare_requested.connect(self.compare)
        conv = self.panel.convolution
        conv.set_models(list(TRAINED_NETS), next(iter(TRAINED_NETS)))
        conv.model_chosen.connect(self.load_conv)
        conv.step_requested.connect(self.step)
        conv.channel_chosen.connect(self._channel)
        conv.play.toggled.connect(self._play)
        self.timer = QTimer(self.panel)
        self.timer.setInterval(PLAY_INTERVAL_MS)
        self.timer.timeout.connect(lambda: self.step(1))
        window.classroom.theme_changed.connect(self.panel.set_theme)
        window.classroom.font_scale_changed.connect(self.panel.set_font_scale)
        self.panel.set_theme(window.classroom.theme())
        self.results: dict[str, object] = {}
        self.errors: dict[str, str] = {}

    # -- the runner ---------------------------------------------------------------------------------------
    def _submit(self, channel: str, fn, done, progress=None) -> int:
        def failed(_id, error):
            from cnn_explorer.app.core.requests import Cancelled

            if isinstance(error, Cancelled):
                return
            message = (str(error).strip().splitlines() or [type(error).__name__])[0]
            self.errors[channel] = message
            self.window.statusBar().showMessage(f"Charts: {message}", 10000)
            if channel == "charts.compare":
                self.panel.compare.set_busy("")
                self.panel.compare.status.setText(message)

        def finished(_id, result):
            self.results[channel] = result
            done(result)

        return self.runner.submit(fn, channel=channel, done=finished, failed=failed,
                                  progress=(lambda _id, text, percent: progress(text, percent)) if progress else None)

    def _page_changed(self, index: int) -> None:
        page = self.panel.PAGES[index]
        if page in self.loaded:
            return
        self.loaded.add(page)
        if page == "accuracy":
            self._submit("charts.accuracy", _accuracy, self.panel.accuracy.set_points)
        elif page == "arithmetic":
            self._submit("charts.arithmetic", _arithmetic, self.panel.arithmetic.set_comparisons)
        elif page == "compare":
            self.compare(self.panel.compare.chosen())
        elif page == "convolution":
            self.load_conv(self.panel.convolution.model_box.currentText())
            self.panel.convolution.setFocus()

    def compare(self, names: list[str]) -> int | None:
        from cnn_explorer.models.charts import ChartsError, check_names
        from cnn_explorer.models.zoo.index import UnknownModelError

        try:
            names = check_names(names)
        except (ChartsError, UnknownModelError) as error:
            self.panel.compare.status.setText(str(error))
            return None
        self.panel.compare.set_busy(f"Summarizing {', '.join(names)}…", 0)

        def done(rows):
            self.panel.compare.set_busy("")
            self.panel.compare.set_rows(rows)

        return self._submit("charts.compare", lambda job: _compare(job, names), done, self.panel.compare.set_busy)

    def load_conv(self, model: str) -> int:
        self.panel.convolution.heading.setText(f"Loading {model}…")
        return self._submit("charts.conv", lambda job: _conv_load(job, model), self.panel.convolution.set_step)

    def step(self, delta: int) -> int | None:
        current = self.panel.convolution.step
        if current is None:
            return None
        return self._submit("charts.conv", lambda job: _conv_step(job, current.unit, delta),
                            self.panel.convolution.set_step)

    def _channel(self, channel: int) -> None:
        current = self.panel.convolution.step
        if current is not None and channel != current.unit[0]:
            unit = (channel, *current.unit[1:])
            self._submit("charts.conv", lambda job: _conv_step(job, unit, 0), self.panel.convolution.set_step)

    def _play(self, on: bool) -> None:
        self.panel.convolution.play.setText("Pause" if on else "Play")
        self.timer.start() if on else self.timer.stop()

    def show(self, page: str | None = None) -> None:
        self.window.tabs.setCurrentIndex(self.tab.index)
        if page is not None:
            self.panel.setCurrentIndex(self.panel.PAGES.index(page))
        self._page_changed(self.panel.currentIndex())


class ChartsTab(LazyTab):
    wide = True  # the docks make room while it is shown
    name, title, shortcut = "charts", "Charts", SHORTCUT
    action_text = "&Charts (the lectures' figures)"
    waiting = "Opening the charts…"

    def make(self) -> ChartsController:
        return ChartsController(self.window, self)

    def page_of(self, controller: ChartsController):
        return controller.panel

    def controller(self) -> ChartsController:
        return self.build()

    def show(self, page: str | None = None) -> None:
        self.build().show(page)

    def opened(self, controller: ChartsController, first: bool) -> None:
        if first:
            controller.show()


def register(window, view: str = "graph") -> ChartsTab:
    """Add the Charts tab to ``window`` (once, after its panels exist)."""
    window.charts = ChartsTab(window)
    return window.charts
