"""The reliability probe's faults in the caches and the weights (issue 18): published weights are checked against
the SHA-256 prefix in their names; a cache folder that is a file, or an entry that is a folder, is one warning;
any malformed analysis cache entry is dropped and recounted; stale temporary files are removed; detectors
take a tighter input size cap. CLI cases run the command as a user runs it."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import logging
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import torch
from processes import cli_here

from cnn_explorer.models.analysis import cache

from cnn_explorer.models.zoo import weights
from cnn_explorer.models.zoo.index import MAX_DATA_DEPENDENT_SIDE, InputSizeError, check_input_size

TIMEOUT_S = 300
HOUR = 3600


@pytest.fixture
def env(tmp_path):
    return {**os.environ, "CNN_EXPLORER_OFFLINE": "1", "CNN_EXPLORER_CACHE_DIR": str(tmp_path / "cache"),
            "TORCH_HOME": str(tmp_path / "torch"), "QT_QPA_PLATFORM": "offscreen",
            "XDG_CONFIG_HOME": str(tmp_path / "config")}


def cli(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cnn_explorer.app.cli", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=TIMEOUT_S)


def one_error_line(result: subprocess.CompletedProcess, *fragments: str) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


def ok_with_at_most_one_warning(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) <= 1, result.stderr
    for fragment in fragments:
        assert lines and fragment in lines[0], result.stderr


def sha256(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


# -- 4: published weights are checked against the hash in their names ------------------------------------

def plant_zero_resnet18(torch_home) -> str:
    """A state dict of the right keys and shapes, all zeros, under the published file's name."""
    from torchvision.models import resnet18

    path = torch_home / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    path.parent.mkdir(parents=True)
    torch.save({k: torch.zeros_like(v) for k, v in resnet18(weights=None).state_dict().items()}, path)
    return str(path)


@pytest.mark.slow
def test_a_zero_filled_hub_file_is_refused_by_summary_and_predict(env, tmp_path):
    from PIL import Image

    path = plant_zero_resnet18(tmp_path / "torch")
    got = sha256(path)[:8]
    # summary records on the meta device: the file is still read, and checked, before its shapes are compared.
    one_error_line(cli(env, "summary", "resnet18", "--json"), path, "does not match the SHA-256 prefix",
                   "expected f37072fd", f"got {got}", "delete it")
    assert not list((tmp_path / "cache" / "analysis").glob("*.json"))  # nothing was cached as pretrained
    # predict loads the weights for real.
    image = tmp_path / "cat.png"
    Image.fromarray(np.full((64, 64, 3), 127, np.uint8)).save(image)
    one_error_line(cli(env, "predict", "resnet18", "--image", image, "--json"), "does not match the SHA-256 prefix")
    # Asked for random weights, the file is never read.
    assert cli(env, "summary", "resnet18", "--weights", "random", "--json").returncode == 0


def test_a_file_whose_hash_matches_its_name_is_accepted_and_remembered(tmp_path):
    from torchvision.models import resnet18

    temporary = tmp_path / "w.pth"
    torch.save(resnet18(weights=None).state_dict(), temporary)
    path = tmp_path / f"resnet18-{sha256(temporary)[:8]}.pth"
    temporary.rename(path)
    weights.verify_hash(path)  # no error
    assert weights.read_state_dict(path)["fc.weight"].shape == (1000, 512)

    # Remembered by path, size and time: the same bytes changed in place, with the time put back, are not
    # read again; once the time differs, the file is checked again and refused.
    before = path.stat()
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    weights.verify_hash(path)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000))
    with pytest.raises(weights.WeightsError, match="does not match the SHA-256 prefix in its name"):
        weights.verify_hash(path)

    # A name without a hash (a user's own file) is not checked.
    plain = tmp_path / "my-weights.pth"
    plain.write_bytes(b"anything")
    weights.verify_hash(plain)


