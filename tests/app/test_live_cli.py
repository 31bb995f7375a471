"""The reliability probe's findings on the live commands (``detect``, ``bench-live``) and on reading images,
run as a user runs them: a subprocess each, its exit code, its stdout and every line of its stderr."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")
torch = pytest.importorskip("torch")

from cnn_explorer.models.lab.images import ImageError, open_image  # noqa: E402
from cnn_explorer.models.live.capture import CaptureThread  # noqa: E402
from cnn_explorer.models.live.sources import SyntheticSource  # noqa: E402

DETECTOR = "ssdlite320_mobilenet_v3_large"
SEGMENTER = "lraspp_mobilenet_v3_large"
SMALL = ("--size", "64", "64")


def cli(*args, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "CNN_EXPLORER_OFFLINE": "1"}
    env.pop("OPENCV_FFMPEG_LOGLEVEL", None)  # the command must quiet FFmpeg itself
    return subprocess.run([sys.executable, "-m", "cnn_explorer.app.cli", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=timeout)


def assert_one_line(result: subprocess.CompletedProcess, *fragments: str) -> None:
    """Exit code 2 and exactly one line on stderr, the error: no traceback, no library's lines before it."""
    lines = result.stderr.splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith("cnn-explorer"), lines
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def frame(index: int = 0) -> np.ndarray:
    """A synthetic frame with shapes, as BGR for cv2.imwrite."""
    image, _ = SyntheticSource(width=160, height=120, realtime=False).render(index)
    return cv2.cvtColor(image, cv2.COLOR_RGB2BGR)


def can_make_a_file_in(folder) -> bool:
    try:
        handle, name = tempfile.mkstemp(dir=folder)
    except OSError:
        return False
    os.close(handle)
    os.unlink(name)
    return True


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder where no file can be made: read-only bits, or (for root, whom they do not stop) immutable."""
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    immutable = False
    if can_make_a_file_in(folder):  # root
        immutable = subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0
    try:
        if can_make_a_file_in(folder):
            pytest.skip("no way to make a folder read-only here")
        yield folder
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], capture_output=True)
        folder.chmod(0o755)


@pytest.fixture(autouse=True)
def no_thread_left_behind():
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 60
    while [t for t in threading.enumerate() if t not in before and t.is_alive()]:
        assert time.monotonic() < deadline, "the test's threads did not end"
        threading.Event().wait(0.01)


# -- detect --out: never over a file ------------------------------------------------------------------------

@pytest.mark.slow
def test_detect_out_writes_over_neither_the_inputs_nor_files_already_there(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i, stem in enumerate(("photo", "other")):
        cv2.imwrite(str(folder / f"{stem}.jpg"), frame(2 * i))
        cv2.imwrite(str(folder / f"{stem}.png"), frame(2 * i + 1))
    originals = {path.name: digest(path) for path in folder.iterdir()}
    args = ("detect", DETECTOR, "--image", folder, "--out", folder, "--weights", "random", "--threshold", "0",
            "--size", "160", "160")

    result = cli(*args, "--json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(line["image"].rsplit("/", 1)[1] for line in lines) == sorted(originals)  # one output per input
    outs = [line["out"] for line in lines]
    assert len(set(outs)) == 4 and not {o.rsplit("/", 1)[1] for o in outs} & set(originals)
    assert {path.name: digest(path) for path in folder.iterdir() if path.name in originals} == originals
    for out in outs:
        assert cv2.imread(out).shape == (120, 160, 3)
    assert "free name" in result.stderr and "no file was replaced" in result.stderr
    first_run = {path.name: digest(path) for path in folder.iterdir()}
    assert len(first_run) == 8

    again = cli(*args)  # the first run's pictures are now inputs and files already there: none is replaced
    assert again.returncode == 0, again.stderr
    assert {path.name: digest(path) for path in folder.iterdir() if path.name in first_run} == first_run
    assert len(again.stdout.splitlines()) == 8 and len(list(folder.iterdir())) == 16
    for line in again.stdout.splitlines():  # each line names the picture it wrote, and why not NAME.png
        written = line.split(" → ")[1].split(" (")[0]
        assert os.path.isfile(written) and written.rsplit("/", 1)[1] not in first_run and "was taken" in line


# -- detect: everything checked before anything is made -----------------------------------------------------

@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_detect_to_a_new_folder_on_a_missing_device_makes_nothing(tmp_path):
    image = tmp_path / "a.png"
    cv2.imwrite(str(image), frame())
    out = tmp_path / "newdir"
    assert_one_line(cli("detect", DETECTOR, "--image", image, "--out", out, "--device", "cuda"), "CUDA")
    assert not out.exists()
    (tmp_path / "folder.pt").mkdir()  # weights that cannot be read: found before the folder is made, too
    assert_one_line(cli("detect", DETECTOR, "--image", image, "--out", out, "--weights", tmp_path / "folder.pt"),
                    "is a folder, not a weights file")
    assert not out.exists()


@pytest.mark.slow
def test_detect_out_in_a_read_only_folder_is_one_line(tmp_path, read_only_folder):
    image = tmp_path / "a.png"
    cv2.imwrite(str(image), frame())
    result = cli("detect", DETECTOR, "--image", image, "--out", read_only_folder / "new", "--weights", "random")
    assert_one_line(result, "read-only")
    assert not (read_only_folder / "new").exists()
    assert_one_line(cli("detect", DETECTOR, "--image", image, "--out", read_only_folder, "--weights", "random"),
                    f"cannot write pictures in {read_only_folder}", "read-only")


# -- bench-live: bad input before the threads, in one line ---------------------------------------------------

class _Payload:
    """A pickle that runs code when it is loaded: weights_only loading must refuse it."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.slow
