"""U-Net (Ronneberger, Fischer & Brox, "U-Net: Convolutional Networks for Biomedical Image Segmentation",
MICCAI 2015).

Fig. 1 of the paper: a 572×572×1 input tile; the contracting path has two unpadded ("valid") 3×3 convs with
ReLU per level and 2×2/2 max pools, with 64, 128, 256, 512 and 1024 channels (572 → 568, 284 → 280,
140 → 136, 68 → 64, 32 → 28). The expanding path has a 2×2 up-convolution halving the channels, the
centre crop of the contracting map at the same level concatenated to it (the skip connection), and two valid
3×3 convs (56 → 52, 104 → 100, 200 → 196, 392 → 388). A 1×1 conv gives the 2 class maps: 388×388×2.
Dropout sits at the end of the contracting path, as in the paper. The output covers the centre 388×388 of
the input; the paper tiles large images with mirrored borders to segment everything.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def double_conv(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3), nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, 3), nn.ReLU(inplace=True),
    )


def down(in_channels: int, out_channels: int) -> nn.Sequential:
    """One step down the contracting path: a 2×2/2 max pool, then two valid 3×3 convs."""
    return nn.Sequential(nn.MaxPool2d(kernel_size=2, stride=2), double_conv(in_channels, out_channels))


def center_crop(x, size):
    """The centre ``size`` of a map: a negative padding, so that it reads as a crop in the layer graph."""
    dh, dw = x.shape[-2] - size[0], x.shape[-1] - size[1]
    return F.pad(x, (-(dw // 2), -(dw - dw // 2), -(dh // 2), -(dh - dh // 2)))


class Up(nn.Module):
    """One step up the expanding path: a 2×2 up-convolution, the cropped skip map concatenated, two 3×3 convs."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.up_conv = nn.ConvTranspose2d(in_channels, out_channels, kernel_size=2, stride=2)
        self.conv = double_conv(2 * out_channels, out_channels)

    def forward(self, x, skip):
        x = self.up_conv(x)
        return self.conv(torch.cat([center_crop(skip, x.shape[-2:]), x], dim=1))


class UNet(nn.Module):
    def __init__(self, in_channels: int = 1, num_classes: int = 2, dropout: float = 0.5):
        super().__init__()
        self.inc = double_conv(in_channels, 64)  # 568×568×64
        self.down1 = down(64, 128)  # 280×280×128
        self.down2 = down(128, 256)  # 136×136×256
        self.down3 = down(256, 512)  # 64×64×512
        self.down4 = down(512, 1024)  # 28×28×1024
        self.dropout = nn.Dropout(dropout)
        self.up1 = Up(1024, 512)  # 52×52×512
        self.up2 = Up(512, 256)  # 100×100×256
        self.up3 = Up(256, 128)  # 196×196×128
        self.up4 = Up(128, 64)  # 388×388×64
        self.out_conv = nn.Conv2d(64, num_classes, kernel_size=1)  # 388×388×2

    def forward(self, x):
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x4 = self.down3(x3)
        x = self.dropout(self.down4(x4))
        x = self.up4(self.up3(self.up2(self.up1(x, x4), x3), x2), x1)
        return self.out_conv(x)
