"""Each loss of eq. 1-6 on small hand-made tensors, against values worked out by hand."""
import math

import pytest
import torch

from harmonize import losses


def logits_of(*probs):
    """Logits whose softmax is `probs` (one row per argument)."""
    return torch.log(torch.tensor(probs, dtype=torch.float64))


def test_discriminator_hinge_loss_eq1():
    d_real = torch.tensor([[2.0, 0.5]])      # relu(1-2)=0, relu(1-0.5)=0.5 -> mean 0.25
    d_rendered = torch.tensor([[-2.0, 0.0]])  # relu(1-2)=0, relu(1+0)=1 -> mean 0.5
    assert losses.discriminator_hinge_loss(d_real, d_rendered).item() == pytest.approx(0.75)
    # A perfect discriminator (margins met) has zero loss.
    assert losses.discriminator_hinge_loss(torch.full((2, 1, 3, 3), 1.5), torch.full((2, 1, 3, 3), -1.0)).item() == 0.0


def test_generator_adversarial_loss_eq1():
    assert losses.generator_adversarial_loss(torch.tensor([[1.0, -3.0]])).item() == pytest.approx(1.0)
    assert losses.generator_adversarial_loss(torch.tensor([2.0, 4.0])).item() == pytest.approx(-3.0)


def _recon_case():
    target = torch.zeros(2, 3, 4, 4)
    pred = torch.zeros(2, 3, 4, 4)
    pred[0] += 1.0                 # image 0: every value off by 1 -> squared sum 48, abs sum 48
    pred[1, 2, 0, 0] = 2.0         # image 1: one value off by 2 -> squared sum 4, abs sum 2
    mask = torch.zeros(2, 1, 4, 4)
    mask[0, :, :2, :2] = 1         # area 4; image 1 has an empty mask
    return pred, target, mask


def test_reconstruction_fmse_eq2_with_min_area():
    pred, target, mask = _recon_case()
    # min_area 2: image 0 48 / (3 * 4) = 4; image 1 4 / (3 * max(0, 2)) = 2/3 -> mean 7/3
    assert losses.reconstruction_loss(pred, target, mask, "fmse", min_area=2).item() == pytest.approx(7 / 3)
    # the official min_area 100 clamps both areas: (48 + 4) / 300 / 2
    assert losses.reconstruction_loss(pred, target, mask, "fmse").item() == pytest.approx(52 / 600)


def test_reconstruction_l1_eq2():
    pred, target, mask = _recon_case()
    assert losses.reconstruction_loss(pred, target, mask, "l1").item() == pytest.approx((48 + 2) / 96)
    with pytest.raises(ValueError):
        losses.reconstruction_loss(pred, target, mask, "l2")


def test_style_cross_entropy_eq3_soft_label():
    logits = logits_of([0.5, 0.25, 0.125, 0.125])
    soft = torch.tensor([[0.8, 0.2, 0.0, 0.0]], dtype=torch.float64)
    expected = -(0.8 * math.log(0.5) + 0.2 * math.log(0.25))
    assert losses.style_cross_entropy(logits, soft).item() == pytest.approx(expected)
    onehot = torch.tensor([[0.0, 0.0, 1.0, 0.0]], dtype=torch.float64)
    assert losses.style_cross_entropy(logits, onehot).item() == pytest.approx(math.log(8))


def test_weighted_classification_eq4():
    p_in, p_out = [0.7, 0.1, 0.1, 0.1], [0.4, 0.3, 0.2, 0.1]
    expected = -(0.7 * math.log(0.4) + 0.1 * math.log(0.3) + 0.1 * math.log(0.2) + 0.1 * math.log(0.1))
    got = losses.weighted_classification_loss(logits_of(p_in), logits_of(p_out))
    assert got.item() == pytest.approx(expected)


def test_weighted_classification_gradient_reaches_p_in_only_when_official():
    li = logits_of([0.7, 0.1, 0.1, 0.1]).requires_grad_()
    lo = logits_of([0.4, 0.3, 0.2, 0.1]).requires_grad_()
    losses.weighted_classification_loss(li, lo, sa_loss="fixed-input").backward()
    assert li.grad is None and lo.grad.abs().sum() > 0
    li2 = li.detach().clone().requires_grad_()
    losses.weighted_classification_loss(li2, lo.detach()).backward()   # official, the default
    # d/dz_j of -sum_k p_k log q_k with p = softmax(z): -p_j (log q_j - sum_k p_k log q_k)
    p, logq = torch.tensor([0.7, 0.1, 0.1, 0.1], dtype=torch.float64), torch.log(torch.tensor([0.4, 0.3, 0.2, 0.1], dtype=torch.float64))
    assert li2.grad[0].tolist() == pytest.approx((-p * (logq - (p * logq).sum())).tolist())
    with pytest.raises(ValueError, match="fixed_input"):
        losses.weighted_classification_loss(li, lo, sa_loss="fixed_input")


def test_entropy_by_hand():
    peaked = [0.97, 0.01, 0.01, 0.01]
    h = -(0.97 * math.log(0.97) + 3 * 0.01 * math.log(0.01))
    assert losses.entropy(logits_of(peaked, [0.25] * 4)).tolist() == pytest.approx([h, math.log(4)])


