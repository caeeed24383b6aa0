"""The CharmNet generator: iDIH cut into domain-specific and shared stages (paper Section 4.1).

    E^rd / E^rl: encoder levels 0 .. unshared-1, one set per domain -> f_in  (128 x 16 x 16 by default)
    shared:      encoder levels unshared .. depth-1 and the decoder blocks back to level unshared-1
                 -> f_out (same shape as f_in)
    D^rd / D^rl: the last `unshared` decoder blocks with to_rgb and blending, one set per domain

The discriminator and the style classifiers (harmonize.discriminator, harmonize.classifiers) read
f_in and f_out.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from harmonize.blocks import BlendingHead, DecoderStage, EncoderStage, UNetSpec, init_normal

DOMAINS = ("rendered", "real")


class CharmOutput(NamedTuple):
    image: torch.Tensor       # [B,3,H,W] harmonized, in the normalized input space
    f_in: torch.Tensor        # [B,C,h,w] domain-specific encoder output (before the shared stage)
    f_out: torch.Tensor       # [B,C,h,w] shared decoder output (after the shared stage)
    attention: torch.Tensor   # [B,1,H,W] blending weight of the input image


class DomainEncoder(nn.Module):
    """E^d: the unshared encoder levels of one domain."""

    def __init__(self, spec: UNetSpec, unshared: int):
        super().__init__()
        self.stage = EncoderStage(spec, 0, unshared - 1, in_channels=4)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> list[torch.Tensor]:
        return self.stage(torch.cat([image, mask], dim=1))


class SharedStage(nn.Module):
    """The domain-invariant encoder-decoder: f_in (level unshared-1) -> f_out (same level)."""

    def __init__(self, spec: UNetSpec, unshared: int):
        super().__init__()
        self.unshared = unshared
        self.encoder = EncoderStage(spec, unshared, spec.depth - 1, in_channels=spec.channels(unshared - 1))
        self.decoder = DecoderStage(spec, spec.depth - 1, unshared)

    def forward(self, f_in: torch.Tensor) -> torch.Tensor:
        levels = self.encoder(f_in)
        skips = {self.unshared - 1: f_in}
        skips.update({self.unshared + j: t for j, t in enumerate(levels)})
        return self.decoder(levels[-1], skips)


class DomainDecoder(nn.Module):
    """D^d: the unshared decoder blocks of one domain, with to_rgb and blending."""

    def __init__(self, spec: UNetSpec, unshared: int):
        super().__init__()
        self.stage = DecoderStage(spec, unshared - 1, 0)
        self.blend = BlendingHead(spec.channels(-1))

    def forward(self, f_out: torch.Tensor, skips: list[torch.Tensor], image: torch.Tensor):
        return self.blend(self.stage(f_out, dict(enumerate(skips))), image)


class CharmNetGenerator(nn.Module):
    """forward(image, mask, domain): domain is "rendered" or "real"; image normalized, mask in {0,1}."""

    name = "charmnet"

    def __init__(self, spec: UNetSpec = UNetSpec(), unshared: int = 4):
        super().__init__()
        if not 1 <= unshared < spec.depth:
            raise ValueError(f"unshared={unshared}: use 1 .. depth-1 ({spec.depth - 1})")
        self.spec, self.unshared = spec, unshared
        self.encoders = nn.ModuleDict({d: DomainEncoder(spec, unshared) for d in DOMAINS})
        self.shared = SharedStage(spec, unshared)
        self.decoders = nn.ModuleDict({d: DomainDecoder(spec, unshared) for d in DOMAINS})
        init_normal(self)

    @property
    def feature_channels(self) -> int:
        return self.spec.channels(self.unshared - 1)

    def forward(self, image: torch.Tensor, mask: torch.Tensor, domain: str) -> CharmOutput:
        levels = self.encoders[domain](image, mask)
        f_in = levels[-1]
        f_out = self.shared(f_in)
        out, alpha = self.decoders[domain](f_out, levels, image)
        return CharmOutput(out, f_in, f_out, alpha)

    def harmonize(self, image: torch.Tensor, mask: torch.Tensor, domain: str = "real") -> torch.Tensor:
        """The harmonized image [B,3,H,W] (normalized) through `domain`'s branches (real at inference)."""
        return self(image, mask, domain).image

    def config(self) -> dict:
        return {"spec": self.spec.to_dict(), "unshared": self.unshared}

    @classmethod
    def from_config(cls, config: dict) -> "CharmNetGenerator":
        return cls(UNetSpec(**config["spec"]), unshared=int(config["unshared"]))
