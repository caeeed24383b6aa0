"""`rdh build-manifest`: merge pair sources into one `rdh.manifest/1` file with a split column.

Stages, in order: import every source (paths absolute, each row remembers its list line),
record each rendered row's style table (mapping the RdHarmony release's onto rdh's when asked, and
refusing a mix otherwise), apply categories, the rendered-category filter, splits by group,
sampling and the novel flag,
then check every referenced file (in parallel), read masks for fg_ratio and size where the
source did not give them, optionally decode every image, and only when nothing is wrong write
the manifest atomically with paths relative to its folder.
"""
from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from manifests.categories import UNKNOWN, assign_categories, read_categories
from manifests.build_options import BuildConfig
from manifests.checks import (KIND_FRACTION, MASK_FRACTION, FileIndex, Problem, default_workers, image_infos, mask_stats,
                              raise_problems)
from rdhcore.atomic import clean_temp_of
from rdhcore.errors import RdhError
from rdhcore.imageio import within_budget
from rdhcore.locks import output_lock
from rdhcore.outputs import Inputs
from rdhcore.progress import Progress, as_progress
from manifests.iharmony4 import import_iharmony4
from manifests.importers import ORIGIN, import_csv, import_pairs, onehot, soft_label
from manifests.paths import relative_all
from manifests.protocol import fill_splits, keep_rendered_categories, novel_flags, sample_rendered, straddling_groups
from manifests.rdharmony import import_rdharmony
from manifests.schema import manifest_file, write_manifest
from manifests import style_tables

PATH_COLUMNS = (("composite_path", "composite"), ("target_path", "target"), ("mask_path", "mask"))
FG_RATIO_TOLERANCE = 0.01  # of the image: a recorded fg_ratio and the mask's may differ by JPEG rims only


@dataclass
class BuildSummary:
    """What a build wrote and dropped, for the CLI's table."""

    out: Path
    pairs: int = 0
    by_source: dict[str, int] = field(default_factory=dict)
    by_split: dict[str, int] = field(default_factory=dict)
    dropped_by_category: int = 0
    dropped_by_sampling: int = 0
    category_keys_unmatched: int | None = None
    masks_read: int = 0
    images_decoded: int = 0
    seconds: float = 0.0


def rdharmony_jobs(cfg: BuildConfig) -> list[tuple[Path, Path, str | None]]:
    """(root, list, category) per RdHarmony list: one root for all lists, or one root per list."""
    roots, lists, cats = list(cfg.rdharmony), list(cfg.rdharmony_lists), list(cfg.rdharmony_categories)
    if not roots and not lists:
        if cats:
            raise RdhError("--rdharmony-category needs --rdharmony ROOT --rdharmony-list FILE")
        return []
    if not lists:
        raise RdhError("--rdharmony ROOT needs --rdharmony-list FILE (the release's list of pairs)")
    if not roots:
        raise RdhError("--rdharmony-list needs --rdharmony ROOT (the folder the list's paths are relative to)")
    if len(roots) == 1:
        roots = roots * len(lists)
    if len(roots) != len(lists):
        raise RdhError(f"{len(roots)} --rdharmony roots for {len(lists)} --rdharmony-list files: give one root, or one per list")
    if len(cats) == 1:
        cats = cats * len(lists)
    if cats and len(cats) != len(lists):
        raise RdhError(f"{len(cats)} --rdharmony-category values for {len(lists)} lists: give one, or one per list")
    return list(zip(roots, lists, cats or [None] * len(lists)))


