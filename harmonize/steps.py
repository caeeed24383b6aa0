"""One optimization step of each model: the networks, their optimizers and the order of updates.

iDIH: one batch (any domain), reconstruction loss, Adam.
CharmNet (official order): the generator runs on one rendered and one real batch; D takes a hinge
step on the detached f_in of both; then the generator and the style classifiers take one step on
eq. 6 with D frozen (D's updated scores give the adversarial term).

`trainable` is what DistributedDataParallel wraps: the generator for iDIH; for CharmNet a module
holding the generator and both classifiers, so each step has one forward and one backward.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from harmonize import losses
from harmonize.batch_metrics import batch_fmse
from harmonize.charmnet import CharmNetGenerator
from harmonize.classifiers import StyleClassifier
from harmonize.discriminator import DomainDiscriminator
from harmonize.normalization import from_uint8
from manifests.schema import K


class Batch(NamedTuple):
    composite: torch.Tensor   # [B,3,S,S] normalized
    target: torch.Tensor      # [B,3,S,S] normalized
    mask: torch.Tensor        # [B,1,S,S] float in {0,1}
    label_in: torch.Tensor    # [B,K] soft style label of the composite (zeros for real pairs)
    label_out: torch.Tensor   # [B,K] one-hot style label of the target (zeros for real pairs)


def to_batch(raw: dict, device: torch.device, channels_last: bool = False) -> Batch:
    """A loader batch of uint8 images -> normalized float tensors on `device`."""
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    nb = device.type == "cuda"

    def image(t: torch.Tensor) -> torch.Tensor:
        return from_uint8(t.to(device, non_blocking=nb)).contiguous(memory_format=fmt)

    return Batch(image(raw["composite"]), image(raw["target"]),
                 raw["mask"].to(device, non_blocking=nb).float().contiguous(memory_format=fmt),
                 raw["label_in"].to(device, non_blocking=nb), raw["label_out"].to(device, non_blocking=nb))


@dataclass(frozen=True)
class StepSettings:
    lr: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.999)
    recon: str = "fmse"
    min_area: float = 100.0
    weights: losses.LossWeights = losses.LossWeights()
    sa_loss: str = "official"    # eq. 4-5: losses.SA_LOSSES
    amp: bool = False            # bf16 autocast (CUDA)
    device_type: str = "cpu"


def set_requires_grad(module: nn.Module, flag: bool) -> None:
    for p in module.parameters():
        p.requires_grad_(flag)


class _StepBase:
    settings: StepSettings
    generator: nn.Module
    trainable: nn.Module

    def autocast(self):
        if self.settings.amp:
            return torch.autocast(device_type=self.settings.device_type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def harmonize(self, batch: Batch, domain: str = "real") -> torch.Tensor:
        """The raw generator's output for a batch (no grad handling; callers choose the mode)."""
        return self.generator.harmonize(batch.composite, batch.mask, domain)

    def recon(self, pred: torch.Tensor, batch: Batch) -> torch.Tensor:
        return losses.reconstruction_loss(pred.float(), batch.target, batch.mask,
                                          kind=self.settings.recon, min_area=self.settings.min_area)

    @staticmethod
    def batch_errors(pred: torch.Tensor, batch: Batch, suffix: str = "") -> dict[str, torch.Tensor]:
        """fMSE (0-255) of the output and of the composite on a training batch: a learning signal
        on the scale of the validation metrics, from the forward pass already made."""
        return {f"fmse{suffix}": batch_fmse(pred.detach(), batch.target, batch.mask),
                f"composite_fmse{suffix}": batch_fmse(batch.composite, batch.target, batch.mask)}


class IDIHStep(_StepBase):
    """Reconstruction only; batches come from the "all" stream."""

    domains = ("all",)

    def __init__(self, generator: nn.Module, settings: StepSettings):
        self.settings = settings
        self.generator = generator
        self.trainable = generator
        self.disc = None   # no discriminator to wrap for DDP
        self.opt_G = torch.optim.Adam(generator.parameters(), lr=settings.lr, betas=settings.betas)

    @classmethod
    def build(cls, generator: nn.Module, settings: StepSettings, head_width: int, place) -> "IDIHStep":
        """The step around a new generator; `place` puts a module on the training device."""
        return cls(place(generator), settings)

    def modules(self) -> dict[str, nn.Module | None]:
        return {"generator": self.generator, "discriminator": None, "style_in": None, "style_out": None}

    def optimizers(self) -> dict[str, torch.optim.Optimizer | None]:
        return {"G": self.opt_G, "D": None}

    def __call__(self, batches: dict[str, Batch]) -> dict[str, torch.Tensor]:
        b = batches["all"]
        with self.autocast():
            out = self.trainable(b.composite, b.mask)
        rec = self.recon(out.image, b)
        loss = self.settings.weights.rec * rec
        self.opt_G.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_G.step()
        return {"rec": rec.detach(), "loss_G": loss.detach(), **self.batch_errors(out.image, b)}


