"""Published weight files brought offline: `weights import` checks the SHA-256 prefix in each name before it puts
the file in torch's hub cache; `weights list` says what is there. File › Weights › Import does the same off the
GUI thread."""

from __future__ import annotations

import hashlib
import json

import pytest
import torch

from cnn_explorer.app.cli import main
from cnn_explorer.models.zoo import weights_import


@pytest.fixture
def brought(tmp_path, monkeypatch):
    """A weights file named as torchvision names its files, with the true prefix of its SHA-256."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    source = tmp_path / "usb"
    source.mkdir()
    data = tmp_path / "tmp.pth"
    torch.save({"w": torch.arange(10.0)}, data)
    prefix = hashlib.sha256(data.read_bytes()).hexdigest()[:8]
    good = source / f"tiny-{prefix}.pth"
    data.rename(good)
    bad = source / "tiny-00000000.pth"
    bad.write_bytes(good.read_bytes())
    monkeypatch.setattr(weights_import, "published", lambda: {good.name: ["lenet5"], bad.name: ["alexnet"]})
    return good, bad, tmp_path / "torch" / "hub" / "checkpoints"


def test_weights_import_checks_the_hash_in_the_name_then_places_the_file(brought, capsys):
    good, bad, hub = brought
    assert main(["weights", "import", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "not 00000000… as its name says" in err and len(err.strip().splitlines()) == 1
    assert not (hub / bad.name).exists()
    assert main(["weights", "import", str(good)]) == 0
    assert (hub / good.name).read_bytes() == good.read_bytes()
    assert "lenet5" in capsys.readouterr().out
    assert main(["weights", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    rows = {r["model"]: r["present"] for r in listed if not r["file"].startswith("hf://")}
    assert rows == {"lenet5": True, "alexnet": False}
    hub_rows = {r["model"] for r in listed if r["file"].startswith("hf://")}  # timm's, in the Hugging Face cache
    assert {"inception_v4", "mobilenet_v1"} <= hub_rows
    assert main(["weights", "import", "not-there.pth"]) == 2 and "no such file" in capsys.readouterr().err


def test_the_window_imports_off_its_thread_and_says_what_it_did(brought, make_explorer, qtbot):
    good, bad, hub = brought
    window = make_explorer("lenet5")
    importer = window.feature("weights")
    assert window.action_map["weights_import"] in window.findChild(type(window.menus["File"]), "weights_menu").actions()
    with qtbot.waitSignal(window.statusBar().messageChanged, timeout=60_000,
                          check_params_cb=lambda text: text.startswith("Imported")):
        importer.run([str(good), str(bad)])
    assert (hub / good.name).is_file() and not (hub / bad.name).exists()
    assert "tiny-00000000.pth" in window.error_box.text()
