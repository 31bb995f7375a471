"""The two data sets the shipped trained nets learned from, made the same way by the training scripts, the
samples and the tests.

* **Digits:** scikit-learn's 1,797 handwritten digits (8×8, values 0–16), upscaled to 32×32 with bilinear
  interpolation as white strokes on black. A stratified 80/20 split with a fixed seed; the test part is
  held out from training.
* **Shapes:** a generated colour data set, 64×64: four shapes (circle, square, triangle, cross) and six
  textures (horizontal, vertical and diagonal stripes, checkerboard, dots, and a ring), each in random
  colours on a random background, at random sizes, positions, angles and periods, with noise. The class is
  the shape or texture, never the colour, so the first layer has to learn edges and colour contrasts to
  tell them apart.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

DIGITS_SEED = 0
DIGITS_TEST_FRACTION = 0.2
DIGIT_SIZE = 32

SHAPE_CLASSES = ("circle", "square", "triangle", "cross", "ring", "h_stripes", "v_stripes", "d_stripes",
                 "checkerboard", "dots")
SHAPE_SIZE = 64


# -- digits --------------------------------------------------------------------------------------------------

def digit_to_image(values: np.ndarray, size: int = DIGIT_SIZE) -> np.ndarray:
    """An 8×8 digit of scikit-learn (0–16) as a size×size uint8 image."""
    from PIL import Image

    gray = np.clip(np.rint(np.asarray(values, np.float64).reshape(8, 8) * (255.0 / 16.0)), 0, 255).astype(np.uint8)
    return np.asarray(Image.fromarray(gray, "L").resize((size, size), Image.BILINEAR))


@lru_cache(maxsize=1)
def digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train images, train labels, test images, test labels): N×32×32 uint8 images, int64 labels."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = np.stack([digit_to_image(x) for x in digits.data])
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target.astype(np.int64), test_size=DIGITS_TEST_FRACTION, random_state=DIGITS_SEED,
        stratify=digits.target)
    return x_train, y_train, x_test, y_test


def held_out_digit(digit: int, which: int = 0) -> np.ndarray:
    """The ``which``-th held-out test image of ``digit``, 32×32 uint8."""
    _, _, x_test, y_test = digits_split()
    return x_test[np.flatnonzero(y_test == digit)[which]]


# -- shapes --------------------------------------------------------------------------------------------------

def _colours(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two clearly different colours, as RGB floats 0..1: hue apart, or lightness apart."""
    import colorsys

    while True:
        h1, h2 = rng.random(2)
        s1, s2 = rng.uniform(0.5, 1.0, 2)
        v1, v2 = rng.uniform(0.35, 1.0, 2)
        if rng.random() < 0.2:
            s1 = s2 = 0.0 if rng.random() < 0.5 else s1  # some grey-on-colour or grey-on-grey
        hue_gap = min(abs(h1 - h2), 1 - abs(h1 - h2))
        if hue_gap > 0.17 or abs(v1 - v2) > 0.35:
            return np.array(colorsys.hsv_to_rgb(h1, s1, v1)), np.array(colorsys.hsv_to_rgb(h2, s2, v2))


def _alpha(distance: np.ndarray) -> np.ndarray:
    """Antialiased coverage from a signed distance (positive inside), in pixels."""
    return np.clip(distance + 0.5, 0.0, 1.0)


def shape_image(label: int, seed: int, size: int = SHAPE_SIZE) -> np.ndarray:
    """One image of class ``label`` (an index into SHAPE_CLASSES), H×W×3 uint8, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    fg, bg = _colours(rng)
    y, x = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    kind = SHAPE_CLASSES[label]
    angle = rng.uniform(0, np.pi)
    if kind in ("circle", "square", "triangle", "cross", "ring"):
        radius = rng.uniform(0.18, 0.36) * size
        cy, cx = rng.uniform(radius + 2, size - radius - 2, 2)
        dy, dx = y - cy, x - cx
        u = dx * np.cos(angle) + dy * np.sin(angle)
        v = -dx * np.sin(angle) + dy * np.cos(angle)
        if kind == "circle":
            d = radius - np.hypot(u, v)
        elif kind == "ring":
            width = rng.uniform(0.2, 0.35) * radius
            d = width / 2 - np.abs(np.hypot(u, v) - (radius - width / 2))
        elif kind == "square":
            d = radius * 0.8 - np.maximum(np.abs(u), np.abs(v))
        elif kind == "triangle":
            d = np.full_like(u, np.inf)
            for k in range(3):  # three half-planes at the edges of an equilateral triangle
                theta = k * 2 * np.pi / 3
                d = np.minimum(d, radius * 0.5 - (u * np.cos(theta) + v * np.sin(theta)))
        else:  # cross
            arm, half = radius * 0.3, radius
            d = np.maximum(np.minimum(arm - np.abs(u), half - np.abs(v)), np.minimum(half - np.abs(u), arm - np.abs(v)))
        alpha = _alpha(d)
    else:
        period = rng.uniform(7, 14)
        phase = rng.uniform(0, 2 * np.pi)
        if kind == "h_stripes":
            t = y
        elif kind == "v_stripes":
            t = x
        elif kind == "d_stripes":
            t = (x + y * (1 if rng.random() < 0.5 else -1)) / np.sqrt(2)
        if kind in ("h_stripes", "v_stripes", "d_stripes"):
            wave = np.sin(2 * np.pi * t / period + phase)
            alpha = _alpha(wave * period / (2 * np.pi))
        elif kind == "checkerboard":
            wave = np.sin(np.pi * x / (period / 2) + phase) * np.sin(np.pi * y / (period / 2) + phase)
            alpha = _alpha(wave * period / 4)
        else:  # dots on a grid
            spacing = rng.uniform(9, 15)
            oy, ox = rng.uniform(0, spacing, 2)
            gy = (y - oy) - spacing * np.round((y - oy) / spacing)
            gx = (x - ox) - spacing * np.round((x - ox) / spacing)
            alpha = _alpha(spacing * rng.uniform(0.2, 0.32) - np.hypot(gy, gx))
    image = alpha[:, :, None] * fg + (1 - alpha[:, :, None]) * bg
    image = image * rng.uniform(0.8, 1.1) + rng.normal(0, rng.uniform(0.0, 0.06), image.shape)
    return np.clip(np.rint(image * 255), 0, 255).astype(np.uint8)


def shapes_dataset(count: int, seed: int, size: int = SHAPE_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """``count`` images (N×H×W×3 uint8) with balanced labels, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % len(SHAPE_CLASSES)
    rng.shuffle(labels)
    seeds = rng.integers(0, 2**62, count)
    images = np.stack([shape_image(int(label), int(s), size) for label, s in zip(labels, seeds)])
    return images, labels.astype(np.int64)
