"""`rdh make-composites`: rendered scenes -> composite / ground-truth pairs (docs/design.md, pair dataset).

Inside a scene, the foreground of style `fg` is pasted onto the render of style `bg`:
composite = M * I_fg + (1 - M) * I_bg with the exact binary mask M. The composite's soft
style label is r * onehot(fg) + (1 - r) * onehot(bg) with r the foreground area ratio, and
the ground truth's label is onehot(bg).

A scene is the unit of work: every style image is decoded once per scene, all its pairs are
written, then its rows are saved to `<out>/.rdh/rows/<scene_id>.parquet`. A rerun skips scenes
with a rows file and, inside an interrupted scene, pairs whose files exist. Before a scene's first
pair, a fingerprint of its input goes to `<scene_id>.input`: a scene whose input changed since
(re-rendered, fixed) is redone from scratch. Every input is decoded before the first output, and
the run holds OUT's lock (rdhcore.locks) throughout.
"""
from __future__ import annotations

import contextlib
import hashlib
import math
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from datagen.capture_store import Scene, list_scene_ids, read_scene, scenes_dir
from datagen.pair_options import ComposeConfig
from rdhcore.imageio import encode, read_mask, read_rgb, within_budget, write_mask
from datagen.render_config import EXECUTORS, check_ray
from datagen.styles import K
from rdhcore.atomic import atomic_path, write_bytes_atomic, write_text_atomic
from rdhcore.errors import RdhError, first_line
from rdhcore.files import check_regular
from rdhcore.progress import Progress, as_progress
from rdhcore.resize import fit_max_side
from rdhcore.seeds import derive_seed
from rdhcore.records import changed_options, read_options, write_options
from rdhcore.locks import output_lock
from rdhcore.names import id_path
from rdhcore.outputs import Inputs
from rdhcore.sweep import Names, named, suffixed, sweep
from manifests.importers import onehot, soft_label
from manifests.rows import PairRow
from manifests.schema import write_manifest
from manifests.splits import assign_group_split

STATE_DIR = ".rdh"
SKIP_FG_RATIO = "fg_ratio out of bounds"
SKIP_SMALL_CHANGE = "foreground change below threshold"


@dataclass
class SceneResult:
    scene_id: str
    rows: list[dict] = field(default_factory=list)
    written: int = 0
    existing: int = 0
    skipped: Counter = field(default_factory=Counter)


def check_config(cfg: ComposeConfig) -> None:
    if cfg.format not in ("png", "jpg"):
        raise RdhError(f"--format {cfg.format!r}: use png or jpg")
    if not 1 <= cfg.quality <= 100:
        raise RdhError(f"--quality {cfg.quality}: use 1..100")
    if cfg.max_side is not None and cfg.max_side < 8:
        raise RdhError(f"--max-side {cfg.max_side}: use at least 8")
    if not 0 <= cfg.min_fg_ratio <= cfg.max_fg_ratio <= 1:
        raise RdhError("--min-fg-ratio/--max-fg-ratio: need 0 <= min <= max <= 1")
    if cfg.per_target is not None and not 1 <= cfg.per_target <= K - 1:
        raise RdhError(f"--per-target {cfg.per_target}: use 1..{K - 1}")
    if not 0 <= cfg.test_fraction < 1:
        raise RdhError(f"--test-fraction {cfg.test_fraction}: use a value in [0, 1)")
    if cfg.workers < 1:
        raise RdhError(f"--workers {cfg.workers}: use 1 or more")
    if not (math.isfinite(cfg.min_fg_change) and cfg.min_fg_change >= 0):
        raise RdhError(f"--min-fg-change {cfg.min_fg_change}: use a number >= 0 (0-255 scale)")
    if cfg.executor not in EXECUTORS:
        raise RdhError(f"--executor {cfg.executor!r}: use {' or '.join(EXECUTORS)}")
    check_ray(cfg.ray)
    check_out_not_inside(cfg.out, (cfg.captures, "CAPTURES"))
    if cfg.charmnet_list is not None:
        charmnet_list_path(cfg.out, cfg.charmnet_list)


