"""``cnn_explorer.show`` in a real Jupyter kernel: it returns at once, Qt's event loop runs between cells (the
kernel's ``%gui qt`` integration), and the window loads the object while the notebook stays usable."""

from __future__ import annotations

import os
import time

import pytest

pytest.importorskip("ipykernel")
jupyter_client = pytest.importorskip("jupyter_client")

# Opt-in (CNN_EXPLORER_JUPYTER_TEST=1): it passes alone in seconds, but once, in a full run on a loaded machine, the
# kernel left a cell unanswered for five minutes after the window had loaded (a message missed by ipykernel's Qt
# loop, not understood yet); a suite that can hang on it must not stand between a change and CI.
pytestmark = pytest.mark.skipif(not os.environ.get("CNN_EXPLORER_JUPYTER_TEST"),
                                reason="a real Jupyter kernel: set CNN_EXPLORER_JUPYTER_TEST=1 to run it")


@pytest.fixture()
def kernel(monkeypatch, tmp_path):
    from jupyter_client.manager import start_new_kernel

    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setenv("CNN_EXPLORER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # no settings of the user are touched
    manager, client = start_new_kernel(kernel_name="python3", startup_timeout=180, cwd=os.getcwd())
    yield client
    client.stop_channels()
    manager.shutdown_kernel(now=True)


def run(client, code: str, timeout: float = 300) -> str:
    out: list[str] = []

    def hook(message):
        content = message["content"]
        if message["msg_type"] == "stream":
            out.append(content["text"])
        elif message["msg_type"] == "error":
            out.append("\n".join(content["traceback"]))

    reply = client.execute_interactive(code, timeout=timeout, output_hook=hook)
    assert reply["content"]["status"] == "ok", "".join(out)
    return "".join(out).strip()


def test_show_returns_at_once_and_the_kernel_drives_the_window(kernel):
    run(kernel, "import torch, cnn_explorer\n"
                "net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Conv2d(4, 2, 3))\n"
                "w = cnn_explorer.show(net, input_shape=(3, 32, 32), name='tiny')\n"
                "print(get_ipython().active_eventloop, w.isVisible())")
    # Each cell below only reads the window: the model is loaded by Qt's event loop, run by the kernel between
    # cells; a cell that does not return would time out here.
    deadline = time.monotonic() + 240
    state = ""
    while time.monotonic() < deadline:
        state = run(kernel, "r = w.current_result()\nprint('loaded' if r is not None and not w.is_loading() else 'wait')")
        if state == "loaded":
            break
        time.sleep(0.5)  # a poll interval, not a wait for the result: the kernel runs Qt between cells
    assert state == "loaded"
    assert run(kernel, "print(get_ipython().active_eventloop, r.name, r.totals.params == "
                       "sum(p.numel() for p in net.parameters()), w.isVisible())") == "qt tiny True True"
