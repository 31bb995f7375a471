"""The explorer's three themes: light, dark and high contrast (for projectors). Palettes and a small
stylesheet; no torch.

Colours are applied with a ``QPalette`` on the Fusion style, which follows the palette everywhere; the
stylesheet only adds what a palette cannot say (dock titles, spacing, focus frames). It sets no font sizes,
so the classroom font scale (``QApplication.setFont``) reaches every widget.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

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


def stylesheet(theme: str) -> str:
    c = colors(theme)
    width = 2 if theme == "high_contrast" else 1
    return f"""
QDockWidget::title {{ background: {c.button}; padding: 4px 6px; border-bottom: {width}px solid {c.border}; }}
#dock_title {{ background: {c.button}; border-bottom: {width}px solid {c.border}; }}
QTabBar::tab {{ padding: 5px 14px; border: {width}px solid {c.border}; border-bottom: none;
               background: {c.button}; color: {c.text}; }}
QTabBar::tab:selected {{ background: {c.base}; color: {c.accent}; font-weight: bold; }}
QTabWidget::pane {{ border: {width}px solid {c.border}; }}
QLineEdit {{ padding: 3px 5px; border: {width}px solid {c.border}; border-radius: 3px;
             background: {c.base}; color: {c.text}; }}
QLineEdit:focus {{ border: 2px solid {c.highlight}; }}
QHeaderView::section {{ background: {c.button}; color: {c.text}; padding: 3px 6px;
                       border: none; border-right: 1px solid {c.border}; border-bottom: {width}px solid {c.border}; }}
QTreeView::item {{ padding: 2px 4px; }}
QStatusBar QLabel {{ padding: 0 6px; }}
QStatusBar::item {{ border: none; }}
QToolTip {{ background: {c.tooltip_base}; color: {c.tooltip_text}; border: 1px solid {c.border}; padding: 4px; }}
"""


def apply_theme(app: QApplication, theme: str) -> None:
    """Give the whole application the palette and stylesheet of ``theme``."""
    app.setStyle("Fusion")
    app.setPalette(palette(theme))
    app.setStyleSheet(stylesheet(theme))