def check_out_not_inside(out: Path, *folders: tuple[Path | None, str]) -> None:
    """RdhError when OUT is one of the input folders (path, what) or lies inside one (rdhcore.outputs)."""
    inputs = Inputs()
    for folder, what in folders:
        inputs.add_folder(folder, what)
    inputs.refuse([("OUT", out)])


def pair_plan(style_ids: list[int], per_target: int | None, ss: np.random.SeedSequence) -> list[tuple[int, int]]:
    """Ordered (bg, fg) pairs: all fg != bg, or `per_target` fg styles per bg drawn from ss."""
    if per_target is not None and per_target < 1:
        raise RdhError(f"--per-target {per_target}: use 1..{K - 1}")
    rng = np.random.default_rng(ss)
    plan = []
    for bg in style_ids:
        others = [s for s in style_ids if s != bg]
        if per_target is not None and per_target < len(others):
            others = sorted(rng.choice(others, size=per_target, replace=False).tolist())
        plan.extend((bg, fg) for fg in others)
    return plan


def load_scene_images(scene: Scene, max_side: int | None) -> dict[int, np.ndarray]:
    """Decode each style image of a scene once, check its size, and resize it if asked."""
    w, h = scene.size
    images = {}
    for sid in scene.style_ids:
        path = scene.image_path(sid)
        img = read_rgb(path)
        if img.shape[:2] != (h, w):
            raise RdhError(f"{path}: image is {img.shape[1]}x{img.shape[0]}, scene.json says {w}x{h}: "
                           "all styles of a scene must share one size; re-render the scene")
        images[sid] = fit_max_side(img, max_side)
    return images


def load_scene_mask(scene: Scene, fg: dict, max_side: int | None) -> np.ndarray:
    path = scene.mask_path(fg)
    mask = read_mask(path)
    w, h = scene.size
    if mask.shape != (h, w):
        raise RdhError(f"{path}: mask is {mask.shape[1]}x{mask.shape[0]}, scene.json says {w}x{h}: re-render the mask")
    if not mask.any():
        raise RdhError(f"{path}: mask is empty: drop this foreground from scene.json or re-render the scene")
    return fit_max_side(mask.astype(np.uint8), max_side, nearest=True) > 0


def compose_scene(scene_dir: str, cfg: ComposeConfig) -> SceneResult:
    """Write all pairs of one scene; returns its manifest rows and counts."""
    scene = read_scene(Path(scene_dir))
    out, ext = Path(cfg.out), cfg.format
    result = SceneResult(scene.scene_id)
    images = load_scene_images(scene, cfg.max_side)
    masks = [(fg, load_scene_mask(scene, fg, cfg.max_side)) for fg in scene.foregrounds]
    source = cfg.source or f"rdh-{scene.meta['engine']}"
    plan = pair_plan(scene.style_ids, cfg.per_target, derive_seed(cfg.seed, scene.scene_id))
    # the render itself is the ground truth when it is written unchanged
    link_gt = ext == "png" and (cfg.max_side is None or max(scene.size) <= cfg.max_side)
    write_text_atomic(fingerprint_path(out, scene.scene_id), input_fingerprint(scene))
    for fg_meta, mask in masks:
        x = f"{scene.scene_id}_{fg_meta['id']}"
        ratio = float(mask.mean())
        if not cfg.min_fg_ratio <= ratio <= cfg.max_fg_ratio:
            result.skipped[SKIP_FG_RATIO] += len(plan)
            continue
        mask_rel = f"masks/{x}.png"
        if not (out / mask_rel).exists():
            write_mask(out / mask_rel, mask)
        m3 = mask[..., None]
        inside = {sid: img[mask].astype(np.int16) for sid, img in images.items()}  # once per style
        written_gt: set[int] = set()
        for bg, fg in plan:
            # mean absolute change inside the mask, over pixels and channels, on 0-255
            delta = float(np.abs(inside[fg] - inside[bg]).mean())
            if delta < cfg.min_fg_change:
                result.skipped[SKIP_SMALL_CHANGE] += 1
                continue
            gt_rel = f"real_images/{x}-{bg}.{ext}"
            comp_rel = f"composite_images/{x}-{bg}_{fg}.{ext}"
            if bg not in written_gt and not (out / gt_rel).exists():
                _write_target(scene, bg, images[bg], out / gt_rel, link_gt, cfg.quality)
            written_gt.add(bg)
            if (out / comp_rel).exists():
                result.existing += 1
            else:
                composite = np.where(m3, images[fg], images[bg])
                write_bytes_atomic(out / comp_rel, encode(composite, ext, cfg.quality))
                result.written += 1
            result.rows.append(PairRow(
                f"{x}-{bg}_{fg}", "rendered", source, str(fg_meta["category"]), scene.scene_id, comp_rel, gt_rel,
                mask_rel, mask, fg_style=fg, bg_style=bg, composite_label=soft_label(fg, bg, ratio),
                target_label=onehot(bg), extra={"fg_delta": delta, "scene_id": scene.scene_id, "fg_id": str(fg_meta["id"])},
            ).to_dict())
    write_rows(out, scene.scene_id, result.rows)
    return result


