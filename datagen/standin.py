"""The demo's STAND-IN real domain, with composites made the way iHarmony4's were (gap levels 1-3).

Each rendered style of a scene becomes one stand-in photo: `datagen.camera.develop` gives its
clean developed image, composites are made on clean images, and `datagen.camera.finish` adds the
photo's own noise (one field, shared by the photo and everything made from it) before JPEG. A
composite's background is the target photo's, bit for bit. The processes, as iHarmony4's subsets
were made (`mix` sets their shares; by default iHarmony4's proportions):

- HCOCO_like: the foreground's Lab mean and spread moved toward another instance of the same
  category in another photo (std ratio clamped to 0.6-1.6). Target: the photo.
- HAdobe5k_like: the photo developed through two expert retouches (`datagen.retouch`); the
  foreground of retouch i on retouch j (j may be the photo as developed). Target: retouch j.
- HFlickr_like: the foreground's Lab histograms matched to another same-category instance's.
- Hday2night_like: the foreground of the same scene's photo under another light (today's relit
  stand-in; none by default).

Gap level 2 develops each photo through a camera pipeline (auto exposure and white balance,
highlight clipping, demosaicing, chroma noise): the real domain's images differ from the renders
in how they were developed too, not only in how their composites were made. Gap level 3 is
level 2 on captures of the second scene generator (`rdh render-scenes --generator second`,
datagen.builtin.second): other meshes, patterned materials, cluttered backgrounds and a continuous
sun and sky, which the rendered domain never sees; this module treats it as level 2.

This is NOT real data (STAND_IN.txt in the folder; rows have stand_in = True).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from datagen.camera import Camera, develop, draw_camera, draw_noise, finish
from datagen.capture_store import Scene
from datagen.color_transfer import match_histograms, transfer_statistics
from datagen.compose import ComposeSummary, check_out_not_inside
from datagen.photo_look import NOTICE, LookRanges, draw_look, photo_name, select_scenes, split_by_category
from datagen.retouch import Retouch, apply_retouch, draw_retouch
from manifests.rows import PairRow
from manifests.schema import write_manifest
from rdhcore.atomic import write_bytes_atomic, write_text_atomic
from rdhcore.errors import RdhError
from rdhcore.imageio import decode_rgb, encode, read_mask, read_rgb, write_mask
from rdhcore.progress import Progress
from rdhcore.seeds import derive_seed

PROCESSES = ("HCOCO_like", "HAdobe5k_like", "HFlickr_like", "Hday2night_like")
IHARMONY4_MIX = (("HCOCO_like", 0.59), ("HAdobe5k_like", 0.30), ("HFlickr_like", 0.11), ("Hday2night_like", 0.0))
GAP_LEVELS = {1: "iHarmony4-like composites", 2: "iHarmony4-like composites + a camera pipeline per photo",
              3: "iHarmony4-like composites + a camera pipeline per photo + scenes of a second generator"}
SECOND_GENERATOR_GAP = 3     # from this level the stand-in's scenes come from datagen.builtin.second (the caller renders them)


@dataclass
class StandInConfig:
    """Options of the iHarmony4-like stand-in real domain."""

    captures: Path
    out: Path
    gap: int = 1                                  # 1: iHarmony4-like composites; 2 and 3: + a camera pipeline per photo
    mix: tuple[tuple[str, float], ...] = IHARMONY4_MIX
    variants: int = 4                             # composites per (photo, foreground)
    min_fg_change: float = 2.0                    # mean |composite - target| in the mask (0-255) to keep a pair
    test_fraction: float = 0.0
    val_fraction: float = 0.0
    all_test: bool = False
    seed: int = 0
    scenes: tuple[str, ...] | None = None
    categories: tuple[str, ...] | None = None
    ranges: LookRanges = LookRanges()


@dataclass
class Photo:
    """One stand-in photo: its clean developed image and what finishes it."""

    scene: Scene
    style: int
    clean: np.ndarray
    look: object
    camera: Camera | None
    gain: float
    noise: object
    name: str
    decoded: np.ndarray | None = None   # the photo as its JPEG decodes (the target of most pairs), read once

    def jpeg(self, clean: np.ndarray) -> bytes:
        """`clean` (this photo, or a composite or retouch of it) finished with the photo's noise, as JPEG."""
        return encode(finish(clean, self.look, self.noise, self.gain), "jpg", self.look.jpeg_quality)


