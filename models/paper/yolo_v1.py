"""YOLO v1 (Redmon, Divvala, Girshick & Farhadi, "You Only Look Once: Unified, Real-Time Object Detection",
CVPR 2016).

Fig. 3 of the paper: a 448×448×3 input, 24 convolutional layers (1×1 reductions followed by 3×3 convs, as
in GoogLeNet but without Inception modules), LeakyReLU(0.1) after every layer but the last, then two fully
connected layers. The output is an S×S grid (S = 7) whose cells each hold B = 2 boxes (x, y, w, h,
confidence) and C = 20 class probabilities: 7×7×(2·5 + 20) = 7×7×30.
"""

from __future__ import annotations

from torch import nn

# (kernel, filters, stride) for a conv, "M" for a 2×2/2 max pool: the darknet layout of Fig. 3.
DARKNET_LAYOUT = [
    (7, 64, 2), "M",
    (3, 192, 1), "M",
    (1, 128, 1), (3, 256, 1), (1, 256, 1), (3, 512, 1), "M",
    *[(1, 256, 1), (3, 512, 1)] * 4, (1, 512, 1), (3, 1024, 1), "M",
    *[(1, 512, 1), (3, 1024, 1)] * 2, (3, 1024, 1), (3, 1024, 2),
    (3, 1024, 1), (3, 1024, 1),
]


def darknet_features(layout=DARKNET_LAYOUT) -> nn.Sequential:
    layers = []
    in_channels = 3
    for item in layout:
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        kernel, filters, stride = item
        layers += [nn.Conv2d(in_channels, filters, kernel, stride=stride, padding=kernel // 2),
                   nn.LeakyReLU(0.1, inplace=True)]
        in_channels = filters
    return nn.Sequential(*layers)


class YOLOv1(nn.Module):
    def __init__(self, grid: int = 7, boxes: int = 2, num_classes: int = 20, dropout: float = 0.5):
        super().__init__()
        self.grid, self.boxes, self.num_classes = grid, boxes, num_classes
        self.cell_size = boxes * 5 + num_classes
        self.features = darknet_features()  # 448 → 7×7×1024
        self.classifier = nn.Sequential(
            nn.Linear(1024 * grid * grid, 4096), nn.LeakyReLU(0.1, inplace=True), nn.Dropout(dropout),
            nn.Linear(4096, grid * grid * self.cell_size),
        )

    def forward(self, x):
        x = self.classifier(self.features(x).flatten(1))
        return x.view(-1, self.grid, self.grid, self.cell_size)  # (N, 7, 7, 30)
