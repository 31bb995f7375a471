"""The explorer's three themes: light, dark and high contrast (for projectors). Palettes, a small
stylesheet and the colours of the layer graph (``graph_colors``); no torch.

Colours are applied with a ``QPalette`` on the Fusion style, which follows the palette everywhere; the
stylesheet only adds what a palette cannot say (dock titles, spacing, focus frames), in the palette's colours.
It sets no font sizes, and fonts propagate through it (``apply_theme``), so the classroom font scale
(``QApplication.setFont``, the window's ``setFont``) reaches every widget.
"""

from __future__ import annotations

import gc

from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QWidget

from cnn_explorer.widgets.graph.layout import BLOCK_KIND

THEMES = ("light", "dark", "high_contrast")
THEME_LABELS = {"light": "Light", "dark": "Dark", "high_contrast": "High contrast"}


@dataclass(frozen=True)
class ThemeColors:
    window: str
    base: str  # text fields, lists, tables
    alt_base: str
    text: str
    muted: str  # secondary text
    button: str
    highlight: str
    highlight_text: str
    accent: str  # headings and formulas in the inspector
    link: str
    border: str
    error: str
    tooltip_base: str
    tooltip_text: str


_COLORS = {
    "light": ThemeColors(
        window="#eff0f1", base="#ffffff", alt_base="#f5f6f7", text="#1b1e20", muted="#5c6670",
        button="#e3e5e7", highlight="#3574d4", highlight_text="#ffffff", accent="#1f5fb8", link="#1f5fb8",
        border="#b9bec3", error="#b3261e", tooltip_base="#ffffdc", tooltip_text="#1b1e20"),
    "dark": ThemeColors(
        window="#23262a", base="#1a1c1f", alt_base="#24272b", text="#e8eaed", muted="#9aa3ad",
        button="#30343a", highlight="#3d7bd9", highlight_text="#ffffff", accent="#8ab4f8", link="#8ab4f8",
        border="#474c53", error="#f28b82", tooltip_base="#30343a", tooltip_text="#e8eaed"),
    "high_contrast": ThemeColors(
        window="#000000", base="#000000", alt_base="#121212", text="#ffffff", muted="#e0e0e0",
        button="#000000", highlight="#ffff00", highlight_text="#000000", accent="#00ffff", link="#00ffff",
        border="#ffffff", error="#ff6e6e", tooltip_base="#000000", tooltip_text="#ffffff"),
}


def colors(theme: str) -> ThemeColors:
    if theme not in _COLORS:
        raise ValueError(f"unknown theme {theme!r}; themes are {', '.join(THEMES)}")
    return _COLORS[theme]


# -- the layer graph ------------------------------------------------------------------------------------

Rgba = tuple[int, int, int, int]


@dataclass(frozen=True)
class GraphColors:
    """The colours of the layer graph in one theme: a fill and a border per kind of layer (graph_data.KINDS
    and graph_layout.BLOCK_KIND), and the rest of the drawing."""

    background: str
    text: str
    muted: str  # secondary text: block paths, parameter counts, edge labels, the legend
    edge: str
    accent: str  # the selection
    shadow: Rgba
    frame_fill: Rgba  # the frame around an unfolded block
    frame_line: str
    fills: dict[str, str]
    borders: dict[str, str]
    border_width: float = 1.4
    edge_width: float = 1.3


_LIGHT_FILLS = {"input": "#e9ecef", "conv": "#d6e4ff", "pool": "#d3f9d8", "norm": "#fff3bf",
                "activation": "#ffe3e3", "linear": "#e5dbff", "merge": "#c5f6fa", "reshape": "#f1f3f5",
                "upsample": "#e9fac8", "dropout": "#f3d9fa", "attention": "#ffdeeb", "other": "#f1f3f5",
                BLOCK_KIND: "#ffe8cc"}
_LIGHT_BORDERS = {"input": "#495057", "conv": "#3b5bdb", "pool": "#2f9e44", "norm": "#e67700",
                  "activation": "#e03131", "linear": "#6741d9", "merge": "#0c8599", "reshape": "#868e96",
                  "upsample": "#66a80f", "dropout": "#ae3ec9", "attention": "#c2255c", "other": "#868e96",
                  BLOCK_KIND: "#e8590c"}
_DARK_FILLS = {"input": "#343a40", "conv": "#1f3269", "pool": "#1b4d2c", "norm": "#5c4813",
               "activation": "#6b2226", "linear": "#3b2a73", "merge": "#0d4a55", "reshape": "#3a3f45",
               "upsample": "#3a5212", "dropout": "#55245f", "attention": "#641c3c", "other": "#3a3f45",
               BLOCK_KIND: "#6b3512"}
