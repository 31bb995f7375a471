"""SegNet (Badrinarayanan, Kendall & Cipolla, "SegNet: A Deep Convolutional Encoder-Decoder Architecture for
Image Segmentation", TPAMI 2017; arXiv 2015).

The encoder is the 13 convolutional layers of VGG-16, each followed by batch normalisation and ReLU, with a
2×2/2 max pool after each of the five blocks that remembers where each maximum was (the pooling indices).
The decoder mirrors it: each block upsamples with ``MaxUnpool2d`` using the indices of its encoder block
(a sparse map, no learned upsampling), then convolutions densify it. A final 3×3 convolution gives one score
map per class. The paper's CamVid setting: 360×480 RGB input, 11 classes. The unpooling is given the size
the encoder map had before pooling, so odd sizes (45 → 22 → 45) come back exactly.
"""

from __future__ import annotations

from torch import nn

# Output channels of the convolutions of each block.
VGG16_BLOCKS = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))
SEGNET_DECODER = ((512, 512, 512), (512, 512, 256), (256, 256, 128), (128, 64), (64,))


def conv_bn_relu(in_channels: int, out_channels: int, transposed: bool = False) -> list[nn.Module]:
    conv_type = nn.ConvTranspose2d if transposed else nn.Conv2d
    return [conv_type(in_channels, out_channels, 3, padding=1), nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True)]


def conv_block(in_channels: int, widths: tuple[int, ...], transposed: bool = False) -> nn.Sequential:
    layers = []
    for width in widths:
        layers += conv_bn_relu(in_channels, width, transposed)
        in_channels = width
    return nn.Sequential(*layers)


class VGG16Encoder(nn.Module):
    """VGG-16's convolutions with batch norm; ``forward`` returns the features, the pooling indices and the
    sizes of the maps before each pool (for the unpooling)."""

    def __init__(self, in_channels: int = 3):
        super().__init__()
        self.blocks = nn.ModuleList()
        for widths in VGG16_BLOCKS:
            self.blocks.append(conv_block(in_channels, widths))
            in_channels = widths[-1]
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2, return_indices=True)

    def forward(self, x):
        indices, sizes = [], []
        for block in self.blocks:
            x = block(x)
            sizes.append(x.shape[-2:])
            x, index = self.pool(x)
            indices.append(index)
        return x, indices, sizes


class SegNet(nn.Module):
    def __init__(self, num_classes: int = 11, in_channels: int = 3):
        super().__init__()
        self.encoder = VGG16Encoder(in_channels)
        self.unpool = nn.MaxUnpool2d(kernel_size=2, stride=2)
        self.decoder = nn.ModuleList()
        channels = VGG16_BLOCKS[-1][-1]
        for widths in SEGNET_DECODER:
            self.decoder.append(conv_block(channels, widths))
            channels = widths[-1]
        self.classifier = nn.Conv2d(channels, num_classes, 3, padding=1)

    def forward(self, x):
        x, indices, sizes = self.encoder(x)
        for block, index, size in zip(self.decoder, reversed(indices), reversed(sizes)):
            x = block(self.unpool(x, index, output_size=size))
        return self.classifier(x)
