"""Pictures of the Charts tab's pages for docs/screenshots/ (and for slides): the window at 1024×768 on one
page, once its numbers have come in, as ``--screenshot`` takes it (``--view charts`` opens the timeline page).

    uv run python scripts/charts_pictures.py [PAGE ...]   # default: separable fields

Writes docs/screenshots/charts_<page>_1024.png (``separable`` → charts_separable_1024.png, ``fields`` →
charts_fields_1024.png).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtWidgets import QApplication

from cnn_explorer.app.window.main_window import MainWindow
from cnn_explorer.app.window.settings import remove_scratch, scratch_settings
from cnn_explorer.widgets.common.picture import png_bytes

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
WAIT_S = 300
CHANNELS = {"separable": "charts.separable", "fields": "charts.fields", "arithmetic": "charts.arithmetic",
            "accuracy": "charts.accuracy"}


def main(pages: list[str]) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as cache:
        window = MainWindow("lenet5_digits", weights="pretrained", cache_dir=Path(cache), settings=scratch_settings(),
                            restore_geometry=False)
        window.resize(1024, 768)
        window.show()
        window.action_map["charts_tab"].trigger()
        controller = window.feature("charts")
        for page in pages:
            controller.show(page)
            channel = CHANNELS[page]
            deadline = time.monotonic() + WAIT_S
            while channel not in controller.results and channel not in controller.errors:
                if time.monotonic() > deadline:
                    print(f"{page}: not ready after {WAIT_S} s", file=sys.stderr)
                    return 1
                app.processEvents()
                time.sleep(0.05)
            for _ in range(20):  # let the page lay itself out and paint
                app.processEvents()
                time.sleep(0.02)
            path = OUT / f"charts_{page}_1024.png"
            path.write_bytes(png_bytes(window.grab().toImage()))
            print(path)
        window.close()
    remove_scratch()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["separable", "fields"]))
