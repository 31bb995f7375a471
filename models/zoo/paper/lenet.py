"""LeNet-5 (LeCun, Bottou, Bengio & Haffner, "Gradient-Based Learning Applied to Document Recognition",
Proc. IEEE 1998).

A 32×32×1 input; C1 6@5×5 → 28×28×6, S2 2×2 subsampling → 14×14×6, C3 16@5×5 → 10×10×16, S4 → 5×5×16,
C5 120@5×5 (a convolution, 1×1×120), F6 84 units, and 10 outputs.

Simplified the way lectures count it ("about 60k parameters"): C3 is connected to all six S2 maps (the paper
uses a sparse connection table, 1,516 weights instead of 2,416), S2 and S4 are plain average pools (the
paper's have a trainable coefficient and bias per map) and the output is a linear layer (the paper's are
Euclidean RBF units). That gives 156 + 2,416 + 48,120 + 10,164 + 850 = 61,706 parameters.
"""

from __future__ import annotations

from torch import nn


class LeNet5(nn.Module):
    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, kernel_size=5), nn.Tanh(),  # C1: 28×28×6
            nn.AvgPool2d(kernel_size=2, stride=2),  # S2: 14×14×6
            nn.Conv2d(6, 16, kernel_size=5), nn.Tanh(),  # C3: 10×10×16
            nn.AvgPool2d(kernel_size=2, stride=2),  # S4: 5×5×16
            nn.Conv2d(16, 120, kernel_size=5), nn.Tanh(),  # C5: 1×1×120
        )
        self.classifier = nn.Sequential(
            nn.Linear(120, 84), nn.Tanh(),  # F6
            nn.Linear(84, num_classes),  # output
        )

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))
