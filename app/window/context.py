"""What a feature gets from the window: ``AppContext``. The one contract between the window and its features
(``app/core/features.py``): a feature reads and changes the app through it, never through the window."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass
class AppContext:
    parent: Any  # the window, as the parent of a feature's widgets and dialogs (never for its attributes)
    session: Any  # app/core/session.py: the current model, the pending request, the weights
    selection: Any  # app/window/selection.py: the layer every view follows
    runner: Any  # app/core/requests.py: the model's thread, with declared channels
    classroom: Any  # app/window/classroom.py: theme, text scale, presentation (and their signals)
    settings: Any  # the app's QSettings
    graph: Any  # the explorer's layer graph view (slides draw it, View › Shapes redraws it)
    model_shown: Any  # signal(name): a model's graph (or its error page) is drawn
    notify: Callable[[str, int], None]  # a passing message in the status bar
    show_error: Callable[[str], None]  # a clear message: the status bar and a message box
    redraw_text: Callable[[], None]  # the explorer's views write their numbers again (the shape order changed)
    is_closing: Callable[[], bool]
    is_loading: Callable[[], bool]  # a model is on its way
    hold_background: Callable[[bool], None]  # pause (True) or resume the zoo's parameter counting
    reopen_pretrained: Callable[[], object] = lambda: None  # open the current model again, published weights
    start_view: str = "graph"  # the view the window was asked to open on
    actions: dict = field(default_factory=dict)  # id -> QAction, once built
    features: Any = None  # app/window/host.py: show(name), is_current(name), controller(name)
