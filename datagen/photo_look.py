"""A STAND-IN real domain for the demo: renders made to look like photographs.

The paper's real domain is iHarmony4 (real photos, composites made in two ways). The demo cannot
download it, so it builds a stand-in: each rendered image goes through a photographic look
(white balance and exposure error, a tone curve, saturation, lens softness, vignetting, sensor
noise, JPEG), and its composites are made in one of iHarmony4's two ways (`composites`):

- "relight" (Hday2night): one camera look per scene, applied to the scene's render under every
  style; a composite pastes the foreground of the photo of one style onto the photo of another.
  The target is a photo of the same scene, so the task is well posed: the foreground's true
  appearance under the background's light exists and is what the model must produce.
- "transfer" (HCOCO): the foreground's Lab statistics are moved toward another stand-in photo's
  (`datagen.color_transfer.transfer_foreground`). Part of that change (noise and JPEG blocks stretched
  with the colors) cannot be undone from the composite, which caps what a model can learn.

This is NOT real data: numbers measured on it say that the chain works, not how a model does on
photographs. Every output says so: the pair dataset holds STAND_IN.txt, its rows have
source = "standin-photo-look" and stand_in = True.

Layout written (like iHarmony4)::

    <out>/real_images/<scene>_<style>.jpg                 # the stand-in "photo" (ground truth)
    <out>/masks/<scene>_<style>_<fg>.png
    <out>/composite_images/<scene>_<style>_<fg>_<k>.png   # transfer: PNG, background bit-exact with the photo
    <out>/composite_images/<scene>_<style>_<fg>_s<fg_style>.png   # relight: fg from the <fg_style> photo
    <out>/pairs.parquet                                   # rdh.manifest/1, domain = real
    <out>/STAND_IN.txt
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from datagen.capture_store import Scene, list_scene_ids, read_scene
from datagen.color_transfer import capped_strength, transfer_foreground
from datagen.compose import ComposeSummary, check_out_not_inside, pair_plan
from rdhcore.imageio import encode, read_mask, read_rgb, write_mask
from rdhcore.atomic import write_bytes_atomic, write_text_atomic
from rdhcore.errors import RdhError
from rdhcore.progress import Progress
from rdhcore.seeds import derive_seed
from manifests.rows import PairRow
from manifests.schema import write_manifest
from manifests.splits import assign_group_split

SOURCE = "standin-photo-look"          # color-transfer composites (HCOCO-like)
RELIGHT_SOURCE = "standin-relight"      # same-scene relit composites (Hday2night-like)
COMPOSITE_KINDS = ("relight", "transfer")
REC601 = np.array([0.299, 0.587, 0.114])   # luma weights of gamma-encoded RGB
NOTICE = """STAND-IN REAL DOMAIN - not real photographs.

These "real" pairs are rendered images passed through a photographic look (white balance and
exposure error, tone curve, saturation, lens softness, vignetting, sensor noise, JPEG), with
composites made either from the same scene's photo under another light (as iHarmony4's
Hday2night subset was) or by color transfer toward another stand-in photo (as HCOCO was).
They stand in for iHarmony4 so that `rdh demo` runs without downloads. Scores on them show that
the chain works; they are not results on real photographs. For the paper's protocol, see
docs/reproduce.md.
"""


@dataclass(frozen=True)
class LookRanges:
    """The ranges each photo's look is drawn from (uniform)."""

    exposure_stops: tuple[float, float] = (-0.4, 0.4)
    white_balance: tuple[float, float] = (0.92, 1.08)     # per-channel gain, R and B (G fixed)
    contrast: tuple[float, float] = (0.15, 0.55)          # weight of the S-curve
    gamma: tuple[float, float] = (0.85, 1.15)
    black_lift: tuple[float, float] = (0.0, 0.03)
    saturation: tuple[float, float] = (0.8, 1.15)
    blur_sigma: tuple[float, float] = (0.3, 0.8)          # lens softness, pixels
    vignette: tuple[float, float] = (0.0, 0.25)           # darkening at the corners
    shot_noise: tuple[float, float] = (0.0005, 0.003)     # variance per unit of signal (0-1 scale)
    read_noise: tuple[float, float] = (0.002, 0.008)      # std (0-1 scale)
    jpeg_quality: tuple[int, int] = (75, 92)


