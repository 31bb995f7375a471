"""Pictures to files: PNG and SVG encoded in memory by Qt, then written by Python's own file calls
(``files.write_bytes``), which raise on a full disk where Qt's writers leave a short file and report
nothing. No torch."""

from __future__ import annotations

import os
from typing import Callable

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, QSize
from PySide6.QtGui import QFont, QImage, QPainter
from PySide6.QtSvg import QSvgGenerator

from cnn_explorer.widgets.common.files import write_bytes


def png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise OSError(f"cannot encode a {image.width()}×{image.height()} picture as PNG")
    buffer.close()
    return bytes(data)


def write_png(image: QImage, path: str | os.PathLike) -> None:
    write_bytes(path, png_bytes(image))


def write_svg(path: str | os.PathLike, size: QSize, view_box: QRectF, title: str, description: str,
              paint: Callable[[QPainter], None]) -> None:
    """An SVG of ``size`` whose content ``paint`` draws with a painter on ``view_box``."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator()
    generator.setOutputDevice(buffer)
    generator.setSize(size)
    generator.setViewBox(view_box)
    generator.setTitle(title)
    generator.setDescription(description)
    painter = QPainter()
    if not painter.begin(generator):
        raise OSError(f"cannot write {path}: the SVG could not be started")
    try:
        # The painter's first font is written into every group of the file: a fixed one, not the application's
        # (presentation mode enlarges that), so that a picture's bytes depend on the picture alone.
        painter.setFont(QFont("Sans Serif", 9))
        paint(painter)
    finally:
        painter.end()
    buffer.close()
    write_bytes(path, bytes(data))
