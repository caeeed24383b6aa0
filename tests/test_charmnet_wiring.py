"""How the CharmNet step is wired: model sizes, normalization layers, where each loss term's
gradient goes, which way the domain discriminator learns, and which label reaches which classifier.

Each test fails when one connection of harmonize/steps.py is swapped (issue 11): the labels of
the rendered batch, the real-domain classifier outputs, or the real and rendered rows of the D step.
"""
from __future__ import annotations

import pytest
import torch
from torch import nn

from harmonize import losses
from harmonize.blocks import UNetSpec
from harmonize.charmnet import CharmNetGenerator
from harmonize.classifiers import StyleClassifier
from harmonize.data import PairDataset, load_rows
from harmonize.discriminator import DomainDiscriminator
from harmonize.idih import IDIH
from harmonize.steps import Batch, CharmNetStep, StepSettings, to_batch
from tests.train_support import make_rendered

K = 10
SIZE = 32
TINY = UNetSpec(depth=4, width=8)    # f_in: 8 channels at 8x8 with unshared=2


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def conv4(cin: int, cout: int, bn: bool) -> int:
    """A 4x4 (transposed) convolution with bias, plus BatchNorm's weight and bias."""
    return cin * cout * 16 + cout + (2 * cout if bn else 0)


# ---- sizes and normalization layers at the paper's size ----

def test_parameter_counts_of_the_paper_size_models_match_the_official_code():
    # By hand from the official code (iDIH improved_dih / CharmNet DAGenerator): encoder channels
    # 64, 64, 128, 128, 256, 256, 512 from 4 input channels, BatchNorm from level 2; decoder blocks
    # 512->256, 256->256, 256->128, 128->128, 128->64, 64->64, 64->32, all with BatchNorm; the
    # blending head is a 1x1 conv to 1 (attention) and a 1x1 conv to 3 (to_rgb) on 32 channels.
    enc = [(4, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 512)]
    dec = [(512, 256), (256, 256), (256, 128), (128, 128), (128, 64), (64, 64), (64, 32)]
    encoder = [conv4(i, o, bn=level >= 2) for level, (i, o) in enumerate(enc)]
    decoder = [conv4(i, o, bn=True) for i, o in dec]
    head = (32 + 1) + (32 * 3 + 3)
    idih = sum(encoder) + sum(decoder) + head
    # CharmNet: encoder levels 0-3 and the last 4 decoder blocks with the head, once per domain.
    charmnet = idih + sum(encoder[:4]) + sum(decoder[3:]) + head
    assert (idih, charmnet) == (8_301_284, 9_257_544)
    assert n_params(IDIH()) == idih
    assert n_params(CharmNetGenerator()) == charmnet


def norms_of(stage) -> list[bool]:
    """Per block of an EncoderStage/DecoderStage: does it hold a BatchNorm?"""
    return [any(isinstance(m, nn.BatchNorm2d) for m in block.modules()) for block in stage.blocks]


def test_batchnorm_only_from_encoder_level_2():
    idih = IDIH()
    assert norms_of(idih.encoder) == [False, False, True, True, True, True, True]
    assert norms_of(idih.decoder) == [True] * 7
    gen = CharmNetGenerator()
    for domain in ("rendered", "real"):
        assert norms_of(gen.encoders[domain].stage) == [False, False, True, True]       # levels 0-3
        assert norms_of(gen.decoders[domain].stage) == [True] * 4
    assert norms_of(gen.shared.encoder) == [True, True, True]                           # levels 4-6
    assert norms_of(gen.shared.decoder) == [True] * 3


# ---- a tiny CharmNet step ----

def make_step(sa_loss: str = "official", seed: int = 0, lr: float = 1e-4) -> CharmNetStep:
    torch.manual_seed(seed)
    gen = CharmNetGenerator(TINY, unshared=2)
    c = gen.feature_channels
    return CharmNetStep(gen, DomainDiscriminator(c, 8), StyleClassifier(c, 8, K), StyleClassifier(c, 8, K),
                        StepSettings(lr=lr, sa_loss=sa_loss))