@dataclass(frozen=True)
class Look:
    """One photo's draw of the look."""

    exposure_stops: float
    gain_r: float
    gain_b: float
    contrast: float
    gamma: float
    black_lift: float
    saturation: float
    blur_sigma: float
    vignette: float
    shot_noise: float
    read_noise: float
    jpeg_quality: int


def draw_look(rng: np.random.Generator, ranges: LookRanges = LookRanges()) -> Look:
    u = lambda lo_hi: float(rng.uniform(*lo_hi))  # noqa: E731
    return Look(exposure_stops=u(ranges.exposure_stops), gain_r=u(ranges.white_balance), gain_b=u(ranges.white_balance),
                contrast=u(ranges.contrast), gamma=u(ranges.gamma), black_lift=u(ranges.black_lift),
                saturation=u(ranges.saturation), blur_sigma=u(ranges.blur_sigma), vignette=u(ranges.vignette),
                shot_noise=u(ranges.shot_noise), read_noise=u(ranges.read_noise),
                jpeg_quality=int(rng.integers(ranges.jpeg_quality[0], ranges.jpeg_quality[1] + 1)))


# ---- the look, one step per function, on float RGB in [0, 1] ----

def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * x ** (1 / 2.4) - 0.055)


def white_balance_and_exposure(linear: np.ndarray, look: Look) -> np.ndarray:
    """Camera white balance error and exposure, applied to linear light."""
    gains = np.array([look.gain_r, 1.0, look.gain_b]) * 2.0 ** look.exposure_stops
    return linear * gains


def vignette(linear: np.ndarray, amount: float) -> np.ndarray:
    """Light falls off toward the corners: 1 at the center, 1 - amount at the corners."""
    h, w = linear.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    r2 = ((yy - (h - 1) / 2) / (h / 2)) ** 2 + ((xx - (w - 1) / 2) / (w / 2)) ** 2
    return linear * (1.0 - amount * np.clip(r2 / 2.0, 0.0, 1.0))[..., None]


def sensor_noise(linear: np.ndarray, look: Look, rng: np.random.Generator) -> np.ndarray:
    """Poisson-Gaussian noise: variance = shot * signal + read^2, slightly blurred as demosaicing does."""
    std = np.sqrt(look.shot_noise * np.clip(linear, 0, None) + look.read_noise ** 2)
    noise = rng.standard_normal(linear.shape) * std
    return linear + cv2.GaussianBlur(noise.astype(np.float32), (0, 0), 0.5)


def tone_curve(x: np.ndarray, look: Look) -> np.ndarray:
    """Display-space tone curve: gamma, an S-curve for contrast, lifted blacks."""
    x = np.clip(x, 0.0, 1.0) ** look.gamma
    s = x * x * (3 - 2 * x)                      # smoothstep: the S of a film curve
    x = (1 - look.contrast) * x + look.contrast * s
    return look.black_lift + (1 - look.black_lift) * x


def saturate(x: np.ndarray, amount: float) -> np.ndarray:
    gray = x @ REC601
    return gray[..., None] + amount * (x - gray[..., None])


def through_lens(render: np.ndarray, look: Look) -> np.ndarray:
    """A render (HxWx3 uint8 RGB) softened by the lens, as linear light (float64)."""
    return srgb_to_linear(cv2.GaussianBlur(render.astype(np.float64) / 255.0, (0, 0), look.blur_sigma))


def to_display(linear: np.ndarray, look: Look) -> np.ndarray:
    """Linear light -> display values: the sRGB transfer, the look's tone curve and saturation."""
    return saturate(tone_curve(linear_to_srgb(linear), look), look.saturation)


def apply_look(render: np.ndarray, look: Look, rng: np.random.Generator) -> bytes:
    """A render (HxWx3 uint8 RGB) as the JPEG bytes of its stand-in photo."""
    linear = vignette(white_balance_and_exposure(through_lens(render, look), look), look.vignette)
    linear = sensor_noise(linear, look, rng)
    x = to_display(linear, look)
    photo = np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)
    return encode(photo, "jpg", look.jpeg_quality)


# ---- the stand-in pair dataset ----

