"""The microscope: every channel's top-k and bottom-k images of a folder, from top-9's one pass and cache."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from cnn_explorer.models.lab.activations import LabModel
from cnn_explorer.models.lab.atlas import atlas, optimize_channels
from cnn_explorer.models.lab.datasets import digits_split, shapes_dataset
from cnn_explorer.models.lab.fields import field_box
from cnn_explorer.models.lab.top9 import top9
from cnn_explorer.models.zoo.loader import load_model


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def shapes_net():
    return LabModel(load_model("zfnet_shapes"))


@pytest.fixture(scope="module")
def lenet():
    return LabModel(load_model("lenet5_digits"))


@pytest.fixture()
def shapes(tmp_path):
    images, _ = shapes_dataset(12, seed=5)
    folder = tmp_path / "shapes"
    folder.mkdir()
    for i, x in enumerate(images):
        Image.fromarray(x, "RGB").save(folder / f"s{i:02d}.png")
    return folder


def _layer(lab, folder, index=1):
    """A convolutional layer of the net with a map (the second by default), by its code name."""
    prepared = lab.prepare(np.asarray(Image.open(next(folder.glob("*.png"))).convert("RGB")))
    return lab.map_layers(prepared)[index]


def test_every_channel_top_and_bottom_example_is_the_brute_force_extreme(shapes_net, shapes, tmp_path):
    layer = _layer(shapes_net, shapes)
    result = atlas(shapes_net, shapes, layer, k=3, cache_root=tmp_path / "cache")
    maps = {p.name: shapes_net.feature_map(np.asarray(Image.open(p).convert("RGB")), layer)
            for p in sorted(shapes.glob("*.png"))}
    channels = next(iter(maps.values())).shape[0]
    assert [c.channel for c in result.channels] == list(range(channels)) and result.images == 12
    field = shapes_net.node(shapes_net.prepare(np.asarray(Image.open(shapes / "s00.png").convert("RGB"))),
                            layer).receptive_field
    for entry in result.channels:
        c = entry.channel
        highest = {name: float(m[c].max()) for name, m in maps.items()}
        lowest = {name: float(m[c].min()) for name, m in maps.items()}
        top, bottom = entry.top[0], entry.bottom[0]
        # The top-1 has the channel's largest activation over the whole folder, at that unit (ties aside).
        assert top.score == pytest.approx(max(highest.values()), abs=1e-4)
        assert highest[top.file] == pytest.approx(max(highest.values()), abs=1e-4)
        assert float(maps[top.file][c][top.unit[1], top.unit[2]]) == pytest.approx(top.score, abs=1e-4)
        assert bottom.score == pytest.approx(min(lowest.values()), abs=1e-4)
        assert float(maps[bottom.file][c][bottom.unit[1], bottom.unit[2]]) == pytest.approx(bottom.score, abs=1e-4)
        assert [e.score for e in entry.top] == sorted((e.score for e in entry.top), reverse=True)
        assert len(entry.top) == len(entry.bottom) == 3 and len({e.file for e in entry.top}) == 3
        for example in entry.top + entry.bottom:  # cropped to the receptive field of its position
            _, box = field_box(field, example.unit[1:], (64, 64))
            assert example.box == box and example.image.shape == (box.height, box.width, 3)


def test_top9_is_the_microscopes_one_channel_case(lenet, tmp_path):
    _, _, x_test, _ = digits_split()
    folder = tmp_path / "digits"
    folder.mkdir()
    for i, x in enumerate(x_test[:20]):
        Image.fromarray(x, "L").save(folder / f"d{i:02d}.png")
    cache = tmp_path / "cache"
    whole = atlas(lenet, folder, "features.3", k=9, cache_root=cache)
    one = top9(lenet, folder, "features.3", 5, cache_root=cache)
    assert one.cached  # the same pass, the same cache file
    assert [p.file for p in one.patches] == [e.file for e in whole.channels[5].top]
    assert [p.box for p in one.patches] == [e.box for e in whole.channels[5].top]
    assert len(list(cache.glob("*.npz"))) == 1


def test_a_second_run_comes_from_the_cache_without_a_pass_over_the_folder(lenet, tmp_path):
    """The cache's worth counted in work, not seconds: the images that go through the model."""
    _, _, x_test, _ = digits_split()
    folder = tmp_path / "many"
    folder.mkdir()
    for i, x in enumerate(x_test[:200]):
        Image.fromarray(x, "L").save(folder / f"d{i:03d}.png")
    seen = []
    handle = lenet.model.register_forward_pre_hook(lambda _m, inputs: seen.append(int(inputs[0].shape[0])))
    try:
        first = atlas(lenet, folder, "features.3", k=4, cache_root=tmp_path / "cache")
        first_images, seen[:] = sum(seen), []
        again = atlas(lenet, folder, "features.3", k=4, cache_root=tmp_path / "cache")
        cached_images = sum(seen)
    finally:
        handle.remove()
    assert not first.cached and again.cached
    assert first_images >= 200 and cached_images * 10 <= first_images
    assert [[e.file for e in c.top + c.bottom] for c in again.channels] == \
        [[e.file for e in c.top + c.bottom] for c in first.channels]


def test_cancel_stops_the_pass_and_caches_nothing_and_bad_input_is_refused(lenet, shapes, tmp_path):
    class Stop(Exception):
        pass

    def cancel(done, total):
        raise Stop

    cache = tmp_path / "cache"
    with pytest.raises(Stop):
        atlas(lenet, shapes, "features.3", batch_size=4, progress=cancel, cache_root=cache)
    assert not list(cache.glob("*.npz"))
    with pytest.raises(Exception, match="channel 16 is outside features.3's 16 channels"):
        atlas(lenet, shapes, "features.3", channels=[16], cache_root=cache)
    with pytest.raises(Exception, match="k must be"):
        atlas(lenet, shapes, "features.3", k=0, cache_root=cache)


def test_optimized_images_beside_the_examples(lenet, shapes, tmp_path):
    result = atlas(lenet, shapes, "features.3", channels=[2, 7], k=2, bottom=False, cache_root=tmp_path / "c")
    optimize_channels(lenet, result, steps=4)
    assert [c.channel for c in result.channels] == [2, 7] and all(not c.bottom for c in result.channels)
    for c in result.channels:
        assert c.optimized.shape == (32, 32, 3) and c.optimized.dtype == np.uint8