def _write_target(scene: Scene, style: int, img: np.ndarray, path: Path, link: bool, quality: int) -> None:
    """The ground truth: a hard link to the render when it is byte-identical, else an encode."""
    if link and is_plain_rgb_png(scene.image_path(style)):
        try:
            with atomic_path(path) as tmp:
                tmp.unlink()
                os.link(scene.image_path(style), tmp)
            return
        except OSError:
            pass  # another filesystem: fall back to writing the pixels
    write_bytes_atomic(path, encode(img, path.suffix, quality))


def is_plain_rgb_png(path: Path) -> bool:
    """Whether a file is an 8-bit, 3-channel PNG: exactly what a composite is made from, so it
    may be hard-linked as the ground truth (a 16-bit, RGBA or gray render is re-encoded instead)."""
    with open(path, "rb") as f:
        head = f.read(26)
    return len(head) == 26 and head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR" and head[24] == 8 and head[25] == 2


IMAGE_NAMES = suffixed(".png", ".jpg", ".jpeg")


def pair_dataset_writes() -> dict[str, Names]:
    """The folders of a pair dataset and the names make-composites (or --from-photos) writes in each:
    what a rerun may sweep the temporaries of (rdhcore.sweep)."""
    return {"": lambda name: name == "pairs.parquet" or name.endswith("_labeled.txt"),
            "composite_images": IMAGE_NAMES, "real_images": IMAGE_NAMES, "masks": IMAGE_NAMES,
            STATE_DIR: named("options.json"), f"{STATE_DIR}/rows": suffixed(".parquet", ".input")}


def rows_path(out: Path, scene_id: str) -> Path:
    return Path(out) / STATE_DIR / "rows" / f"{scene_id}.parquet"


def write_rows(out: Path, scene_id: str, rows: list[dict]) -> None:
    df = pd.DataFrame(rows)
    for col in ("composite_label", "target_label"):
        if col in df:
            df[col] = [np.asarray(v, np.float32).tolist() for v in df[col]]
    with atomic_path(rows_path(out, scene_id)) as tmp:
        df.to_parquet(tmp, index=False)


def read_rows(out: Path, scene_id: str) -> pd.DataFrame:
    path = rows_path(out, scene_id)
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError, MemoryError) as exc:  # pyarrow's errors are OSError or ValueError
        reason = first_line(exc, 100)
        raise RdhError(f"{path}: damaged record of scene {scene_id} ({reason}): delete it and rerun, "
                       "which redoes that scene") from None


