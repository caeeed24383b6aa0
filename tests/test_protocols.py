"""The evaluation presets of `rdh evaluate --protocol`, each computed by hand on small arrays.

One 8x8 pair is scored at 4x4 under every preset. The mask holds 0/255 at the pixels that
OpenCV's nearest neighbour samples (even rows and columns), other 0/255 values at the ones PIL's
samples (odd rows and columns), and grey values in between, so that the binary, PIL 1-bit and soft
masks all differ. The hand computations use only numpy and the filters' definitions.
"""
from __future__ import annotations

import math
import re

import numpy as np
import pytest

from harmonize.evaluate import score_row
from harmonize.metrics import PROTOCOLS, Protocol, preset_of, protocol_from
from rdhcore.errors import RdhError

EPS = 1e-6   # PSNR's epsilon on the MSE (iDIH's; rdh uses it under every preset)


def case():
    rng = np.random.default_rng(11)
    target = rng.integers(5, 236, size=(8, 8, 3)).astype(np.uint8)   # dark levels: the read-back lowers them
    composite = target.copy()
    composite[2:7, 1:6] = np.clip(target[2:7, 1:6].astype(int) + rng.integers(-60, 61, size=(5, 5, 3)), 0, 255)
    deliverable = target.copy()                                   # what `rdh harmonize` writes: full size, 8 bits
    deliverable[2:7, 1:6] = np.clip(target[2:7, 1:6].astype(int) + rng.integers(-9, 10, size=(5, 5, 3)), 0, 255)
    raw = rng.uniform(10, 245, size=(4, 4, 3))                    # the network's own 4x4 output, floats
    mask = np.zeros((8, 8), np.uint8)
    even = np.array([[0, 1, 1, 0], [1, 1, 0, 0], [0, 1, 1, 1], [0, 0, 1, 0]], np.uint8) * 255
    odd = np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0], [1, 0, 0, 1]], np.uint8) * 255
    mask[0::2, 0::2], mask[1::2, 1::2] = even, odd
    mask[0::2, 1::2] = rng.choice([0, 90, 170, 255], size=(4, 4))  # sampled by neither nearest
    mask[1::2, 0::2] = rng.choice([0, 90, 170, 255], size=(4, 4))
    return target, composite, deliverable, raw, mask, even / 255.0, odd / 255.0


def block_mean(img):
    """OpenCV's bilinear (and area) resize at exactly half the size: the mean of each 2x2 block."""
    img = img.astype(np.float64)
    return (img[0::2, 0::2] + img[0::2, 1::2] + img[1::2, 0::2] + img[1::2, 1::2]) / 4


def round_half_up(x):
    return np.floor(x + 0.5)


def pil_bilinear_matrix(n_in, n_out):
    """PIL's antialiased bilinear resampling as a matrix: a triangle of support `scale` around each
    output centre (i + 0.5) * scale, over input centres j + 0.5, cut at the borders and normalized."""
    scale = n_in / n_out
    w = np.zeros((n_out, n_in))
    for i in range(n_out):
        centre = (i + 0.5) * scale
        lo, hi = max(int(centre - scale + 0.5), 0), min(int(centre + scale + 0.5), n_in)
        for j in range(lo, hi):
            w[i, j] = max(0.0, 1 - abs((j + 0.5 - centre) / scale))
        w[i] /= w[i].sum()
    return w


def pil_bilinear_8bit(img):
    """PIL resizes an 8-bit image horizontally, rounds to 8 bits, then vertically, and rounds again."""
    w = pil_bilinear_matrix(img.shape[1], 4)
    across = np.clip(round_half_up(np.einsum("oj,hjc->hoc", w, img.astype(np.float64))), 0, 255)
    return np.clip(round_half_up(np.einsum("oi,iwc->owc", pil_bilinear_matrix(img.shape[0], 4), across)), 0, 255)


