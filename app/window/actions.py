"""Actions and menus from ``ActionSpec`` data (``app/core/features.py``): one builder for the window's own
actions and the features', so no feature inserts into a menu by hand."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence

from cnn_explorer.app.core.features import MENU_SECTIONS, ActionSpec


def build_actions(owner, specs: list[ActionSpec], ctx) -> dict[str, QAction]:
    """A QAction of ``owner`` per spec (added to ``owner``, so its keys work with the menu bar hidden)."""
    actions: dict[str, QAction] = {}
    groups: dict[str, QActionGroup] = {}
    for spec in specs:
        if spec.id in actions:
            raise ValueError(f"two actions are named {spec.id!r}")
        action = QAction(spec.text, owner)
        action.setObjectName(spec.id)
        if spec.keys:
            action.setShortcuts([QKeySequence(k) for k in spec.keys])
        action.setShortcutContext(Qt.WindowShortcut)
        if spec.tip:
            action.setStatusTip(spec.tip)
            action.setToolTip(spec.tip)
        action.setCheckable(spec.checkable)
        if spec.group:
            if spec.group not in groups:
                groups[spec.group] = QActionGroup(owner)
            groups[spec.group].addAction(action)
        action.triggered.connect(lambda checked=False, callback=spec.callback: callback(ctx))
        owner.addAction(action)
        actions[spec.id] = action
    return actions


def build_menus(menu_bar, specs: list[ActionSpec], actions: dict[str, QAction], panels: list[QAction]) -> dict:
    """The menus of ``MENU_SECTIONS``, each section's actions in the order of ``specs`` (a submenu where its
    first action is), a separator between sections; the View menu's "panels" section holds the docks'
    toggles. Returns {title: QMenu}."""
    menus = {}
    for title, sections in MENU_SECTIONS.items():
        menu = menus[title] = menu_bar.addMenu(f"&{title}")
        submenus: dict[str, object] = {}
        for section in sections:
            items = [s for s in specs if s.menu.split("/")[0] == title and s.section == section]
            entries = panels if (title, section) == ("View", "panels") else []
            if not items and not entries:
                continue
            if not menu.isEmpty():
                menu.addSeparator()
            menu.addActions(entries)
            for spec in items:
                target = menu
                for part in spec.menu.split("/")[1:]:
                    key = f"{spec.menu.split('/')[0]}/{part}"
                    if key not in submenus:
                        submenus[key] = target.addMenu(part)
                        submenus[key].setObjectName(f"{part.replace('&', '').lower()}_menu")
                    target = submenus[key]
                target.addAction(actions[spec.id])
        menus[title] = menu
    return menus


def shortcut_rows(menus: dict) -> list[tuple[str, str, str]]:
    """(menu, action, keys) for every menu action that has a shortcut, read from the actions themselves."""
    rows = []

    def walk(menu, title):
        for action in menu.actions():
            if action.menu() is not None:
                walk(action.menu(), f"{title} › {action.menu().title().replace('&', '')}")
            elif not action.isSeparator():
                keys = ", ".join(k for k in (s.toString(QKeySequence.NativeText) for s in action.shortcuts()) if k)
                if keys:
                    rows.append((title, action.text().replace("&", ""), keys))

    for title, menu in menus.items():
        walk(menu, title)
    return rows
