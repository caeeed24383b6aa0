"""iDIH: the depth-7 U-Net with the image blending layer, taking RGB + mask (the baseline)."""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from harmonize.blocks import BlendingHead, DecoderStage, EncoderStage, UNetSpec, init_xavier


class Harmonized(NamedTuple):
    image: torch.Tensor       # [B,3,H,W] harmonized, in the normalized input space
    attention: torch.Tensor   # [B,1,H,W] blending weight of the input image


class IDIH(nn.Module):
    """forward(image, mask): image [B,3,H,W] normalized RGB, mask [B,1,H,W] in {0,1}."""

    name = "idih"

    def __init__(self, spec: UNetSpec = UNetSpec()):
        super().__init__()
        self.spec = spec
        self.encoder = EncoderStage(spec, 0, spec.depth - 1, in_channels=4)
        self.decoder = DecoderStage(spec, spec.depth - 1, 0)
        self.blend = BlendingHead(spec.channels(-1))
        init_xavier(self)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> Harmonized:
        levels = self.encoder(torch.cat([image, mask], dim=1))
        features = self.decoder(levels[-1], dict(enumerate(levels)))
        out, alpha = self.blend(features, image)
        return Harmonized(out, alpha)

    def harmonize(self, image: torch.Tensor, mask: torch.Tensor, domain: str = "real") -> torch.Tensor:
        """The harmonized image [B,3,H,W] (normalized); one network serves every domain."""
        return self(image, mask).image

    def config(self) -> dict:
        return {"spec": self.spec.to_dict()}

    @classmethod
    def from_config(cls, config: dict) -> "IDIH":  # extra keys (another model's settings) are ignored
        return cls(UNetSpec(**config["spec"]))