def check_config(cfg: BuildConfig) -> None:
    if not (cfg.pairs or cfg.iharmony4 or cfg.rdharmony or cfg.rdharmony_lists or cfg.csv):
        raise RdhError("no source given: pass at least one of --pairs, --iharmony4, --rdharmony with --rdharmony-list, --csv")
    if Path(cfg.out).is_dir():
        raise RdhError(f"OUT {cfg.out} is a folder: give the manifest file to write, e.g. {Path(cfg.out) / 'manifest.parquet'}")
    if not 0 <= cfg.test_fraction < 1:
        raise RdhError(f"--test-fraction {cfg.test_fraction}: use a value in [0, 1)")
    if cfg.sample_rendered is not None and cfg.sample_rendered < 0:
        raise RdhError(f"--sample-rendered {cfg.sample_rendered}: use 0 or more")
    if cfg.workers is not None and cfg.workers < 1:
        raise RdhError(f"--workers {cfg.workers}: use 1 or more")
    if cfg.rendered_categories is not None and not cfg.rendered_categories:
        raise RdhError("--rendered-categories: name at least one category")
    rdharmony_jobs(cfg)
    if cfg.rdharmony_style_map is not None:
        style_tables.parse_style_map(cfg.rdharmony_style_map)


def one_style_table(df: pd.DataFrame, cfg: BuildConfig) -> pd.DataFrame:
    """df with its `style_table` column; the release's rows mapped onto rdh's table when asked;
    RdhError when the rendered rows would still use two tables."""
    df[style_tables.COLUMN] = style_tables.style_tables(df)
    if cfg.rdharmony_style_map is not None:
        df = style_tables.map_release_styles(df, style_tables.parse_style_map(cfg.rdharmony_style_map))
    style_tables.check_one_table(df, str(cfg.out))
    return df


