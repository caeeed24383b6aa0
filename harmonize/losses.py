"""The losses of CharmNet (paper Section 4, equations 1-6), each written once.

Inputs are batch-first tensors; every loss returns a scalar, the mean over the batch.
Style classifiers return logits [B,K]; the style distributions are their softmax.

Choices where the paper and the official code differ (see docs/training.md):
- eq. 2: `kind="fmse"` is the official code's foreground-normalized MSE (per image
  sum((pred - target)^2) / (C * max(mask area, min_area)), min_area 100); `kind="l1"` is the
  paper's mean absolute error. Both compare images in the normalized input space, as the code does.
- eq. 4 and 5, `sa_loss` (docs/training.md, "Losses"): "official" (the default) is the official
  code: the gradient reaches P_in through both terms, and eq. 5 hinges the batch-mean entropies,
  max(0, m - mean_b H(P_in) + mean_b H(P_out)). "fixed-input" is an ablation: P_in's distribution is
  a detached reference and eq. 5 is a hinge per image, then averaged.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

RECON_KINDS = ("fmse", "l1")
SA_LOSSES = ("official", "fixed-input")   # eq. 4-5 as the official code has them | P_in detached, per-image hinge


# eq. 1: hinge loss of the domain discriminator D (real features score high, rendered low)
def discriminator_hinge_loss(d_real: torch.Tensor, d_rendered: torch.Tensor) -> torch.Tensor:
    return F.relu(1.0 - d_real).mean() + F.relu(1.0 + d_rendered).mean()


# eq. 1: adversarial loss of the generator on the rendered features, L_G^rd = -E[D(f_in^rd)]
def generator_adversarial_loss(d_rendered: torch.Tensor) -> torch.Tensor:
    return -d_rendered.mean()


# eq. 2: reconstruction of the target, per domain: foreground-normalized MSE (official code) or L1 (paper)
def reconstruction_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
                        kind: str = "fmse", min_area: float = 100.0) -> torch.Tensor:
    """pred, target [B,C,H,W]; mask [B,1,H,W] in {0,1} (used by fmse only)."""
    if kind == "l1":
        return (pred - target).abs().mean()
    if kind != "fmse":
        raise ValueError(f"unknown reconstruction loss {kind!r}: use one of {RECON_KINDS}")
    per_image = ((pred - target) ** 2).flatten(1).sum(1)
    area = mask.flatten(1).sum(1).clamp_min(min_area)
    return (per_image / (pred.shape[1] * area)).mean()


# eq. 3: cross-entropy of a style classifier against a (soft) style label, -sum_k y_k log P_k
def style_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return -(labels * F.log_softmax(logits, dim=1)).sum(1).mean()


def entropy(logits: torch.Tensor) -> torch.Tensor:
    """Per-image entropy H(P) = -sum_k P_k log P_k of softmax(logits), shape [B]."""
    logp = F.log_softmax(logits, dim=1)
    return -(logp.exp() * logp).sum(1)


def check_sa_loss(sa_loss: str) -> None:
    if sa_loss not in SA_LOSSES:
        raise ValueError(f"unknown style aggregation loss {sa_loss!r}: use one of {SA_LOSSES}")


# eq. 4: weighted classification on real images, L_W = -sum_k P_k^in log P_k^out
def weighted_classification_loss(logits_in: torch.Tensor, logits_out: torch.Tensor,
                                 sa_loss: str = "official") -> torch.Tensor:
    check_sa_loss(sa_loss)
    p_in = F.softmax(logits_in, dim=1)
    if sa_loss == "fixed-input":
        p_in = p_in.detach()
    return -(p_in * F.log_softmax(logits_out, dim=1)).sum(1).mean()


# eq. 5: entropy reduction on real images, L_ER = max(0, m - H(P^in) + H(P^out))
def entropy_reduction_loss(logits_in: torch.Tensor, logits_out: torch.Tensor, margin: float = 1.0,
                           sa_loss: str = "official") -> torch.Tensor:
    check_sa_loss(sa_loss)
    if sa_loss == "official":
        # the official code hinges the batch means: one image far inside the margin offsets another outside it
        return F.relu(margin - entropy(logits_in).mean() + entropy(logits_out).mean())
    return F.relu(margin - entropy(logits_in.detach()) + entropy(logits_out)).mean()


@dataclass(frozen=True)
class LossWeights:
    """The trade-offs of eq. 6 (defaults of the official code, see docs/design.md)."""

    rec: float = 10.0        # the official code weights its fMSE by 10; eq. 6 writes 1 (use 1 with kind="l1")
    adv: float = 1.0         # lambda_adv
    sty_rd: float = 1.0      # lambda_sty^rd
    sty_rl: float = 0.5      # lambda_sty^rl
    margin: float = 1.0      # m of eq. 5


# eq. 6: the generator's total, L_rec^rd + L_rec^rl + l_adv L_G^rd + l_rd (L_in^rd + L_out^rd) + l_rl (L_W + L_ER)
def generator_total_loss(terms: dict[str, torch.Tensor], w: LossWeights) -> torch.Tensor:
    return (w.rec * (terms["rec_rd"] + terms["rec_rl"]) + w.adv * terms["adv"]
            + w.sty_rd * (terms["sty_in_rd"] + terms["sty_out_rd"])
            + w.sty_rl * (terms["w_rl"] + terms["er_rl"]))
