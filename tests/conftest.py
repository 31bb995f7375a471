import os
import sys
import tempfile
from pathlib import Path

# Widget tests run without a screen; the offscreen platform needs no X libraries.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Drawing as the app draws: its QApplication (app/window/gui_thread.application) turns Qt's raster thread pool off.
os.environ.setdefault("QT_NO_GUI_THREADPOOL", "1")
# Tests never wait on the network for weights: the hub hosts are unreachable here and in CI anyway.
os.environ.setdefault("CNN_EXPLORER_OFFLINE", "1")

# The analysis cache and the zoo's parameter counts of a test session go to a folder of its own, so that no
# test reads what another run (or the user) left behind.
os.environ.setdefault("CNN_EXPLORER_CACHE_DIR", tempfile.mkdtemp(prefix="cnn-explorer-test-cache-"))

sys.path.insert(0, str(Path(__file__).parent))

# Side by side (pytest-xdist: pyproject's addopts run the suite on up to four workers), each worker's torch, and
# each command a test starts, take their share of the cores: two workers on two cores that each started two
# threads would make every forward pass wait on the other's.
_workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _workers > 1:
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // _workers)))

# As the command line and the window do: the import tricks that make a first model faster (models/runtime/torch_import.py).
from cnn_explorer.models.runtime.torch_import import install  # noqa: E402

install()

# tests/qt_free runs only in the subprocess of test_qt_free.py, where PySide6 is blocked.
if not os.environ.get("CNN_EXPLORER_QT_FREE"):
    collect_ignore = ["qt_free"]

# On a machine without an NVIDIA GPU, Triton is of no use, yet torch._dynamo (torch.export, the ONNX exporter)
# imports it when installed, and its nanobind module then prints some 40 lines of "nanobind: leaked …" at exit.
# Hidden from the CPU-only suite: torch treats it as absent. The GPU tests keep it.
if not Path("/dev/nvidiactl").exists() and not Path("/proc/driver/nvidia").exists():
    sys.modules.setdefault("triton", None)


import pytest  # noqa: E402


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for a module's tests (``pytestmark = pytest.mark.usefixtures("one_torch_thread")``): small
    nets run no faster on two, and a busy machine disturbs one least."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def shapes_onnx(tmp_path_factory):
    """The trained shapes net (zfnet_shapes) as an ONNX file that takes one image a pass (its batch is fixed),
    made once per worker by torch's legacy exporter (6 s quicker than dynamo's; both fix the batch)."""
    import warnings

    import torch

    from cnn_explorer.models.zoo.loader import load_model

    source = load_model("zfnet_shapes")
    path = tmp_path_factory.mktemp("shapes-onnx") / "shapes.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(source.model, torch.zeros(1, *source.entry.input_shape()[1:]), str(path), dynamo=False)
    return path