def soft(fg: int, bg: int, r: float, n: int) -> torch.Tensor:
    label = torch.zeros(n, K)
    label[:, fg] += r
    label[:, bg] += 1 - r
    return label


def batches(seed: int = 1, n: int = 3) -> tuple[Batch, Batch]:
    g = torch.Generator().manual_seed(seed)
    mask = torch.zeros(n, 1, SIZE, SIZE)
    mask[:, :, 8:24, 6:20] = 1

    def images(shift: float) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.randn(n, 3, SIZE, SIZE, generator=g) + shift, torch.randn(n, 3, SIZE, SIZE, generator=g) + shift

    rd_c, rd_t = images(0.5)
    rl_c, rl_t = images(-0.5)
    # rendered: composite of style 3 over style 7 (soft), target one-hot style 7; real pairs carry zeros
    rd = Batch(rd_c, rd_t, mask, soft(3, 7, 0.3, n), soft(7, 7, 1.0, n))
    rl = Batch(rl_c, rl_t, mask, torch.zeros(n, K), torch.zeros(n, K))
    return rd, rl


GROUPS = ("E_rd", "E_rl", "shared", "D_rd", "D_rl", "P_in", "P_out", "D")


def groups_of(step: CharmNetStep) -> dict[str, nn.Module]:
    g = step.generator
    return {"E_rd": g.encoders["rendered"], "E_rl": g.encoders["real"], "shared": g.shared,
            "D_rd": g.decoders["rendered"], "D_rl": g.decoders["real"],
            "P_in": step.style_in, "P_out": step.style_out, "D": step.discriminator}


def reached(loss: torch.Tensor, step: CharmNetStep) -> set[str]:
    """The module groups whose parameters get a nonzero gradient from `loss`."""
    found = set()
    for name, module in groups_of(step).items():
        params = [p for p in module.parameters() if p.requires_grad]
        grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
        if any(gr is not None and gr.abs().sum() > 0 for gr in grads):
            found.add(name)
    return found


def forward_terms(step: CharmNetStep, rd: Batch, rl: Batch) -> tuple[dict, dict]:
    o = step.trainable(rd.composite, rd.mask, rl.composite, rl.mask)
    return o, step.generator_terms(o, rd, rl)


@pytest.mark.parametrize("sa_loss", losses.SA_LOSSES)
def test_each_loss_term_reaches_exactly_its_modules(sa_loss):
    torch.set_num_threads(1)
    step = make_step(sa_loss)
    rd, rl = batches()
    _, terms = forward_terms(step, rd, rl)
    assert terms["er_rl"].item() > 0, "the entropy hinge must be active for its gradient to mean anything"
    sa = {"E_rl", "shared", "P_out"} | ({"P_in"} if sa_loss == "official" else set())
    expected = {
        "rec_rd": {"E_rd", "shared", "D_rd"},
        "rec_rl": {"E_rl", "shared", "D_rl"},            # nothing rendered
        "adv": {"E_rd"},                                 # D is frozen in the generator step
        "sty_in_rd": {"E_rd", "P_in"},                   # nothing real
        "sty_out_rd": {"E_rd", "shared", "P_out"},
        "w_rl": sa,
        "er_rl": sa,
    }
    got = {name: reached(terms[name], step) for name in expected}
    assert got == expected


