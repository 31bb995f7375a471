"""The live view's predictor, pipeline, quality figures and commands (models/live, app/live/cli.py), on the
CPU with random weights and small inputs. The CUDA path is tested where there is a GPU (``gpu`` mark)."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")
torch = pytest.importorskip("torch")

from cnn_explorer.app import cli  # noqa: E402
from cnn_explorer.models.live.errors import LiveError, SourceError  # noqa: E402
from cnn_explorer.models.live.pipeline import LivePipeline  # noqa: E402
from cnn_explorer.models.live.predictor import Predictor  # noqa: E402
from cnn_explorer.models.live.quality import (  # noqa: E402
    QualityMeter, box_iou, detection_quality, pixel_iou)
from cnn_explorer.models.live.sources import SyntheticSource  # noqa: E402

DETECTOR = "ssdlite320_mobilenet_v3_large"
SEGMENTER = "lraspp_mobilenet_v3_large"


def wait_until(predicate, timeout: float = 120.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        threading.Event().wait(0.01)


@pytest.fixture(autouse=True)
def no_thread_left_behind():
    before = set(threading.enumerate())
    yield
    wait_until(lambda: not [t for t in threading.enumerate() if t not in before and t.is_alive()], 60,
               "the test's threads to end")


@pytest.fixture(scope="module")
def detector():
    return Predictor(DETECTOR, weights="random", size=(160, 160), score_threshold=0.0)


@pytest.fixture(scope="module")
def segmenter():
    return Predictor(SEGMENTER, weights="random", size=(96, 128))


# -- quality -----------------------------------------------------------------------------------------------

def test_quality_figures_on_hand_made_boxes_and_maps():
    truth = np.array([[0, 0, 10, 10], [20, 20, 30, 30]], np.float32)
    assert box_iou(truth, truth).diagonal().tolist() == [1.0, 1.0]
    assert box_iou([[0, 0, 10, 10]], [[5, 0, 15, 10]])[0, 0] == pytest.approx(50 / 150)
    found = detection_quality(np.array([[0, 0, 10, 9], [100, 100, 110, 110]]), truth)
    assert (found.matched, found.recall, found.precision) == (1, 0.5, 0.5)
    assert found.mean_iou == pytest.approx((0.9 + 0) / 2)
    # one prediction cannot match two truths; classes must agree when both are given
    assert detection_quality(np.array([[0, 0, 10, 10]]), np.array([[0, 0, 10, 10], [0, 0, 10, 10]])).matched == 1
    assert detection_quality(truth, truth, pred_labels=[1, 2], truth_labels=[2, 2]).recall == 0.5
    assert detection_quality(np.zeros((0, 4)), truth).recall == 0.0
    a = np.zeros((10, 10), np.uint8)
    b = np.zeros((10, 10), np.uint8)
    a[:5] = 1
    b[:, :5] = 2
    assert pixel_iou(a, b) == pytest.approx(25 / 75)  # foreground against foreground
    assert pixel_iou(a, b, classes=[1, 2]) == pytest.approx(0.0)
    assert pixel_iou(a, a, classes=[1]) == 1.0 and pixel_iou(np.zeros((3, 3)), np.zeros((3, 3))) == 1.0


def test_the_quality_meter_scores_the_truth_itself_perfectly():
    source = SyntheticSource(width=160, height=120, realtime=False)
    _, truth = source.render(5)

    class Perfect:
        task = "detection"
        categories = list(truth.classes)
        boxes, labels, scores = truth.boxes, truth.labels, np.ones(len(truth.boxes), np.float32)
        instance_map = None

    Perfect.truth = truth
    meter = QualityMeter()
    meter.add(Perfect())
    assert meter.to_json()["recall_at_iou"] == 1.0 and meter.to_json()["mean_iou"] == 1.0


# -- the predictor -----------------------------------------------------------------------------------------

def test_a_detector_gives_boxes_in_frame_pixels_with_names(detector):
    image, _ = SyntheticSource(width=320, height=240, realtime=False).render(0)
    result = detector(image)
    assert result.task == "detection" and result.weights_note == "random weights"
    assert result.frame_size == (240, 320) and result.input_size == (160, 160)
    assert len(result.boxes) > 0 and result.boxes.dtype == np.float32 and result.boxes.shape[1] == 4
    assert (result.boxes[:, [0, 2]] <= 320 + 1e-3).all() and (result.boxes[:, [1, 3]] <= 240 + 1e-3).all()
    assert len(result.names) == len(result.scores) and result.categories[1] == "person"
    assert set(result.timings) == {"preprocess", "infer", "postprocess"}
    assert json.loads(json.dumps(result.to_json()))["detections"]


def test_a_segmenter_gives_a_class_map_of_the_frames_size(segmenter):
    image, _ = SyntheticSource(width=200, height=150, realtime=False).render(0)
    result = segmenter(image)
    assert result.class_map.shape == (150, 200) and result.class_map.dtype == np.uint8
    assert result.overlay.shape == (150, 200, 3) and result.overlay.dtype == np.uint8
    assert sum(result.classes_present().values()) == 150 * 200
    assert result.categories[0] == "__background__"


def test_bad_devices_precisions_and_models_are_clear_errors():
    if not torch.cuda.is_available():
        with pytest.raises(LiveError, match="CUDA is not available"):
            Predictor(DETECTOR, device="cuda", weights="random")
    with pytest.raises(LiveError, match="fp16 needs a GPU"):
        Predictor(DETECTOR, device="cpu", precision="fp16", weights="random")
    with pytest.raises(LiveError, match="unknown device"):
        Predictor(DETECTOR, device="tpu", weights="random")
    for error in (LiveError("a\nb"), SourceError("x")):
        assert isinstance(error, ValueError) and "\n" not in str(error)


# -- the pipeline ------------------------------------------------------------------------------------------

def test_the_pipeline_runs_a_detector_on_the_synthetic_source(detector):
    source = SyntheticSource(width=320, height=240, fps=60)
    live = LivePipeline(source, detector)
    try:
        live.start()
        first = live.wait_result(after=0, timeout=60)
        assert first is not None and first.truth is not None
        wait_until(lambda: live.results >= 4, 60, "four results")
        stats = live.stats()
        assert stats.running and stats.camera_fps > 0 and stats.inference_fps > 0
        assert 0 < stats.latency_p50_ms <= stats.latency_p95_ms
        assert stats.frames_processed >= 4 and stats.frames_captured >= stats.frames_processed
        assert stats.device and stats.precision == "fp32" and stats.weights == "random weights"
        assert json.dumps(stats.to_json())
    finally:
        assert live.stop()
    assert not live.running and live.error is None


def test_the_pipeline_bench_measures_everything(segmenter):
    report = LivePipeline(SyntheticSource(width=160, height=120, fps=60), segmenter).bench(frames=5, timeout=120)
    for key in ("camera_fps", "pipeline_fps", "model_only_fps", "latency_p50_ms", "latency_p95_ms",
                "frames_dropped", "device_name"):
        assert key in report
    assert report["frames"] == 5 and report["pipeline_fps"] > 0 and report["model_only_fps"] > 0
    assert 0.0 <= report["quality"]["pixel_iou"] <= 1.0


def test_a_source_that_fails_ends_the_pipeline_with_its_error(tmp_path, detector):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (64, 48))
    for i in range(30):
        writer.write(np.full((48, 64, 3), i, np.uint8))
    writer.release()
    from cnn_explorer.models.live.sources import VideoSource

    live = LivePipeline(VideoSource(path), detector, warmup=0)
    try:
        live.start()
        assert live.wait_result(after=0, timeout=120) is not None
        path.unlink()
        wait_until(lambda: not live.running, 120, "the pipeline to end")
        assert isinstance(live.error, SourceError) and "deleted" in str(live.error)
    finally:
        live.stop()


# -- the commands ------------------------------------------------------------------------------------------

def run_cli(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_bench_live_command(capsys):
    code, out, err = run_cli(capsys, "bench-live", "--model", SEGMENTER, "--frames", "3", "--size", "64", "64",
                             "--weights", "random", "--fps", "60", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["frames"] == 3 and report["weights"] == "random" and "pixel_iou" in report["quality"]
    code, out, err = run_cli(capsys, "bench-live", "--model", SEGMENTER, "--frames", "3", "--size", "64", "64",
                             "--weights", "random", "--fps", "60")
    assert code == 0 and "model only" in out and "pipeline" in out and "pixel IoU" in out
    if not torch.cuda.is_available():
        code, out, err = run_cli(capsys, "bench-live", "--model", SEGMENTER, "--device", "cuda")
        assert code == 2 and err.count("\n") == 1 and "CUDA is not available" in err
    code, out, err = run_cli(capsys, "bench-live", "--model", SEGMENTER, "--source", "57")
    assert code == 2 and "no camera at index 57" in err
    code, out, err = run_cli(capsys, "bench-live", "--model", "resnet51")
    assert code == 2 and err.count("\n") == 1


def test_detect_command(tmp_path, capsys):
    images = tmp_path / "images"
    images.mkdir()
    source = SyntheticSource(width=160, height=120, realtime=False)
    for i in range(2):
        cv2.imwrite(str(images / f"{i}.png"), cv2.cvtColor(source.render(i)[0], cv2.COLOR_RGB2BGR))
    out_dir = tmp_path / "out"
    code, out, err = run_cli(capsys, "detect", DETECTOR, "--image", str(images), "--weights", "random",
                             "--threshold", "0", "--size", "160", "160", "--json", "--out", str(out_dir))
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 2 and lines[0]["detections"] and lines[0]["weights_note"] == "random weights"
    box = lines[0]["detections"][0]["box"]
    assert 0 <= box[0] <= box[2] <= 160 and 0 <= box[1] <= box[3] <= 120
    picture = cv2.imread(lines[0]["out"])
    assert picture.shape == (120, 160, 3)
    code, out, err = run_cli(capsys, "detect", SEGMENTER, "--image", str(images / "0.png"), "--weights", "random")
    assert code == 0 and " px (" in out
    code, out, err = run_cli(capsys, "detect", DETECTOR, "--image", str(tmp_path / "none.png"))
    assert code == 2 and "no such image" in err


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_the_cuda_path(precision):
    image, _ = SyntheticSource(realtime=False).render(0)
    for name in (DETECTOR, SEGMENTER, "maskrcnn_resnet50_fpn"):
        predictor = Predictor(name, device="cuda", precision=precision, weights="random", score_threshold=0.0)
        predictor.warmup((480, 640))
        cpu = Predictor(name, device="cpu", weights="random", score_threshold=0.0)
        result = predictor(image)
        assert result.frame_size == (480, 640) and result.device == torch.cuda.get_device_name()
        if result.overlay is not None:
            assert result.overlay.shape == (480, 640, 3) and result.overlay.dtype == np.uint8
        assert cpu.task == predictor.task
    report = LivePipeline(SyntheticSource(fps=200), lambda: Predictor(
        DETECTOR, device="cuda", precision=precision, weights="random")).bench(frames=50, timeout=120)
    assert report["pipeline_fps"] > 0 and report["model_only_fps"] > 0


ALLOCATOR_PROBE = """
import resource, sys
import numpy as np
from cnn_explorer.models.live.pipeline import reuse_freed_memory