_DARK_BORDERS = {"input": "#adb5bd", "conv": "#748ffc", "pool": "#69db7c", "norm": "#ffd43b",
                 "activation": "#ff8787", "linear": "#b197fc", "merge": "#66d9e8", "reshape": "#adb5bd",
                 "upsample": "#a9e34b", "dropout": "#e599f7", "attention": "#f783ac", "other": "#adb5bd",
                 BLOCK_KIND: "#ffa94d"}
_HC_BORDERS = {"input": "#ffffff", "conv": "#4dabf7", "pool": "#51cf66", "norm": "#ffd43b",
               "activation": "#ff6b6b", "linear": "#cc5de8", "merge": "#22d3ee", "reshape": "#ced4da",
               "upsample": "#a9e34b", "dropout": "#f783ac", "attention": "#ff8787", "other": "#ced4da",
               BLOCK_KIND: "#ff922b"}

_GRAPH_COLORS = {
    "light": GraphColors(background="#f8f9fb", text="#1a1e26", muted="#545c69", edge="#7a8291",
                         accent="#f76707", shadow=(20, 30, 50, 38), frame_fill=(60, 80, 120, 14),
                         frame_line="#a3acb9", fills=_LIGHT_FILLS, borders=_LIGHT_BORDERS),
    "dark": GraphColors(background="#1b1e24", text="#f1f3f5", muted="#b4bcc8", edge="#8c95a3", accent="#ffa94d",
                        shadow=(0, 0, 0, 110), frame_fill=(255, 255, 255, 10), frame_line="#5c6370",
                        fills=_DARK_FILLS, borders=_DARK_BORDERS),
    "high_contrast": GraphColors(background="#000000", text="#ffffff", muted="#f1f3f5", edge="#ffffff",
                                 accent="#ffff00", shadow=(0, 0, 0, 0), frame_fill=(255, 255, 255, 0),
                                 frame_line="#ffffff", fills={k: "#000000" for k in _HC_BORDERS},
                                 borders=_HC_BORDERS, border_width=3.0, edge_width=2.2),
}


def graph_colors(theme: str) -> GraphColors:
    """The layer graph's colours in ``theme`` (one of THEMES); ValueError for another name."""
    if theme not in _GRAPH_COLORS:
        raise ValueError(f"unknown theme {theme!r}; themes are {', '.join(THEMES)}")
    return _GRAPH_COLORS[theme]


# -- the application ------------------------------------------------------------------------------------

def palette(theme: str) -> QPalette:
    c = colors(theme)
    pal = QPalette()
    roles = {
        QPalette.Window: c.window, QPalette.WindowText: c.text, QPalette.Base: c.base,
        QPalette.AlternateBase: c.alt_base, QPalette.Text: c.text, QPalette.Button: c.button,
        QPalette.ButtonText: c.text, QPalette.BrightText: c.error, QPalette.Highlight: c.highlight,
        QPalette.HighlightedText: c.highlight_text, QPalette.Link: c.link, QPalette.LinkVisited: c.link,
        QPalette.ToolTipBase: c.tooltip_base, QPalette.ToolTipText: c.tooltip_text,
        QPalette.PlaceholderText: c.muted, QPalette.Light: c.base, QPalette.Midlight: c.button,
        QPalette.Mid: c.border, QPalette.Dark: c.border, QPalette.Shadow: "#000000",
    }
    for role, value in roles.items():
        pal.setColor(QPalette.All, role, QColor(value))
    disabled = QColor(c.muted)
    if theme != "high_contrast":
        disabled = disabled.darker(130) if theme == "light" else disabled.darker(160)
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        pal.setColor(QPalette.Disabled, role, disabled)
    return pal


#: The dynamic property that marks the windows in the high-contrast theme: the style sheet's thicker borders
#: are rules for the widgets inside a window so marked (``stylesheet``).
CONTRAST = "cnn_explorer_contrast"


def _bordered(width: int, inside: str = "") -> str:
    """The rules whose borders are thicker in high contrast (``inside``: a selector of the marked window)."""
    return f"""
{inside}QDockWidget::title {{ border-bottom: {width}px solid palette(mid); }}
{inside}#dock_title {{ border-bottom: {width}px solid palette(mid); }}
{inside}QTabBar::tab {{ border: {width}px solid palette(mid); border-bottom: none; }}
{inside}QTabWidget::pane {{ border: {width}px solid palette(mid); }}
{inside}QLineEdit {{ border: {width}px solid palette(mid); }}
{inside}QLineEdit:focus {{ border: 2px solid palette(highlight); }}
{inside}QHeaderView::section {{ border-bottom: {width}px solid palette(mid); }}
"""