def test_bench_live_refuses_bad_weights_sizes_and_timeouts_in_one_line(tmp_path):
    from safetensors.torch import save_file

    from cnn_explorer.models.zoo.loader import load_model

    folder = tmp_path / "weights"
    folder.mkdir()
    other = tmp_path / "lenet5.safetensors"
    save_file(load_model("lenet5", weights="random").model.state_dict(), str(other))
    marker = tmp_path / "the payload ran"
    evil = tmp_path / "evil.pt"
    torch.save({"state_dict": _Payload(marker)}, evil)  # torch's own format, as a checkpoint would be
    bench = ("bench-live", "--model", SEGMENTER, "--frames", "3", *SMALL)
    assert_one_line(cli(*bench, "--weights", folder), "is a folder, not a weights file")
    assert_one_line(cli(*bench, "--weights", other), "do not match the model")
    assert_one_line(cli(*bench, "--weights", evil), "evil.pt")
    assert not marker.exists()
    assert_one_line(cli("bench-live", "--model", SEGMENTER, "--size", "100000", "100000"), "out of range")
    for timeout in ("inf", "nan", "0"):
        assert_one_line(cli(*bench, "--timeout", timeout), "--timeout")


# -- bench-live: the timeout is honoured, the threads end quietly -------------------------------------------

def test_a_slow_source_wakes_when_the_capture_stops():
    capture = CaptureThread(SyntheticSource(width=64, height=48, fps=0.0001)).start()
    assert capture.take(timeout=60) is not None  # frame 0 at once; frame 1 is due in 10 000 s
    start = time.monotonic()
    assert capture.stop(timeout=30)
    assert time.monotonic() - start < 5


def test_bench_live_ends_at_its_timeout_without_threads_left_running():
    start = time.monotonic()
    result = cli("bench-live", "--model", SEGMENTER, "--frames", "3", *SMALL, "--weights", "random",
                 "--fps", "0.0001", "--timeout", "3")
    took = time.monotonic() - start
    assert_one_line(result, "of 3 frames in 3 s")
    assert "did not end" not in result.stderr
    assert took < 20, f"{took:.1f} s"


