"""The feature host: the window's tabs for the features (``app/core/features.py``), built the first time they
are opened, and the one policy for what steps aside while a tab is shown.

A tab starts as a placeholder page, so that a feature's imports (numpy, pyqtgraph, OpenCV) and widgets cost the
window's start nothing; its controller (``make(ctx)``) puts its panel in the placeholder's place when the tab is
first shown or asked for. ``opened(first)`` runs each time the tab is shown, ``left()`` each time another is,
``shutdown()`` when the window closes.
"""

from __future__ import annotations

from PySide6.QtCore import QObject

from cnn_explorer.app.core.features import ActionSpec, Feature
from cnn_explorer.app.window import warm_up
from cnn_explorer.widgets.common.panels import message_page


WARM_CHANNEL = "warm-up"  # the runner's channel of the window's imports ahead of need (declared by the window)


class DockPolicy:
    """The one owner of what is hidden for a reason ("presentation", "wide", "own model"): a widget hidden for
    one reason or more comes back, as the user had it, when the last reason goes."""

    def __init__(self):
        self._reasons: dict = {}  # widget -> {reason}
        self._before: dict = {}  # widget -> visible before the first reason

    def hide(self, reason: str, widgets) -> None:
        for widget in widgets:
            if widget not in self._reasons:
                self._reasons[widget], self._before[widget] = set(), widget.isVisible()
            self._reasons[widget].add(reason)
            widget.hide()

    def release(self, reason: str, keep=()) -> None:
        """``reason`` no longer holds, except for the widgets in ``keep``."""
        for widget in [w for w, reasons in self._reasons.items() if reason in reasons and w not in keep]:
            self._reasons[widget].discard(reason)
            if not self._reasons[widget]:
                del self._reasons[widget]
                widget.setVisible(self._before.pop(widget))

    def hidden_for(self, reason: str) -> list:
        return [w for w, reasons in self._reasons.items() if reason in reasons]

    def restore_all(self) -> None:
        for reason in {r for reasons in self._reasons.values() for r in reasons}:
            self.release(reason)


