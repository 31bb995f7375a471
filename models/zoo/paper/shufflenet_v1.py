"""ShuffleNet v1 (Zhang, Zhou, Lin & Sun, "ShuffleNet: An Extremely Efficient Convolutional Neural Network for
Mobile Devices", CVPR 2018).

Table 1 of the paper, g = 3, scale 1×: conv1 3×3/2 24 channels and a 3×3/2 max pool (224 → 56), then three
stages of ShuffleNet units with 240, 480 and 960 output channels, repeated 4, 8 and 4 times, global average
pooling and a 1000-way FC (137 MFLOPs, that is multiply-adds, in Table 1; quoted as 140 MFLOPs in Table 2).

A unit (Fig. 2): grouped 1×1 conv → BN → ReLU → channel shuffle → 3×3 depthwise conv → BN → grouped 1×1
conv → BN, then

* stride 1: added to the input, then ReLU;
* stride 2 (first unit of a stage): concatenated with a 3×3/2 average pool of the input, then ReLU; the
  branch makes ``out - in`` channels so the concatenation has ``out``.

The bottleneck has a quarter of the unit's output channels, and the first 1×1 conv of stage 2 is not grouped
because its input has only 24 channels.
"""

from __future__ import annotations

import torch
from torch import nn

STAGE_REPEATS = (4, 8, 4)
STAGE_CHANNELS = {1: (144, 288, 576), 2: (200, 400, 800), 3: (240, 480, 960), 4: (272, 544, 1088),
                  8: (384, 768, 1536)}


class ChannelShuffle(nn.Module):
    """Reorder the channels so that each group of the next grouped conv sees every group of the last one."""

    def __init__(self, groups: int):
        super().__init__()
        self.groups = groups

    def forward(self, x):
        n, c, h, w = x.shape
        x = x.view(n, self.groups, c // self.groups, h, w).transpose(1, 2)
        return x.reshape(n, c, h, w)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


class ShuffleUnit(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, groups: int, stride: int, group_first: bool = True):
        super().__init__()
        self.stride = stride
        mid = out_channels // 4
        branch_out = out_channels - in_channels if stride == 2 else out_channels
        first_groups = groups if group_first else 1
        self.branch = nn.Sequential(
            nn.Conv2d(in_channels, mid, 1, groups=first_groups, bias=False), nn.BatchNorm2d(mid),
            nn.ReLU(inplace=True),
            ChannelShuffle(groups),
            nn.Conv2d(mid, mid, 3, stride=stride, padding=1, groups=mid, bias=False), nn.BatchNorm2d(mid),
            nn.Conv2d(mid, branch_out, 1, groups=groups, bias=False), nn.BatchNorm2d(branch_out),
        )
        self.shortcut = nn.AvgPool2d(3, stride=2, padding=1) if stride == 2 else None
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        if self.stride == 2:
            out = torch.cat([self.shortcut(x), self.branch(x)], dim=1)
        else:
            out = self.branch(x) + x
        return self.relu(out)


class ShuffleNetV1(nn.Module):
    def __init__(self, groups: int = 3, num_classes: int = 1000):
        super().__init__()
        self.conv1 = nn.Sequential(
            nn.Conv2d(3, 24, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(24), nn.ReLU(inplace=True),
        )
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        stages = []
        in_channels = 24
        for index, (repeats, out_channels) in enumerate(zip(STAGE_REPEATS, STAGE_CHANNELS[groups])):
            units = [ShuffleUnit(in_channels, out_channels, groups, stride=2, group_first=index > 0)]
            units += [ShuffleUnit(out_channels, out_channels, groups, stride=1) for _ in range(repeats - 1)]
            stages.append(nn.Sequential(*units))
            in_channels = out_channels
        self.stage2, self.stage3, self.stage4 = stages
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_channels, num_classes)

    def forward(self, x):
        x = self.maxpool(self.conv1(x))
        x = self.stage4(self.stage3(self.stage2(x)))
        return self.fc(self.global_pool(x).flatten(1))
