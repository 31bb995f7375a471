"""The live view's frame sources and capture thread (models/live): no Qt, no model, no fixed sleeps."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from cnn_explorer.models.live.capture import CaptureThread  # noqa: E402
from cnn_explorer.models.live.errors import SourceError  # noqa: E402
from cnn_explorer.models.live.sources import (  # noqa: E402
    CameraSource, EndOfStream, FolderSource, Frame, FrameSource, SyntheticSource, VideoSource, list_cameras,
    open_source)


def wait_until(predicate, timeout: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        threading.Event().wait(0.005)  # a short poll, not a fixed wait for an outcome


@pytest.fixture(autouse=True)
def no_thread_left_behind():
    before = set(threading.enumerate())
    yield
    wait_until(lambda: not [t for t in threading.enumerate() if t not in before and t.is_alive()], 60,
               "the test's threads to end")


def write_video(path, frames: int = 12, size=(64, 48), fps: float = 20.0):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    assert writer.isOpened()
    for i in range(frames):
        image = np.zeros((size[1], size[0], 3), np.uint8)
        image[:, :, 2] = (20 * i) % 256  # red in BGR grows frame by frame
        writer.write(image)
    writer.release()
    return path


# -- synthetic ----------------------------------------------------------------------------------------------

def test_synthetic_truth_boxes_contain_the_shapes_pixels():
    source = SyntheticSource(width=320, height=240, shapes=6, seed=3, realtime=False)
    for index in (0, 7, 45, 200):
        image, truth = source.render(index)
        assert image.shape == (240, 320, 3) and image.dtype == np.uint8
        assert truth.label_map.shape == (240, 320) and set(np.unique(truth.labels)) <= {1, 2, 3}
        assert len(truth.boxes) == 6 and set(truth.names) <= {"circle", "square", "triangle"}
        for i, (x1, y1, x2, y2) in enumerate(truth.boxes.astype(int)):
            ys, xs = np.nonzero(truth.instance_map == i)
            if len(xs):
                assert x1 <= xs.min() and xs.max() < x2 and y1 <= ys.min() and ys.max() < y2
                # the shape's pixels have its class in the label map, and its colour in the image
                assert (truth.label_map[ys, xs] == truth.labels[i]).all()
                assert (image[ys, xs] == truth.shapes[i].colour).all()
        # an unoccluded shape's box is tight
        alone = SyntheticSource(width=320, height=240, shapes=1, seed=index, realtime=False).truth(index)
        ys, xs = np.nonzero(alone.instance_map == 0)
        assert list(alone.boxes[0]) == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
    assert set(SyntheticSource(shapes=3, realtime=False).truth(0).names) == {"circle", "square", "triangle"}


def test_synthetic_shapes_move_and_frames_are_deterministic():
    a, b = SyntheticSource(seed=1, realtime=False), SyntheticSource(seed=1, realtime=False)
    assert np.array_equal(a.render(10)[0], b.render(10)[0])
    assert not np.array_equal(a.truth(0).boxes, a.truth(15).boxes)
    with a:
        frame = a.read()
        t, image = frame
        assert isinstance(frame, Frame) and frame.index == 0 and image.shape == (480, 640, 3) and t > 0
    finite = SyntheticSource(realtime=False, frames=3)
    assert len(list(finite)) == 3


# -- the capture thread -------------------------------------------------------------------------------------

class Gate(FrameSource):
    """A source that gives a frame each time the test allows one, and says whether it was released."""

    name = "gate"

    def __init__(self):
        self.allowed = threading.Semaphore(0)
        self.count = 0
        self.released = threading.Event()
        self.interrupted = threading.Event()
        self.opened = False

    def interrupt(self):
        self.interrupted.set()

    def open(self):
        self.opened = True

    def read(self):
        while not self.allowed.acquire(timeout=0.05):
            if self.interrupted.is_set():
                raise EndOfStream()
        self.count += 1
        return Frame(np.full((4, 4, 3), self.count, np.uint8), time.perf_counter(), self.count)

    def release(self):
        self.released.set()


def test_the_mailbox_keeps_only_the_newest_frame_and_counts_drops():
    source = Gate()
    capture = CaptureThread(source).start()
    try:
        for _ in range(5):
            source.allowed.release()
        wait_until(lambda: capture.stats().frames == 5, what="five frames")
        frame = capture.take(timeout=30)
        assert frame.index == 5  # the newest; 1 to 4 were overwritten
        stats = capture.stats()
        assert (stats.frames, stats.taken, stats.dropped) == (5, 1, 4)
        assert capture.take(timeout=0.05) is None  # nothing new
        source.allowed.release()
        assert capture.take(timeout=30).index == 6
        assert capture.stats().dropped == 4
    finally:
        assert capture.stop()
    assert source.released.is_set() and not capture.running


def test_stop_releases_the_source_and_ends_the_thread():
    source = SyntheticSource(width=64, height=48, fps=200)
    capture = CaptureThread(source).start()
    try:
        assert capture.take(timeout=30) is not None
        assert capture.running
    finally:
        assert capture.stop(timeout=30)
    assert not capture.running and capture.finished
    assert capture.stats().fps > 0 or capture.stats().frames >= 1


def test_a_fault_of_the_source_is_kept_for_the_consumer():
    class Broken(Gate):
        def read(self):
            raise RuntimeError("the sensor caught fire")

    capture = CaptureThread(Broken()).start()
    try:
        wait_until(lambda: capture.finished, what="the thread to end")
        assert isinstance(capture.error, SourceError) and "caught fire" in str(capture.error)
        assert capture.take(timeout=0.05) is None
    finally:
        capture.stop()


# -- files, folders, cameras --------------------------------------------------------------------------------

def test_a_video_file_plays_and_loops(tmp_path):
    path = write_video(tmp_path / "clip.avi", frames=12)
    source = VideoSource(path, loop=True, realtime=False)
    with source:
        frames = [source.read() for _ in range(30)]
    assert source.frame_size == (48, 64) and source.fps == pytest.approx(20.0)
    reds = [int(f.image[0, 0, 0]) for f in frames]  # RGB now: the red channel
    assert reds[0] < 10 and reds[11] > 200 and reds[12] < 10 and reds[24] < 10  # back to the start, twice
    assert [f.index for f in frames] == list(range(30))
    once = VideoSource(path, loop=False, realtime=False)
    assert len(list(once)) == 12


def test_deleting_the_video_mid_run_is_a_source_error_not_a_crash(tmp_path):
    path = write_video(tmp_path / "clip.avi", frames=12)
    capture = CaptureThread(VideoSource(path, loop=True, realtime=True)).start()
    try:
        assert capture.take(timeout=30) is not None
        path.unlink()
        wait_until(lambda: capture.finished, what="the capture to notice")
        assert isinstance(capture.error, SourceError)
        assert "deleted or moved" in str(capture.error) and "\n" not in str(capture.error)
    finally:
        capture.stop()


def test_missing_unreadable_and_truncated_videos_are_clear_errors(tmp_path):
    with pytest.raises(SourceError, match="no such video file"):
        VideoSource(tmp_path / "none.avi").open()
    junk = tmp_path / "junk.mp4"
    junk.write_text("not a video")
    with pytest.raises(SourceError, match="cannot read junk.mp4"):
        VideoSource(junk).open()
    data = write_video(tmp_path / "whole.avi", frames=40).read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceError, match="truncated|damaged"):
        source = VideoSource(cut, loop=True, realtime=False)
        with source:
            for _ in range(100):
                source.read()


def test_image_folders(tmp_path):
    with pytest.raises(SourceError, match="no images in"):
        FolderSource(tmp_path).open()
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.full((20, 30, 3), 60 * i, np.uint8))
    source = FolderSource(tmp_path, realtime=False)
    with source:
        values = [int(source.read().image[0, 0, 0]) for _ in range(6)]
        assert values == [0, 60, 120, 0, 60, 120]
        for f in tmp_path.glob("*.png"):
            f.unlink()
        with pytest.raises(SourceError, match="emptied while running"):
            for _ in range(4):
                source.read()


def test_a_missing_camera_is_a_clear_error_and_listing_is_quiet_and_quick(capfd):
    start = time.perf_counter()
    cameras = list_cameras()
    assert time.perf_counter() - start < 5
    known = {c.index for c in cameras}
    missing = next(i for i in range(50, 100) if i not in known)
    with pytest.raises(SourceError, match=f"camera.* {missing}|index {missing}"):
        CameraSource(missing).open()
    with pytest.raises(SourceError):
        CaptureThread(CameraSource(missing)).start()
    assert "WARN" not in capfd.readouterr().err


def test_open_source_by_name(tmp_path):
    assert isinstance(open_source("synthetic"), SyntheticSource)
    assert isinstance(open_source("7"), CameraSource)
    assert isinstance(open_source(str(tmp_path)), FolderSource)
    with pytest.raises(SourceError, match="no such video file or folder"):
        open_source(str(tmp_path / "nope.mp4"))