class FeatureHost(QObject):
    """The features' tabs in ``tabs``; ``aside`` names what steps aside: {"wide": [...], "own_model": [...]}."""

    def __init__(self, tabs, ctx, docks: DockPolicy, aside: dict, features: list[Feature]):
        super().__init__(tabs)
        self.tabs, self.ctx, self.docks, self.aside = tabs, ctx, docks, aside
        self.features = {f.name: f for f in features}
        self._built: dict[str, object] = {}
        self._pages: dict[str, object] = {}  # name -> its tab's widget (the placeholder, then the panel)
        self._building: set[str] = set()
        self._inside = ""  # the feature whose tab is current
        self._warm_up = None  # the warm-up's QtTypes once warm_imports was called
        self._tab_modules_imported = False  # pyqtgraph and the tabs' modules, on the runner (warm_up.py)
        ctx.features = self
        for feature in features:
            if feature.tab is not None:
                page = message_page(tabs, f"{feature.name}_placeholder")
                page.setText(feature.tab.waiting)
                self._pages[feature.name] = page
                tabs.addTab(page, feature.tab.title)
        tabs.currentChanged.connect(self._tab_changed)

    def action_specs(self) -> list[ActionSpec]:
        """The features' actions: for each tab, View › its title (its shortcut), then the feature's own."""
        specs = []
        for f in self.features.values():
            if f.tab is not None:
                specs.append(ActionSpec(f"{f.name}_tab", f.tab.action_text, lambda ctx, n=f.name: self.show(n),
                                        (f.tab.shortcut,) if f.tab.shortcut else (), "View", "tabs"))
            specs.extend(f.actions)
        return specs

    def key_rows(self) -> list[tuple[str, str, str]]:
        """(tab, what, keys) of the keys the features' panels handle themselves, for F1."""
        return [(f.tab.title if f.tab else f.name, what, keys) for f in self.features.values() for what, keys in f.keys]

    def warm_imports(self) -> None:
        """Import what the tabs need (matplotlib's colour maps, pyqtgraph, the tabs' modules) on the runner's
        thread, once, so a tab's first opening does not import them on the GUI thread; pyqtgraph once the Qt types
        it reads are made here (``warm_up.py`` says why). The window calls it once its first model is shown."""
        if self._warm_up is not None:
            return
        runner = self.ctx.runner
        runner.submit(warm_up.import_colour_maps, channel=WARM_CHANNEL, supersede=False)

        def import_tab_modules():
            if not self.ctx.is_closing():
                runner.submit(warm_up.import_tab_modules, channel=WARM_CHANNEL, supersede=False,
                              done=lambda _id, _result: setattr(self, "_tab_modules_imported", True))

        self._warm_up = warm_up.QtTypes(self, import_tab_modules)

    def warmed_up(self) -> bool:
        """The warm-up's imports are done (for the benchmarks and tests)."""
        return self._tab_modules_imported

    def start(self) -> None:
        """Make the features without a tab, and open the tab the window was asked to start on."""
        for name, feature in self.features.items():
            if feature.tab is None:
                self.controller(name)
        if self.ctx.start_view in self._pages:
            self.show(self.ctx.start_view)

    # -- the tabs ------------------------------------------------------------------------------------------------
    def built(self, name: str):
        """The feature's controller if it was made, else None."""
        return self._built.get(name)

    def controller(self, name: str):
        """The feature's controller, made (and its panel put in its tab) the first time it is needed."""
        if name in self._built:
            return self._built[name]
        if name in self._building:
            raise RuntimeError(f"the {name} feature is being built")
        feature = self.features[name]
        self._building.add(name)
        try:
            controller = feature.make(self.ctx)
            if feature.tab is not None:
                placeholder = self._pages[name]
                index, current = self.tabs.indexOf(placeholder), self.tabs.currentIndex()
                self.tabs.blockSignals(True)  # the swap is not the user changing tabs
                try:
                    self.tabs.removeTab(index)
                    self.tabs.insertTab(index, controller.panel, feature.tab.title)
                    self.tabs.setCurrentIndex(current)
                finally:
                    self.tabs.blockSignals(False)
                placeholder.deleteLater()
                self._pages[name] = controller.panel
            self._built[name] = controller
        finally:
            self._building.discard(name)
        return controller

    def page(self, name: str):
        return self._pages[name]

    def is_current(self, name: str) -> bool:
        return name in self._pages and self.tabs.currentWidget() is self._pages[name]

    def show(self, name: str) -> None:
        """Make ``name``'s tab current (built, and ``opened`` told)."""
        if not self.is_current(name):
            self.tabs.setCurrentWidget(self._pages[name])  # _tab_changed opens it
        else:
            self._tab_changed(self.tabs.currentIndex())

    def _tab_changed(self, index: int) -> None:
        widget = self.tabs.widget(index)
        name = next((n for n, page in self._pages.items() if page is widget), "")
        if self._inside and self._inside != name:
            left, self._inside = self._inside, ""
            if left in self._built:
                self._built[left].left()
        tab = self.features[name].tab if name else None
        self._step_aside(tab)
        if name and not self._inside and name not in self._building:
            first = name not in self._built
            self._inside = name
            self.controller(name).opened(first)

    def _step_aside(self, tab) -> None:
        for reason, wanted in (("wide", tab is not None and tab.wide), ("own_model", tab is not None and tab.own_model)):
            if wanted:
                self.docks.hide(reason, self.aside[reason])
            else:
                self.docks.release(reason)
        if tab is not None and tab.own_model:  # a passing message is about the explorer's model ("… weights …")
            self.ctx.notify("", 0)

    def shutdown(self) -> None:
        if self._warm_up is not None:
            self._warm_up.stop()
        for controller in self._built.values():
            controller.shutdown()
