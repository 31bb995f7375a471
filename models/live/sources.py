"""Frame sources for the live view: each gives frames as H×W×3 uint8 RGB arrays with a capture timestamp.

    SyntheticSource   moving circles, squares and triangles on a textured background; it knows its ground
                      truth for every frame (boxes, classes, a per-pixel class map and instance map)
    VideoSource       a video file read with OpenCV, looping by default
    FolderSource      the images of a folder, in name order, looping
    CameraSource      a webcam by index (``list_cameras()`` finds them, quickly and quietly)

A source is opened (``open()``), read (``read()`` → ``Frame``) and released (``release()``); iterating over
one yields ``(timestamp, image)`` pairs. Failures raise ``SourceError`` with a one-line message; the end of a
source that does not loop raises ``EndOfStream``. Timestamps are ``time.perf_counter()`` seconds taken when the
frame was captured, so that latency is measured from the capture on.

The sources live in modules of their own (the shared base in source_base.py, the synthetic source in
synthetic.py, video files and image folders in file_sources.py, cameras in cameras.py); this module names
them all and holds ``open_source``, which makes the source a user names.
"""

from __future__ import annotations

from pathlib import Path

from cnn_explorer.models.live.cameras import CameraInfo, CameraSource, list_cameras  # noqa: F401 (re-exported)
from cnn_explorer.models.live.errors import SourceError
from cnn_explorer.models.live.file_sources import FolderSource, VideoSource
from cnn_explorer.models.live.source_base import (  # noqa: F401 (re-exported)
    IMAGE_SUFFIXES, VIDEO_SUFFIXES, EndOfStream, Frame, FrameSource, quiet_opencv)
from cnn_explorer.models.live.synthetic import SHAPE_CLASSES, SyntheticSource, SyntheticTruth  # noqa: F401 (re-exported)


def open_source(spec: str, *, realtime: bool = True, loop: bool = True, fps: float | None = None,
                size: tuple[int, int] | None = None, seed: int = 0) -> FrameSource:
    """The source a user names: ``synthetic``, a camera index (``0``), an image folder or a video file.
    ``size`` (height, width) and ``fps`` set the synthetic source's frames. Not opened yet."""
    text = str(spec).strip()
    if not text:
        raise SourceError("the source is empty: give 'synthetic', a camera index, a video file or an image folder")
    if text.lower() == "synthetic":
        h, w = size or (480, 640)
        return SyntheticSource(width=w, height=h, fps=fps or 30.0, seed=seed, realtime=realtime)
    if text.isdigit():
        return CameraSource(int(text))
    path = Path(text).expanduser()
    if path.is_dir():
        return FolderSource(path, fps=fps or 5.0, loop=loop, realtime=realtime)
    if not path.exists():
        raise SourceError(f"no such video file or folder: {path} (sources: synthetic, a camera index, a video file, "
                          "an image folder)")
    return VideoSource(path, loop=loop, realtime=realtime)
