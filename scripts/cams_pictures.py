"""The class-map pictures of docs/screenshots/ (cams_*.png), made with the lab's tools (models/lab/tools.py), as
``cnn-explorer visualize`` makes them, on the trained zfnet_shapes:

* ``cams_pair_shapes.png``: one image with a circle and a cross, HiResCAM of "circle" and of "cross" (the same
  image, two classes: each map lights its own shape);
* ``cams_family_shapes.png``: the eight class maps of one triangle, each with its ROAD score.

    uv run python scripts/cams_pictures.py [OUT_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from cnn_explorer.models.lab import pictures
from cnn_explorer.models.lab.activations import LabModel
from cnn_explorer.models.lab.images import sample_image
from cnn_explorer.models.lab.tools import TOOLS, Options
from cnn_explorer.models.zoo.loader import load_model

FAMILY = ("gradcam", "gradcampp", "scorecam", "eigencam", "layercam", "hirescam", "ig", "smoothgrad")


def two_shapes(left: str, right: str) -> np.ndarray:
    """A 64×64 image: two of the net's generated shapes, each shrunk to 32×32, side by side."""
    def small(name):
        return np.asarray(Image.fromarray(sample_image(f"shape_{name}")).resize((32, 32), Image.BILINEAR))

    canvas = np.empty((64, 64, 3), np.uint8)
    canvas[:] = sample_image(f"shape_{left}")[0, 0]
    canvas[16:48, :32], canvas[16:48, 32:] = small(left), small(right)
    return canvas


def pair(lab: LabModel, out: Path) -> None:
    prepared = lab.prepare(two_shapes("circle", "cross"))
    top = lab.predict(prepared)[0]
    panels, scales = [("input", prepared.display)], {}
    for name in ("circle", "cross"):
        picture = TOOLS["hirescam"].run(lab, prepared, Options(target=lab.class_index(name)))
        caption = picture.panels[1][0].replace("HiResCAM", f"HiResCAM of “{name}”")
        panels.append((caption, picture.panels[1][1]))
        scales[len(panels) - 1] = picture.scales[1]
    pictures.compose(f"One image, two classes: zfnet_shapes (top-1 “{top.name}” {100 * top.probability:.0f} %)",
                     panels, out, "png", scales)


def family(lab: LabModel, out: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    prepared = lab.prepare(sample_image("shape_triangle"))
    made = [(m, TOOLS[m].run(lab, prepared, Options())) for m in FAMILY]
    figure = Figure(figsize=(13, 7.4), dpi=100, facecolor="white")
    FigureCanvasAgg(figure)
    figure.suptitle(f"The class maps of “{made[0][1].describe['target_name']}” on zfnet_shapes "
                    f"(layer {made[0][1].describe['layer']}), each with its ROAD score "
                    "(higher = more faithful)", fontsize=13, weight="bold")
    axes = figure.subplots(2, 5)
    cells = [("input", prepared.display)] + [
        (f"{TOOLS[m].label}\nROAD {p.describe['faithfulness']['score']:+.2f}", p.panels[1][1]) for m, p in made]
    for ax, (title, image) in zip(axes.flat, cells):
        ax.imshow(image, interpolation="nearest")
        ax.set_title(title, fontsize=11)
        ax.set_xticks([]), ax.set_yticks([])
    axes.flat[-1].axis("off")
    figure.tight_layout(rect=(0, 0, 1, 0.95))
    figure.savefig(out, dpi=100, facecolor="white")


def main() -> None:
    torch.set_num_threads(1)
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
    lab = LabModel(load_model("zfnet_shapes", weights="pretrained"))
    pair(lab, folder / "cams_pair_shapes.png")
    family(lab, folder / "cams_family_shapes.png")
    print(f"wrote {folder / 'cams_pair_shapes.png'} and {folder / 'cams_family_shapes.png'}")


if __name__ == "__main__":
    main()
