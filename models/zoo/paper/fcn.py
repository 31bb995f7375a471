"""FCN-8s on VGG-16 (Long, Shelhamer & Darrell, "Fully Convolutional Networks for Semantic Segmentation",
CVPR 2015; TPAMI 2017), as the paper's reference Caffe net ``voc-fcn8s`` is built.

VGG-16's 13 convolutions and 5 max pools (2×2/2, rounding up as Caffe does), then its classifier made
convolutional: fc6 is a 7×7 convolution with 4,096 outputs, fc7 a 1×1 convolution, and ``score_fr`` a 1×1
convolution to one score map per class, at stride 32 (the FCN-32s prediction). The first convolution pads by
100 pixels so that any input of at least one pixel reaches fc6 with a 7×7 map.

The skip fusion, coarse to fine (Fig. 3 of the paper):
- **32s → 16s**: the stride-32 scores are upsampled ×2 (``upscore2``, a 4×4/2 transposed convolution), and a
  1×1 convolution scores pool4 (``score_pool4``); the two are added (``fuse_pool4``) after cropping pool4's
  scores to the upsampled map (offset 5, from the padding).
- **16s → 8s**: upsampled ×2 again (``upscore_pool4``) and added to the scores of pool3 (``score_pool3``,
  cropped at offset 9): ``fuse_pool3``.
- **8s → the image**: upsampled ×8 (``upscore8``, a 16×16/8 transposed convolution) and cropped at offset 31
  to the input's size.
The transposed convolutions start as bilinear interpolation, as in the paper (the last one is kept bilinear
there). PASCAL VOC: 21 classes; the paper trains and tests on images up to 500×500.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

VGG16_STAGES = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))


def vgg_stage(number: int, in_channels: int, widths: tuple[int, ...], first_padding: int = 1) -> nn.Sequential:
    """One stage of VGG-16 named as the paper names it: conv{n}_{i}, relu{n}_{i}, then pool{n}."""
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    for i, width in enumerate(widths, start=1):
        padding = first_padding if i == 1 else 1
        layers[f"conv{number}_{i}"] = nn.Conv2d(in_channels, width, 3, padding=padding)
        layers[f"relu{number}_{i}"] = nn.ReLU(inplace=True)
        in_channels = width
    layers[f"pool{number}"] = nn.MaxPool2d(2, stride=2, ceil_mode=True)
    return nn.Sequential(layers)


def bilinear_kernel(channels: int, size: int) -> torch.Tensor:
    """The weights of a ``size``×``size`` transposed convolution that upsamples each of ``channels`` maps
    bilinearly on its own (Caffe's ``bilinear`` filler, which the paper's nets use)."""
    factor = (size + 1) // 2
    center = factor - 1 if size % 2 == 1 else factor - 0.5
    ramp = 1 - (torch.arange(size, dtype=torch.float32) - center).abs() / factor
    weight = torch.zeros(channels, channels, size, size)
    weight[range(channels), range(channels)] = ramp[:, None] * ramp[None, :]
    return weight


def upsampling(channels: int, factor: int) -> nn.ConvTranspose2d:
    layer = nn.ConvTranspose2d(channels, channels, 2 * factor, stride=factor, bias=False)
    with torch.no_grad():
        layer.weight.copy_(bilinear_kernel(channels, 2 * factor))
    return layer


class Crop(nn.Module):
    """Caffe's Crop layer: the window of ``like``'s height and width starting at ``offset`` in ``x``. A negative
    padding, as U-Net's crop, so that it reads as a crop in the layer graph."""

    def __init__(self, offset: int):
        super().__init__()
        self.offset = offset

    def forward(self, x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        (height, width), top = like.shape[-2:], self.offset
        return F.pad(x, (-top, -(x.shape[-1] - top - width), -top, -(x.shape[-2] - top - height)))


class Fuse(nn.Module):
    """A skip fusion: the upsampled coarse scores plus the cropped scores of a finer pool."""

    def forward(self, coarse: torch.Tensor, fine: torch.Tensor) -> torch.Tensor:
        return coarse + fine


class FCN8s(nn.Module):
    def __init__(self, num_classes: int = 21, in_channels: int = 3):
        super().__init__()
        stages = []
        for number, widths in enumerate(VGG16_STAGES, start=1):
            stages.append(vgg_stage(number, in_channels, widths, first_padding=100 if number == 1 else 1))
            in_channels = widths[-1]
        self.stage1, self.stage2, self.stage3, self.stage4, self.stage5 = stages
        # VGG-16's classifier as convolutions.
        self.fc6 = nn.Conv2d(512, 4096, 7)
        self.relu6 = nn.ReLU(inplace=True)
        self.drop6 = nn.Dropout2d()
        self.fc7 = nn.Conv2d(4096, 4096, 1)
        self.relu7 = nn.ReLU(inplace=True)
        self.drop7 = nn.Dropout2d()
        self.score_fr = nn.Conv2d(4096, num_classes, 1)  # the stride-32 prediction (FCN-32s)
        # The skips.
        self.upscore2 = upsampling(num_classes, 2)
        self.score_pool4 = nn.Conv2d(512, num_classes, 1)
        self.upscore_pool4 = upsampling(num_classes, 2)
        self.score_pool3 = nn.Conv2d(256, num_classes, 1)
        self.upscore8 = upsampling(num_classes, 8)
        # Caffe's crop and fusion layers, named as in voc-fcn8s.
        self.score_pool4c, self.score_pool3c, self.score = Crop(5), Crop(9), Crop(31)
        self.fuse_pool4, self.fuse_pool3 = Fuse(), Fuse()

    def forward(self, x):
        image = x
        x = self.stage2(self.stage1(x))
        pool3 = self.stage3(x)
        pool4 = self.stage4(pool3)
        x = self.stage5(pool4)
        x = self.drop6(self.relu6(self.fc6(x)))
        x = self.drop7(self.relu7(self.fc7(x)))
        upscore2 = self.upscore2(self.score_fr(x))  # the stride-32 scores, ×2
        stride16 = self.fuse_pool4(upscore2, self.score_pool4c(self.score_pool4(pool4), upscore2))
        upscore_pool4 = self.upscore_pool4(stride16)
        stride8 = self.fuse_pool3(upscore_pool4, self.score_pool3c(self.score_pool3(pool3), upscore_pool4))
        return self.score(self.upscore8(stride8), image)