def faults(rounds=30):  # page faults while a frame's worth of blocks is asked for and freed, again and again
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(rounds):
        blocks = [np.ones(n << 20, np.uint8) for n in (4, 12, 24, 2, 6)]
        del blocks
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

faults(2)
default = faults()
if not reuse_freed_memory():
    print('not glibc'); sys.exit(0)
faults(2)  # the heap grows once
print(default, faults())
"""


def test_freed_frame_memory_is_reused_not_mapped_again():
    """On glibc, blocks freed after one frame are kept for the next (they were given back to the system and
    page-faulted in again on every frame: 10-15 % of a CPU forward pass)."""
    import subprocess
    import sys

    probe = subprocess.run([sys.executable, "-c", ALLOCATOR_PROBE], capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr
    if probe.stdout.strip() == "not glibc":
        pytest.skip("the C library is not glibc")
    default, tuned = map(int, probe.stdout.split())
    if default == 0:
        pytest.skip("this allocator keeps freed memory already")
    assert tuned <= default / 10, (default, tuned)


def test_regions_are_outlined_in_their_colour_over_the_blend():
    """A class map is blended in at the chosen opacity, and each region's inner border is drawn in its class
    colour at full strength: over a saturated object a blend alone hides which colour was laid on it."""
    from cnn_explorer.models.live.draw import palette as class_colours
    from cnn_explorer.models.live.predictor import region_outline

    index = torch.zeros(20, 20, dtype=torch.uint8)
    index[5:15, 5:15] = 2
    outline = region_outline(index, index != 0)
    assert int(outline.sum()) == 10 * 10 - 6 * 6  # a ring 2 pixels wide inside the square
    assert not outline[7:13, 7:13].any() and outline[5, 5:15].all()

    source = SyntheticSource(realtime=False)
    source.open()
    frame = source.read().image
    result = Predictor("shapes_unet", device="cpu")(frame)
    palette = class_colours(256)
    classes = torch.from_numpy(result.class_map)
    edge = region_outline(classes, classes != 0).numpy()
    inside = (result.class_map != 0) & ~edge
    assert edge.any() and inside.any()
    assert (result.overlay[edge] == palette[result.class_map[edge]]).all()  # full strength on the border
    blended = result.overlay[inside].astype(int)
    assert (blended != frame[inside]).any(axis=1).mean() > 0.9  # the colour laid over the inside ...
    assert (blended != palette[result.class_map[inside]]).any(axis=1).mean() > 0.9  # ... blended, not pasted
    assert (result.overlay[result.class_map == 0] == frame[result.class_map == 0]).all()  # background as it was
