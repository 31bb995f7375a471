"""Network in Network (Lin, Chen & Yan, "Network In Network", ICLR 2014).

An mlpconv layer is a convolution followed by two 1×1 convolutions (a small MLP slid over the image), each
with a ReLU. The last mlpconv has one map per class, and global average pooling turns each map into the class
score: there is no fully connected layer.

* ``NiNCifar10``: the CIFAR-10 network of the paper: three mlpconv layers (192-160-96, 192-192-192,
  192-192-10), each but the last followed by 3×3/2 max pooling and dropout 0.5 (32 → 16 → 8).
* ``NiNImageNet``: the ImageNet model the authors released in the Caffe model zoo: four mlpconv layers
  (96 11×11/4, 256 5×5, 384 3×3, 1024 3×3, each followed by two 1×1 convolutions, the last one to the
  1000 classes), 3×3/2 max pools between them, dropout before the last one (224 → 54 → 27 → 13 → 6).
"""

from __future__ import annotations

from torch import nn


def mlpconv(in_channels: int, channels: tuple[int, int, int], kernel_size: int, stride: int = 1,
            padding: int = 0) -> nn.Sequential:
    """A convolution and two 1×1 convolutions, each followed by a ReLU (the class maps too, as in the
    released Caffe models)."""
    c1, c2, c3 = channels
    return nn.Sequential(
        nn.Conv2d(in_channels, c1, kernel_size, stride=stride, padding=padding), nn.ReLU(inplace=True),
        nn.Conv2d(c1, c2, kernel_size=1), nn.ReLU(inplace=True),
        nn.Conv2d(c2, c3, kernel_size=1), nn.ReLU(inplace=True),
    )


def _pool() -> nn.MaxPool2d:
    return nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)


class NiNCifar10(nn.Module):
    def __init__(self, num_classes: int = 10, dropout: float = 0.5):
        super().__init__()
        self.features = nn.Sequential(
            mlpconv(3, (192, 160, 96), kernel_size=5, padding=2), _pool(), nn.Dropout(dropout),  # 16×16×96
            mlpconv(96, (192, 192, 192), kernel_size=5, padding=2), _pool(), nn.Dropout(dropout),  # 8×8×192
            mlpconv(192, (192, 192, num_classes), kernel_size=3, padding=1),  # 8×8×10
        )
        self.global_pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        return self.global_pool(self.features(x)).flatten(1)


class NiNImageNet(nn.Module):
    def __init__(self, num_classes: int = 1000, dropout: float = 0.5):
        super().__init__()
        self.features = nn.Sequential(
            mlpconv(3, (96, 96, 96), kernel_size=11, stride=4), _pool(),  # 54×54 → 27×27×96
            mlpconv(96, (256, 256, 256), kernel_size=5, padding=2), _pool(),  # 13×13×256
            mlpconv(256, (384, 384, 384), kernel_size=3, padding=1), _pool(), nn.Dropout(dropout),  # 6×6×384
            mlpconv(384, (1024, 1024, num_classes), kernel_size=3, padding=1),  # 6×6×1000
        )
        self.global_pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        return self.global_pool(self.features(x)).flatten(1)
