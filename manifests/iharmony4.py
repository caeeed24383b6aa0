"""Importer for the iHarmony4 layout (`--iharmony4 ROOT`).

    ROOT/<subset>/composite_images/<name>_<maskid>_<k>.jpg
    ROOT/<subset>/masks/<name>_<maskid>.png
    ROOT/<subset>/real_images/<name>.jpg
    ROOT/<subset>/<subset>_train.txt, <subset>_test.txt   # one composite per line

The dataset's own lists decide the split. A list line is a composite file name
(`a0001_1_3.jpg`); `composite_images/a0001_1_3.jpg` and `HAdobe5k/composite_images/a0001_1_3.jpg`
(the form of the combined IHD_train.txt) are accepted too. ROOT may also be one subset folder.
"""
from __future__ import annotations

import io
import os
import posixpath
from pathlib import Path

import pandas as pd

from manifests.checks import FileIndex, Problem
from rdhcore.errors import RdhError
from rdhcore.files import read_text
from manifests.importers import RowBuilder

SUBSETS = ("HCOCO", "HAdobe5k", "HFlickr", "Hday2night")
SPLIT_LISTS = (("train", "_train.txt"), ("test", "_test.txt"))
REAL_EXTS = (".jpg", ".png", ".jpeg")
MASK_EXTS = (".png", ".jpg")


def find_subsets(root: Path, wanted: list[str] | None = None) -> list[tuple[str, Path]]:
    """(subset name, folder) for the subsets under ROOT (or ROOT itself when it is one subset)."""
    root = Path(root)
    if not root.is_dir():
        raise RdhError(f"--iharmony4 {root}: not a folder: pass the iHarmony4 root holding {', '.join(SUBSETS)}")
    if (root / "composite_images").is_dir():
        found = [(root.name, root)]
    else:
        found = [(s, root / s) for s in SUBSETS if (root / s / "composite_images").is_dir()]
    if wanted:
        names = {name for name, _ in found}
        absent = [w for w in wanted if w not in names]
        if absent:
            raise RdhError(f"--iharmony4-subsets: {', '.join(absent)} not under {root} (found: {', '.join(sorted(names)) or 'none'})")
        found = [(name, folder) for name, folder in found if name in wanted]
    if not found:
        raise RdhError(f"--iharmony4 {root}: no subset folder with composite_images/ (expected {', '.join(SUBSETS)})")
    return found


def composite_parts(name: str) -> tuple[str, str] | None:
    """'a0001_1_3.jpg' -> ('a0001', 'a0001_1'): the real image stem and the mask stem; None if not that form."""
    stem = posixpath.splitext(name)[0]
    parts = stem.rsplit("_", 2)
    if len(parts) != 3 or not all(parts) or not stem or name == stem:
        return None
    return parts[0], f"{parts[0]}_{parts[1]}"


def list_entry(line: str, subset: str) -> str:
    """The composite file name a list line names ('' for a blank line)."""
    entry = line.strip().replace("\\", "/")
    while entry.startswith("./"):
        entry = entry[2:]
    for prefix in (f"{subset}/", "composite_images/"):
        if entry.startswith(prefix):
            entry = entry[len(prefix):]
    return entry


def import_iharmony4(root: Path, files: FileIndex, subsets: list[str] | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """One real pair per list line: source = subset, group_id = subset/real image, split from the list."""
    rows, problems = RowBuilder(), []
    for subset, folder in find_subsets(root, subsets):
        lists = [(split, folder / f"{subset}{suffix}") for split, suffix in SPLIT_LISTS]
        lists = [(split, path) for split, path in lists if path.is_file()]
        if not lists:
            raise RdhError(f"--iharmony4 {folder}: neither {subset}_train.txt nor {subset}_test.txt found: "
                           "the split comes from the dataset's lists; restore them from the iHarmony4 download")
        base = os.path.abspath(folder).replace("\\", "/")
        comp_dir, mask_dir, real_dir = (f"{base}/{d}" for d in ("composite_images", "masks", "real_images"))
        files.prefetch([comp_dir, mask_dir, real_dir])
        seen: dict[str, str] = {}
        for split, list_path in lists:
            with io.StringIO(read_text(list_path, "list file")) as f:
                for lineno, line in enumerate(f, start=1):
                    entry = list_entry(line, subset)
                    if not entry:
                        continue
                    origin = f"{list_path}:{lineno}"
                    parts = None if "/" in entry else composite_parts(entry)
                    if parts is None:
                        problems.append(Problem(origin, f"{line.strip()!r} is not a composite name like a0001_1_3.jpg"))
                        continue
                    if entry in seen:
                        problems.append(Problem(origin, f"{entry} is listed again (first at {seen[entry]}): a composite belongs to one list"))
                        continue
                    seen[entry] = origin
                    real_stem, mask_stem = parts
                    ext = posixpath.splitext(entry)[1]
                    real = files.first_existing([f"{real_dir}/{real_stem}{e}" for e in dict.fromkeys((*REAL_EXTS, ext))])
                    mask = files.first_existing([f"{mask_dir}/{mask_stem}{e}" for e in MASK_EXTS])
                    rows.add(
                        pair_id=f"{subset}/{posixpath.splitext(entry)[0]}", domain="real", source=subset,
                        category=None, split=split, group_id=f"{subset}/{real_stem}",
                        composite_path=f"{comp_dir}/{entry}",
                        target_path=real or f"{real_dir}/{real_stem}.jpg",
                        mask_path=mask or f"{mask_dir}/{mask_stem}.png",
                        origin=origin,
                    )
    return rows.frame(), problems