@dataclass
class PhotoLookConfig:
    """Options of the stand-in real domain."""

    captures: Path
    out: Path
    scenes: tuple[str, ...] | None = None         # scene ids to use (default: all)
    categories: tuple[str, ...] | None = None     # foreground categories to keep (default: all)
    styles: tuple[int, ...] | None = None         # styles a photo is drawn from (default: all rendered)
    composites: str = "transfer"                  # "relight" (Hday2night-like) or "transfer" (HCOCO-like)
    photos_per_scene: int | None = 1              # distinct styles of one scene made into photos (None: all)
    variants: int = 1                             # transfer: composites per (photo, foreground)
    per_target: int | None = None                 # relight: foreground styles per target photo (None: all others)
    strength: tuple[float, float] = (0.6, 1.0)    # fraction of the full color transfer
    min_fg_change: float = 3.0                    # mean |composite - photo| in the mask (0-255) to keep a pair
    max_contrast_gain: float = 2.5                # cap on how much the transfer may scale a foreground's Lab spread
    test_fraction: float = 0.0
    val_fraction: float = 0.0                     # scenes sent to split=val (validation during training)
    all_test: bool = False                        # every pair in split=test (a held-out test set)
    seed: int = 0
    ranges: LookRanges = LookRanges()


def photo_name(scene_id: str, style: int) -> str:
    return f"{scene_id}_{style}"


def plan_photos(scenes: list[Scene], cfg: PhotoLookConfig) -> list[tuple[Scene, int, np.random.SeedSequence]]:
    """(scene, style, seed) of every stand-in photo; each scene's draw depends only on its id."""
    plan = []
    for scene in scenes:
        ss = derive_seed(cfg.seed, f"photo-look/{scene.scene_id}")
        rng = np.random.default_rng(ss)
        styles = [s for s in scene.style_ids if cfg.styles is None or s in cfg.styles]
        if not styles:
            continue
        count = len(styles) if cfg.photos_per_scene is None else min(cfg.photos_per_scene, len(styles))
        chosen = rng.choice(styles, size=count, replace=False)
        for style, child in zip(sorted(int(s) for s in chosen), ss.spawn(len(chosen))):
            plan.append((scene, style, child))
    return plan


def select_scenes(cfg: PhotoLookConfig) -> list[Scene]:
    ids = list_scene_ids(cfg.captures)
    if cfg.scenes is not None:
        unknown = sorted(set(cfg.scenes) - set(ids))
        if unknown:
            raise RdhError(f"{cfg.captures}: no scene {unknown[0]!r}: pick scene ids from the capture store")
        ids = [i for i in ids if i in set(cfg.scenes)]
    scenes = [read_scene(cfg.captures, i) for i in ids]
    if cfg.categories is not None:
        scenes = [s for s in scenes if any(str(f["category"]) in cfg.categories for f in s.foregrounds)]
    if len(scenes) < 2:
        raise RdhError(f"{cfg.captures}: {len(scenes)} usable scene(s) for the stand-in real domain: need at least 2 "
                       "(one photo is the color reference of another); render more scenes")
    return scenes


def split_by_category(df: pd.DataFrame, test_fraction: float, seed: int, val_fraction: float = 0.0) -> pd.Series:
    """Scene-disjoint train/test (and val), drawn per foreground category, so that with few scenes every
    category with two or more scenes lands in both splits. A scene goes with its first category;
    categories with a single scene are split together, as one pool. Val scenes come from the train ones."""
    primary = df.groupby("group_id")["category"].first()
    sizes = primary.map(primary.value_counts())
    pools = primary.where(sizes >= 2, "\0single-scene categories")
    split = pd.Series("train", index=df.index, dtype=object)
    for _, scenes in pools.groupby(pools):
        rows = df["group_id"].isin(scenes.index)
        split[rows] = assign_group_split(df.loc[rows, "group_id"], test_fraction, seed).to_numpy()
    if val_fraction > 0:
        train = split == "train"
        share = min(val_fraction / max(1.0 - test_fraction, 1e-9), 1.0)
        val = assign_group_split(df.loc[train, "group_id"], share, seed + 1).to_numpy() == "test"
        split[train] = np.where(val, "val", "train")
    return split