def options_path(out: Path) -> Path:
    return Path(out) / STATE_DIR / "options.json"


def check_rerun_options(cfg: ComposeConfig) -> None:
    """A rerun into an existing OUT must use the same output options."""
    check_options_match(cfg.out, cfg.output_options())


def check_options_match(out: Path, wanted: dict) -> None:
    """RdhError when OUT records other output options than `wanted` (make-composites, --from-photos)."""
    previous = read_options(options_path(out))
    if previous is not None and previous != wanted:
        changed = changed_options(previous, wanted)
        raise RdhError(f"{out} was made with other options ({', '.join(changed)}): "
                       "use a new OUT folder, or the same options, or delete this one to start over")


def record_options(cfg: ComposeConfig) -> None:
    record_options_of(cfg.out, cfg.output_options())


def record_options_of(out: Path, wanted: dict) -> None:
    if not options_path(out).exists():
        write_options(options_path(out), wanted)


def precheck_scenes(captures: Path) -> list[Scene]:
    """Read every scene.json before anything is written, so bad metadata fails early."""
    ids = list_scene_ids(captures)
    if not ids:
        raise RdhError(f"{captures}: no scenes under {scenes_dir(captures)}: pass a capture store made by `rdh render-scenes`")
    scenes = [read_scene(captures, sid) for sid in ids]
    for scene in scenes:
        w, h = scene.size
        files = [scene.image_path(sid) for sid in scene.style_ids] + [scene.mask_path(fg) for fg in scene.foregrounds]
        for path in files:
            size = png_size(path)
            if size != (w, h):
                raise RdhError(f"{path}: image is {size[0]}x{size[1]}, scene.json says {w}x{h}: "
                               "all styles and masks of a scene must share one size; re-render the scene")
    return scenes


def decode_check(scenes: list[Scene], workers: int) -> None:
    """Decode every image and mask of these scenes (threads: OpenCV releases the GIL), so a corrupt
    or truncated file stops the run before its first output, not after earlier scenes."""
    def check(scene: Scene) -> None:
        load_scene_images(scene, None)
        for fg in scene.foregrounds:
            load_scene_mask(scene, fg, None)

    if not scenes:
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max(1, min(workers * 2, 8, len(scenes)))) as pool:
        list(pool.map(check, scenes))


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG header, without decoding; RdhError if missing or not a regular PNG file."""
    try:
        check_regular(path, "PNG image")
    except RdhError as exc:
        raise RdhError(f"{exc} (listed in scene.json): re-render the scene") from None
    with open(path, "rb") as f:
        head = f.read(24)
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise RdhError(f"{path}: not a PNG file (corrupt or truncated?): re-render the scene")
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def input_fingerprint(scene: Scene) -> str:
    """What a scene's pairs are made from: its scene.json and each input file's bytes (a digest).
    A rerun redoes a scene whose fingerprint changed, also when a file was replaced with another of
    the same size and modification time (sizes and times alone would not tell)."""
    h = hashlib.blake2b((scene.path / "scene.json").read_bytes(), digest_size=32)
    files = [scene.image_path(sid) for sid in scene.style_ids] + [scene.mask_path(fg) for fg in scene.foregrounds]
    for path in files:
        h.update(f"{path.name}\n".encode())
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def fingerprint_path(out: Path, scene_id: str) -> Path:
    return Path(out) / STATE_DIR / "rows" / f"{scene_id}.input"


def scene_is_current(out: Path, scene: Scene, fingerprint: str) -> bool:
    """Whether what OUT holds of this scene (finished or partial) was made from its present input."""
    path = fingerprint_path(out, scene.scene_id)
    return path.is_file() and path.read_text() == fingerprint


def scene_is_done(out: Path, scene: Scene, fingerprint: str) -> bool:
    """Whether OUT holds this scene's rows, made from its present input (`input_fingerprint`)."""
    return rows_path(out, scene.scene_id).exists() and scene_is_current(out, scene, fingerprint)