class CharmNetTrainable(nn.Module):
    """The generator and both style classifiers in one forward over a rendered and a real batch."""

    def __init__(self, generator: CharmNetGenerator, style_in: StyleClassifier, style_out: StyleClassifier):
        super().__init__()
        self.generator, self.style_in, self.style_out = generator, style_in, style_out

    def forward(self, rd_image, rd_mask, rl_image, rl_mask) -> dict[str, torch.Tensor]:
        rd = self.generator(rd_image, rd_mask, "rendered")
        rl = self.generator(rl_image, rl_mask, "real")
        return {
            "image_rd": rd.image, "f_in_rd": rd.f_in, "image_rl": rl.image, "f_in_rl": rl.f_in,
            "p_in_rd": self.style_in(rd.f_in), "p_out_rd": self.style_out(rd.f_out),   # [B,K] logits
            "p_in_rl": self.style_in(rl.f_in), "p_out_rl": self.style_out(rl.f_out),
        }


class CharmNetStep(_StepBase):
    domains = ("rendered", "real")

    def __init__(self, generator: CharmNetGenerator, discriminator: DomainDiscriminator,
                 style_in: StyleClassifier, style_out: StyleClassifier, settings: StepSettings):
        self.settings = settings
        self.generator, self.discriminator = generator, discriminator
        self.style_in, self.style_out = style_in, style_out
        self.trainable = CharmNetTrainable(generator, style_in, style_out)
        self.disc = discriminator   # what the D step calls (DDP-wrapped under torchrun)
        # One optimizer for G and both classifiers, one for D (official: optimizers_G, optimizer_D).
        self.opt_G = torch.optim.Adam(self.trainable.parameters(), lr=settings.lr, betas=settings.betas)
        self.opt_D = torch.optim.Adam(discriminator.parameters(), lr=settings.lr, betas=settings.betas)

    @classmethod
    def build(cls, generator: CharmNetGenerator, settings: StepSettings, head_width: int, place) -> "CharmNetStep":
        """The step around a new generator, with a new D and style classifiers of `head_width` channels."""
        c = generator.feature_channels
        return cls(place(generator), place(DomainDiscriminator(c, head_width)), place(StyleClassifier(c, head_width, K)),
                   place(StyleClassifier(c, head_width, K)), settings)

    def modules(self) -> dict[str, nn.Module | None]:
        return {"generator": self.generator, "discriminator": self.discriminator,
                "style_in": self.style_in, "style_out": self.style_out}

    def optimizers(self) -> dict[str, torch.optim.Optimizer | None]:
        return {"G": self.opt_G, "D": self.opt_D}

    def discriminator_step(self, f_in_rd: torch.Tensor, f_in_rl: torch.Tensor) -> dict[str, torch.Tensor]:
        """One hinge step of D on detached features; the generator is not touched."""
        set_requires_grad(self.discriminator, True)
        with self.autocast():
            scores = self.disc(torch.cat([f_in_rl.detach(), f_in_rd.detach()])).float()
        d_real, d_rendered = scores[: f_in_rl.shape[0]], scores[f_in_rl.shape[0]:]
        loss_D = losses.discriminator_hinge_loss(d_real, d_rendered)
        self.opt_D.zero_grad(set_to_none=True)
        loss_D.backward()
        self.opt_D.step()
        return {"loss_D": loss_D.detach(), "d_real": d_real.detach().mean(), "d_rendered": d_rendered.detach().mean()}

    def generator_terms(self, o: dict[str, torch.Tensor], rd: Batch, rl: Batch) -> dict[str, torch.Tensor]:
        """The terms of eq. 6; D is called frozen (its parameters get no gradient)."""
        s = self.settings
        set_requires_grad(self.discriminator, False)
        try:
            with self.autocast():
                d_rd = self.discriminator(o["f_in_rd"]).float()
        finally:
            set_requires_grad(self.discriminator, True)
        p = {k: o[k].float() for k in ("p_in_rd", "p_out_rd", "p_in_rl", "p_out_rl")}
        return {
            "rec_rd": self.recon(o["image_rd"], rd),
            "rec_rl": self.recon(o["image_rl"], rl),
            "adv": losses.generator_adversarial_loss(d_rd),
            "sty_in_rd": losses.style_cross_entropy(p["p_in_rd"], rd.label_in),
            "sty_out_rd": losses.style_cross_entropy(p["p_out_rd"], rd.label_out),
            "w_rl": losses.weighted_classification_loss(p["p_in_rl"], p["p_out_rl"], sa_loss=s.sa_loss),
            "er_rl": losses.entropy_reduction_loss(p["p_in_rl"], p["p_out_rl"], margin=s.weights.margin,
                                                   sa_loss=s.sa_loss),
        }

    def __call__(self, batches: dict[str, Batch]) -> dict[str, torch.Tensor]:
        rd, rl = batches["rendered"], batches["real"]
        with self.autocast():
            o = self.trainable(rd.composite, rd.mask, rl.composite, rl.mask)
        d_terms = self.discriminator_step(o["f_in_rd"], o["f_in_rl"])
        terms = self.generator_terms(o, rd, rl)
        loss_G = losses.generator_total_loss(terms, self.settings.weights)
        self.opt_G.zero_grad(set_to_none=True)
        loss_G.backward()
        self.opt_G.step()
        out = {k: v.detach() for k, v in terms.items()}
        out.update(d_terms)
        out["loss_G"] = loss_G.detach()
        out.update(self.batch_errors(o["image_rd"], rd, "_rd"))
        out.update(self.batch_errors(o["image_rl"], rl, "_rl"))
        return out


# The training step of each model in harmonize.models.MODELS.
STEPS = {"idih": IDIHStep, "charmnet": CharmNetStep}
