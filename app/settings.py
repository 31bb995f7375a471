"""Where the explorer keeps its settings and caches, and how it reads them: every value is checked and falls
back to its default, so a hand-edited or corrupt settings file can never stop the app from starting."""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, QStandardPaths

ORGANIZATION = "CNN Explorer"
APPLICATION = "cnn-explorer"


def app_settings() -> QSettings:
    """The explorer's settings (an INI file in the user's config folder)."""
    return QSettings(QSettings.IniFormat, QSettings.UserScope, ORGANIZATION, APPLICATION)


def scratch_settings() -> QSettings:
    """Settings that start empty and go nowhere the user will see: for scripted runs (``--screenshot``),
    which must neither depend on the user's settings nor change them."""
    folder = tempfile.mkdtemp(prefix="cnn-explorer-settings-")
    return QSettings(os.path.join(folder, "scratch.ini"), QSettings.IniFormat)


def default_cache_dir() -> Path:
    env = os.environ.get("CNN_EXPLORER_CACHE_DIR")
    if env:
        return Path(env)
    base = QStandardPaths.writableLocation(QStandardPaths.GenericCacheLocation) or str(Path.home() / ".cache")
    return Path(base) / "cnn-explorer"


def read_float(settings: QSettings, key: str, default: float, low: float, high: float) -> float:
    """A number setting within [low, high]; anything else (text, a list, NaN, out of range) is the default."""
    value = settings.value(key, default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if math.isfinite(number) and low <= number <= high else default


def read_choice(settings: QSettings, key: str, default: str, choices) -> str:
    value = settings.value(key, default)
    return value if isinstance(value, str) and value in choices else default


def read_bool(settings: QSettings, key: str, default: bool) -> bool:
    """A yes/no setting: a bool, or the text an INI file stores ("true"/"false"); anything else is the default."""
    value = settings.value(key, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return default


def read_text(settings: QSettings, key: str, default: str) -> str:
    value = settings.value(key, default)
    return value.strip() if isinstance(value, str) and value.strip() else default


def read_bytes(settings: QSettings, key: str) -> QByteArray | None:
    value = settings.value(key)
    return value if isinstance(value, QByteArray) and not value.isEmpty() else None


#: How shapes are written: "chw" (channels first) or "hwc" (channels last, as the lectures write them).
SHAPE_ORDER_KEY = "shape_order"


def read_shape_order(settings: QSettings) -> str:
    from cnn_explorer.widgets.format import SHAPE_ORDERS

    return read_choice(settings, SHAPE_ORDER_KEY, SHAPE_ORDERS[0], SHAPE_ORDERS)