def forget_scene(out: Path, scene_id: str) -> None:
    """Remove a scene's rows and pair files made from an older input (ids are [a-z0-9]+, so
    '<scene_id>_*' names this scene's files only)."""
    for path in (rows_path(out, scene_id), fingerprint_path(out, scene_id)):
        path.unlink(missing_ok=True)
    for folder in ("composite_images", "real_images", "masks"):
        for path in (Path(out) / folder).glob(f"{scene_id}_*"):
            path.unlink(missing_ok=True)


@dataclass
class ComposeSummary:
    pairs: int = 0
    written: int = 0
    existing: int = 0
    scenes: int = 0
    scenes_resumed: int = 0
    skipped: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    out: Path | None = None


def _compose_job(args: tuple[str, ComposeConfig]) -> SceneResult:
    return compose_scene(*args)


@within_budget  # --max-pixels, for this call only
def make_composites(cfg: ComposeConfig, progress: Progress | None = None) -> ComposeSummary:
    """Run make-composites over a capture store; `progress` counts pairs (made or skipped)."""
    start = time.perf_counter()
    check_config(cfg)
    captures, out = Path(cfg.captures), Path(cfg.out)
    if not captures.is_dir():
        raise RdhError(f"CAPTURES {captures}: not a folder: pass the output of `rdh render-scenes`")
    scenes = precheck_scenes(captures)
    prints = {s.scene_id: input_fingerprint(s) for s in scenes}  # once per scene: a digest of every input file
    decode_check([s for s in scenes if not scene_is_done(out, s, prints[s.scene_id])], cfg.workers)  # before OUT is touched
    with output_lock(out, "rdh make-composites") as lock:
        return _make_composites(cfg, scenes, prints, captures, out, start, progress, lock.path)


def _make_composites(cfg: ComposeConfig, scenes: list[Scene], prints: dict[str, str], captures: Path, out: Path,
                     start: float, progress: Progress | None, own: Path | None = None) -> ComposeSummary:
    """make_composites under OUT's lock; `prints` holds each scene's input fingerprint."""
    sweep(out, pair_dataset_writes(), own)
    check_rerun_options(cfg)
    summary = ComposeSummary(scenes=len(scenes), out=out)
    todo, stale = [], []
    for scene in scenes:
        if scene_is_done(out, scene, prints[scene.scene_id]):
            summary.scenes_resumed += 1
            continue
        if fingerprint_path(out, scene.scene_id).exists() or rows_path(out, scene.scene_id).exists():
            if not scene_is_current(out, scene, prints[scene.scene_id]):
                stale.append(scene.scene_id)
        todo.append(scene)
    first_run = not (out / "pairs.parquet").exists()
    for sid in stale:
        forget_scene(out, sid)
    recorded_now = bool(todo) and not options_path(out).exists()
    if todo:
        record_options(cfg)  # before the first pair: a killed run's files are then tied to its options
    progress = as_progress(progress)
    progress.start(sum(len(s.foregrounds) * len(pair_plan(s.style_ids, cfg.per_target, derive_seed(cfg.seed, s.scene_id)))
                       for s in todo))
    try:
        _compose_all(cfg, todo, summary, progress)
    except BaseException:  # e.g. Ray did not start: a run that made nothing binds no later run to its options
        if recorded_now and not any(fingerprint_path(out, s.scene_id).exists() for s in scenes):
            options_path(out).unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                options_path(out).parent.rmdir()
        raise
    frames = [read_rows(out, s.scene_id) for s in scenes]
    frames = [f for f in frames if len(f)]
    if not frames:
        if first_run:  # nothing was made: a rerun with other filters must not be refused by this run's state
            for path in [options_path(out), *(p for s in scenes for p in (rows_path(out, s.scene_id), fingerprint_path(out, s.scene_id)))]:
                path.unlink(missing_ok=True)
        raise RdhError(f"{captures}: every pair was filtered out ({dict(summary.skipped)}): relax the fg-ratio or change bounds")
    return _finish(cfg, scenes, frames, summary, out, start)