def test_a_download_that_does_not_match_its_name_never_takes_it(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    payload = bytes(range(256)) * 8_000  # 2 MB: several chunks
    good = hashlib.sha256(payload).hexdigest()[:8]
    bad = "0" * 8 if not good.startswith("0" * 8) else "1" * 8
    for prefix in (good, bad):
        (served / f"w-{prefix}.pth").write_bytes(payload)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        target = tmp_path / "hub" / f"w-{bad}.pth"
        with pytest.raises(weights.WeightsError, match=f"expected {bad}…, got {good}…"):
            weights._download(f"{url}/w-{bad}.pth", target, None)
        assert not target.exists() and not list(target.parent.glob("*.partial"))

        target = tmp_path / "hub" / f"w-{good}.pth"
        weights._download(f"{url}/w-{good}.pth", target, None)
        assert target.read_bytes() == payload
        weights.verify_hash(target)
    finally:
        server.shutdown()


def test_a_cached_summary_is_stale_once_the_hub_file_is_replaced(tmp_path):
    path = tmp_path / "resnet18-f37072fd.pth"
    path.write_bytes(b"checked")
    stat = path.stat()
    entry = {"weights_label": "pretrained",
             "weights_check": {"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}}
    assert cache.weights_still_valid(entry)
    path.write_bytes(b"planted")  # same size, another time
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert not cache.weights_still_valid(entry)
    path.unlink()
    assert not cache.weights_still_valid(entry)


# -- 6: a cache folder that is a file, an entry that is a folder ---------------------------------------------

@pytest.mark.slow
def test_a_cache_dir_that_is_a_file_is_one_warning(env, tmp_path):
    plain = tmp_path / "not-a-folder"
    plain.write_text("a file")
    env["CNN_EXPLORER_CACHE_DIR"] = str(plain)
    ok_with_at_most_one_warning(cli(env, "summary", "lenet5", "--json"), "not a folder")
    ok_with_at_most_one_warning(cli(env, "compare", "lenet5", "alexnet_2012", "--json"))
    ok_with_at_most_one_warning(cli(env, "graph", "lenet5", "--out", tmp_path / "g.svg"))
    ok_with_at_most_one_warning(cli(env, "figure", "alexnet_2012", "--out", tmp_path / "f.svg"))
    assert (tmp_path / "g.svg").stat().st_size and (tmp_path / "f.svg").stat().st_size
    assert plain.read_text() == "a file"


@pytest.mark.slow
def test_a_cache_entry_that_is_a_folder_is_one_warning(env, tmp_path):
    first = cli(env, "summary", "lenet5", "--json")
    assert first.returncode == 0, first.stderr
    [entry] = (tmp_path / "cache" / "analysis").glob("*.json")
    entry.unlink()
    entry.mkdir()
    (entry / "keep.txt").write_text("someone's file")
    again = cli(env, "summary", "lenet5", "--json")
    ok_with_at_most_one_warning(again, "is a folder")
    assert json.loads(again.stdout) == json.loads(first.stdout)
    assert (entry / "keep.txt").read_text() == "someone's file"  # nothing of it is removed


def test_the_param_cache_warns_once_when_it_cannot_write(tmp_path, caplog):
    from cnn_explorer.models.analysis.params import ParamCache

    plain = tmp_path / "not-a-folder"
    plain.write_text("a file")
    folder = tmp_path / "param_counts.json"  # the file is a folder
    folder.mkdir()
    for path in (plain / "param_counts.json", folder):
        counts = ParamCache(path)
        assert counts.read({"torch": "1"}) == ({}, True)
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            for _ in range(3):  # the app writes every ten counts
                assert not counts.write({"torch": "1"}, {"alexnet": 1})
        assert len([r for r in caplog.records if "parameter cache" in r.getMessage()]) == 1
    assert plain.read_text() == "a file" and not list(tmp_path.glob("**/*.partial"))


def test_top9_goes_on_without_a_cache_that_is_a_file(tmp_path, caplog):
    from PIL import Image

    from cnn_explorer.models.lab.activations import LabModel
    from cnn_explorer.models.lab.top9 import top9
    from cnn_explorer.models.zoo.loader import load_model

    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (28, 28), np.uint8), "L").save(folder / f"d{i}.png")
    plain = tmp_path / "not-a-folder"
    plain.write_text("a file")
    lab = LabModel(load_model("lenet5_digits"))
    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            result = top9(lab, folder, "features.3", 1, cache_root=plain / "top9")
            assert len(result.patches) == 3 and not result.cached
    assert len([r for r in caplog.records if "top-9 cache" in r.getMessage()]) == 1


# -- 7: any malformed entry is dropped and recounted ----------------------------------------------------------

def _set(path, value):
    def change(entry):
        *parents, last = path
        for part in parents:
            entry = entry[part]
        entry[last] = value
    return change


def _remove(path):
    def change(entry):
        *parents, last = path
        for part in parents:
            entry = entry[part]
        del entry[last]
    return change


CORRUPTIONS = {
    "layers is text": _set(("summary", "layers"), "x"),
    "total_params is text": _set(("summary", "total_params"), "abc"),
    "an output_shape is null": _set(("summary", "layers", 0, "output_shape"), None),
    "a receptive field is bad": _set(("summary", "layers", 2, "receptive_field"), {"size": "x"}),
    "weights_check is text": _set(("weights_check",), "str"),
    "layers is missing": _remove(("summary", "layers")),
    "a layer lacks its type": _remove(("summary", "layers", 1, "type")),
    "a layer's params are a float": _set(("summary", "layers", 0, "params"), 1.5),
    "a node's output shapes are null": _set(("graph", "nodes", 1, "output_shapes"), None),
    "an edge is short": _set(("graph", "edges", 0), [0]),
    "depth is negative": _set(("depth",), -1),
}


# One corruption through the command line in the quick suite (the rest with -m slow); the entry check finds
# every one of them in the next test, in-process.
@pytest.mark.parametrize("corruption", [c if i < 1 else pytest.param(c, marks=pytest.mark.slow)
                                        for i, c in enumerate(CORRUPTIONS)])
def test_a_malformed_entry_is_dropped_and_recounted(corruption, env, tmp_path):
    # Recorded here, not once for all: the key holds a fingerprint of the analysis code, which changes whenever
    # a file of models/ is edited.
    first = cli_here("summary", "lenet5", "--json", env=env)  # the reference: in this process
    assert first.returncode == 0, first.stderr
    printed = json.loads(first.stdout)
    [path] = (tmp_path / "cache" / "analysis").glob("*.json")
    entry = json.loads(path.read_text())
    assert cache.valid_entry(entry) is None
    CORRUPTIONS[corruption](entry)
    assert cache.valid_entry(entry) is not None
    path.write_text(json.dumps(entry))

    result = cli(env, "summary", "lenet5", "--json")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert json.loads(result.stdout) == printed
    assert "dropping an analysis cache entry" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    rewritten = json.loads(path.read_text())
    assert cache.valid_entry(rewritten) is None and rewritten["summary"] == printed
    table = cli(env, "summary", "lenet5")  # from the rewritten entry
    assert table.returncode == 0 and "total params 61,706" in table.stdout, table.stderr


def test_the_entry_check_finds_every_corruption():
    """Each corruption above, on an entry made as the cache makes it (in-process: the command line's way of
    dropping and recounting an entry is checked through a process in the test above)."""
    import copy

    from cnn_explorer.models.zoo.loader import cache_entry, load_model, summarize

    loaded = load_model("lenet5", weights="random")
    entry = json.loads(json.dumps(cache_entry(summarize(loaded), loaded.weights)))
    assert cache.valid_entry(entry) is None
    for name, corrupt in CORRUPTIONS.items():
        broken = copy.deepcopy(entry)
        corrupt(broken)
        assert cache.valid_entry(broken) is not None, name


@pytest.mark.parametrize("corruption", [_set(("graph", "nodes", 2, "inputs"), [999]),
                                        pytest.param(_set(("graph", "nodes", 1, "output_shapes"), [[1, "x"]]),
                                                     marks=pytest.mark.slow)])
def test_a_malformed_graph_is_never_drawn(corruption, env, tmp_path):
    # graph asks for random weights: an entry of its own, read back as a recorded graph.
    first = cli_here("graph", "lenet5", "--out", tmp_path / "first.svg", env=env)  # the reference: in this process
    assert first.returncode == 0, first.stderr
    [path] = (tmp_path / "cache" / "analysis").glob("*.json")
    entry = json.loads(path.read_text())
    corruption(entry)
    path.write_text(json.dumps(entry))
    result = cli(env, "graph", "lenet5", "--out", tmp_path / "again.svg")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert (tmp_path / "again.svg").read_bytes() == (tmp_path / "first.svg").read_bytes()
    assert cache.valid_entry(json.loads(path.read_text())) is None  # rewritten


# -- 15: temporary files of interrupted writes are removed ----------------------------------------------------

def plant_partials(folder, prefix: str, stale: int = 20) -> list:
    folder.mkdir(parents=True, exist_ok=True)
    old = time.time() - 2 * HOUR
    for i in range(stale):
        path = folder / f"{prefix}{i:02d}.partial"
        path.write_bytes(b"x" * 27_000)
        os.utime(path, (old, old))
    fresh = folder / f"{prefix}fresh.partial"  # a write in progress in another process
    fresh.write_bytes(b"x")
    return [fresh]


def test_stale_partial_files_of_the_analysis_cache_are_removed(env, tmp_path):
    folder = tmp_path / "cache" / "analysis"
    fresh = plant_partials(folder, ".0123456789abcdef.")
    result = cli(env, "summary", "lenet5", "--json")
    assert result.returncode == 0, result.stderr
    assert sorted(folder.glob("*.partial")) == fresh
    assert len(list(folder.glob("*.json"))) == 1


def test_stale_partial_files_of_the_param_and_top9_caches_are_removed(tmp_path):
    from cnn_explorer.models.lab import top9
    from cnn_explorer.models.analysis.params import ParamCache

    fresh = plant_partials(tmp_path, "param_counts.json.")
    other = tmp_path / "someone-else.partial"  # not ours: left alone however old
    other.write_text("x")
    os.utime(other, (0, 0))
    assert ParamCache(tmp_path / "param_counts.json").write({"torch": "1"}, {"alexnet": 1})
    assert sorted(tmp_path.glob("*.partial")) == sorted(fresh + [other])

    folder = tmp_path / "top9"
    fresh = plant_partials(folder, "0123456789abcdef")
    scores = top9.Scores(["a.png"], np.ones((1, 2), np.float32), np.zeros((1, 2), np.int32), (4, 4), [],
                         np.zeros((1, 2), np.float32), np.zeros((1, 2), np.int32))
    top9._save(folder / "entry.npz", scores)
    assert sorted(folder.glob("*.partial")) == fresh
    assert top9._load(folder / "entry.npz", ["a.png"], 2) is not None


# -- 19: detectors take a tighter input size cap ------------------------------------------------------------------

def test_detectors_take_a_tighter_input_size_cap():
    cap = MAX_DATA_DEPENDENT_SIDE
    check_input_size((cap, cap), "maskrcnn_resnet50_fpn")
    check_input_size((4096, 4096), "resnet18")  # classifiers are analyzed on the meta device
    check_input_size((4096, 4096), "deeplabv3_resnet50")  # so are the semantic segmenters
    for name in ("maskrcnn_resnet50_fpn", "fasterrcnn_resnet50_fpn", "keypointrcnn_resnet50_fpn", "ssd300_vgg16"):
        with pytest.raises(InputSizeError, match=f"each side must be 1 to {cap} pixels"):
            check_input_size((cap + 1, 64), name)
    with pytest.raises(InputSizeError, match="out of range"):
        check_input_size((5000, 64), "resnet18")


def test_summarize_refuses_a_detector_input_above_the_cap_before_recording():
    # What the window's request and graph, figure and summary go through.
    from cnn_explorer.models.zoo.loader import load_model, summarize

    loaded = load_model("ssdlite320_mobilenet_v3_large", weights="random", structure_only=True)
    with pytest.raises(InputSizeError, match=str(MAX_DATA_DEPENDENT_SIDE)):
        summarize(loaded, (MAX_DATA_DEPENDENT_SIDE + 1, 320))


def test_summary_of_maskrcnn_above_the_cap_is_one_line(env):
    # The probe's 4096×4096 peaked at 11.8 GB; a thin input, cheap even where it is not refused, says the same.
    line = one_error_line(cli(env, "summary", "maskrcnn_resnet50_fpn", "--input-size", "2048", "256"),
                          "2048×256", "maskrcnn_resnet50_fpn", f"1 to {MAX_DATA_DEPENDENT_SIDE} pixels")
    assert "instance segmentation" in line


def test_a_failed_download_is_one_clear_line_remembered_and_retried_on_request(tmp_path, monkeypatch):
    """Offline without CNN_EXPLORER_OFFLINE: the reason in words (not "[Errno -2] …"), no second try at every
    open, the analysis cache kept valid meanwhile, and Retry download tries again."""
    import socket
    import urllib.error
    import urllib.request

    from cnn_explorer.models.analysis.cache import weights_still_valid
    from cnn_explorer.models.zoo import downloads
    from cnn_explorer.models.zoo.loader import load_model

    monkeypatch.delenv("CNN_EXPLORER_OFFLINE", raising=False)
    monkeypatch.setenv("CNN_EXPLORER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    tries = []

    def unreachable(url, timeout=None):
        tries.append(url)
        raise urllib.error.URLError(socket.gaierror(-2, "Name or service not known"))

    monkeypatch.setattr(urllib.request, "urlopen", unreachable)
    first = load_model("resnet18", structure_only=True).weights
    assert first.label == "random" and "no network" in first.message and "Errno" not in first.message
    second = load_model("resnet18", structure_only=True).weights
    assert len(tries) == 1 and "a few minutes ago" in second.message
    entry = {"weights_label": "random", "weights_check": {"path": first.hub_path}}
    assert weights_still_valid(entry)  # the cached analysis keeps answering while offline
    downloads.forget()
    assert not weights_still_valid(entry)
    load_model("resnet18", structure_only=True)
    assert len(tries) == 2
