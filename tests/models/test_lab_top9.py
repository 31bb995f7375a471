"""Top-9 over a folder: the strongest images of a channel, cropped to the field, with their projections;
cached on disk per folder contents, model, weights and layer."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from cnn_explorer.models.lab.activations import LabModel
from cnn_explorer.models.lab.datasets import digits_split
from cnn_explorer.models.lab.fields import field_box
from cnn_explorer.models.lab.images import ImageError
from cnn_explorer.models.lab.top9 import top9
from cnn_explorer.models.zoo.loader import load_model


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def lenet():
    return LabModel(load_model("lenet5_digits"))


@pytest.fixture()
def folder(tmp_path):
    _, _, x_test, _ = digits_split()
    images = tmp_path / "digits"
    images.mkdir()
    for i, x in enumerate(x_test[:24]):
        Image.fromarray(x, "L").save(images / f"d{i:02d}.png")
    (images / "broken.png").write_text("not an image")
    return images


def test_top9_finds_the_strongest_patches_and_caches_them(lenet, folder, tmp_path):
    cache = tmp_path / "cache"
    layer, channel = "features.3", 4
    calls = []
    first = top9(lenet, folder, layer, channel, cache_root=cache, batch_size=8,
                 progress=lambda done, total: calls.append((done, total)))
    assert not first.cached and first.images == 24 and len(first.unreadable) == 1
    assert calls[-1] == (25, 25)
    # The scores are each image's maximum of the channel, in decreasing order, and they are the 9 best.
    maxima = {}
    for path in sorted(folder.glob("d*.png")):
        image = np.asarray(Image.open(path).convert("RGB"))
        maxima[path.name] = float(lenet.feature_map(image, layer)[channel].max())
    best = sorted(maxima, key=maxima.get, reverse=True)[:9]
    assert [p.file for p in first.patches] == best
    assert [p.score for p in first.patches] == pytest.approx([maxima[n] for n in best], abs=1e-5)
    field = lenet.node(lenet.prepare(np.asarray(Image.open(folder / best[0]).convert("RGB"))), layer).receptive_field
    for patch in first.patches:
        _, box = field_box(field, patch.unit[1:], (32, 32))
        assert patch.box == box and patch.image.shape == patch.projection.shape == (box.height, box.width, 3)
    files = list(cache.glob("*.npz"))
    assert len(files) == 1 and not list(cache.glob("*.partial"))

    again = top9(lenet, folder, layer, channel, cache_root=cache)
    assert again.cached and [p.file for p in again.patches] == best
    other_channel = top9(lenet, folder, layer, 9, cache_root=cache)  # the same pass answers every channel
    assert other_channel.cached and other_channel.channel == 9

    files[0].write_bytes(b"garbage")  # a corrupt cache is recomputed, never fatal
    recomputed = top9(lenet, folder, layer, channel, cache_root=cache)
    assert not recomputed.cached and [p.file for p in recomputed.patches] == best

    Image.fromarray(np.zeros((32, 32), np.uint8), "L").save(folder / "zz.png")  # the folder changed
    assert not top9(lenet, folder, layer, channel, cache_root=cache).cached


def test_top9_cancels_and_refuses_bad_input(lenet, folder, tmp_path):
    class Stop(Exception):
        pass

    def cancel(done, total):
        raise Stop

    cache = tmp_path / "cache"
    with pytest.raises(Stop):
        top9(lenet, folder, "features.3", 0, cache_root=cache, batch_size=4, progress=cancel)
    assert not list(cache.glob("*.npz"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ImageError, match="no images"):
        top9(lenet, empty, "features.3", 0, cache_root=cache)
    with pytest.raises(Exception, match="channel 99 is outside features.3's 16 channels"):
        top9(lenet, folder, "features.3", 99, cache_root=cache)
    with pytest.raises(Exception, match="no spatial feature map"):
        top9(lenet, folder, "classifier.0", 0, cache_root=cache)
