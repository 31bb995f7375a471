"""Pretrained weights through the torch hub cache, downloads with progress, and the offline fallback."""

from __future__ import annotations

import functools
import http.server
import threading

import pytest
import torch

from cnn_explorer.models.zoo import weights
from cnn_explorer.models.zoo.registry import get_entry


@pytest.fixture
def hub_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # torch.hub.get_dir() is then TORCH_HOME/hub
    return tmp_path / "hub"


def plant(entry, state, monkeypatch) -> None:
    """Put ``state`` in the hub cache as ``entry``'s published file, under a URL whose file name carries the
    planted file's own SHA-256 prefix, as torchvision's names do (a file that does not match is refused)."""
    import hashlib
    import os

    url = weights.pretrained_url(entry)
    staged = weights.cached_path(url).with_suffix(".staged")
    staged.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, staged)
    digest = hashlib.sha256(staged.read_bytes()).hexdigest()[:8]
    stem = os.path.basename(url).rsplit("-", 1)[0]
    url = f"{url.rsplit('/', 1)[0]}/{stem}-{digest}.pth"
    monkeypatch.setattr(weights, "pretrained_url", lambda e: url if e.name == entry.name else None)
    staged.rename(weights.cached_path(url))


def test_pretrained_weights_come_from_the_hub_cache(hub_dir, monkeypatch):
    entry = get_entry("resnet18")
    source = entry.build()
    plant(entry, source.state_dict(), monkeypatch)

    model = entry.build()
    result = weights.apply_weights(entry, model, "pretrained")
    assert result.label == "pretrained"
    assert torch.equal(model.conv1.weight, source.conv1.weight)


def test_published_googlenet_weights_load_without_their_auxiliary_heads(hub_dir, monkeypatch):
    # torchvision publishes googlenet's weights with the auxiliary classifiers, which inference drops.
    from torchvision.models import googlenet

    entry = get_entry("googlenet")
    plant(entry, googlenet(weights=None, aux_logits=True, init_weights=False).state_dict(), monkeypatch)
    assert weights.apply_weights(entry, entry.build(), "pretrained").label == "pretrained"


def test_offline_falls_back_to_random_and_says_so(hub_dir, monkeypatch):
    monkeypatch.setenv("CNN_EXPLORER_OFFLINE", "1")
    result = weights.apply_weights(get_entry("alexnet"), get_entry("alexnet").build(), "pretrained")
    assert result.label == "random"
    assert "random initialization" in result.message


def test_models_without_published_weights_say_so():
    result = weights.apply_weights(get_entry("lenet5"), get_entry("lenet5").build(), "pretrained")
    assert result.label == "random" and "no pretrained weights" in result.message


def test_download_reports_progress_and_never_leaves_a_partial_file(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    payload = bytes(range(256)) * 12_000  # 3 MB: several chunks
    (served / "w.pth").write_bytes(payload)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        progress = []
        target = tmp_path / "cache" / "w.pth"
        weights._download(f"http://127.0.0.1:{server.server_port}/w.pth", target,
                          lambda done, total: progress.append((done, total)))
        assert target.read_bytes() == payload
        assert progress[-1] == (len(payload), len(payload))
        assert len(progress) >= 3 and all(a[0] < b[0] for a, b in zip(progress, progress[1:]))

        with pytest.raises(OSError):
            weights._download(f"http://127.0.0.1:{server.server_port}/missing.pth", tmp_path / "x.pth", None)
        assert not (tmp_path / "x.pth").exists() and not (tmp_path / "x.pth.partial").exists()
    finally:
        server.shutdown()


# --- timm's published weights: on the Hugging Face hub, in the cache timm uses ----------------------------------

@pytest.fixture
def hf_cache(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    return tmp_path / "hf"


def plant_hub(cache, repo: str, state) -> None:
    """``state`` as ``repo``'s model.safetensors, laid out as huggingface_hub's cache keeps a download."""
    from safetensors.torch import save_file

    folder = cache / f"models--{repo.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text("0123abcd")
    snapshot = folder / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in state.items()}, str(snapshot / "model.safetensors"))


def test_timm_weights_come_from_the_hugging_face_cache(hf_cache, monkeypatch):
    """The timm entries have published weights (timm's Hugging Face repositories): a cached copy is loaded, checked
    like any weights file, and `weights list` says it is present."""
    from cnn_explorer.models.zoo.weights_import import status

    entry = get_entry("mobilenet_v1")
    repo = weights.hub_file(entry)
    assert repo and repo.startswith("timm/mobilenetv1_100")
    assert dict((m, p) for m, _, p, _ in status())["mobilenet_v1"] is False
    torch.manual_seed(3)
    source = entry.build()
    plant_hub(hf_cache, repo, source.state_dict())
    model = entry.build()
    result = weights.apply_weights(entry, model, "pretrained")
    assert result.label == "pretrained" and repo in result.message
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), source.state_dict().values()))
    assert dict((m, p) for m, _, p, _ in status())["mobilenet_v1"] is True


def test_timm_weights_offline_say_where_they_would_be(hf_cache, monkeypatch):
    monkeypatch.setenv("CNN_EXPLORER_OFFLINE", "1")
    for name in ("inception_v4", "hrnet_w18"):
        result = weights.apply_weights(get_entry(name), get_entry(name).build(), "pretrained")
        assert result.label == "random" and "not in the Hugging Face cache" in result.message
        assert "no pretrained weights are published" not in result.message
    # the legacy SENet's weights are a URL, kept in torch's hub cache as torchvision's are
    assert weights.pretrained_url(get_entry("se_resnet50")).endswith(".pth")


def test_an_unreachable_hub_is_one_plain_line(hf_cache, monkeypatch, tmp_path):
    import socket

    monkeypatch.delenv("CNN_EXPLORER_OFFLINE", raising=False)
    monkeypatch.setenv("CNN_EXPLORER_CACHE_DIR", str(tmp_path / "cache"))

    def no_network(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    entry = get_entry("mobilenet_v1")
    first = weights.apply_weights(entry, entry.build(), "pretrained")
    assert first.label == "random" and "no network: the weights' host could not be found" in first.message
    again = weights.apply_weights(entry, entry.build(), "pretrained")  # remembered: not tried again at once
    assert "a few minutes ago" in again.message