def read_back(img, mean, std, tensor2im):
    """What the official loader and tensor2im make of an 8-bit image: torch float32 ToTensor and
    Normalize, then tensor2im in numpy float32, truncated by astype(uint8)."""
    import torch

    t = torch.from_numpy(np.ascontiguousarray(img.astype(np.uint8).transpose(2, 0, 1))).float().div(255)
    t = t.sub(torch.as_tensor(mean).view(3, 1, 1)).div(torch.as_tensor(std).view(3, 1, 1))
    return tensor2im(t.numpy().transpose(1, 2, 0)).astype(np.uint8).astype(np.float64)


IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
CHARMNET_TENSOR2IM = lambda x: np.clip((x * np.float32(IMAGENET[1]) + np.float32(IMAGENET[0])) * 255.0, 0, 255)
PIX2PIX_TENSOR2IM = lambda x: (x + 1) / 2.0 * 255.0


def scores(pred, target, mask, peak):
    d2 = (pred - target) ** 2
    mse = d2.mean()
    return {"mse": mse, "fmse": (mask[..., None] * d2).sum() / (3 * mask.sum()),
            "psnr": 10 * math.log10(peak ** 2 / (mse + EPS))}


def by_hand(name):
    target, composite, deliverable, raw, mask, even, odd = case()
    if name == "rdh":       # full-resolution result, float bilinear, binary mask via OpenCV nearest, peak 255
        t, c, p, m = block_mean(target), block_mean(composite), block_mean(deliverable), even
        peak = lambda pred: 255.0
    elif name == "charmnet":  # raw output truncated, 8-bit bilinear read back, PIL 1-bit mask, peak = output range
        t, c = (read_back(round_half_up(block_mean(x)), *IMAGENET, CHARMNET_TENSOR2IM) for x in (target, composite))
        p, m = np.floor(raw), odd
        peak = lambda pred: pred.max() - pred.min()
    elif name == "iharm":   # raw float output, 8-bit bilinear, soft mask (float bilinear of mask / 255), peak = target max
        t, c, p, m = round_half_up(block_mean(target)), round_half_up(block_mean(composite)), raw, block_mean(mask / 255.0)
        peak = lambda pred: t.max()
    elif name == "dovenet":  # raw output truncated, PIL bilinear (8-bit) read back, PIL 1-bit mask, peak = output range
        t, c = (read_back(pil_bilinear_8bit(x), (0.5,) * 3, (0.5,) * 3, PIX2PIX_TENSOR2IM) for x in (target, composite))
        p, m = np.floor(raw), odd
        peak = lambda pred: pred.max() - pred.min()
    ours, comp = scores(p, t, m, peak(p)), scores(c, t, m, peak(c))
    return {**ours, **{f"composite_{k}": v for k, v in comp.items()}}


def test_the_case_tells_the_choices_apart():
    target, composite, deliverable, raw, mask, even, odd = case()
    assert not np.array_equal(even, odd) and not np.isin(block_mean(mask / 255.0), (0.0, 1.0)).all()
    assert not np.array_equal(round_half_up(block_mean(target)), pil_bilinear_8bit(target))
    assert not np.array_equal(np.floor(raw), np.rint(raw))
    small = round_half_up(block_mean(target))
    assert not np.array_equal(read_back(small, *IMAGENET, CHARMNET_TENSOR2IM), small), "the read-back must lower some levels"
    fractions = block_mean(target) % 1
    assert ((fractions > 0) & (fractions != 0.5)).any(), "8-bit rounding must change some values"


@pytest.mark.parametrize("name", ["rdh", "charmnet", "iharm", "dovenet"])
def test_each_preset_scores_as_computed_by_hand(name):
    target, composite, deliverable, raw, mask, _, _ = case()
    protocol = PROTOCOLS[name]
    assert protocol.size == 256 and preset_of(protocol) == name
    pred = deliverable if name == "rdh" else raw
    from dataclasses import replace

    got = score_row(pred, composite, target, mask, replace(protocol, size=4))
    expected = by_hand(name)
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-7), (name, key)   # the soft mask is resized in float32