def stylesheet(theme: str) -> str:
    """The style sheet, one text for the three themes: its colours are the palette's roles (``palette(button)``),
    and high contrast's thicker borders (2 px, not 1) are rules for the widgets inside a window marked with the
    ``CONTRAST`` property. A theme change is then a palette change, a mark, and a re-polish of the few widgets
    these rules style (``apply_theme``): setting another sheet would polish every widget again (0.15-0.4 s).
    (Border colour: Mid; the selected tab's text: Link, which is each theme's accent.)"""
    if theme not in _COLORS:
        raise ValueError(f"unknown theme {theme!r}; themes are {', '.join(THEMES)}")
    return """
QDockWidget::title { background: palette(button); padding: 4px 6px; }
#dock_title { background: palette(button); }
QTabBar::tab { padding: 5px 14px; background: palette(button); color: palette(text); }
QTabBar::tab:selected { background: palette(base); color: palette(link); font-weight: bold; }
QLineEdit { padding: 3px 5px; border-radius: 3px; background: palette(base); color: palette(text); }
QHeaderView::section { background: palette(button); color: palette(text); padding: 3px 6px;
                       border: none; border-right: 1px solid palette(mid); }
QTreeView::item { padding: 2px 4px; }
QStatusBar QLabel { padding: 0 6px; }
QStatusBar::item { border: none; }
QToolTip { background: palette(tooltip-base); color: palette(tooltip-text); border: 1px solid palette(mid);
           padding: 4px; }
""" + _bordered(1) + _bordered(2, f'QWidget[{CONTRAST}="true"] ')


# The widgets the style sheet's rules colour (a widget takes the palette's colours when it is polished): a theme
# change re-polishes only these. (QTipLabel is QToolTip's label, its class name in the style sheet.)
_COLOURED = ("QDockWidget", "QTabBar", "QTabWidget", "QLineEdit", "QHeaderView", "QTipLabel")
_COLOURED_NAMES = ("dock_title",)


def _coloured(widget: QWidget) -> bool:
    return widget.objectName() in _COLOURED_NAMES or any(widget.inherits(name) for name in _COLOURED)


def apply_theme(app: QApplication, theme: str) -> None:
    """Give the whole application the palette and style sheet of ``theme``.

    The sheet is set once (``stylesheet``: one text for the three themes): setting an application style sheet
    polishes every widget again (0.15-0.4 s with the explorer's window on a busy machine). A theme change sets
    the palette, which reaches every widget as a palette does, marks the windows for high contrast's borders, and
    polishes again only the widgets the sheet's rules style, for their rules to take the new palette's colours
    and the windows' mark. (A window made later with no parent is marked at the next theme change; the dialogs
    have the main window as their parent, which the main window's own ``apply_theme`` marks.)"""
    # Fusion once: setting a style again polishes every widget again (~60 ms of a theme change with a large
    # window). (Under a style sheet ``app.style()`` is the sheet's own style, nameless: hence the mark.)
    if app.property("cnn_explorer_fusion") is not True:
        # Fonts and palettes propagate to styled widgets as to others (by default a style sheet fixes a
        # widget's font when it is polished): the classroom's text size then reaches every widget by
        # setting a font, with no style sheet polish (app/window/classroom.py). Set before any sheet.
        QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_UseStyleSheetPropagationInWidgetStyles, True)
        app.setStyle("Fusion")
        app.setProperty("cnn_explorer_fusion", True)
    sheet = stylesheet(theme)
    app.setPalette(palette(theme))
    contrast = theme == "high_contrast"
    # With the collector paused: ``allWidgets()`` is a list of pointers taken at once, and each Python wrapper made
    # for it may set off a collection that frees a widget held only by cyclic garbage (a closed window's), and
    # with it its children further down the list (a segmentation fault, found by the suite).
    collecting = gc.isenabled()
    gc.disable()
    try:
        for window in app.topLevelWidgets():
            if window.property(CONTRAST) is not contrast:
                window.setProperty(CONTRAST, contrast)
        if app.styleSheet() != sheet:
            app.setStyleSheet(sheet)
            return
        for widget in app.allWidgets():
            if widget.testAttribute(Qt.WidgetAttribute.WA_WState_Polished) and _coloured(widget):
                style = widget.style()
                style.unpolish(widget)
                style.polish(widget)
                widget.update()
    finally:
        if collecting:
            gc.enable()
