"""The domain discriminator D on the domain-specific features f_in (paper eq. 1).

Official code (`FCDiscriminator`): three 3x3 convs C -> 64 -> 32 -> 1 with LeakyReLU(0.2);
the output is a score map, averaged by the hinge losses in harmonize.losses.
"""
from __future__ import annotations

import torch
from torch import nn

from harmonize.blocks import init_normal


class DomainDiscriminator(nn.Module):
    def __init__(self, in_channels: int = 128, width: int = 64):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, width // 2, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(width // 2, 1, 3, padding=1),
        )
        init_normal(self)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features)  # [B,1,h,w] scores: high = real domain