def import_sources(cfg: BuildConfig, files: FileIndex, progress: Progress | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """All sources, in option order (pairs, iHarmony4, RdHarmony, CSV), as one frame and its problems."""
    jobs = ([lambda p=p: import_pairs(p, cfg.prefix_pairs) for p in cfg.pairs]
            + [lambda r=r: import_iharmony4(r, files, cfg.iharmony4_subsets) for r in cfg.iharmony4]
            + [lambda r=r, lst=lst, c=c: import_rdharmony(r, lst, files, c) for r, lst, c in rdharmony_jobs(cfg)]
            + [lambda p=p: import_csv(p) for p in cfg.csv])
    frames, problems = [], []
    progress = as_progress(progress)
    progress.start(len(jobs), stage="read sources")
    for job in jobs:
        frame, found = job()
        frames.append(frame)
        problems.extend(found)
        progress(1)
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(), problems
    return pd.concat(frames, ignore_index=True), problems


def duplicate_ids(df: pd.DataFrame) -> list[Problem]:
    """One problem for all repeated pair ids, naming the first repeat and both of its origins."""
    again = df["pair_id"].duplicated(keep="first")
    if not again.any():
        return []
    i = int(np.argmax(again.to_numpy()))
    pid = df["pair_id"].iloc[i]
    first = df.loc[df["pair_id"] == pid, ORIGIN].iloc[0]
    more = f" and {int(again.sum()) - 1} more repeated id(s)" if again.sum() > 1 else ""
    return [Problem(df[ORIGIN].iloc[i], f"pair {pid!r} again (first from {first}){more}: pair ids must be unique; "
                                        "pass each source once, and add --prefix-pairs to merge pair datasets of separate render runs")]


def missing_files(df: pd.DataFrame, files: FileIndex, progress: Progress | None = None) -> list[Problem]:
    """A problem per row and path that is not a file."""
    unique = list(dict.fromkeys(p for col, _ in PATH_COLUMNS for p in df[col]))
    present = dict(zip(unique, files.exists_many(unique, progress).tolist()))
    problems = []
    for col, what in PATH_COLUMNS:
        absent = ~df[col].map(present).astype(bool)
        hint = ": the line names no file" if what == "composite" else ""
        problems.extend(Problem(o, f"{what} {p} not found{hint}") for o, p in zip(df.loc[absent, ORIGIN], df.loc[absent, col]))
    return problems


def fill_mask_stats(df: pd.DataFrame, workers: int, progress: Progress | None = None) -> tuple[list[Problem], int]:
    """Fill fg_ratio, width and height from the masks of rows that lack them; (problems, masks read)."""
    need = df["fg_ratio"].isna() | df["width"].isna() | df["height"].isna()
    if not need.any():
        return [], 0
    stats = mask_stats(df.loc[need, "mask_path"].tolist(), workers, progress)
    found = df.loc[need, "mask_path"].map(stats)
    bad = found.isna()
    problems = [Problem(o, f"mask {p} cannot be decoded as an image: replace the file")
                for o, p in zip(df.loc[bad[bad].index, ORIGIN], df.loc[bad[bad].index, "mask_path"])]
    good = found[~bad]
    for col, attr in (("fg_ratio", "fg_ratio"), ("width", "width"), ("height", "height")):
        empty = df.loc[good.index, col].isna()
        idx = good.index[empty.to_numpy()]
        df.loc[idx, col] = [getattr(s, attr) for s in good.loc[idx]]
    return problems, len(stats)


def fill_labels(df: pd.DataFrame) -> None:
    """Rendered rows that give styles but no labels get the area-weighted label (docs/design.md)."""
    rendered = df["domain"] == "rendered"
    for i in df.index[rendered & df["composite_label"].isna() & df["fg_style"].notna() & df["bg_style"].notna()]:
        df.at[i, "composite_label"] = soft_label(int(df.at[i, "fg_style"]), int(df.at[i, "bg_style"]), float(df.at[i, "fg_ratio"]))
    for i in df.index[rendered & df["target_label"].isna() & df["bg_style"].notna()]:
        df.at[i, "target_label"] = onehot(int(df.at[i, "bg_style"]))


def verify_images(df: pd.DataFrame, workers: int, progress: Progress | None = None) -> tuple[list[Problem], int]:
    """Decode every image; a problem per undecodable or truncated file, per image of the wrong kind
    (a mask that is a color photo, a composite or target that is a mask) and per size mismatch."""
    unique = list(dict.fromkeys(p for col, _ in PATH_COLUMNS for p in df[col]))
    infos = image_infos(unique, workers, progress)
    problems = []
    for row in df[[ORIGIN, "composite_path", "target_path", "mask_path", "width", "height",
                   "fg_ratio"]].itertuples(index=False):
        origin, comp, target, mask, width, height, ratio = row
        paths = dict(composite=comp, target=target, mask=mask)
        got = {what: infos[p] for what, p in paths.items()}
        broken = [what for what, s in got.items() if isinstance(s, str)]
        if broken:
            problems.extend(Problem(origin, f"{what} {paths[what]} {got[what]}: replace the file") for what in broken)
            continue
        wrong = wrong_kind(got)
        if wrong:
            problems.append(Problem(origin, wrong))
            continue
        sizes = {what: (s.height, s.width) for what, s in got.items()}
        if len(set(sizes.values())) > 1:
            shown = ", ".join(f"{what} {s[1]}x{s[0]}" for what, s in sizes.items())
            problems.append(Problem(origin, f"image sizes differ ({shown}): composite, target and mask must match"))
        elif (int(height), int(width)) != sizes["target"]:
            problems.append(Problem(origin, f"recorded size {int(width)}x{int(height)} but the target is "
                                            f"{sizes['target'][1]}x{sizes['target'][0]}: rebuild the source"))
        elif abs(float(ratio) - got["mask"].fg_ratio) > FG_RATIO_TOLERANCE:
            problems.append(Problem(origin, f"recorded fg_ratio {float(ratio):.4g} but the mask covers "
                                            f"{got['mask'].fg_ratio:.4g} of the image: rebuild the source"))
    return problems, len(unique)


def wrong_kind(got: dict) -> str | None:
    """Why a decoded (composite, target, mask) triple has an image in the wrong role, or None."""
    mask = got["mask"]
    if not mask.gray:
        return "the mask is a color image (a composite or photo in the mask column?): give the foreground mask"
    if mask.binary < MASK_FRACTION:
        return "the mask is not black and white (a gray photo in the mask column?): give the foreground mask"
    for what in ("composite", "target"):
        info = got[what]
        if info.gray and info.binary >= KIND_FRACTION:
            return f"the {what} is a black-and-white mask, not a photo: check the {what} column"
    return None


def finish_types(df: pd.DataFrame, out: Path) -> pd.DataFrame:
    """Column types of the schema, paths relative to OUT's folder, the origin column dropped."""
    df = df.drop(columns=[ORIGIN])
    for col, _ in PATH_COLUMNS:
        df[col] = relative_all(df[col].tolist(), str(out.parent))
    df["width"] = df["width"].astype(np.int64)
    df["height"] = df["height"].astype(np.int64)
    df["fg_ratio"] = df["fg_ratio"].astype(np.float32)
    for col in ("fg_style", "bg_style"):
        df[col] = pd.array(df[col].tolist(), dtype="Int64")
    return df


def option_inputs(cfg: BuildConfig) -> Inputs:
    """The files the options name (manifests, lists, CSV files, the categories table)."""
    inputs = Inputs().add_files((manifest_file(p) for p in cfg.pairs), "--pairs manifest")
    return (inputs.add_files(cfg.csv, "--csv file").add_files(cfg.rdharmony_lists, "--rdharmony-list file")
            .add_file(cfg.categories, "--categories file"))


@within_budget  # --max-pixels, for this call only
def build_manifest(cfg: BuildConfig, progress: Progress | None = None) -> BuildSummary:
    """Build and write the manifest; RdhError (nothing written) when any source has a problem."""
    start = time.perf_counter()
    check_config(cfg)
    out = Path(os.path.abspath(cfg.out))
    option_inputs(cfg).refuse([("OUT", out)])
    with output_lock(out, "rdh build-manifest", is_file=True):
        clean_temp_of(out)
        return _build(cfg, out, start, progress)


def _build(cfg: BuildConfig, out: Path, start: float, progress: Progress | None) -> BuildSummary:
    """build_manifest under the lock of its output file."""
    workers = cfg.workers or default_workers()
    files = FileIndex(workers)
    summary = BuildSummary(out=out)

    df, problems = import_sources(cfg, files, progress)
    raise_problems(problems)
    if df.empty:
        raise RdhError("the sources hold no pairs: check the list files and folders given")
    raise_problems(duplicate_ids(df))
    df = one_style_table(df, cfg)

    if cfg.categories is not None:
        df["category"], summary.category_keys_unmatched = assign_categories(df, read_categories(cfg.categories))
    df["category"] = df["category"].where(df["category"].notna(), UNKNOWN)
    if cfg.rendered_categories is not None:
        before = len(df)
        df = keep_rendered_categories(df, cfg.rendered_categories)
        summary.dropped_by_category = before - len(df)
        if df.empty:
            raise RdhError(f"--rendered-categories {','.join(cfg.rendered_categories)}: no pair is left")
    df["split"] = fill_splits(df, cfg.test_fraction, cfg.seed)
    raise_problems(straddling_groups(df))
    if cfg.sample_rendered is not None:
        before = len(df)
        df = sample_rendered(df, cfg.sample_rendered, cfg.seed)
        summary.dropped_by_sampling = before - len(df)
    if cfg.novel_categories:
        df["novel"] = novel_flags(df, cfg.novel_categories)

    raise_problems(missing_files(df, files, progress))
    problems, summary.masks_read = fill_mask_stats(df, workers, progress)
    raise_problems(problems)
    fill_labels(df)
    if cfg.verify_images:
        problems, summary.images_decoded = verify_images(df, workers, progress)
        raise_problems(problems)

    inputs = Inputs()
    for col, what in PATH_COLUMNS:
        inputs.add_files(df[col], f"{what} image", links=False)
    inputs.refuse([("OUT", out)])
    df = finish_types(df, out)
    write_manifest(df, out)
    summary.pairs = len(df)
    summary.by_source = dict(Counter(df["source"]))
    summary.by_split = dict(Counter(df["split"]))
    summary.seconds = time.perf_counter() - start
    return summary