def check_config(cfg: StandInConfig) -> dict[str, float]:
    """The mix as {process: share}, shares summing to 1; RdhError on a wrong option."""
    if cfg.gap not in GAP_LEVELS:
        raise RdhError(f"stand-in gap level {cfg.gap}: use one of {', '.join(map(str, GAP_LEVELS))}")
    mix = dict(cfg.mix)
    unknown = sorted(set(mix) - set(PROCESSES))
    if unknown or any(not (v >= 0) for v in mix.values()) or sum(mix.values()) <= 0:
        raise RdhError(f"stand-in mix {mix}: use shares >= 0 of {', '.join(PROCESSES)} with a positive sum")
    if cfg.variants < 1:
        raise RdhError("stand-in variants must be at least 1")
    if not 0 <= cfg.test_fraction < 1 or not 0 <= cfg.val_fraction < 1 - cfg.test_fraction:
        raise RdhError(f"test fraction {cfg.test_fraction}, val fraction {cfg.val_fraction}: use values in [0, 1) "
                       "that add up to less than 1")
    total = sum(mix.values())
    return {p: mix.get(p, 0.0) / total for p in PROCESSES}


def check_generator(cfg: StandInConfig, scenes: list[Scene]) -> None:
    """From gap 3 on, every scene must come from the second generator (its plan says so); RdhError naming one that does not."""
    if cfg.gap < SECOND_GENERATOR_GAP:
        return
    for scene in scenes:
        if (scene.meta.get("plan") or {}).get("generator", "main") != "second":
            raise RdhError(f"{scene.path}: stand-in gap level {cfg.gap} needs scenes of the second generator: render "
                           "CAPTURES with rdh render-scenes --generator second, or use gap 2")


def develop_photos(cfg: StandInConfig, scenes: list[Scene]) -> list[Photo]:
    """Every rendered style of every scene, developed (each from its own seed) and written as JPEG."""
    photos = []
    for scene in scenes:
        for style in scene.style_ids:
            rng = np.random.default_rng(derive_seed(cfg.seed, f"standin/{scene.scene_id}/{style}"))
            look = draw_look(rng, cfg.ranges)
            camera = draw_camera(rng) if cfg.gap >= 2 else None
            clean, gain = develop(read_rgb(scene.image_path(style)), look, camera)
            noise = draw_noise(rng, clean.shape[:2], chroma=cfg.gap >= 2)
            photo = Photo(scene, style, clean, look, camera, gain, noise, photo_name(scene.scene_id, style))
            path = cfg.out / "real_images" / f"{photo.name}.jpg"
            if path.exists():
                photo.decoded = read_rgb(path)
            else:
                data = photo.jpeg(clean)
                write_bytes_atomic(path, data)
                photo.decoded = decode_rgb(data, path)
            photos.append(photo)
    return photos


def make_standin_pairs(cfg: StandInConfig, progress: Progress | None = None) -> ComposeSummary:
    """Write the stand-in real pair dataset (iHarmony4 layout, pairs.parquet); returns the counts."""
    start = time.perf_counter()
    shares = check_config(cfg)
    check_out_not_inside(cfg.out, (cfg.captures, "CAPTURES"))
    cfg.out = Path(cfg.out)
    scenes = select_scenes(cfg)
    check_generator(cfg, scenes)
    write_text_atomic(cfg.out / "STAND_IN.txt", NOTICE)
    summary = ComposeSummary(scenes=len(scenes), out=cfg.out)
    photos = develop_photos(cfg, scenes)
    masks: dict[str, list] = {}   # scene id -> [(fg id, category, mask, mask path)]
    for scene in scenes:
        masks[scene.scene_id] = [(fg["id"], str(fg["category"]), read_mask(scene.mask_path(fg)), scene.mask_path(fg))
                                 for fg in scene.foregrounds
                                 if cfg.categories is None or str(fg["category"]) in cfg.categories]
    by_category: dict[str, list[tuple[Photo, np.ndarray]]] = {}
    for photo in photos:
        for _, category, mask, _ in masks[photo.scene.scene_id]:
            by_category.setdefault(category, []).append((photo, mask))
    by_scene: dict[str, list[Photo]] = {}
    for photo in photos:
        by_scene.setdefault(photo.scene.scene_id, []).append(photo)
    rows = []
    for photo in photos:
        scene_id = photo.scene.scene_id
        for fg_id, category, mask, mask_path in masks[scene_id]:
            if not mask.any() or mask.shape != photo.clean.shape[:2]:
                raise RdhError(f"{mask_path}: mask is empty or not the render's size: re-render the scene")
            mask_rel = f"masks/{scene_id}_{fg_id}.png"
            if not (cfg.out / mask_rel).exists():
                write_mask(cfg.out / mask_rel, mask)
            pool = [item for item in by_category[category] if item[0].scene.scene_id != scene_id] \
                or [item for items in by_category.values() for item in items if item[0].scene.scene_id != scene_id]
            siblings = [p for p in by_scene[scene_id] if p.style != photo.style]
            rng = np.random.default_rng(derive_seed(cfg.seed, f"standin-pairs/{photo.name}/{fg_id}"))
            for variant in range(1, cfg.variants + 1):
                row = make_pair(cfg, photo, fg_id, category, mask, mask_rel, variant, shares, pool, siblings, rng, summary)
                if row is not None:
                    rows.append(row)
        if progress:
            progress(1)
    if not rows:
        raise RdhError(f"{cfg.captures}: every stand-in pair was filtered out: lower min_fg_change")
    df = pd.DataFrame(rows).sort_values("pair_id", kind="stable").reset_index(drop=True)
    df["split"] = "test" if cfg.all_test else split_by_category(df, cfg.test_fraction, cfg.seed, cfg.val_fraction)
    write_manifest(df, cfg.out / "pairs.parquet")
    summary.pairs, summary.seconds = len(df), time.perf_counter() - start
    return summary