def _compose_all(cfg: ComposeConfig, todo: list[Scene], summary: ComposeSummary,
                 progress: Progress) -> None:
    for result in _run(todo, cfg):
        summary.written += result.written
        summary.existing += result.existing
        summary.skipped.update(result.skipped)
        progress(len(result.rows) + sum(result.skipped.values()))


def _finish(cfg: ComposeConfig, scenes: list[Scene], frames: list[pd.DataFrame], summary: ComposeSummary,
            out: Path, start: float) -> ComposeSummary:
    """pairs.parquet (and the CharmNet list) from every scene's rows."""
    df = pd.concat(frames, ignore_index=True)
    df = df.sort_values(["scene_id", "fg_id", "bg_style", "fg_style"], kind="stable", key=_natural).reset_index(drop=True)
    df["split"] = assign_group_split(df["group_id"], cfg.test_fraction, cfg.seed)
    write_manifest(df, out / "pairs.parquet")
    if cfg.charmnet_list:
        write_charmnet_list(df, charmnet_list_path(out, cfg.charmnet_list))
    summary.pairs = len(df)
    summary.seconds = time.perf_counter() - start
    return summary


def _natural(col: pd.Series) -> pd.Series:
    """Sort ids made of digits numerically (fg 2 before fg 10)."""
    return pd.to_numeric(col, errors="coerce").fillna(0) if col.name == "fg_id" else col


def _run(scenes: list[Scene], cfg: ComposeConfig) -> Iterable[SceneResult]:
    jobs = [(str(s.path), cfg) for s in scenes]
    if cfg.executor == "ray" and jobs:
        yield from _run_on_ray(jobs, cfg)
        return
    if cfg.workers == 1 or len(jobs) <= 1:
        yield from map(_compose_job, jobs)
        return
    import multiprocessing as mp

    ctx = mp.get_context("spawn" if os.name == "nt" else "fork")
    with ctx.Pool(min(cfg.workers, len(jobs))) as pool:
        yield from pool.imap_unordered(_compose_job, jobs)


def _run_on_ray(jobs: list[tuple[str, ComposeConfig]], cfg: ComposeConfig) -> Iterable[SceneResult]:
    """Each scene a Ray task (the same compose_scene, the same atomic writes as a local worker)."""
    from datagen.ray_executor import map_unordered

    for k, result in map_unordered(compose_scene, jobs, cfg.ray, cfg.workers * cfg.ray.cpus_per_scene):
        if isinstance(result, Exception):
            raise RdhError(f"{jobs[k][0]}: its Ray task failed after {cfg.ray.max_retries} retries "
                           f"({type(result).__name__}): rerun make-composites to redo it")
        yield result


def charmnet_list_path(out: Path, name: str) -> Path:
    """OUT/<name>_labeled.txt, with the name checked to stay a file name inside OUT."""
    if "/" in name:
        raise RdhError(f"--charmnet-list {name!r}: give a name (e.g. train), not a path: the list is written into OUT")
    return id_path(out, name, "_labeled.txt", what="--charmnet-list")


def charmnet_line(row: pd.Series) -> str:
    label = "_".join(f"{v:g}" for v in np.asarray(row["composite_label"], np.float64))
    return f"{row['composite_path']}\t{label}\t{int(row['bg_style'])}"


def write_charmnet_list(df: pd.DataFrame, path: Path) -> None:
    """The official CharmNet list: relative composite path, soft label joined by '_', and the
    harmonized (background) style id, 1-based, tab-separated, one pair a line."""
    write_text_atomic(path, "".join(charmnet_line(r) + "\n" for _, r in df.iterrows()))