def test_presets_differ_from_each_other_on_the_case():
    from dataclasses import replace

    target, composite, deliverable, raw, mask, _, _ = case()
    rows = {name: score_row(deliverable if name == "rdh" else raw, composite, target, mask, replace(p, size=4))
            for name, p in PROTOCOLS.items()}
    for key in ("composite_mse", "composite_fmse", "composite_psnr"):
        values = [rows[name][key] for name in PROTOCOLS]
        assert len({round(v, 9) for v in values}) >= 3, (key, values)


def test_options_override_a_preset():
    p = protocol_from("charmnet", {"psnr_peak": "255", "mask": "soft"})
    assert (p.raw_output, p.quantize, p.roundtrip, p.resize_8bit, p.psnr_peak, p.mask) == \
        (True, "truncate", "imagenet", True, "255", "soft")
    assert preset_of(p) is None and "PSNR peak 255" in p.describe()
    assert protocol_from("iharm", {"size": None}).size is None
    assert preset_of(protocol_from("dovenet", {"ssim": True})) == "dovenet"   # SSIM is an extra, not a choice
    assert preset_of(Protocol()) == "rdh" and Protocol().describe().startswith("rdh: ")
    with pytest.raises(RdhError, match="--protocol 'pix2pix'"):
        protocol_from("pix2pix")
    with pytest.raises(RdhError, match="--mask 'gray'"):
        protocol_from("rdh", {"mask": "gray"})
    with pytest.raises(RdhError, match="--quantize 'floor'"):
        protocol_from("rdh", {"quantize": "floor"})
    with pytest.raises(RdhError, match="--roundtrip 'torch'"):
        protocol_from("rdh", {"roundtrip": "torch"})


def test_evaluate_help_lists_the_presets(rdh_main):
    code, out, _ = rdh_main("evaluate", "--help")
    text = re.sub(r"\s+", " ", re.sub(r"[│╭╮╰╯─]", " ", out))
    assert code == 0 and "--protocol" in text
    for name in PROTOCOLS:
        assert re.search(rf"\b{name}\b ", text), name
    for option in ("--raw-output", "--resize-filter", "--resize-8bit", "--mask", "--quantize", "--roundtrip", "--psnr-peak", "--best"):
        assert option in text, option


class Recorder:
    """A stand-in model that returns its input and remembers the masks it was given."""

    image_size = 4

    def __init__(self):
        import torch

        self.device = torch.device("cpu")
        self.masks = []

    def __call__(self, composite, mask):
        self.masks.append(mask.clone())
        return composite


@pytest.mark.parametrize("name, soft", [("iharm", True), ("charmnet", False)])
def test_raw_output_feeds_the_network_the_mask_it_scores_with(tmp_path, name, soft):
    from dataclasses import replace

    from rdhcore.imageio import write_image
    from harmonize.evaluate import EvalConfig, _raw_from_model
    import pandas as pd

    target, composite, _, _, mask, _, odd = case()
    write_image(tmp_path / "c.png", composite), write_image(tmp_path / "t.png", target), write_image(tmp_path / "m.png", mask)
    rows = pd.DataFrame([{"pair_id": "p", "composite_path": str(tmp_path / "c.png"), "target_path": str(tmp_path / "t.png"),
                          "mask_path": str(tmp_path / "m.png")}])
    model = Recorder()
    cfg = EvalConfig(manifest=tmp_path / "m.parquet", checkpoint=tmp_path, protocol=replace(PROTOCOLS[name], size=4))
    (_, pred, *_), = list(_raw_from_model(rows, cfg, model))
    seen = model.masks[0][0, 0].numpy()
    np.testing.assert_allclose(seen, block_mean(mask / 255.0) if soft else odd, atol=1e-6)
    # the stand-in returns its input: the raw output is the 8-bit bilinear composite
    np.testing.assert_allclose(pred, round_half_up(block_mean(composite)), atol=1e-3)