def make_photo_look_pairs(cfg: PhotoLookConfig, progress: Progress | None = None) -> ComposeSummary:
    """Write the stand-in real pair dataset; a rerun keeps files that exist. Returns the counts."""
    start = time.perf_counter()
    if cfg.composites not in COMPOSITE_KINDS:
        raise RdhError(f"stand-in composites {cfg.composites!r}: use relight or transfer")
    if (cfg.photos_per_scene is not None and cfg.photos_per_scene < 1) or cfg.variants < 1 \
            or (cfg.per_target is not None and cfg.per_target < 1):
        raise RdhError("photos per scene, variants and per-target must be at least 1")
    if not 0 <= cfg.test_fraction < 1 or not 0 <= cfg.val_fraction < 1 - cfg.test_fraction:
        raise RdhError(f"test fraction {cfg.test_fraction}, val fraction {cfg.val_fraction}: use values in [0, 1) "
                       "that add up to less than 1")
    check_out_not_inside(cfg.out, (cfg.captures, "CAPTURES"))
    out = Path(cfg.out)
    scenes = select_scenes(cfg)
    plan = plan_photos(scenes, cfg)
    write_text_atomic(out / "STAND_IN.txt", NOTICE)
    summary = ComposeSummary(scenes=len(scenes), out=out)

    # pass 1: the photos (each from its own seed, so any photo can be remade alone). Relight: one
    # camera look per scene (drawn from the scene's seed), with each photo's own sensor noise.
    looks = {}
    for scene, style, ss in plan:
        rng = np.random.default_rng(ss)
        look = draw_look(rng, cfg.ranges)   # drawn in both modes: it advances rng, whose rest is the photo's noise
        if cfg.composites == "relight":
            look = draw_look(np.random.default_rng(derive_seed(cfg.seed, f"photo-look-camera/{scene.scene_id}")),
                             cfg.ranges)
        looks[(scene.scene_id, style)] = look
        path = out / "real_images" / f"{photo_name(scene.scene_id, style)}.jpg"
        if not path.exists():
            write_bytes_atomic(path, apply_look(read_rgb(scene.image_path(style)), look, rng))

    if cfg.composites == "relight":
        rows = relight_rows(cfg, out, plan, looks, summary, progress)
    else:
        rows = transfer_rows(cfg, out, plan, looks, summary, progress)
    if not rows:
        raise RdhError(f"{cfg.captures}: every stand-in pair was filtered out: lower min_fg_change or widen the strength")
    df = pd.DataFrame(rows).sort_values("pair_id", kind="stable").reset_index(drop=True)
    df["split"] = "test" if cfg.all_test else split_by_category(df, cfg.test_fraction, cfg.seed, cfg.val_fraction)
    write_manifest(df, out / "pairs.parquet")
    summary.pairs = len(df)
    summary.seconds = time.perf_counter() - start
    return summary


def _row(cfg: PhotoLookConfig, pair_id: str, source: str, scene: Scene, category: str, comp_rel: str, gt_rel: str,
         mask_rel: str, mask: np.ndarray, delta: float, look: Look, **extra) -> dict:
    """One manifest row of a stand-in pair (domain real, no style labels)."""
    return PairRow(pair_id, "real", source, category, scene.scene_id, comp_rel, gt_rel, mask_rel, mask,
                   extra={"fg_delta": delta, "stand_in": True, **extra,
                          **{f"look_{key}": v for key, v in asdict(look).items()}}).to_dict()


def _foregrounds(cfg: PhotoLookConfig, scene: Scene, shape: tuple[int, int]):
    """(fg entry, category, mask) of the scene's foregrounds that cfg keeps."""
    for fg in scene.foregrounds:
        category = str(fg["category"])
        if cfg.categories is not None and category not in cfg.categories:
            continue
        mask = read_mask(scene.mask_path(fg))
        if mask.shape != shape or not mask.any():
            raise RdhError(f"{scene.mask_path(fg)}: mask is empty or not the render's size: re-render the scene")
        yield fg, category, mask


