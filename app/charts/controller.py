"""The Charts tab's controller (Ctrl+6): the lectures' figures from the app's own data, built when first
opened. The data comes from ``models/charts.py`` through the jobs of ``jobs.py`` on the window's request runner;
the widgets are ``widgets/charts/``."""

from __future__ import annotations

from PySide6.QtCore import QTimer

from cnn_explorer.app.charts import jobs
from cnn_explorer.widgets.common.steps import later

DEFAULT_COMPARE = ("resnet18", "vgg16", "googlenet", "mobilenet_v2")
PLAY_INTERVAL_MS = 700
CHANNELS = ("charts.accuracy", "charts.arithmetic", "charts.compare", "charts.conv", "charts.separable",
            "charts.fields")


class ChartsController:
    """Fills the panel's pages on demand through the window's runner."""

    def __init__(self, ctx):
        from cnn_explorer.models.charts import TRAINED_NETS, human_top5_error, timeline
        from cnn_explorer.widgets.charts.panel import ChartsPanel

        self.ctx = ctx
        self.runner = ctx.runner
        for channel in CHANNELS:
            self.runner.declare(channel)
        self.panel = ChartsPanel(ctx.parent)
        # The timeline's points and labels (35 ms) in a turn of their own: the tab's first turn is the panel's.
        later(lambda: self.panel.timeline.set_points(timeline(), human_top5_error()), self.panel)
        self.loaded: set[str] = set()
        self.panel.currentChanged.connect(self._page_changed)
        self.panel.when_made("compare", self._wire_compare)  # the pages after the first are made later
        self.panel.when_made("convolution", lambda conv: self._wire_convolution(conv, list(TRAINED_NETS)))
        self.timer = QTimer(self.panel)
        self.timer.setInterval(PLAY_INTERVAL_MS)
        self.timer.timeout.connect(lambda: self.step(1))
        ctx.classroom.theme_changed.connect(self.panel.set_theme)
        ctx.classroom.font_scale_changed.connect(self.panel.set_font_scale)
        self.panel.set_theme(ctx.classroom.theme())
        self.results: dict[str, object] = {}
        self.errors: dict[str, str] = {}

    def _wire_compare(self, compare) -> None:
        from cnn_explorer.app.explorer.zoo import zoo_items

        names = [item.name for item in zoo_items() if item.task == "classification"]
        compare.set_models(names, list(DEFAULT_COMPARE))
        compare.compare_requested.connect(self.compare)

    def _wire_convolution(self, conv, nets: list[str]) -> None:
        conv.set_models(nets, nets[0])
        conv.model_chosen.connect(self.load_conv)
        conv.step_requested.connect(self.step)
        conv.channel_chosen.connect(self._channel)
        conv.play.toggled.connect(self._play)

    # -- the runner ---------------------------------------------------------------------------------------
    def _submit(self, channel: str, fn, done, progress=None) -> int:
        def failed(_id, error):
            from cnn_explorer.app.core.requests import Cancelled

            if isinstance(error, Cancelled):
                return
            message = (str(error).strip().splitlines() or [type(error).__name__])[0]
            self.errors[channel] = message
            self.ctx.notify(f"Charts: {message}", 10000)
            if channel == "charts.compare":
                self.panel.compare.set_busy("")
                self.panel.compare.status.setText(message)
            headings = {"charts.separable": self.panel.separable.heading, "charts.fields": self.panel.fields.heading}
            if channel in headings:
                headings[channel].setText(message)

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
            self._submit("charts.accuracy", jobs.accuracy, self.panel.accuracy.set_points)
        elif page == "arithmetic":
            self._submit("charts.arithmetic", jobs.arithmetic, self.panel.arithmetic.set_comparisons)
        elif page == "separable":
            self._submit("charts.separable", jobs.separable, self.panel.separable.set_costs)
        elif page == "fields":
            self._submit("charts.fields", jobs.fields, self.panel.fields.set_fields)
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

        return self._submit("charts.compare", lambda job: jobs.compare(job, names), done, self.panel.compare.set_busy)

    def load_conv(self, model: str) -> int:
        self.panel.convolution.heading.setText(f"Loading {model}…")
        return self._submit("charts.conv", lambda job: jobs.conv_load(job, model), self.panel.convolution.set_step)

    def step(self, delta: int) -> int | None:
        current = self.panel.convolution.step
        if current is None:
            return None
        return self._submit("charts.conv", lambda job: jobs.conv_step(job, current.unit, delta),
                            self.panel.convolution.set_step)

    def _channel(self, channel: int) -> None:
        current = self.panel.convolution.step
        if current is not None and channel != current.unit[0]:
            unit = (channel, *current.unit[1:])
            self._submit("charts.conv", lambda job: jobs.conv_step(job, unit, 0), self.panel.convolution.set_step)

    def _play(self, on: bool) -> None:
        self.panel.convolution.play.setText("Pause" if on else "Play")
        self.timer.start() if on else self.timer.stop()

    def show(self, page: str | None = None) -> None:
        self.ctx.features.show("charts")
        if page is not None:
            self.panel.setCurrentIndex(self.panel.PAGES.index(page))
        self._page_changed(self.panel.currentIndex())

    def opened(self, first: bool) -> None:
        if first:
            self._page_changed(self.panel.currentIndex())

    def left(self) -> None:
        pass

    def shutdown(self) -> None:
        self.timer.stop()
