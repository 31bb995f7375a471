"""FaceNet's NN1 embedding network (Schroff, Kalenichenko & Philbin, "FaceNet: A Unified Embedding for Face
Recognition and Clustering", CVPR 2015), and the triplet loss.

NN1 is Table 1 of the paper, a Zeiler & Fergus style network with 1×1 convolutions between the 3×3 ones:
a 220×220×3 input; conv1 7×7/2 64 → 110×110, pool 3×3/2 → 55, norm; conv2a 1×1 64, conv2 3×3 192, norm,
pool → 28; conv3a 1×1 192, conv3 3×3 384, pool → 14; conv4a 1×1 384, conv4 3×3 256; conv5a 1×1 256, conv5
3×3 256; conv6a 1×1 256, conv6 3×3 256, pool → 7×7×256; fc1 and fc2 maxout layers (p = 2) of 32×128 =
4096 units; fc7128 to 128; L2 normalisation. The paper counts 140M parameters and 1.6 billion FLOPs
(multiply-adds).

A Siamese network (Bromley et al. 1993; DeepFace, Taigman et al. 2014) is this same module applied to both
images: ``f(x)`` and ``f(y)`` share every weight, and ``‖f(x) − f(y)‖²`` is their distance.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Maxout(nn.Module):
    """A fully connected maxout layer: ``pieces`` linear units per output, keeping the largest."""

    def __init__(self, in_features: int, out_features: int, pieces: int = 2):
        super().__init__()
        self.out_features, self.pieces = out_features, pieces
        self.linear = nn.Linear(in_features, out_features * pieces)

    def forward(self, x):
        return self.linear(x).view(-1, self.out_features, self.pieces).amax(dim=-1)


class L2Normalize(nn.Module):
    def forward(self, x):
        return F.normalize(x, p=2.0, dim=1)


def _conv(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=kernel_size // 2),
            nn.ReLU(inplace=True)]


def _pool() -> nn.MaxPool2d:
    return nn.MaxPool2d(kernel_size=3, stride=2, padding=1)


def _norm() -> nn.LocalResponseNorm:
    return nn.LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2.0)


class FaceNetNN1(nn.Module):
    def __init__(self, embedding_size: int = 128):
        super().__init__()
        self.features = nn.Sequential(
            *_conv(3, 64, 7, stride=2), _pool(), _norm(),  # conv1, pool1, rnorm1: 55×55×64
            *_conv(64, 64, 1), *_conv(64, 192, 3), _norm(), _pool(),  # conv2a, conv2, rnorm2, pool2: 28×28×192
            *_conv(192, 192, 1), *_conv(192, 384, 3), _pool(),  # conv3a, conv3, pool3: 14×14×384
            *_conv(384, 384, 1), *_conv(384, 256, 3),  # conv4a, conv4
            *_conv(256, 256, 1), *_conv(256, 256, 3),  # conv5a, conv5
            *_conv(256, 256, 1), *_conv(256, 256, 3), _pool(),  # conv6a, conv6, pool4: 7×7×256
        )
        self.fc1 = Maxout(7 * 7 * 256, 32 * 128)
        self.fc2 = Maxout(32 * 128, 32 * 128)
        self.fc7128 = nn.Linear(32 * 128, embedding_size)
        self.l2 = L2Normalize()

    def forward(self, x):
        x = self.fc2(self.fc1(self.features(x).flatten(1)))
        return self.l2(self.fc7128(x))


def triplet_loss(anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, margin: float = 0.2,
                 reduction: str = "sum") -> torch.Tensor:
    """FaceNet's loss: max(‖f(A) − f(P)‖² − ‖f(A) − f(N)‖² + α, 0) per triplet, summed over the batch as in
    the paper (``reduction`` "mean" or "none" also work). α is the margin, 0.2 in the paper."""
    positive_distance = (anchor - positive).pow(2).sum(dim=-1)
    negative_distance = (anchor - negative).pow(2).sum(dim=-1)
    losses = torch.clamp(positive_distance - negative_distance + margin, min=0.0)
    if reduction == "none":
        return losses
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    raise ValueError(f"unknown reduction {reduction!r}: use 'sum', 'mean' or 'none'")