def relight_rows(cfg: PhotoLookConfig, out: Path, plan, looks: dict, summary: ComposeSummary,
                 progress: Progress | None) -> list[dict]:
    """Hday2night-like composites: inside a scene, the foreground of the photo of style f pasted
    onto the photo of style b (f != b; all ordered pairs, or `per_target` f per b)."""
    rows = []
    by_scene: dict[str, list] = {}
    for scene, style, _ in plan:
        by_scene.setdefault(scene.scene_id, []).append((scene, style))
    for scene_id, items in by_scene.items():
        scene = items[0][0]
        photos = {style: read_rgb(out / "real_images" / f"{photo_name(scene_id, style)}.jpg") for _, style in items}
        styles = sorted(photos)
        pairs = pair_plan(styles, cfg.per_target, derive_seed(cfg.seed, f"photo-look-relight/{scene_id}"))
        for fg, category, mask in _foregrounds(cfg, scene, photos[styles[0]].shape[:2]):
            mask_rel = f"masks/{scene_id}_{fg['id']}.png"
            if not (out / mask_rel).exists():
                write_mask(out / mask_rel, mask)
            for bg_style, fg_style in pairs:
                target = photos[bg_style]
                composite = np.where(mask[..., None], photos[fg_style], target)
                delta = float(np.abs(composite[mask].astype(np.int16) - target[mask]).mean())
                if delta < cfg.min_fg_change:
                    summary.skipped["foreground change below threshold"] += 1
                    continue
                name = photo_name(scene_id, bg_style)
                comp_rel = f"composite_images/{name}_{fg['id']}_s{fg_style}.png"
                if (out / comp_rel).exists():
                    summary.existing += 1
                else:
                    write_bytes_atomic(out / comp_rel, encode(composite, "png"))
                    summary.written += 1
                rows.append(_row(cfg, f"{name}_{fg['id']}_s{fg_style}", RELIGHT_SOURCE, scene, category, comp_rel,
                                 f"real_images/{name}.jpg", mask_rel, mask, delta, looks[(scene_id, bg_style)],
                                 render_style=bg_style, render_fg_style=fg_style))
        if progress:
            progress(len(items))
    return rows


def transfer_rows(cfg: PhotoLookConfig, out: Path, plan, looks: dict, summary: ComposeSummary,
                  progress: Progress | None) -> list[dict]:
    """HCOCO-like composites: the foreground moved toward another stand-in photo's Lab statistics."""
    rows = []
    photos = [(scene.scene_id, style) for scene, style, _ in plan]
    for scene, style, _ in plan:
        name = photo_name(scene.scene_id, style)
        gt_rel = f"real_images/{name}.jpg"
        photo = read_rgb(out / gt_rel)
        rng = np.random.default_rng(derive_seed(cfg.seed, f"photo-look-composites/{name}"))
        others = [p for p in photos if p[0] != scene.scene_id]
        for fg, category, mask in _foregrounds(cfg, scene, photo.shape[:2]):
            mask_rel = f"masks/{name}_{fg['id']}.png"
            if not (out / mask_rel).exists():
                write_mask(out / mask_rel, mask)
            for variant in range(1, cfg.variants + 1):
                ref_scene, ref_style = others[int(rng.integers(len(others)))]
                strength = float(rng.uniform(*cfg.strength))
                comp_rel = f"composite_images/{name}_{fg['id']}_{variant}.png"
                reference = read_rgb(out / "real_images" / f"{photo_name(ref_scene, ref_style)}.jpg")
                strength = capped_strength(photo, mask, reference, strength, cfg.max_contrast_gain)
                if (out / comp_rel).exists():
                    composite = read_rgb(out / comp_rel)
                else:
                    composite = transfer_foreground(photo, mask, reference, strength)
                delta = float(np.abs(composite[mask].astype(np.int16) - photo[mask]).mean())
                if delta < cfg.min_fg_change:
                    summary.skipped["foreground change below threshold"] += 1
                    continue
                if (out / comp_rel).exists():
                    summary.existing += 1
                else:
                    write_bytes_atomic(out / comp_rel, encode(composite, "png"))
                    summary.written += 1
                rows.append(_row(cfg, f"{name}_{fg['id']}_{variant}", SOURCE, scene, category, comp_rel, gt_rel,
                                 mask_rel, mask, delta, looks[(scene.scene_id, style)],
                                 reference=photo_name(ref_scene, ref_style), strength=strength, render_style=style))
        if progress:
            progress(1)
    return rows