def draw_composite(process: str, photo: Photo, mask: np.ndarray, pool, siblings, rng: np.random.Generator):
    """(clean composite, clean target, target retouch or None, what was done) for one process."""
    x = photo.clean
    if process == "Hday2night_like" and siblings:
        other = siblings[int(rng.integers(len(siblings)))]
        return np.where(mask[..., None], other.clean, x), x, None, {"fg_render_style": other.style}
    if process == "HAdobe5k_like" or (process == "Hday2night_like" and not siblings):
        target_edit = Retouch() if rng.random() < 0.3 else draw_retouch(rng)
        fg_edit = draw_retouch(rng)
        target = apply_retouch(x, target_edit)
        return np.where(mask[..., None], apply_retouch(x, fg_edit), target), target, target_edit, {}
    ref, ref_mask = pool[int(rng.integers(len(pool)))]
    if process == "HCOCO_like":
        strength = float(rng.uniform(0.3, 0.7))
        moved = transfer_statistics(x, mask, ref.clean, ref_mask, strength)
    else:
        strength = float(rng.uniform(0.4, 0.9))
        moved = match_histograms(x, mask, ref.clean, ref_mask, strength)
    return moved, x, None, {"reference": ref.name, "strength": strength}


def make_pair(cfg: StandInConfig, photo: Photo, fg_id, category: str, mask: np.ndarray, mask_rel: str, variant: int,
              shares: dict[str, float], pool, siblings, rng: np.random.Generator, summary: ComposeSummary):
    """One composite/target pair (a few draws until the foreground changes enough); None if none does."""
    for _ in range(3):
        process = str(rng.choice(PROCESSES, p=[shares[p] for p in PROCESSES]))
        comp_clean, target_clean, target_edit, info = draw_composite(process, photo, mask, pool, siblings, rng)
        key = f"{photo.name}_{fg_id}_{variant}"
        own_target = target_edit is not None and not target_edit.is_identity   # a retouched target of its own
        target_rel = f"real_images/{key}_target.jpg" if own_target else f"real_images/{photo.name}.jpg"
        target_bytes = photo.jpeg(target_clean) if own_target else None
        target = decode_rgb(target_bytes) if target_bytes is not None else photo.decoded
        fg = decode_rgb(photo.jpeg(comp_clean))
        composite = np.where(mask[..., None], fg, target)
        delta = float(np.abs(composite[mask].astype(np.int16) - target[mask]).mean())
        if delta >= cfg.min_fg_change:
            break
    else:
        summary.skipped["foreground change below threshold"] += 1
        return None
    comp_rel = f"composite_images/{key}.png"
    if target_bytes is not None and not (cfg.out / target_rel).exists():
        write_bytes_atomic(cfg.out / target_rel, target_bytes)
    if (cfg.out / comp_rel).exists():
        summary.existing += 1
    else:
        write_bytes_atomic(cfg.out / comp_rel, encode(composite, "png"))
        summary.written += 1
    extra = {"fg_delta": delta, "stand_in": True, "gap": cfg.gap, "process": process, "render_style": photo.style,
             "exposure_gain": photo.gain, **info, **{f"look_{k}": v for k, v in asdict(photo.look).items()}}
    return PairRow(key, "real", process, category, photo.scene.scene_id, comp_rel, target_rel, mask_rel, mask,
                   extra=extra).to_dict()
