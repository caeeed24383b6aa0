"""Inference at any resolution and `rdh harmonize` on files and folders."""
from __future__ import annotations


import numpy as np
import pytest
import torch

from rdhcore.imageio import read_rgb, write_image, write_mask
from harmonize.blocks import UNetSpec
from harmonize.checkpoint import model_payload, save_checkpoint
from harmonize.idih import IDIH
from harmonize.inference import HarmonizeConfig, find_mask, harmonize_files, harmonize_image
from rdhcore.errors import RdhError


class ShiftModel:
    """A stand-in model: adds `shift(x)` (a function of the column, in [0, 1] units) inside the mask."""

    def __init__(self, size=64, shift=lambda x: 0.2 + 0 * x):
        self.image_size = size
        self.device = torch.device("cpu")
        self.shift = shift
        self.calls = []

    def __call__(self, composite, mask):
        self.calls.append(tuple(composite.shape))
        s = composite.shape[-1]
        x = torch.linspace(0.0, 1.0, s).view(1, 1, 1, s)
        return (composite + self.shift(x) * mask).clamp(0, 1)


def scene(h=150, w=230, seed=0):
    """A textured composite (values <= 180) and a binary disk mask, at a size unlike the model's."""
    rng = np.random.default_rng(seed)
    img = rng.integers(20, 180, size=(h, w, 3)).astype(np.uint8)
    yy, xx = np.mgrid[0:h, 0:w]
    mask = (yy - h * 0.5) ** 2 + (xx - w * 0.45) ** 2 < (min(h, w) * 0.3) ** 2
    return img, mask


def rim(mask):
    """Foreground pixels with a background 4-neighbour."""
    pad = np.pad(mask, 1)
    inner = pad[:-2, 1:-1] & pad[2:, 1:-1] & pad[1:-1, :-2] & pad[1:-1, 2:]
    return mask & ~inner


def test_constant_correction_reaches_every_foreground_pixel_and_no_background_pixel():
    img, mask = scene()
    model = ShiftModel()
    out = harmonize_image(model, img, mask)
    assert model.calls == [(1, 3, 64, 64)]                       # the model ran at its own size
    assert out.shape == img.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out[~mask], img[~mask])         # background bit-exact
    diff = out.astype(int) - img.astype(int)
    assert (diff[mask] == 51).all()                               # 0.2 * 255, rim included: no seam
    assert rim(mask).sum() > 100


def test_smooth_correction_is_upsampled_without_a_rim():
    img, mask = scene(h=200, w=320, seed=1)
    model = ShiftModel(shift=lambda x: 0.05 + 0.2 * x)           # a left-to-right ramp, 12.75 .. 63.75 levels
    out = harmonize_image(model, img, mask)
    expected = 255 * (0.05 + 0.2 * np.linspace(0, 1, 320))[None, :].repeat(200, 0)
    err = np.abs(out.astype(float) - img.astype(float) - expected[..., None])
    # the ramp is sampled at 64 columns: upsampling it is accurate to ~1 level, at the rim as inside
    assert err[mask].max() <= 2.0
    assert err[rim(mask)].mean() <= err[mask & ~rim(mask)].mean() + 0.5
    np.testing.assert_array_equal(out[~mask], img[~mask])


def test_model_size_input_returns_the_model_output_inside_the_mask():
    img, mask = scene(h=64, w=64, seed=2)
    out = harmonize_image(ShiftModel(), img, mask)
    assert ((out.astype(int) - img)[mask] == 51).all() and (out[~mask] == img[~mask]).all()


def test_size_mismatch_and_empty_mask_raise():
    img, mask = scene()
    with pytest.raises(RdhError, match="mask is 100x150"):
        harmonize_image(ShiftModel(), img, mask[:, :100])
    with pytest.raises(RdhError, match="empty"):
        harmonize_image(ShiftModel(), img, np.zeros_like(mask))


def test_find_mask_by_name(tmp_path):
    for name in ("a0001_1.png", "s0000_0.png", "photo.png"):
        write_mask(tmp_path / name, np.ones((2, 2), bool))
    assert find_mask(tmp_path, tmp_path / "a0001_1_3.jpg").name == "a0001_1.png"
    assert find_mask(tmp_path, tmp_path / "s0000_0-1_5.png").name == "s0000_0.png"
    assert find_mask(tmp_path, tmp_path / "photo.jpg").name == "photo.png"
    with pytest.raises(RdhError, match="no mask"):
        find_mask(tmp_path, tmp_path / "other_2.png")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A real (untrained, tiny) iDIH checkpoint at training size 32."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "best.pt"
    return save_checkpoint(model_payload(IDIH(UNetSpec(depth=4, width=8)), "idih", 32), path)




def one_error_line(result):
    code, _, err = result
    lines = [l for l in err.splitlines() if l.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_cli_single_image_full_resolution(checkpoint, tmp_path, rdh_main):
    img, mask = scene(h=90, w=130, seed=3)
    write_image(tmp_path / "c.jpg", img, quality=100)
    write_mask(tmp_path / "m.png", mask)
    code, _, err = rdh_main("harmonize", "--checkpoint", checkpoint, tmp_path / "c.jpg", tmp_path / "m.png", "-o", tmp_path / "h.png")
    assert code == 0, err
    out, comp = read_rgb(tmp_path / "h.png"), read_rgb(tmp_path / "c.jpg")
    assert out.shape == (90, 130, 3)
    np.testing.assert_array_equal(out[~mask], comp[~mask])
    assert np.abs(out[mask].astype(int) - comp[mask]).mean() > 0.5   # the model did change the foreground

    write_mask(tmp_path / "small.png", mask[:40])
    assert "mask is 130x40" in one_error_line(rdh_main("harmonize", "-c", checkpoint, tmp_path / "c.jpg",
                                                  tmp_path / "small.png", "-o", tmp_path / "x.png"))
    write_mask(tmp_path / "empty.png", np.zeros_like(mask))
    assert "empty" in one_error_line(rdh_main("harmonize", "-c", checkpoint, tmp_path / "c.jpg", tmp_path / "empty.png",
                                         "-o", tmp_path / "x.png"))
    assert not (tmp_path / "x.png").exists()
    # a gray photo given as the mask is thresholded at 128, not refused
    assert rdh_main("harmonize", "-c", checkpoint, tmp_path / "c.jpg", tmp_path / "c.jpg", "-o", tmp_path / "y.png")[0] == 0


def test_cli_folders_with_iharmony_names_and_resume(checkpoint, tmp_path, rdh_main):
    comps, masks, outdir = tmp_path / "composites", tmp_path / "masks", tmp_path / "out"
    sizes = {"a0001_1_1": (70, 50), "a0001_1_2": (70, 50), "b0002_3_1": (40, 96)}
    for name, (h, w) in sizes.items():
        img, mask = scene(h, w, seed=len(name))
        write_image(comps / f"{name}.png", img)
        write_mask(masks / f"{name.rsplit('_', 1)[0]}.png", mask)
    code, stdout, err = rdh_main("harmonize", "-c", checkpoint, comps, masks, "-o", outdir, "--batch-size", "2")
    assert code == 0 and "wrote 3 images" in stdout, err
    for name, (h, w) in sizes.items():
        assert read_rgb(outdir / f"{name}.png").shape == (h, w, 3)
    stamp = (outdir / "a0001_1_1.png").stat().st_mtime_ns
    summary = harmonize_files(HarmonizeConfig(checkpoint=checkpoint, composite=comps, mask=masks, out=outdir))
    assert summary.skipped == 3 and summary.written == []
    assert (outdir / "a0001_1_1.png").stat().st_mtime_ns == stamp