# -- a FIFO is not a file; damaged files say one line --------------------------------------------------------

@pytest.mark.slow
def test_a_fifo_is_not_a_regular_file_and_is_never_opened(tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(ImageError, match="not a regular file"):
        open_image(fifo)  # would block for ever if it were opened
    assert_one_line(cli("detect", DETECTOR, "--image", fifo, "--weights", "random", timeout=120),
                    "not a regular file")
    assert_one_line(cli("predict", "lenet5_digits", "--image", fifo, timeout=120), "not a regular file")
    video = tmp_path / "pipe.mp4"
    os.mkfifo(video)
    assert_one_line(cli("bench-live", "--model", SEGMENTER, "--source", video, timeout=120), "not a regular file")


@pytest.fixture(scope="module")
def damaged(tmp_path_factory):
    """A truncated JPEG, a corrupt PNG, an all-NaN float TIFF and a truncated MP4, and folders of the first
    two, as the probe made them."""
    from PIL import Image

    folder = tmp_path_factory.mktemp("damaged")
    image = frame()
    ok, jpeg = cv2.imencode(".jpg", image)
    (folder / "cut.jpg").write_bytes(jpeg.tobytes()[: len(jpeg) // 2])
    ok, png = cv2.imencode(".png", image)
    (folder / "corrupt.png").write_bytes(png.tobytes()[: len(png) // 2] + bytes(200))
    Image.fromarray(np.full((32, 32), np.nan, np.float32), mode="F").save(folder / "nan.tif")
    writer = cv2.VideoWriter(str(folder / "whole.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 20, (64, 48))
    if writer.isOpened():
        for i in range(20):
            writer.write(np.full((48, 64, 3), 10 * i, np.uint8))
        writer.release()
        data = (folder / "whole.mp4").read_bytes()
        (folder / "cut.mp4").write_bytes(data[: len(data) // 2])  # the moov atom (at the end) is gone
    for name in ("cut.jpg", "corrupt.png"):
        (folder / f"only-{name}").mkdir()
        (folder / f"only-{name}" / name).write_bytes((folder / name).read_bytes())
    return folder


@pytest.mark.parametrize("name", ["cut.jpg", pytest.param("corrupt.png", marks=pytest.mark.slow),
                                  pytest.param("nan.tif", marks=pytest.mark.slow)])
def test_a_damaged_image_is_one_line(damaged, name):
    assert_one_line(cli("predict", "lenet5_digits", "--image", damaged / name), name)
    assert_one_line(cli("detect", SEGMENTER, "--image", damaged / name, "--weights", "random", *SMALL), name)


def test_a_float_image_holds_finite_values_or_is_refused(tmp_path):
    from PIL import Image

    values = np.linspace(-1, 1, 32 * 32, dtype=np.float32).reshape(32, 32)
    values[0, :4] = [np.nan, np.inf, -np.inf, np.nan]
    Image.fromarray(values, mode="F").save(tmp_path / "some-nan.tif")
    image = open_image(tmp_path / "some-nan.tif")[:, :, 0]
    assert image[0, 4] == 0 and image[-1, -1] == 255  # scaled from the lowest finite value to the highest
    assert list(image[0, :4]) == [0, 255, 0, 0]  # NaN and -inf as the lowest, +inf as the highest
    Image.fromarray(np.full((16, 16), np.nan, np.float32), mode="F").save(tmp_path / "all-nan.tif")
    with pytest.raises(ImageError, match="every pixel is NaN"):
        open_image(tmp_path / "all-nan.tif")


@pytest.mark.parametrize("source", ["cut.mp4", "only-cut.jpg", "only-corrupt.png"])
def test_a_damaged_source_is_one_line(damaged, source):
    if not (damaged / source).exists():
        pytest.skip("this OpenCV cannot write MP4")
    assert_one_line(cli("bench-live", "--model", SEGMENTER, "--source", damaged / source, "--frames", "3",
                        *SMALL, "--weights", "random"))
