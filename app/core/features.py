"""The features of the explorer, declared as data: what each adds to the window (a tab, actions, menu entries)
and to the command line (commands). No Qt here: the command line reads the same list to find its commands.

A feature is a folder of ``app/`` (``app/lab/``, ``app/live/``, …) whose ``feature.py`` defines ``FEATURE``, and
one line in ``FEATURES`` below. Its controller is made by ``make(ctx)`` when it is first needed; ``ctx`` is the
window's ``AppContext`` (``app/window/context.py``): the session, the selection, the runner, the classroom's
signals, ``notify``, the actions. A feature never imports the main window and never touches its attributes.

    FEATURE = Feature(name="toy", make=make_toy, tab=Tab("Toy", "&Toy", "Ctrl+9"),
                      actions=(ActionSpec("toy_hello", "Say &hello", lambda ctx: ctx.notify("hello"),
                                          menu="Help"),),
                      cli="my_package.toy_cli")

The controller ``make`` returns has ``panel`` (the tab's widget; None for a feature without a tab) and
``opened(first)``, ``left()`` and ``shutdown()`` (see ``Controller``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module
from typing import Any, Callable, Protocol, Sequence

# The features, in the order of their tabs. One line per feature: the module that defines ``FEATURE``.
FEATURES = (
    "cnn_explorer.app.explorer.feature",  # View › Shapes; list, summary, export, graph, figure
    "cnn_explorer.app.lab.feature",  # Ctrl+3
    "cnn_explorer.app.live.feature",  # Ctrl+4
    "cnn_explorer.app.figure.feature",  # Ctrl+5, File › Export figure / graph for slides
    "cnn_explorer.app.charts.feature",  # Ctrl+6, and `compare`
    "cnn_explorer.app.weights.feature",  # File › Weights › Import weight files…, and `weights import|list`
    "cnn_explorer.app.atlas.feature",  # `atlas`: the microscope, every channel's dataset examples
)
_ADDED: list["Feature"] = []  # features registered at run time (``register``): plug-ins and tests


@dataclass(frozen=True)
class ActionSpec:
    """An action as data. ``callback(ctx)`` runs when it is triggered. ``menu`` is a menu's title, or a path to
    a submenu ("File/Weights"); ``section`` the group of the menu it goes in (``MENU_SECTIONS``), separated from
    the others; empty: the window has it (its keys work) but no menu shows it. Actions of one ``group`` are
    exclusive."""

    id: str
    text: str
    callback: Callable[[Any], Any]
    keys: tuple = ()  # key sequences: text ("Ctrl+E") or Qt's standard keys
    menu: str = ""
    section: str = ""
    tip: str = ""
    checkable: bool = False
    group: str = ""


# Each menu's sections, in order; a separator between non-empty ones. A feature's actions join a section.
MENU_SECTIONS = {
    "File": ("open", "weights", "export", "quit"),
    "Layers": ("find", "step", "fold", "cancel"),
    "View": ("tabs", "graph", "panels", "classroom"),
    "Help": ("help",),
}


@dataclass(frozen=True)
class Tab:
    """A feature's tab: its title, the View menu's text for it, its shortcut, and what the placeholder says
    while it is built. ``wide``: the docks make room while it is shown; ``own_model``: it shows a model of its
    own, so the explorer's toolbar and model facts step aside."""

    title: str
    action_text: str
    shortcut: str = ""
    waiting: str = ""
    wide: bool = False
    own_model: bool = False


class Controller(Protocol):
    panel: Any  # the tab's widget (None without a tab)

    def opened(self, first: bool) -> None: ...  # the tab is shown (first: just built)

    def left(self) -> None: ...  # another tab is

    def shutdown(self) -> None: ...  # the window closes: stop work, join threads


class QuietController:
    """A controller's tab events, for one that needs none of them (a feature without a tab, a view that only
    draws what it is given)."""

    panel: Any = None

    def opened(self, first: bool) -> None:
        pass

    def left(self) -> None:
        pass

    def shutdown(self) -> None:
        pass


@dataclass(frozen=True)
class Feature:
    """What a feature adds. ``make(ctx)`` builds its controller: when its tab is first shown, or at start for a
    feature without a tab. ``cli``: the module with its commands (``add_commands(subparsers)`` and
    ``HANDLERS``), or such an object."""

    name: str
    make: Callable[[Any], Controller]
    tab: Tab | None = None
    actions: Sequence[ActionSpec] = field(default_factory=tuple)
    cli: Any = None
    keys: Sequence[tuple[str, str]] = ()  # (what, keys) its panel handles itself: F1 lists them under its title


def features() -> list[Feature]:
    """Every feature: the built-in ones, then those registered at run time."""
    return [import_module(name).FEATURE for name in FEATURES] + list(_ADDED)


def register(feature: Feature) -> None:
    """Add a feature (a plug-in, a test's): windows opened from now on show it, the command line has its
    commands."""
    if any(f.name == feature.name for f in features()):
        raise ValueError(f"a feature named {feature.name!r} is already registered")
    _ADDED.append(feature)


def unregister(name: str) -> None:
    _ADDED[:] = [f for f in _ADDED if f.name != name]


def cli_modules() -> list[Any]:
    """The command line's registry: each feature's commands, in the features' order."""
    modules: list[Any] = []
    for feature in features():
        if feature.cli is not None:
            module = import_module(feature.cli) if isinstance(feature.cli, str) else feature.cli
            if module not in modules:
                modules.append(module)
    return modules
