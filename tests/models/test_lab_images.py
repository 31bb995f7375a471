"""The lab opens what users drop on it, and refuses the rest with one clear line."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from cnn_explorer.models.lab.images import (ImageError, list_images, open_image, sample_image, sample_names)


def _gradient(w=40, h=30):
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // (w - 1), y * 255 // (h - 1), np.full_like(x, 90)], axis=2).astype(np.uint8)


@pytest.mark.parametrize("suffix, options", [(".png", {}), (".jpg", {"quality": 95}), (".bmp", {}), (".tif", {}),
                                             (".webp", {"lossless": True})])
def test_every_format_opens_as_rgb_uint8(tmp_path, suffix, options):
    pixels = _gradient()
    path = tmp_path / f"image{suffix}"
    Image.fromarray(pixels).save(path, **options)
    image = open_image(path)
    assert image.shape == (30, 40, 3) and image.dtype == np.uint8
    tolerance = 12 if suffix == ".jpg" else 0
    assert np.abs(image.astype(int) - pixels).max() <= tolerance


def test_grayscale_palette_and_16_bit(tmp_path):
    gray = _gradient()[:, :, 0]
    Image.fromarray(gray, "L").save(tmp_path / "gray.png")
    assert (open_image(tmp_path / "gray.png") == gray[:, :, None]).all()

    Image.fromarray(_gradient()).convert("P", palette=Image.ADAPTIVE, colors=16).save(tmp_path / "palette.png")
    assert open_image(tmp_path / "palette.png").shape == (30, 40, 3)

    deep = (np.arange(30 * 40, dtype=np.uint16).reshape(30, 40) * 50).astype(np.uint16)
    Image.fromarray(deep).save(tmp_path / "deep.png")  # 16-bit grayscale
    image = open_image(tmp_path / "deep.png")
    assert image.dtype == np.uint8
    assert np.abs(image[:, :, 0].astype(int) - np.rint(deep / 257.0)).max() <= 1


def test_rgba_is_composited_on_white(tmp_path):
    rgba = np.zeros((20, 20, 4), np.uint8)
    rgba[:10, :, :] = (200, 0, 0, 255)  # opaque red top half, transparent bottom half
    Image.fromarray(rgba, "RGBA").save(tmp_path / "alpha.png")
    image = open_image(tmp_path / "alpha.png")
    assert tuple(image[0, 0]) == (200, 0, 0)
    assert tuple(image[15, 0]) == (255, 255, 255)


def test_exif_orientation_is_applied(tmp_path):
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, :20] = 255  # left half white
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    Image.fromarray(pixels).save(tmp_path / "phone.jpg", exif=exif, quality=95)
    image = open_image(tmp_path / "phone.jpg")
    assert image.shape == (40, 20, 3)
    assert image[:20].mean() > 200 and image[20:].mean() < 50  # the left half is now on top


def test_truncated_and_text_files_are_refused(tmp_path):
    path = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(ImageError, match="truncated or corrupt"):
        open_image(path)
    fake = tmp_path / "fake.png"
    fake.write_text("this is not a picture\n")
    with pytest.raises(ImageError, match="not an image: it holds text"):
        open_image(fake)
    with pytest.raises(ImageError, match="not found"):
        open_image(tmp_path / "missing.png")


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def test_sizes_out_of_range_are_refused_before_decoding(tmp_path):
    Image.new("RGB", (1, 1)).save(tmp_path / "dot.png")
    with pytest.raises(ImageError, match="1×1: too small"):
        open_image(tmp_path / "dot.png")
    (tmp_path / "bomb.png").write_bytes(_png_header_only(20000, 20000))
    with pytest.raises(ImageError, match="too large"):
        open_image(tmp_path / "bomb.png")
    message = ""
    try:
        open_image(tmp_path / "bomb.png")
    except ImageError as error:
        message = str(error)
    assert "\n" not in message


def test_folders(tmp_path):
    with pytest.raises(ImageError, match="no images"):
        list_images(tmp_path)
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ImageError, match="no images"):
        list_images(tmp_path)
    for i in range(5):
        Image.fromarray(_gradient()).save(tmp_path / f"im{i}.png")
    listing = list_images(tmp_path, limit=3)
    assert [p.name for p in listing.paths] == ["im0.png", "im1.png", "im2.png"]
    assert listing.skipped == 2 and "2 more skipped" in listing.message
    with pytest.raises(ImageError, match="not a folder"):
        list_images(tmp_path / "im0.png")


def test_samples():
    names = sample_names()
    assert {"astronaut", "cat", "coffee", "digit_0", "digit_9", "shape_circle"} <= set(names)
    assert sample_image("astronaut").shape == (512, 512, 3)
    assert sample_image("cat").shape == (300, 451, 3)
    digit = sample_image("digit_7")
    assert digit.shape == (32, 32, 3) and digit.dtype == np.uint8 and digit.max() > 200
    with pytest.raises(ImageError, match="no sample named"):
        sample_image("dog")
