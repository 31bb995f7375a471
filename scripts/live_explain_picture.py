"""docs/screenshots/live_explain_1024.png: the Live tab at 1024×768 with Explain on — the synthetic source
through the shapes YOLO, the map of its strongest box laid over the picture, the HUD with the explanation's
own FPS beside the picture's.

    QT_QPA_PLATFORM=offscreen uv run python scripts/live_explain_picture.py [OUT.png] [MODEL]
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QEventLoop, QSettings, QTimer
from PySide6.QtWidgets import QApplication

from cnn_explorer.app.window.main_window import MainWindow


def wait(app, condition, timeout_s: float = 300.0) -> None:
    import time

    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for the explanation")
        loop = QEventLoop()
        QTimer.singleShot(30, loop.quit)
        loop.exec()


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots/live_explain_1024.png")
    model = sys.argv[2] if len(sys.argv) > 2 else "shapes_yolo"
    app = QApplication.instance() or QApplication([])
    folder = Path(tempfile.mkdtemp(prefix="live_explain_"))
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(folder / "config"))
    window = MainWindow("lenet5", weights="random", cache_dir=folder / "cache", restore_geometry=False)
    window.resize(1024, 768)
    window.show()
    live = window.feature("live")
    live.panel.select_model(model)
    window.host.show("live")
    live.open_source("synthetic")
    wait(app, lambda: live._shown is not None and live._shown.model == model)
    live.panel.explain_check.setChecked(True)
    wait(app, lambda: live.explains_shown >= 20 and live.session.explainer.count >= 8
         and any(re.search(r"explain [1-9][\d.]* FPS", line) for line in live.panel.view.hud))
    window.grab().save(str(out))
    print(f"wrote {out}: {live.panel.view.hud}")
    window.close()


if __name__ == "__main__":
    main()
