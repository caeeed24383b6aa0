"""The style classifiers P_in (on f_in) and P_out (on f_out), shared by both domains (paper eq. 3-5).

Official code (`StyleClassifier`): three conv3x3-BN-ReLU-maxpool stages C -> 64 -> 32 -> 16 and a
conv3x3 to K logits. Its pools are 2, 2, 4 on a 16x16 map; the last pool here is a global max pool,
which is the same on 16x16 and lets small test images (smaller maps) through. Returns logits;
the losses take log-softmax (the official code takes log of a softmax, the same value).
"""
from __future__ import annotations

import torch
from torch import nn

from harmonize.blocks import init_normal


class StyleClassifier(nn.Module):
    def __init__(self, in_channels: int = 128, width: int = 64, n_styles: int = 10):
        super().__init__()

        def stage(cin: int, cout: int, pool: nn.Module) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(), pool]

        self.net = nn.Sequential(
            *stage(in_channels, width, nn.MaxPool2d(2, ceil_mode=True)),
            *stage(width, width // 2, nn.MaxPool2d(2, ceil_mode=True)),
            *stage(width // 2, width // 4, nn.AdaptiveMaxPool2d(1)),
            nn.Conv2d(width // 4, n_styles, 3, padding=1),
        )
        init_normal(self)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features).flatten(1)  # [B,K] logits
