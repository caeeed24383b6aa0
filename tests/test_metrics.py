"""Metrics against values computed by hand on small arrays, for every protocol option."""
from __future__ import annotations

import math

import numpy as np
import pytest

from harmonize.metrics import (PSNR_EPS, Protocol, fmse, mse, psnr, psnr_peak, resize_image, resize_mask,
                               score_image, ssim)
from rdhcore.errors import RdhError

NATIVE = Protocol(size=None)


def two_pixels(a, b):
    """A 2x1 RGB image whose two pixels are gray levels a and b."""
    return np.array([[[a, a, a]], [[b, b, b]]], np.float64)


def test_mse_is_mean_over_pixels_and_channels():
    # squared errors: pixel 1 -> 0,0,0; pixel 2 -> 9,9,9: mean = 27 / 6
    assert mse(two_pixels(0, 3), two_pixels(0, 0)) == pytest.approx(4.5)
    pred = np.zeros((1, 1, 3))
    target = np.array([[[1.0, 2.0, 3.0]]])
    assert mse(pred, target) == pytest.approx((1 + 4 + 9) / 3)


def test_fmse_divides_by_three_times_the_mask_area():
    pred, target = two_pixels(0, 3), two_pixels(0, 0)
    assert fmse(pred, target, np.array([[0.0], [1.0]])) == pytest.approx(27 / 3)   # only the changed pixel
    assert fmse(pred, target, np.array([[1.0], [0.0]])) == pytest.approx(0.0)      # only the unchanged pixel
    assert fmse(pred, target, np.array([[1.0], [1.0]])) == pytest.approx(27 / 6)   # the whole image = MSE
    assert math.isnan(fmse(pred, target, np.zeros((2, 1))))


def test_psnr_peak_255():
    # MSE 4.5 -> 10 log10(65025 / 4.5) = 10 log10(14450) = 41.59868...
    assert psnr(two_pixels(0, 3), two_pixels(0, 0), 255.0) == pytest.approx(41.598678, abs=1e-5)
    score = score_image(two_pixels(0, 3), two_pixels(0, 0), np.ones((2, 1), bool), NATIVE)
    assert score.psnr == pytest.approx(41.598678, abs=1e-5)


def test_psnr_peak_target_max():
    pred, target = two_pixels(200, 40), two_pixels(200, 50)   # MSE = 300 / 6 = 50, target max 200
    assert psnr_peak(pred, target, "target-max") == 200.0
    score = score_image(pred, target, np.ones((2, 1), bool), Protocol(size=None, psnr_peak="target-max"))
    assert score.psnr == pytest.approx(10 * math.log10(200 ** 2 / 50), abs=1e-5)   # 29.0309


def test_psnr_peak_pred_range():
    pred, target = two_pixels(3, 253), two_pixels(0, 253)      # MSE = 27 / 6 = 4.5, pred range 250
    assert psnr_peak(pred, target, "pred-range") == 250.0
    score = score_image(pred, target, np.ones((2, 1), bool), Protocol(size=None, psnr_peak="pred-range"))
    assert score.psnr == pytest.approx(10 * math.log10(250 ** 2 / 4.5), abs=1e-5)   # 41.4267


def test_exact_prediction_has_finite_psnr_and_zero_errors():
    img = two_pixels(10, 20)
    score = score_image(img, img, np.array([[True], [False]]), NATIVE)
    assert score.mse == 0 and score.fmse == 0
    assert score.psnr == pytest.approx(10 * math.log10(255 ** 2 / PSNR_EPS))


def test_soft_mask_weights_fmse_by_mask_values():
    pred, target = two_pixels(0, 3), two_pixels(0, 0)
    soft = np.array([[1.0], [0.5]])          # weights: 1 * 0 + 0.5 * 27 over 3 * 1.5
    assert fmse(pred, target, soft) == pytest.approx(13.5 / 4.5)
    # through the protocol: an 8-bit mask of 255 and 128 is soft (1, 0.502) or binary (1, 1)
    mask8 = np.array([[255], [128]], np.uint8)
    soft_score = score_image(pred, target, mask8, Protocol(size=None, mask="soft"))
    assert soft_score.fmse == pytest.approx(27 * (128 / 255) / (3 * (1 + 128 / 255)))
    assert score_image(pred, target, mask8, NATIVE).fmse == pytest.approx(27 / 6)


