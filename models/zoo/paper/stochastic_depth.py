"""ResNet with stochastic depth (Huang, Sun, Liu, Sedra & Weinberger, "Deep Networks with Stochastic Depth",
ECCV 2016).

The CIFAR-10 ResNet-110 of the paper: a 3×3 conv with 16 channels, three stages of 18 basic blocks with 16,
32 and 64 channels (32×32, 16×16, 8×8), global average pooling and a 10-way FC: 1 + 3·18·2 + 1 = 110
layers. Between stages the shortcut subsamples the input (stride 2) and pads the new channels with zeros
(He et al.'s option A), so shortcuts have no parameters.

In training, block l of L = 54 keeps its residual branch with survival probability
p_l = 1 − (l / L)(1 − p_L), decaying linearly from 1 to p_L = 0.5; a dropped block is the identity. The paper
drops a block for a whole mini-batch (``torchvision.ops.StochasticDepth`` mode "batch"). torchvision scales
the surviving branch by 1/p_l in training, the equivalent of the paper's scaling by p_l at test time, so in
eval mode the network is an ordinary ResNet-110.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn
from torchvision.ops import StochasticDepth


class StochasticBasicBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, stride: int, drop_prob: float):
        super().__init__()
        self.residual = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False), nn.BatchNorm2d(out_channels),
        )
        self.stochastic_depth = StochasticDepth(drop_prob, mode="batch")
        # option A shortcut: subsample (a 1×1 average pool with the block's stride), zero maps for new channels
        self.subsample = nn.AvgPool2d(kernel_size=1, stride=stride) if stride > 1 else None
        self.extra_channels = out_channels - in_channels
        self.relu = nn.ReLU(inplace=True)

    def shortcut(self, x):
        if self.subsample is not None:
            x = self.subsample(x)
        if self.extra_channels:
            x = F.pad(x, (0, 0, 0, 0, 0, self.extra_channels))
        return x

    def forward(self, x):
        return self.relu(self.stochastic_depth(self.residual(x)) + self.shortcut(x))


class StochasticDepthResNet(nn.Module):
    def __init__(self, blocks_per_stage: int = 18, widths=(16, 32, 64), final_survival: float = 0.5,
                 num_classes: int = 10):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, widths[0], 3, padding=1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True),
        )
        total = blocks_per_stage * len(widths)
        stages = []
        in_channels, index = widths[0], 0
        for stage, width in enumerate(widths):
            blocks = []
            for i in range(blocks_per_stage):
                index += 1
                drop_prob = index / total * (1.0 - final_survival)  # 1 − p_l
                stride = 2 if stage > 0 and i == 0 else 1
                blocks.append(StochasticBasicBlock(in_channels, width, stride, drop_prob))
                in_channels = width
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_channels, num_classes)

    def forward(self, x):
        x = self.stages(self.stem(x))
        return self.fc(self.global_pool(x).flatten(1))