UNIFORM, PEAKED = [0.25] * 4, [0.97, 0.01, 0.01, 0.01]
H_U, H_P = math.log(4), -(0.97 * math.log(0.97) + 3 * 0.01 * math.log(0.01))   # 1.3863, 0.1677


def test_entropy_reduction_eq5_one_image_both_variants():
    # input peaked, output uniform: max(0, 1 - h_p + h_u) = 2.2186...; one image: both variants agree
    for sa_loss in losses.SA_LOSSES:
        got = losses.entropy_reduction_loss(logits_of(PEAKED), logits_of(UNIFORM), margin=1.0, sa_loss=sa_loss)
        assert got.item() == pytest.approx(1 - H_P + H_U), sa_loss


def test_entropy_reduction_eq5_official_hinges_the_batch_means():
    # image 0 meets the margin (1 - h_u + h_p = -0.219), image 1 does not (1 - h_p + h_u = 2.219)
    li, lo = logits_of(UNIFORM, PEAKED), logits_of(PEAKED, UNIFORM)
    per_image = losses.entropy_reduction_loss(li, lo, margin=1.0, sa_loss="fixed-input")
    assert per_image.item() == pytest.approx((0 + 1 - H_P + H_U) / 2)                 # mean of the hinges
    official = losses.entropy_reduction_loss(li, lo, margin=1.0)
    assert official.item() == pytest.approx(1 - (H_U + H_P) / 2 + (H_P + H_U) / 2)    # hinge of the means = 1.0
    # Uniform inputs, outputs peaked and mild (H 1.2799), m = 0.5: image 1 alone misses the margin
    # (0.5 - 1.3863 + 1.2799 = 0.394), the batch means meet it (0.5 - 1.3863 + 0.7238 = -0.162).
    mild = [0.4, 0.3, 0.2, 0.1]
    h_m = -sum(q * math.log(q) for q in mild)
    li, lo = logits_of(UNIFORM, UNIFORM), logits_of(PEAKED, mild)
    assert losses.entropy_reduction_loss(li, lo, margin=0.5).item() == 0.0
    assert losses.entropy_reduction_loss(li, lo, margin=0.5, sa_loss="fixed-input").item() == pytest.approx((0.5 - H_U + h_m) / 2)


def test_entropy_reduction_official_raises_the_input_entropy_fixed_input_cannot():
    li = logits_of([0.6, 0.2, 0.1, 0.1]).requires_grad_()
    lo = logits_of([0.5, 0.3, 0.1, 0.1]).requires_grad_()
    losses.entropy_reduction_loss(li, lo, margin=1.0).backward()
    stepped = li.detach() - 0.1 * li.grad
    assert losses.entropy(stepped).item() > losses.entropy(li.detach()).item()   # P_in flattened by the step
    li2 = li.detach().clone().requires_grad_()
    losses.entropy_reduction_loss(li2, lo, margin=1.0, sa_loss="fixed-input").backward()
    assert li2.grad is None


def test_entropy_reduction_is_zero_with_zero_gradient_when_margin_met():
    # H(P_out) + m <= H(P_in): uniform input (1.386), peaked output (0.168), m = 1 -> 1.168 <= 1.386
    li = logits_of(UNIFORM, UNIFORM).requires_grad_()
    lo = logits_of(PEAKED, [0.01, 0.97, 0.01, 0.01]).requires_grad_()
    loss = losses.entropy_reduction_loss(li, lo, margin=1.0)
    loss.backward()
    assert loss.item() == 0.0
    assert torch.all(lo.grad == 0) and torch.all(li.grad == 0)
    # Just past the boundary (m large enough) the loss is positive and pushes the output entropy down.
    lo2 = lo.detach().clone().requires_grad_()
    loss2 = losses.entropy_reduction_loss(li.detach(), lo2, margin=1.5, sa_loss="fixed-input")
    loss2.backward()
    assert loss2.item() == pytest.approx(1.5 - math.log(4) + losses.entropy(lo2[:1]).item(), rel=1e-6)
    stepped = lo2 - 0.1 * lo2.grad
    assert torch.all(losses.entropy(stepped) < losses.entropy(lo2.detach()))


def test_total_eq6():
    terms = {k: torch.tensor(v) for k, v in dict(rec_rd=1.0, rec_rl=2.0, adv=-0.5, sty_in_rd=3.0, sty_out_rd=4.0,
                                                 w_rl=5.0, er_rl=6.0).items()}
    w = losses.LossWeights(rec=10.0, adv=2.0, sty_rd=0.1, sty_rl=0.5)
    expected = 10 * (1 + 2) + 2 * -0.5 + 0.1 * (3 + 4) + 0.5 * (5 + 6)
    assert losses.generator_total_loss(terms, w).item() == pytest.approx(expected)
    defaults = losses.LossWeights()
    assert (defaults.rec, defaults.adv, defaults.sty_rd, defaults.sty_rl, defaults.margin) == (10.0, 1.0, 1.0, 0.5, 1.0)
