"""A classroom-sized ZFNet for 64×64 colour images: the layout of Zeiler & Fergus's Fig. 3 (conv1 7×7 stride
2, max-pools 3×3 stride 2 with contrast normalization, conv3–5 3×3, two fully connected layers), narrowed so
that it trains in a few CPU minutes (``scripts/train_zfnet_shapes.py``). Map sizes for 64×64×3: conv1
32×32×32, pool1 16×16, conv2 16×16×64, pool2 8×8, conv3–5 8×8, pool5 4×4×64, FC 128, the classes.

Not from a paper: the zoo entry ``zfnet_shapes`` ships it trained on a generated data set of shapes and
textures, so the lab can show learned edge and colour detectors offline.
"""

from __future__ import annotations

from torch import nn


class ZFNetMini(nn.Module):
    def __init__(self, num_classes: int = 10, widths: tuple[int, ...] = (32, 64, 64, 64, 64), dropout: float = 0.3):
        super().__init__()
        c1, c2, c3, c4, c5 = widths
        self.features = nn.Sequential(
            nn.Conv2d(3, c1, kernel_size=7, stride=2, padding=3), nn.ReLU(inplace=True),  # 32×32
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),  # 16×16
            nn.LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2.0),
            nn.Conv2d(c1, c2, kernel_size=5, padding=2), nn.ReLU(inplace=True),  # 16×16
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),  # 8×8
            nn.LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2.0),
            nn.Conv2d(c2, c3, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c3, c4, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c4, c5, kernel_size=3, padding=1), nn.ReLU(inplace=True),  # 8×8
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),  # 4×4
        )
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(c5 * 4 * 4, 128), nn.ReLU(inplace=True),
            nn.Linear(128, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))
