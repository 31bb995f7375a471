"""ZFNet (Zeiler & Fergus, "Visualizing and Understanding Convolutional Networks", ECCV 2014).

Fig. 3 of the paper: AlexNet with conv1 7×7 stride 2 (instead of 11×11 stride 4) and conv2 stride 2, trained
on one GPU, so conv3, conv4 and conv5 are densely connected (no groups). Map sizes for a 224×224×3 input:
conv1 110×110×96, pool1 55×55, conv2 26×26×256, pool2 13×13, conv3-5 13×13, pool3 6×6×256, then FC 4096,
4096 and the classes. The pools are 3×3 stride 2 rounding up (Caffe's rule), and conv1 pads by 1, which is
what gives 110 → 55 → 26 → 13 → 6.

Table 2 of the paper also trains a variant whose layers 3, 4 and 5 have 512, 1024 and 512 maps: pass
``widths=(512, 1024, 512)``.
"""

from __future__ import annotations

from torch import nn

PAPER_WIDTHS = (384, 384, 256)
WIDE_WIDTHS = (512, 1024, 512)


def _contrast_norm() -> nn.LocalResponseNorm:
    # "contrast normalized across feature maps", with AlexNet's settings
    return nn.LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2.0)


class ZFNet(nn.Module):
    def __init__(self, num_classes: int = 1000, widths: tuple[int, int, int] = PAPER_WIDTHS,
                 dropout: float = 0.5):
        super().__init__()
        c3, c4, c5 = widths
        self.features = nn.Sequential(
            nn.Conv2d(3, 96, kernel_size=7, stride=2, padding=1), nn.ReLU(inplace=True),  # 110×110×96
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True), _contrast_norm(),  # 55×55×96
            nn.Conv2d(96, 256, kernel_size=5, stride=2), nn.ReLU(inplace=True),  # 26×26×256
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True), _contrast_norm(),  # 13×13×256
            nn.Conv2d(256, c3, kernel_size=3, padding=1), nn.ReLU(inplace=True),  # 13×13×c3
            nn.Conv2d(c3, c4, kernel_size=3, padding=1), nn.ReLU(inplace=True),  # 13×13×c4
            nn.Conv2d(c4, c5, kernel_size=3, padding=1), nn.ReLU(inplace=True),  # 13×13×c5
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),  # 6×6×c5
        )
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(c5 * 6 * 6, 4096), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))
