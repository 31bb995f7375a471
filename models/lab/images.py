"""Open the images a user gives the lab, robustly, and the samples that ship with the lab's dependencies.

``open_image(path)`` returns an H×W×3 uint8 RGB array whatever the file holds: PNG, JPEG, BMP, TIFF, WebP
(and GIF, first frame); grayscale, 1-bit, palette, 16-bit and float images are scaled to 8 bits; RGBA and
other transparent images are composited on white; the EXIF orientation is applied. The size is checked from
the header before any pixel is decoded, so a 20000×20000 "image bomb" costs nothing.

Anything else raises ``ImageError`` (a ``ValueError``) with a one-line message: a file that is not an image
(a "PNG" that is text), a truncated or corrupt file, a float image with no finite value, an image under 8×8 or
over ``MAX_PIXELS``, a folder with no images, a path that is not a regular file (a FIFO is never opened: that
would block). Nothing else is printed: the decoders' warnings and numpy's are silenced here, so a failure is
the one line of its message.

Samples: scikit-image's bundled photographs (the astronaut, Chelsea the cat, the coffee cup; licences in
``skimage/data/README.txt``: public domain or CC0) and held-out digits of scikit-learn's handwritten digits
(the ones ``lenet5_digits`` never saw in training), and a few generated shapes for ``zfnet_shapes``.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from cnn_explorer.models.lab.errors import LabError

MIN_SIDE = 8
MAX_PIXELS = 40_000_000  # 40 megapixels: a large camera photo; beyond that an image is refused
MAX_FOLDER_IMAGES = 2000
SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif")

# Pillow warns above MAX_IMAGE_PIXELS and raises DecompressionBombError above twice that, when it opens a
# file. Our own budget is checked first (from the header); Pillow's limit is kept as a backstop just above it.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
ImageFile.LOAD_TRUNCATED_IMAGES = False


class ImageError(LabError):
    """An image or a folder of images the lab cannot use; the message is one line."""


def _why(error: BaseException) -> str:
    text = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return text[:160]


def _looks_like_text(path: Path) -> bool:
    try:
        head = path.read_bytes()[:512] if path.stat().st_size < 1 << 20 else path.open("rb").read(512)
    except OSError:
        return False
    if not head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(b >= 9 for b in head)


def _to_uint8_rgb(image: Image.Image, name: str = "image") -> np.ndarray:
    mode = image.mode
    if mode in ("RGBA", "LA", "PA", "La", "RGBa") or (mode == "P" and "transparency" in image.info) \
            or (mode in ("L", "RGB") and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        values = np.asarray(image).astype(np.float64)
        if mode == "F":  # floats: scaled from the smallest finite value to the largest
            finite = np.isfinite(values)
            if not finite.any():
                raise ImageError(f"{name} holds no pixel values: every pixel is NaN or infinite")
            low, high = float(values[finite].min()), float(values[finite].max())
            values = np.nan_to_num(values, nan=low, posinf=high, neginf=low)  # NaN shown as the lowest value
            values = (values - low) / (high - low or 1.0) * 255.0
        else:
            # 16-bit data (Pillow may give it as mode "I"): full scale is 65535.
            top = 65535.0 if values.max(initial=0) > 255 or mode.startswith("I;16") else 255.0
            values = values / top * 255.0
        gray = np.clip(np.rint(values), 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if mode != "RGB":
        image = image.convert("RGB")  # L, 1, P, CMYK, YCbCr, LAB, HSV
    array = np.asarray(image)
    if array.dtype != np.uint8:  # RGB with 16 bits per channel (some TIFFs)
        array = (array.astype(np.float64) / 257.0).round().astype(np.uint8)
    return array


def check_size(width: int, height: int, name: str = "image") -> None:
    if width < MIN_SIDE or height < MIN_SIDE:
        raise ImageError(f"{name} is {width}×{height}: too small, an image must be at least "
                         f"{MIN_SIDE}×{MIN_SIDE} pixels")
    if width * height > MAX_PIXELS:
        raise ImageError(f"{name} is {width}×{height} ({width * height / 1e6:.0f} megapixels): too large, "
                         f"the limit is {MAX_PIXELS / 1e6:.0f} megapixels")


def check_image_file(path: str | os.PathLike) -> Path:
    """``path`` when it is a regular file; else ``ImageError``: a folder, nothing there, or something that is
    not a regular file (a FIFO, a device, a socket: never opened, since reading one can block for ever)."""
    path = Path(path)
    if path.is_dir():
        raise ImageError(f"{path} is a folder, not an image")
    if not path.is_file():
        if path.exists():
            raise ImageError(f"{path} is not a regular file (a pipe, a device or a socket), not an image")
        raise ImageError(f"image file not found: {path}")
    return path


def open_image(path: str | os.PathLike) -> np.ndarray:
    """The image at ``path`` as an H×W×3 uint8 RGB array (see the module's docstring)."""
    path = check_image_file(path)
    name = path.name
    try:
        # Quiet: Pillow's warnings (EXIF, palettes, bombs) and numpy's say nothing the result or the ImageError
        # does not; printed, they would come before a command's one line.
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            with Image.open(path) as image:
                check_size(*image.size, name=name)  # from the header: nothing decoded yet
                image.seek(0)
                image.load()
                image = ImageOps.exif_transpose(image)
                return np.ascontiguousarray(_to_uint8_rgb(image, name))
    except ImageError:
        raise
    except Image.DecompressionBombError as error:
        raise ImageError(f"{name} is too large: {_why(error)}") from None
    except UnidentifiedImageError:
        if _looks_like_text(path):
            raise ImageError(f"{name} is not an image: it holds text") from None
        raise ImageError(f"{name} is not an image Pillow can read (PNG, JPEG, BMP, TIFF, WebP, GIF)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise ImageError(f"{name} cannot be read, the file is truncated or corrupt ({_why(error)})") from None


@dataclass(frozen=True)
class ImageFolder:
    folder: Path
    paths: tuple[Path, ...]  # sorted by name, at most the limit
    skipped: int  # image files beyond the limit, not listed

    @property
    def message(self) -> str:
        text = f"{len(self.paths)} images in {self.folder}"
        if self.skipped:
            text += f" (the first {len(self.paths)} by name; {self.skipped} more skipped)"
        return text


def list_images(folder: str | os.PathLike, limit: int = MAX_FOLDER_IMAGES) -> ImageFolder:
    """The image files of ``folder`` (not its sub-folders), by suffix and sorted by name; at most ``limit``
    of them, with the number skipped beyond it. ``ImageError`` when there are none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ImageError(f"not a folder: {folder}")
    try:
        names = sorted(entry.name for entry in os.scandir(folder)
                       if entry.is_file() and entry.name.lower().endswith(SUFFIXES) and not entry.name.startswith("."))
    except OSError as error:
        raise ImageError(f"cannot list {folder}: {_why(error)}") from None
    if not names:
        raise ImageError(f"no images in {folder} (looked for {', '.join(SUFFIXES)})")
    return ImageFolder(folder, tuple(folder / n for n in names[:limit]), max(0, len(names) - limit))


# -- samples ------------------------------------------------------------------------------------------------

PHOTOS = {"astronaut": "astronaut", "cat": "chelsea", "coffee": "coffee"}


def sample_names() -> list[str]:
    """The bundled samples: three photographs, one held-out digit per class (``digit_0`` …) for
    ``lenet5_digits``, one generated image per class of ``zfnet_shapes`` (``shape_circle`` …), and a frame of the
    live view's synthetic source (``live_shapes``) for ``shapes_yolo`` and ``shapes_unet``."""
    from cnn_explorer.models.lab.datasets import SHAPE_CLASSES

    return (list(PHOTOS) + [f"digit_{d}" for d in range(10)] + [f"shape_{c}" for c in SHAPE_CLASSES]
            + ["live_shapes"])


def sample_image(name: str) -> np.ndarray:
    """A bundled sample as an H×W×3 uint8 array."""
    if name in PHOTOS:
        import skimage.data

        return np.ascontiguousarray(getattr(skimage.data, PHOTOS[name])()[:, :, :3])
    if name.startswith("digit_") and name[6:].isdigit() and int(name[6:]) < 10:
        from cnn_explorer.models.lab.datasets import held_out_digit

        gray = held_out_digit(int(name[6:]))
        return np.repeat(gray[:, :, None], 3, axis=2)
    if name.startswith("shape_"):
        from cnn_explorer.models.lab.datasets import SHAPE_CLASSES, shape_image

        if name[6:] in SHAPE_CLASSES:
            return shape_image(SHAPE_CLASSES.index(name[6:]), seed=10_000 + SHAPE_CLASSES.index(name[6:]))
    if name == "live_shapes":
        from cnn_explorer.models.live.synthetic import SyntheticSource

        return SyntheticSource(realtime=False, seed=1).render(0)[0]
    raise ImageError(f"no sample named {name!r}; samples: {', '.join(sample_names())}")


def samples() -> dict[str, np.ndarray]:
    return {name: sample_image(name) for name in sample_names()}
