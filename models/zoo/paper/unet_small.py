"""A small U-Net for the classroom (``shapes_unet``): the layout of Ronneberger et al. 2015 (models/zoo/paper/unet.py)
— a contracting path of two 3×3 convs and a 2×2/2 max pool per level, an expanding path of 2×2
up-convolutions with the contracting map of the same level concatenated (the skip) and two 3×3 convs, a 1×1
conv to the class maps — with padded ("same") convs, so that the output is the size of the input and no crop
is needed, a fraction of the channels (8 to 128 instead of 64 to 1024), and batch norm after each conv.

``forward`` takes a frame of any size: it is resized to ``work_size`` (the size the net was trained at, so
the shapes have the sizes it learned), segmented, and the class scores are resized back to the frame's size
(bilinear, so that the boundaries stay smooth). ``segment`` is the U-Net alone, at any size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """Two padded 3×3 convs, each followed by batch norm and ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False), nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False), nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class Down(nn.Sequential):
    """One step down: a 2×2/2 max pool, then two 3×3 convs."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(nn.MaxPool2d(2), conv_block(in_channels, out_channels))


class Up(nn.Module):
    """One step up: a 2×2 up-convolution halving the channels, the skip map concatenated, two 3×3 convs."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.up_conv = nn.ConvTranspose2d(in_channels, out_channels, kernel_size=2, stride=2)
        self.conv = conv_block(2 * out_channels, out_channels)

    def forward(self, x, skip):
        x = self.up_conv(x)
        if x.shape[-2:] != skip.shape[-2:]:  # an odd size on the way down: pad the up-sampled map to the skip's
            dh, dw = skip.shape[-2] - x.shape[-2], skip.shape[-1] - x.shape[-1]
            x = F.pad(x, (dw // 2, dw - dw // 2, dh // 2, dh - dh // 2))
        return self.conv(torch.cat([skip, x], dim=1))


class SmallUNet(nn.Module):
    def __init__(self, in_channels: int = 3, num_classes: int = 4, widths=(8, 16, 32, 64, 128),
                 work_size: tuple[int, int] | None = (240, 320)):
        super().__init__()
        self.work_size = tuple(work_size) if work_size else None
        self.inc = conv_block(in_channels, widths[0])
        self.downs = nn.ModuleList(Down(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.ups = nn.ModuleList(Up(b, a) for a, b in zip(reversed(widths[:-1]), reversed(widths[1:])))
        self.out_conv = nn.Conv2d(widths[0], num_classes, kernel_size=1)

    def segment(self, x):
        """The U-Net alone: class scores at the input's size."""
        skips = [self.inc(x)]
        for down in self.downs:
            skips.append(down(skips[-1]))
        x = skips.pop()
        for up in self.ups:
            x = up(x, skips.pop())
        return self.out_conv(x)

    def forward(self, x):
        size = tuple(x.shape[-2:])
        if self.work_size is None or size == self.work_size:
            return self.segment(x)
        x = F.interpolate(x, size=self.work_size, mode="bilinear", align_corners=False, antialias=True)
        return F.interpolate(self.segment(x), size=size, mode="bilinear", align_corners=False)
