"""Procedural textures drawn with numpy: ground, facades, bark-free foliage noise, clouds.

Every texture is a pure function of its parameters and an integer seed, so a plan that names
(kind, seed, params) rebuilds the same bitmap. Images are float32 RGB in [0, 1] (linear
reflectance), H x W x 3, and tile seamlessly (noise is made periodic with an FFT filter).
"""
from __future__ import annotations

import functools

import numpy as np

from rdhcore.errors import RdhError


def periodic_noise(size: int, feature: float, rng: np.random.Generator, octaves: int = 4) -> np.ndarray:
    """Tileable fractal noise in [0, 1]: white noise low-passed in Fourier space.

    feature: the size of the largest blobs as a fraction of the tile.
    """
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.fftfreq(size)[None, :]
    radius = np.sqrt(fx ** 2 + fy ** 2)
    out = np.zeros((size, size), np.float64)
    for o in range(octaves):
        cutoff = (2 ** o) / (feature * size)
        spectrum = np.fft.fft2(rng.standard_normal((size, size)))
        layer = np.real(np.fft.ifft2(spectrum * np.exp(-(radius / cutoff) ** 2)))
        layer /= layer.std() + 1e-12
        out += layer * 0.5 ** o
    out -= out.min()
    out /= out.max() + 1e-12
    return out.astype(np.float32)


def _tint(base: np.ndarray, variation: np.ndarray, amount: float) -> np.ndarray:
    return np.clip(base[None, None, :] * (1.0 + amount * (variation[..., None] - 0.5) * 2.0), 0.0, 1.0)


def grass(seed: int, color: list[float], size: int = 256) -> np.ndarray:
    rng = np.random.default_rng(seed)
    coarse = periodic_noise(size, 0.5, rng)
    fine = periodic_noise(size, 0.03, rng, octaves=2)
    img = _tint(np.asarray(color, np.float32), 0.65 * coarse + 0.35 * fine, 0.45)
    dry = (coarse > 0.72)[..., None]
    return np.where(dry, img * np.array([1.35, 1.1, 0.7], np.float32), img).clip(0, 1).astype(np.float32)


def asphalt(seed: int, color: list[float], size: int = 256) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = _tint(np.asarray(color, np.float32), periodic_noise(size, 0.2, rng), 0.25)
    speckle = rng.random((size, size)) > 0.97
    img[speckle] = np.clip(img[speckle] * 1.8, 0, 1)
    return img.astype(np.float32)


def paving(seed: int, color: list[float], tiles: int = 8, size: int = 256) -> np.ndarray:
    """Square slabs with per-slab shade and dark joints."""
    rng = np.random.default_rng(seed)
    cell = size // tiles
    shade = rng.uniform(0.8, 1.15, (tiles, tiles)).repeat(cell, 0).repeat(cell, 1)
    img = _tint(np.asarray(color, np.float32), periodic_noise(size, 0.1, rng, 2), 0.15) * shade[..., None]
    yy, xx = np.mgrid[0:size, 0:size]
    joint = ((yy % cell) < 2) | ((xx % cell) < 2)
    img[joint] *= 0.45
    return img.clip(0, 1).astype(np.float32)


def gravel(seed: int, color: list[float], size: int = 256) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = 0.5 * periodic_noise(size, 0.3, rng) + 0.5 * rng.random((size, size)).astype(np.float32)
    return _tint(np.asarray(color, np.float32), noise, 0.35).astype(np.float32)


def facade(seed: int, wall: list[float], glass: list[float], columns: int, rows: int,
           window: float = 0.55, size: int = 128) -> np.ndarray:
    """A facade tile holding columns x rows windows (one tile = one building face)."""
    rng = np.random.default_rng(seed)
    img = _tint(np.asarray(wall, np.float32), periodic_noise(size, 0.25, rng, 2), 0.15)
    img = np.ascontiguousarray(img)
    cw, ch = size / columns, size / rows
    for c in range(columns):
        for r in range(rows):
            x0, x1 = int(c * cw + cw * (1 - window) / 2), int((c + 1) * cw - cw * (1 - window) / 2)
            y0, y1 = int(r * ch + ch * 0.25), int((r + 1) * ch - ch * 0.15)
            shade = rng.uniform(0.6, 1.3)
            img[y0:y1, x0:x1] = np.clip(np.asarray(glass, np.float32) * shade, 0, 1)
            img[max(y0 - 2, 0):y0, x0:x1] *= 0.6                       # lintel shadow
    return img.astype(np.float32)


def lit_windows(seed: int, columns: int, rows: int, lit_fraction: float, window: float = 0.55,
                size: int = 128) -> list[tuple[tuple[float, float, float, float], np.ndarray]]:
    """The lit windows of a facade at night: ((u0, v0, u1, v1) in the facade's unit UVs, RGB in
    [0, 1]) for each, on the texel grid of a `size` texture (same layout as `facade`)."""
    rng = np.random.default_rng(seed)
    out = []
    cw, ch = size / columns, size / rows
    for c in range(columns):
        for r in range(rows):
            if rng.random() >= lit_fraction:
                continue
            x0, x1 = int(c * cw + cw * (1 - window) / 2), int((c + 1) * cw - cw * (1 - window) / 2)
            y0, y1 = int(r * ch + ch * 0.25), int((r + 1) * ch - ch * 0.15)
            warm = rng.uniform(0.0, 1.0)
            color = np.array([1.0, 0.78 + 0.12 * warm, 0.5 + 0.3 * warm]) * rng.uniform(0.5, 1.0)
            if x1 > x0 and y1 > y0:
                out.append(((x0 / size, y0 / size, x1 / size, y1 / size), color))
    return out


def window_lights(seed: int, columns: int, rows: int, lit_fraction: float, window: float = 0.55,
                  size: int = 128) -> np.ndarray:
    """Night emission of a facade as a texture: 1 inside lit windows, 0 elsewhere."""
    img = np.zeros((size, size, 3), np.float32)
    for (u0, v0, u1, v1), color in lit_windows(seed, columns, rows, lit_fraction, window, size):
        img[round(v0 * size):round(v1 * size), round(u0 * size):round(u1 * size)] = color
    return img


@functools.lru_cache(maxsize=8)
def cloud_opacity(seed: int, coverage: float, softness: float = 0.08, size: int = 256) -> np.ndarray:
    """Cloud layer opacity in [0, 1] with about `coverage` of the tile covered (H x W; cached, read-only)."""
    rng = np.random.default_rng(seed)
    noise = periodic_noise(size, 0.45, rng, octaves=5)
    if coverage <= 0:
        return np.zeros_like(noise)
    threshold = np.quantile(noise, 1.0 - min(coverage, 0.999))
    out = np.clip((noise - threshold) / softness + 0.5, 0.0, 1.0).astype(np.float32)
    out.flags.writeable = False
    return out


GROUND_KINDS = {"grass": grass, "asphalt": asphalt, "paving": paving, "gravel": gravel}


def ground(kind: str, seed: int, color: list[float]) -> np.ndarray:
    try:
        return GROUND_KINDS[kind](seed, color)
    except KeyError:
        raise RdhError(f"unknown ground texture {kind!r} in the scene plan: use one of {sorted(GROUND_KINDS)}") from None