def test_soft_mask_after_resize_keeps_fractions_binary_does_not():
    mask = np.zeros((4, 4), bool)
    mask[:, 0] = True                         # left quarter of a 4x4 mask
    soft = resize_mask(mask, 2, Protocol(size=2, mask="soft", resize_filter="bilinear"))
    binary = resize_mask(mask, 2, Protocol(size=2))
    # 2x bilinear downscale averages column pairs: (1 + 0) / 2; nearest keeps column 0
    np.testing.assert_allclose(soft, [[0.5, 0.0], [0.5, 0.0]])
    np.testing.assert_array_equal(binary, [[1.0, 0.0], [1.0, 0.0]])


COLUMNS = [0.0, 100.0, 200.0, 40.0]


def striped():
    """A 4x4 gray image whose columns are 0, 100, 200, 40."""
    return np.repeat(np.tile(np.array(COLUMNS)[None, :, None], (4, 1, 1)), 3, axis=2)


def lanczos4_weights(t):
    """cv2's Lanczos-4 taps at fractional offset t, normalized (8 taps, offsets -3..4)."""
    xs = np.arange(-3, 5) - t
    w = np.sinc(xs) * np.sinc(xs / 4)
    return w / w.sum()


@pytest.mark.parametrize("name, expected_columns", [
    ("nearest", [0.0, 200.0]),                             # source columns 0 and 2
    ("bilinear", [50.0, 120.0]),                           # means of column pairs
    ("area", [50.0, 120.0]),                               # box average at an exact 2x
    # Keys cubic (a = -0.75) at t = 0.5: taps -0.09375, 0.59375, 0.59375, -0.09375, border replicated
    ("bicubic", [0 * -0.09375 + 0 * 0.59375 + 100 * 0.59375 + 200 * -0.09375,
                 100 * -0.09375 + 200 * 0.59375 + 40 * 0.59375 + 40 * -0.09375]),
    ("lanczos", [float(np.dot(lanczos4_weights(0.5), [0, 0, 0, 0, 100, 200, 40, 40])),
                 float(np.dot(lanczos4_weights(0.5), [0, 0, 100, 200, 40, 40, 40, 40]))]),
])
def test_resize_filters(name, expected_columns):
    protocol = Protocol(size=2, resize_filter=name)
    small = resize_image(striped(), 2, name)
    np.testing.assert_allclose(small[0, :, 0], expected_columns, atol=1e-3)
    # the scores use the resized images: prediction = stripes, target = black, whole mask
    score = score_image(striped(), np.zeros((4, 4, 3)), np.ones((4, 4), bool), protocol)
    assert score.mse == pytest.approx(np.mean(np.square(expected_columns)), rel=1e-5)
    assert score.fmse == pytest.approx(score.mse, rel=1e-9)


def test_ssim_identical_and_constant_images():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(16, 16, 3)).astype(np.float64)
    assert ssim(img, img) == pytest.approx(1.0)
    # constant images: the variance terms vanish, SSIM = (2ab + C1) / (a^2 + b^2 + C1), C1 = (0.01 * 255)^2
    a, b = np.full((16, 16, 3), 100.0), np.full((16, 16, 3), 120.0)
    c1 = (0.01 * 255) ** 2
    assert ssim(a, b) == pytest.approx((2 * 100 * 120 + c1) / (100 ** 2 + 120 ** 2 + c1))
    score = score_image(a, b, np.ones((16, 16), bool), Protocol(size=None, ssim=True))
    assert score.ssim == pytest.approx(24006.5025 / 24406.5025, abs=1e-9)   # 0.983611
    assert score_image(a, b, np.ones((16, 16), bool), NATIVE).ssim is None


def test_default_protocol_is_256_binary_peak_255():
    p = Protocol()
    assert (p.size, p.psnr_peak, p.mask, p.raw_output, p.quantize) == (256, "255", "binary", False, "none")
    assert "256x256" in p.describe() and "PSNR peak 255" in p.describe()
    # a 512x512 image with a +4 error everywhere: MSE 16 at any evaluation size
    pred = np.full((512, 512, 3), 104, np.uint8)
    target = np.full((512, 512, 3), 100, np.uint8)
    score = score_image(pred, target, np.ones((512, 512), bool), p)
    assert (score.mse, score.fmse) == (pytest.approx(16.0), pytest.approx(16.0))


def test_bad_options_and_shapes_raise_rdh_error():
    with pytest.raises(RdhError, match="--psnr-peak"):
        Protocol(psnr_peak="max").check()
    with pytest.raises(RdhError, match="--resize-filter"):
        Protocol(resize_filter="box").check()
    with pytest.raises(RdhError, match="target's size"):
        score_image(np.zeros((4, 4, 3)), np.zeros((4, 5, 3)), np.ones((4, 5), bool))
    with pytest.raises(RdhError, match="mask"):
        score_image(np.zeros((4, 4, 3)), np.zeros((4, 4, 3)), np.ones((4, 5), bool))
