"""The named blocks that iDIH and CharmNet are built from.

The iDIH U-Net (Sofiiuk et al., "Foreground-aware semantic representations for image
harmonization", the `improved_dih` model) is a stack of encoder levels 0..depth-1 and a mirror
stack of decoder blocks with additive skips, ending in an image blending head. CharmNet cuts the
same stacks into domain-specific and shared parts, so both models are compositions of the stages
defined here:

    level i of the encoder: Conv4x4 stride 2 (+ norm from level `norm_from`) + ELU,
        with ch(i) = min(width * 2 ** (i // 2), max_channels) channels
        (64, 64, 128, 128, 256, 256, 512 for the default width 64, depth 7);
        the deepest level has no padding (4x4 -> 1x1 at 256x256, as in the official code);
    the decoder block that leaves level i: ConvTranspose4x4 stride 2 + norm + ELU to ch(i-1)
        channels (ch(-1) = ch(0) // 2), then the encoder output of level i-1 is added;
        the block leaving the deepest level has no padding;
    blending head: a = sigmoid(3 * conv1x1(f)), out = a * image + (1 - a) * to_rgb(f).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

NORMS = ("batch", "instance", "none")


@dataclass(frozen=True)
class UNetSpec:
    """The shape of the iDIH U-Net; CharmNet adds `unshared` (domain-specific levels)."""

    depth: int = 7
    width: int = 64
    max_channels: int = 512
    norm: str = "batch"        # the official CharmNet training command uses --norm batch; iDIH uses BatchNorm
    norm_from: int = 2         # the first encoder level with normalization (iDIH: batchnorm_from=2)

    def channels(self, level: int) -> int:
        """Channels of encoder level `level`; level -1 is the last decoder block's output."""
        if level < 0:
            return max(self.width // 2, 1)
        return min(self.width * 2 ** (level // 2), self.max_channels)

    def min_image_size(self) -> int:
        # The deepest (unpadded) level needs an even input of at least 4x4.
        return 2 ** (self.depth + 1)

    def check_image_size(self, size: int) -> str | None:
        """None when `size` fits this U-Net, else the reason."""
        step = 2 ** self.depth
        if size < self.min_image_size() or size % step:
            return (f"image size {size} does not fit a depth-{self.depth} U-Net: use a multiple of {step} "
                    f"that is at least {self.min_image_size()}")
        return None

    def to_dict(self) -> dict:
        return asdict(self)


def norm_layer(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}: use one of {NORMS}")


class ConvBlock(nn.Sequential):
    """Conv4x4 stride 2, optional norm, ELU: one encoder level (halves the size)."""

    def __init__(self, cin: int, cout: int, norm: str, padding: int = 1):
        super().__init__(nn.Conv2d(cin, cout, kernel_size=4, stride=2, padding=padding),
                         norm_layer(norm, cout), nn.ELU())


class DeconvBlock(nn.Sequential):
    """ConvTranspose4x4 stride 2, norm, ELU: one decoder block (doubles the size)."""

    def __init__(self, cin: int, cout: int, norm: str, padding: int = 1):
        super().__init__(nn.ConvTranspose2d(cin, cout, kernel_size=4, stride=2, padding=padding),
                         norm_layer(norm, cout), nn.ELU())


class EncoderStage(nn.Module):
    """Encoder levels first..last (inclusive) of the U-Net; returns every level's output."""

    def __init__(self, spec: UNetSpec, first: int, last: int, in_channels: int):
        super().__init__()
        self.first, self.last = first, last
        blocks = []
        cin = in_channels
        for level in range(first, last + 1):
            cout = spec.channels(level)
            norm = spec.norm if level >= spec.norm_from else "none"
            blocks.append(ConvBlock(cin, cout, norm, padding=0 if level == spec.depth - 1 else 1))
            cin = cout
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        for block in self.blocks:
            x = block(x)
            outputs.append(x)
        return outputs  # outputs[j] is level first + j


class DecoderStage(nn.Module):
    """Decoder blocks that leave levels top..bottom (top > bottom), adding the encoder skips.

    forward(x, skips) takes the feature of level `top` and a dict {level: encoder output};
    the block leaving level i adds skips[i - 1] when i - 1 >= 0.
    """

    def __init__(self, spec: UNetSpec, top: int, bottom: int):
        super().__init__()
        self.top, self.bottom = top, bottom
        self.blocks = nn.ModuleList(
            DeconvBlock(spec.channels(level), spec.channels(level - 1), spec.norm,
                        padding=0 if level == spec.depth - 1 else 1)
            for level in range(top, bottom - 1, -1))

    def forward(self, x: torch.Tensor, skips: dict[int, torch.Tensor]) -> torch.Tensor:
        for block, level in zip(self.blocks, range(self.top, self.bottom - 1, -1)):
            x = block(x)
            if level - 1 >= 0:
                x = x + skips[level - 1]
        return x


class BlendingHead(nn.Module):
    """The iDIH image blending layer: out = a * image + (1 - a) * to_rgb(f), a = sigmoid(3 conv1x1(f))."""

    def __init__(self, channels: int):
        super().__init__()
        self.attention = nn.Conv2d(channels, 1, kernel_size=1)
        self.to_rgb = nn.Conv2d(channels, 3, kernel_size=1)

    def start_at_identity(self, keep: float = 0.95) -> None:
        """Make the head return `keep` * image + (1 - keep) * to_rgb(f) everywhere at the start.

        With the published random init, a = sigmoid(3 conv1x1(f)) starts near 0.5 with a large
        spread, so the first output mixes the input with noise and a short run spends its first
        hundreds of steps getting back to the identity (docs/training.md, "Why the demo's models
        did not learn"). A zero attention weight and bias logit(keep) / 3 start from the input.
        """
        nn.init.zeros_(self.attention.weight)
        nn.init.constant_(self.attention.bias, math.log(keep / (1.0 - keep)) / 3.0)

    def forward(self, features: torch.Tensor, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        alpha = torch.sigmoid(3.0 * self.attention(features))  # [B,1,H,W]
        return alpha * image + (1.0 - alpha) * self.to_rgb(features), alpha


def init_normal(module: nn.Module, gain: float = 0.02) -> None:
    """The official CharmNet init: conv weights N(0, gain), BN weights N(1, gain), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)


def init_xavier(module: nn.Module) -> None:
    """The iDIH init (XavierGluon, gaussian, magnitude 2): Xavier normal with gain sqrt(2), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.xavier_normal_(m.weight, gain=2.0 ** 0.5)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
