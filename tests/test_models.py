"""Model shapes (the real default architecture), stage wiring, gradients of the D and G steps, checkpoints."""
import pytest
import torch

from harmonize import losses
from harmonize.blocks import UNetSpec
from harmonize.charmnet import CharmNetGenerator
from harmonize.checkpoint import FORMAT, load_checkpoint, model_payload, save_checkpoint
from harmonize.inference import load_harmonizer
from harmonize.classifiers import StyleClassifier
from harmonize.discriminator import DomainDiscriminator
from harmonize.idih import IDIH
from harmonize.steps import Batch, CharmNetStep, StepSettings
from rdhcore.errors import RdhError

TINY = UNetSpec(depth=5, width=8)


def inputs(b=2, s=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    mask = torch.zeros(b, 1, s, s)
    mask[:, :, s // 4: s // 2, s // 4: s // 2] = 1
    return torch.randn(b, 3, s, s, generator=g), mask


@torch.no_grad()
def test_default_architecture_shapes_and_channels():
    spec = UNetSpec()
    assert [spec.channels(i) for i in range(7)] == [64, 64, 128, 128, 256, 256, 512]
    image, mask = inputs(2, 256)
    idih = IDIH()
    out = idih(image, mask)
    assert out.image.shape == (2, 3, 256, 256) and out.attention.shape == (2, 1, 256, 256)
    assert float(out.attention.min()) >= 0 and float(out.attention.max()) <= 1
    # The bottleneck is 512 x 1 x 1 at 256x256 (the last encoder level has no padding).
    assert idih.encoder(torch.cat([image, mask], 1))[-1].shape == (2, 512, 1, 1)

    gen = CharmNetGenerator()
    assert gen.feature_channels == 128
    for domain in ("rendered", "real"):
        o = gen(image, mask, domain)
        assert o.image.shape == (2, 3, 256, 256)
        assert o.f_in.shape == (2, 128, 16, 16) and o.f_out.shape == (2, 128, 16, 16)
    d = DomainDiscriminator(128, 64)
    assert d(o.f_in).shape == (2, 1, 16, 16)
    assert [m.out_channels for m in d.modules() if isinstance(m, torch.nn.Conv2d)] == [64, 32, 1]
    p = StyleClassifier(128, 64, 10)
    assert p(o.f_out).shape == (2, 10)
    assert [m.out_channels for m in p.modules() if isinstance(m, torch.nn.Conv2d)] == [64, 32, 16, 10]
    # CharmNet = iDIH plus one more copy of the domain-specific parts (+ nothing else).
    n_idih = sum(p.numel() for p in idih.parameters())
    n_specific = sum(p.numel() for p in gen.encoders["real"].parameters()) + \
        sum(p.numel() for p in gen.decoders["real"].parameters())
    assert sum(p.numel() for p in gen.parameters()) == n_idih + n_specific


def test_domains_have_their_own_encoders_and_decoders_and_share_the_middle():
    gen = CharmNetGenerator(TINY, unshared=3).eval()
    image, mask = inputs(2, 64)
    ids = {d: {id(p) for p in gen.encoders[d].parameters()} | {id(p) for p in gen.decoders[d].parameters()}
           for d in ("rendered", "real")}
    assert not ids["rendered"] & ids["real"]
    with torch.no_grad():
        rd, rl = gen(image, mask, "rendered"), gen(image, mask, "real")
        assert not torch.allclose(rd.f_in, rl.f_in)
        # The shared stage is one function of f_in for both domains.
        assert torch.allclose(gen.shared(rl.f_in), rl.f_out)
        assert torch.allclose(gen.shared(rd.f_in), rd.f_out)


@pytest.mark.parametrize("depth,unshared,size", [(6, 2, 128), (5, 4, 64), (4, 1, 32)])
def test_depth_and_unshared_layers_are_settings(depth, unshared, size):
    spec = UNetSpec(depth=depth, width=8)
    gen = CharmNetGenerator(spec, unshared=unshared)
    image, mask = inputs(2, size)
    o = gen(image, mask, "real")
    assert o.image.shape == (2, 3, size, size)
    assert o.f_in.shape == o.f_out.shape == (2, spec.channels(unshared - 1), size >> unshared, size >> unshared)
    assert len(gen.encoders["real"].stage.blocks) == unshared
    assert len(gen.decoders["real"].stage.blocks) == unshared
    assert len(gen.shared.encoder.blocks) == depth - unshared
    assert StyleClassifier(gen.feature_channels, 8, 10)(o.f_in).shape == (2, 10)


def test_blending_passes_the_input_where_attention_is_one():
    gen = IDIH(TINY).eval()
    with torch.no_grad():
        gen.blend.attention.bias.fill_(100.0)  # sigmoid(300) = 1: output = input
    image, mask = inputs(1, 64)
    with torch.no_grad():
        assert torch.allclose(gen(image, mask).image, image, atol=1e-5)


def tiny_step():
    torch.manual_seed(0)
    gen = CharmNetGenerator(TINY, unshared=3)
    c = gen.feature_channels
    return CharmNetStep(gen, DomainDiscriminator(c, 8), StyleClassifier(c, 8, 10), StyleClassifier(c, 8, 10),
                        StepSettings(lr=1e-3))


def make_batch(seed):
    image, mask = inputs(2, 64, seed)
    target = image + 0.1
    label = torch.zeros(2, 10)
    label[:, 3] = 1
    return Batch(image, target, mask, label * 0.7 + torch.roll(label, 1, 1) * 0.3, label)


def snapshot(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_discriminator_step_leaves_the_generator_unchanged():
    step = tiny_step()
    rd, rl = make_batch(1), make_batch(2)
    o = step.trainable(rd.composite, rd.mask, rl.composite, rl.mask)
    g_before, c_before, d_before = snapshot(step.generator), snapshot(step.style_in), snapshot(step.discriminator)
    step.discriminator_step(o["f_in_rd"], o["f_in_rl"])
    assert all(torch.equal(v, step.generator.state_dict()[k]) for k, v in g_before.items())
    assert all(torch.equal(v, step.style_in.state_dict()[k]) for k, v in c_before.items())
    assert any(not torch.equal(v, step.discriminator.state_dict()[k]) for k, v in d_before.items())
    assert all(p.grad is None for p in step.generator.parameters())


def test_adversarial_generator_loss_reaches_only_the_rendered_encoder():
    step = tiny_step()
    rd, rl = make_batch(1), make_batch(2)
    o = step.trainable(rd.composite, rd.mask, rl.composite, rl.mask)
    terms = step.generator_terms(o, rd, rl)
    terms["adv"].backward()
    gen = step.generator
    reached = {name.split(".")[0] + "." + name.split(".")[1] for name, p in gen.named_parameters()
               if p.grad is not None and p.grad.abs().sum() > 0}
    assert reached == {"encoders.rendered"}
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in gen.encoders["rendered"].parameters()
               if p.dim() > 1)
    assert all(p.grad is None for p in step.discriminator.parameters())  # D is frozen in the G step
    assert all(p.requires_grad for p in step.discriminator.parameters())  # ... and unfrozen after


def test_full_charmnet_step_updates_every_network():
    step = tiny_step()
    before = {n: snapshot(m) for n, m in step.modules().items()}
    terms = step({"rendered": make_batch(1), "real": make_batch(2)})
    assert {"rec_rd", "rec_rl", "adv", "sty_in_rd", "sty_out_rd", "w_rl", "er_rl", "loss_G", "loss_D"} <= set(terms)
    assert all(torch.isfinite(v) for v in terms.values())
    for name, module in step.modules().items():
        assert any(not torch.equal(v, module.state_dict()[k]) for k, v in before[name].items()), name
    expected = losses.generator_total_loss(terms, step.settings.weights)
    assert terms["loss_G"].item() == pytest.approx(expected.item(), rel=1e-6)


def test_harmonizer_uses_the_real_branch_and_returns_images_in_0_1(tmp_path):
    torch.manual_seed(0)
    gen = CharmNetGenerator(TINY, unshared=3).eval()
    path = save_checkpoint(model_payload(gen, "charmnet", 64), tmp_path / "c.pt")
    h = load_harmonizer(path)
    assert (h.model_name, h.image_size) == ("charmnet", 64)
    g = torch.Generator().manual_seed(3)
    comp = torch.rand(2, 3, 64, 64, generator=g)
    mask = torch.zeros(2, 1, 64, 64)
    mask[:, :, 10:30, 10:40] = 1
    y = h(comp, mask)
    assert y.shape == (2, 3, 64, 64) and float(y.min()) >= 0 and float(y.max()) <= 1
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        real = (gen((comp - mean) / std, mask, "real").image * std + mean).clamp(0, 1)
        rendered = (gen((comp - mean) / std, mask, "rendered").image * std + mean).clamp(0, 1)
    assert torch.allclose(y, real, atol=1e-6)
    assert not torch.allclose(y, rendered, atol=1e-3)


def test_checkpoint_refuses_other_models_versions_and_files(tmp_path):
    path = save_checkpoint(model_payload(IDIH(TINY), "idih", 64), tmp_path / "i.pt")
    assert torch.load(path, weights_only=True)["format"] == FORMAT
    assert load_checkpoint(path, model="idih")["model_name"] == "idih"
    with pytest.raises(RdhError, match="holds a idih model, not charmnet"):
        load_checkpoint(path, model="charmnet")
    old = model_payload(IDIH(TINY), "idih", 64)
    old["format"] = "rdh.checkpoint/0"
    with pytest.raises(RdhError, match="format"):
        load_checkpoint(save_checkpoint(old, tmp_path / "old.pt"))
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(RdhError, match="not a torch checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")
    with pytest.raises(RdhError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")
