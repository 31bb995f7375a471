"""Where the explorer keeps its settings and caches, and how it reads them: every value is checked and falls
back to its default, so a hand-edited or corrupt settings file can never stop the app from starting."""

from __future__ import annotations

import math
import re
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, QStandardPaths

ORGANIZATION = "CNN Explorer"
APPLICATION = "cnn-explorer"


def app_settings() -> QSettings:
    """The explorer's settings: an INI file in the user's config folder, made safe (``make_safe``) before Qt
    reads it, and opened by its path, so that Qt reads no fallback file beside it (an organization-wide or a
    system-wide one, which could hold what ``make_safe`` removes)."""
    path = settings_path()
    return QSettings(str(path), QSettings.IniFormat) if make_safe(path) else scratch_settings()


def settings_path() -> Path:
    """Where ``QSettings(IniFormat, UserScope, ORGANIZATION, APPLICATION)`` keeps its file. Asked of a QSettings
    for a name nobody uses: one for our own names would parse our file (and its fallbacks) on the spot."""
    probe = QSettings(QSettings.IniFormat, QSettings.UserScope, f"cnn-explorer-probe-{uuid.uuid4().hex}", "probe")
    return Path(probe.fileName()).parent.parent / ORGANIZATION / f"{APPLICATION}.ini"


def make_safe(path: str | os.PathLike) -> bool:
    """Remove from the settings file at ``path`` every value Qt would have to deserialize as an object.

    Qt parses the whole file on the first read of any key, and PySide6 unpickles a ``@Variant(…
    PySide::PyObjectWrapper …)`` value while doing so: a planted value would run code, a truncated one raise
    on every start. The explorer stores only text, numbers, booleans and ``@ByteArray`` geometry, never a
    ``@Variant``, so such lines are dropped before Qt opens the file (one warning line each) and the setting
    falls back to its default. False when the file holds such a value and cannot be rewritten: then it must
    not be opened at all."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8", errors="surrogateescape")
    except FileNotFoundError:
        return True
    except OSError as error:
        warn(f"cannot read the settings file {path} ({error.strerror or error}); using the defaults")
        return False
    kept, dropped = [], []
    for line in text.splitlines(keepends=True):
        if _plain_line(line):
            kept.append(line)
        else:
            dropped.append(line.partition("=")[0].strip() or line.strip()[:40])
    if not dropped:
        return True
    for key in dropped:
        warn(f"ignoring the setting {key!r} in {path}: it is not a plain value; using the default")
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "wb") as out:
            out.write("".join(kept).encode("utf-8", errors="surrogateescape"))
        os.replace(temp, path)
    except OSError as error:
        warn(f"cannot rewrite the settings file {path} ({error.strerror or error}); using the defaults")
        return False
    return True


# A value Qt reads as data: plain text with neither "@" nor an escape (text, numbers, booleans), or one of the
# value types Qt writes as "@Type(…)" and reads back as plain data (the window's geometry is a @ByteArray). Any
# other "@" value, an escape that could spell one, or a list element could reach Qt's @Variant deserializer.
_DATA_VALUE = re.compile(r'@(?:ByteArray|Rect|Size|Point)\((?:[^,"\\]|\\.)*\)')


def _plain_line(line: str) -> bool:
    stripped = line.strip()
    if not stripped or stripped[0] in "[;#":  # blank, a section, a comment
        return True
    key, sep, value = stripped.partition("=")
    if not sep:
        return False  # not a key=value line (a continued value, say): nothing Qt should be left to guess
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if "Variant(" in value:
        return False
    return ("@" not in value and "\\" not in value) or bool(_DATA_VALUE.fullmatch(value))


def warn(text: str) -> None:
    """One line on stderr (nowhere when there is none)."""
    if sys.stderr is not None:
        try:
            print(f"cnn-explorer: warning: {text}", file=sys.stderr, flush=True)
        except (OSError, ValueError):
            pass


#: Folders of scratch settings made in this process, removed at exit.
_scratch_folders: list[str] = []


def scratch_settings() -> QSettings:
    """Settings that start empty and go nowhere the user will see: for scripted runs (``--screenshot``),
    which must neither depend on the user's settings nor change them. Their folder is removed by
    ``remove_scratch`` (the window's launcher calls it at exit)."""
    folder = tempfile.mkdtemp(prefix="cnn-explorer-settings-")
    _scratch_folders.append(folder)
    return QSettings(os.path.join(folder, "scratch.ini"), QSettings.IniFormat)


def remove_scratch() -> None:
    while _scratch_folders:
        shutil.rmtree(_scratch_folders.pop(), ignore_errors=True)


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
    from cnn_explorer.widgets.common.format import SHAPE_ORDERS

    return read_choice(settings, SHAPE_ORDER_KEY, SHAPE_ORDERS[0], SHAPE_ORDERS)
