"""The microscope: every channel's top-k and bottom-k images of a folder, from top-9's one pass and cache."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
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


def _digits_folder(folder, count):
    _, _, x_test, _ = digits_split()
    folder.mkdir()
    for i, x in enumerate(x_test[:count]):
        Image.fromarray(x, "L").save(folder / f"d{i:03d}.png")
    return folder


class _Counted:
    """Counts the images that go through ``lab``'s model and the images it prepares (reads and resizes)."""

    def __init__(self, lab, monkeypatch):
        self.forward = self.prepared = 0
        self.handle = lab.model.register_forward_pre_hook(self._forward)
        prepare = lab.prepare

        def counted(image, *args, **kwargs):
            if not hasattr(image, "tensor"):  # an array, not an already prepared image
                self.prepared += 1
            return prepare(image, *args, **kwargs)
        monkeypatch.setattr(lab, "prepare", counted)

    def _forward(self, _module, inputs):
        self.forward += int(inputs[0].shape[0])

    def take(self) -> tuple[int, int]:
        counts, self.forward, self.prepared = (self.forward, self.prepared), 0, 0
        return counts


def _crops(result):
    return [[(e.file, e.unit, e.box, e.image) for e in c.top + c.bottom] for c in result.channels]


def _same_crops(a, b) -> bool:
    return all(len(x) == len(y) and all(p[:3] == q[:3] and np.array_equal(p[3], q[3]) for p, q in zip(x, y))
               for x, y in zip(_crops(a), _crops(b))) and len(a.channels) == len(b.channels)


def test_a_second_run_reads_the_cache_with_no_forward_pass_and_no_image_read(lenet, tmp_path, monkeypatch):
    """The cache's worth counted in work, not seconds: the images that go through the model, and those read
    and prepared to cut the examples' crops. The crops it gives back are those of the first run."""
    folder = _digits_folder(tmp_path / "many", 200)
    counted = _Counted(lenet, monkeypatch)
    try:
        first = atlas(lenet, folder, "features.3", k=4, cache_root=tmp_path / "cache")
        first_forward, first_prepared = counted.take()
        again = atlas(lenet, folder, "features.3", k=4, cache_root=tmp_path / "cache")
        again_forward, again_prepared = counted.take()
        # A fresh LabModel of the same model, as a new process would have: it resolves the layer on one image.
        fresh = LabModel(lenet.loaded)
        fresh_counted = _Counted(fresh, monkeypatch)
        third = atlas(fresh, folder, "features.3", k=4, cache_root=tmp_path / "cache")
        fresh_forward, fresh_prepared = fresh_counted.take()
        fresh_counted.handle.remove()
    finally:
        counted.handle.remove()
    assert not first.cached and not first.crops_cached and again.cached and again.crops_cached
    assert first_forward >= 200 and first_prepared > 16  # every image through the model; every example read
    assert again_forward == 0 and again_prepared <= 1  # the first image, to resolve the layer
    assert third.cached and third.crops_cached and fresh_forward <= 1 and fresh_prepared <= 1
    assert _same_crops(first, again) and _same_crops(first, third)
    assert [[e.score for e in c.top + c.bottom] for c in again.channels] == \
        [[e.score for e in c.top + c.bottom] for c in first.channels]


def test_a_changed_image_a_changed_layer_or_changed_weights_miss_the_cache(tmp_path):
    lab = LabModel(load_model("lenet5_digits"))  # its own: its weights change below
    folder = _digits_folder(tmp_path / "digits", 30)
    cache = tmp_path / "cache"
    first = atlas(lab, folder, "features.3", k=3, cache_root=cache)
    # The image that is channel 0's top example becomes another one (its negative), edited a second later.
    changed = folder / first.channels[0].top[0].file
    before = changed.stat()
    Image.fromarray(255 - np.asarray(Image.open(changed))).save(changed)
    os.utime(changed, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
    edited = atlas(lab, folder, "features.3", k=3, cache_root=cache)
    uncached = atlas(lab, folder, "features.3", k=3, use_cache=False)
    assert not edited.cached and not edited.crops_cached and uncached.cache_file is None
    assert _same_crops(edited, uncached) and not _same_crops(edited, first)  # the new picture, not the old
    assert atlas(lab, folder, "features.3", k=3, cache_root=cache).crops_cached  # the edited folder's entry
    other_layer = atlas(lab, folder, "features.0", k=3, cache_root=cache)
    assert not other_layer.cached and not other_layer.crops_cached
    other_k = atlas(lab, folder, "features.3", k=2, cache_root=cache)
    assert other_k.cached and not other_k.crops_cached  # the same pass, other examples
    with torch.no_grad():
        lab.model.features[0].weight.mul_(-1.0)  # other weights, the same model and file names
    retrained = atlas(lab, folder, "features.3", k=3, cache_root=cache)
    assert not retrained.cached and not retrained.crops_cached and not _same_crops(retrained, edited)


def test_optimized_images_are_kept_per_channel_and_a_second_run_optimizes_nothing(lenet, shapes, tmp_path,
                                                                                   monkeypatch):
    cache = tmp_path / "cache"
    counted = _Counted(lenet, monkeypatch)

    def optimized(channels, steps):
        """The microscope of ``channels`` with optimized images, and the images its optimization ran through
        the model."""
        result = atlas(lenet, shapes, "features.3", channels=channels, k=2, cache_root=cache)
        counted.take()
        optimize_channels(lenet, result, steps=steps)
        return result, counted.take()[0]

    try:
        some, _ = optimized([2, 7], 4)
        more, one_more = optimized([2, 5, 7], 4)
        again, none = optimized([2, 5, 7], 4)
        _, other_steps = optimized([2], 5)
    finally:
        counted.handle.remove()
    # Channel 5 only: its 4 steps and its final image (and the graph of the image it starts from, at most).
    assert 5 <= one_more <= 6 and none == 0
    assert other_steps >= 6  # another number of steps is another image
    for a, b in zip(some.channels, (more.channels[0], more.channels[2])):
        assert np.array_equal(a.optimized, b.optimized)
    assert all(np.array_equal(a.optimized, b.optimized) for a, b in zip(more.channels, again.channels))
    assert all(c.optimized.shape == (32, 32, 3) for c in again.channels)


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
