"""SharpMask (Pinheiro, Lin, Collobert & Dollár, "Learning to Refine Object Segments", ECCV 2016).

DeepMask's bottom-up network proposes a coarse mask for the object centred in an image patch; SharpMask adds a
top-down path of refinement modules that merge it, step by step, with the finer feature maps of the trunk.
Layer sizes of the authors' release (facebookresearch/deepmask, k_m = k_s = 32):

* trunk: ResNet-50 up to conv4 (``layer3``) on a 192×192 patch (the 160×160 object window and 16 pixels of
  context on each side) → 12×12×1024, cropped to 10×10, a 1×1 conv to 128, ReLU and a 12,800 → 512 FC;
* score head (DeepMask's): dropout, FC 512 → 1024, ReLU, dropout, FC 1024 → 1, "is an object centred here";
* top-down: an FC 512 → 10×10×32 is the first mask encoding M¹; refinement module i merges M^i with the
  trunk's map F^i at the same resolution (layer3 10×10, layer2 24×24 cropped to 20×20, layer1 48×48 → 40×40,
  conv1 96×96 → 80×80). A "horizontal" net of three 3×3 convs reduces F^i to k_s/2^i channels, a "vertical"
  net of two 3×3 convs reduces M^i to k_m/2^i, they are added (the same as a convolution over their
  concatenation, which is how the paper draws it), passed through a ReLU and upsampled 2× (10 → 20 → 40 → 80
  → 160). A last 3×3 conv gives the 160×160 mask logits.

The release pads with mirrored borders; this version pads with zeros.
``forward`` returns ``(mask_logits (N, 1, 160, 160), score (N, 1))``.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn
from torchvision.models import resnet50

# (trunk stage, its channels, first conv width of the horizontal net, pixels cropped on each side)
SKIPS = (("layer3", 1024, 64, 0), ("layer2", 512, 64, 2), ("layer1", 256, 64, 4), ("stem", 64, 32, 8))


def _conv3x3(in_channels: int, out_channels: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, padding=1)


class RefinementModule(nn.Module):
    def __init__(self, skip_channels: int, hidden: int, mask_channels: int, skip_out: int, crop: int):
        super().__init__()
        self.crop = crop
        self.horizontal = nn.Sequential(
            _conv3x3(skip_channels, hidden), nn.ReLU(inplace=True),
            _conv3x3(hidden, skip_out), nn.ReLU(inplace=True),
            _conv3x3(skip_out, skip_out // 2),
        )
        self.vertical = nn.Sequential(
            _conv3x3(mask_channels, mask_channels), nn.ReLU(inplace=True),
            _conv3x3(mask_channels, mask_channels // 2),
        )
        self.relu = nn.ReLU(inplace=True)
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")

    def forward(self, skip, mask):
        if self.crop:
            skip = F.pad(skip, (-self.crop,) * 4)  # the centre of the trunk's map
        return self.upsample(self.relu(self.horizontal(skip) + self.vertical(mask)))


class SharpMask(nn.Module):
    def __init__(self, mask_channels: int = 32, skip_channels: int = 32, feature_size: int = 10):
        super().__init__()
        backbone = resnet50(weights=None)
        self.stem = nn.Sequential(backbone.conv1, backbone.bn1, backbone.relu)  # 96×96×64
        self.maxpool = backbone.maxpool
        self.layer1, self.layer2, self.layer3 = backbone.layer1, backbone.layer2, backbone.layer3
        self.feature_size, self.mask_channels = feature_size, mask_channels
        self.trunk_head = nn.Sequential(
            nn.Conv2d(1024, 128, 1), nn.ReLU(inplace=True), nn.Flatten(),
            nn.Linear(128 * feature_size * feature_size, 512),
        )
        self.score = nn.Sequential(
            nn.Dropout(0.5), nn.Linear(512, 1024), nn.ReLU(inplace=True), nn.Dropout(0.5), nn.Linear(1024, 1),
        )
        self.mask_encoding = nn.Linear(512, mask_channels * feature_size * feature_size)  # M¹
        self.refinements = nn.ModuleList()
        for i, (_, channels, hidden, crop) in enumerate(SKIPS):
            self.refinements.append(RefinementModule(
                channels, hidden, mask_channels // 2**i, skip_channels // 2**i, crop))
        self.mask_logits = _conv3x3(mask_channels // 2 ** len(SKIPS), 1)

    def forward(self, x):
        stem = self.stem(x)
        layer1 = self.layer1(self.maxpool(stem))
        layer2 = self.layer2(layer1)
        layer3 = F.pad(self.layer3(layer2), (-1, -1, -1, -1))  # 12×12 → 10×10
        features = self.trunk_head(layer3)
        score = self.score(features)
        mask = self.mask_encoding(features).view(-1, self.mask_channels, self.feature_size, self.feature_size)
        for refine, skip in zip(self.refinements, (layer3, layer2, layer1, stem)):
            mask = refine(skip, mask)
        return self.mask_logits(mask), score