def test_the_soft_label_goes_to_p_in_and_the_one_hot_to_p_out(tmp_path):
    # From a manifest through PairDataset and to_batch, as training reads it.
    torch.set_num_threads(1)
    rows = load_rows(make_rendered(tmp_path, n_scenes=1, size=SIZE, styles=(2, 5)))
    ds = PairDataset(rows, SIZE)
    items = [ds[i] for i in range(len(ds))]
    raw = {k: torch.stack([it[k] for it in items]) for k in ("composite", "target", "mask", "label_in", "label_out")}
    rd = to_batch(raw, torch.device("cpu"))
    soft_rows = torch.tensor([list(v) for v in rows["composite_label"]])
    onehot_rows = torch.tensor([list(v) for v in rows["target_label"]])
    assert ((soft_rows > 0) & (soft_rows < 1)).any(1).all(), "composite labels must be soft for the test to mean anything"
    assert torch.equal(rd.label_in, soft_rows) and torch.equal(rd.label_out, onehot_rows)

    step = make_step()
    _, rl = batches(n=len(ds))
    o = step.trainable(rd.composite, rd.mask, rl.composite, rl.mask)
    # Peaked classifier outputs, so that the soft and the one-hot label give far apart losses.
    g = torch.Generator().manual_seed(5)
    o = {**o, "p_in_rd": 3 * torch.randn(len(ds), K, generator=g), "p_out_rd": 3 * torch.randn(len(ds), K, generator=g)}
    terms = step.generator_terms(o, rd, rl)
    ce = lambda logits, label: -(label * torch.log_softmax(logits, 1)).sum(1).mean().item()
    assert terms["sty_in_rd"].item() == pytest.approx(ce(o["p_in_rd"], soft_rows), rel=1e-6)
    assert terms["sty_out_rd"].item() == pytest.approx(ce(o["p_out_rd"], onehot_rows), rel=1e-6)
    assert abs(ce(o["p_in_rd"], soft_rows) - ce(o["p_in_rd"], onehot_rows)) > 0.1
    assert abs(ce(o["p_out_rd"], soft_rows) - ce(o["p_out_rd"], onehot_rows)) > 0.1


@pytest.mark.parametrize("sa_loss", losses.SA_LOSSES)
def test_style_aggregation_reads_p_in_before_and_p_out_after_the_shared_stage(sa_loss):
    torch.set_num_threads(1)
    step = make_step(sa_loss)
    rd, rl = batches()
    o, terms = forward_terms(step, rd, rl)
    # the classifiers' outputs are the ones the forward pass made from f_in (P_in) and f_out (P_out)
    p_in, log_out = torch.softmax(o["p_in_rl"], 1), torch.log_softmax(o["p_out_rl"], 1)
    assert terms["w_rl"].item() == pytest.approx(-(p_in * log_out).sum(1).mean().item(), rel=1e-6)
    h_in, h_out = losses.entropy(o["p_in_rl"]), losses.entropy(o["p_out_rl"])
    er = (1.0 - h_in.mean() + h_out.mean()).clamp_min(0) if sa_loss == "official" else (1.0 - h_in + h_out).clamp_min(0).mean()
    assert terms["er_rl"].item() == pytest.approx(er.item(), rel=1e-6)
    swapped = -(torch.softmax(o["p_out_rl"], 1) * torch.log_softmax(o["p_in_rl"], 1)).sum(1).mean()
    assert abs(swapped - terms["w_rl"]).item() > 1e-4
    # and P_in is the classifier that reads the domain-specific features
    assert torch.allclose(step.style_in(o["f_in_rl"]), o["p_in_rl"], atol=1e-6)


def test_the_discriminator_learns_to_score_real_features_high():
    torch.set_num_threads(1)
    step = make_step(lr=1e-3)
    g = torch.Generator().manual_seed(3)
    f_rd = torch.randn(4, 8, 8, 8, generator=g) - 1.0     # fixed features of the two domains
    f_rl = torch.randn(4, 8, 8, 8, generator=g) + 1.0
    first = step.discriminator_step(f_rd, f_rl)
    for _ in range(30):
        last = step.discriminator_step(f_rd, f_rl)
    with torch.no_grad():
        d_rl, d_rd = step.discriminator(f_rl).mean().item(), step.discriminator(f_rd).mean().item()
    assert d_rl > 0.5 and d_rd < -0.5, (d_rl, d_rd)
    assert last["d_real"].item() > last["d_rendered"].item() + 1.0
    assert last["loss_D"].item() < first["loss_D"].item()
    # the generator's adversarial term then asks the rendered features to look real: -mean D(f_rd) > 0
    assert losses.generator_adversarial_loss(step.discriminator(f_rd)).item() > 0.5
