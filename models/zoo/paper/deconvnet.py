"""DeconvNet (Noh, Hong & Han, "Learning Deconvolution Network for Semantic Segmentation", ICCV 2015).

The convolution network is VGG-16's 13 convolutions and five 2×2/2 max pools that keep their switches
(indices), then fc6 and fc7 as convolutions (7×7 → 1×1×4096, and 1×1×4096). The deconvolution network
mirrors it: a 7×7 deconvolution back to 7×7×512, then for each block an unpooling with the switches of the
matching pool followed by 3×3 deconvolutions, and a 1×1 deconvolution to the 21 PASCAL VOC classes
(224×224 input, 224×224×21 output). As in the paper, batch normalisation follows every convolution and
deconvolution.
"""

from __future__ import annotations

from torch import nn

from cnn_explorer.models.zoo.paper.segnet import VGG16Encoder, conv_block

DECONV_BLOCKS = ((512, 512, 512), (512, 512, 256), (256, 256, 128), (128, 64), (64, 64))


def _bn_relu(channels: int) -> list[nn.Module]:
    return [nn.BatchNorm2d(channels), nn.ReLU(inplace=True)]


class DeconvNet(nn.Module):
    def __init__(self, num_classes: int = 21, in_channels: int = 3):
        super().__init__()
        self.encoder = VGG16Encoder(in_channels)  # 224 → 7×7×512
        self.fc = nn.Sequential(
            nn.Conv2d(512, 4096, kernel_size=7), *_bn_relu(4096),  # fc6: 1×1×4096
            nn.Conv2d(4096, 4096, kernel_size=1), *_bn_relu(4096),  # fc7: 1×1×4096
            nn.ConvTranspose2d(4096, 512, kernel_size=7), *_bn_relu(512),  # deconv-fc6: 7×7×512
        )
        self.unpool = nn.MaxUnpool2d(kernel_size=2, stride=2)
        self.decoder = nn.ModuleList()
        channels = 512
        for widths in DECONV_BLOCKS:
            self.decoder.append(conv_block(channels, widths, transposed=True))
            channels = widths[-1]
        self.score = nn.ConvTranspose2d(channels, num_classes, kernel_size=1)

    def forward(self, x):
        x, indices, sizes = self.encoder(x)
        x = self.fc(x)
        for block, index, size in zip(self.decoder, reversed(indices), reversed(sizes)):
            x = block(self.unpool(x, index, output_size=size))
        return self.score(x)
