"""`--categories FILE`: foreground categories for pairs whose source has none (iHarmony4 ships none).

The file is a CSV of (key, category), with an optional header `key,category` and `#` comments.
A key names a pair by, in this order of precedence:

1. its pair_id (`HCOCO/c1_1_1`);
2. a path of its composite, target or mask: absolute, or any trailing part of it
   (`c1_1_1.jpg`, `real_images/c1.jpg`, `HCOCO/masks/c1_1.png`); keys starting with `../`
   are taken relative to the categories file;
3. its group_id (`HCOCO/c1`: the real photo, or the scene of a rendered pair);
4. an image id: the file stem of its target, composite or mask (`c1`).

A pair named by the file takes the file's category; the others keep their own, or `unknown`.
"""
from __future__ import annotations

import csv
import io
import posixpath
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from rdhcore.errors import RdhError
from rdhcore.files import read_text

UNKNOWN = "unknown"
PATH_COLUMNS = ("composite_path", "target_path", "mask_path")


@dataclass
class CategoryMap:
    """Keys -> category, read from a categories file."""

    path: Path
    by_key: dict[str, str]
    max_depth: int  # most '/'-separated parts in a relative key

    def __len__(self) -> int:
        return len(self.by_key)


def read_categories(path: Path) -> CategoryMap:
    """Read the CSV; RdhError naming the line for a malformed row or a key given two categories."""
    path = Path(path)
    if not path.is_file():
        raise RdhError(f"--categories {path}: no such file")
    folder = str(path.resolve().parent).replace("\\", "/")
    by_key: dict[str, str] = {}
    lines: dict[str, int] = {}
    with io.StringIO(read_text(path, "categories CSV"), newline="") as f:
        for lineno, row in enumerate(csv.reader(f), start=1):
            cells = [c.strip() for c in row]
            if not any(cells) or cells[0].startswith("#"):
                continue
            if lineno == 1 and len(cells) >= 2 and cells[1].lower() == "category":
                continue
            if len(cells) < 2 or not cells[0] or not cells[1]:
                raise RdhError(f"--categories {path}:{lineno}: expected 'path or image id,category', got {','.join(row)!r}")
            key = normalize_key(cells[0], folder)
            category = cells[1]
            if key in by_key and by_key[key] != category:
                raise RdhError(f"--categories {path}:{lineno}: {cells[0]!r} is {category!r} here but "
                               f"{by_key[key]!r} on line {lines[key]}: give each key one category")
            by_key[key], lines[key] = category, lineno
    if not by_key:
        raise RdhError(f"--categories {path}: no rows: write one 'path or image id,category' per line")
    depth = max((k.count("/") + 1 for k in by_key if not k.startswith("/")), default=1)
    return CategoryMap(path, by_key, depth)


def normalize_key(key: str, folder: str) -> str:
    key = key.replace("\\", "/")
    if key.startswith("../"):
        return posixpath.normpath(posixpath.join(folder, key))
    key = posixpath.normpath(key)
    return key[2:] if key.startswith("./") else key


def assign_categories(df: pd.DataFrame, categories: CategoryMap) -> tuple[pd.Series, int]:
    """(the category column with the file applied, number of file keys that named no pair).

    `df` holds absolute paths (as the importers return them).
    """
    by_key, depth = categories.by_key, categories.max_depth
    used: set[str] = set()
    out = df["category"].tolist()
    columns = [df[c].tolist() for c in ("pair_id", *PATH_COLUMNS, "group_id")]
    for i, (pair_id, comp, target, mask, group) in enumerate(zip(*columns)):
        key = _match(pair_id, (comp, target, mask), group, by_key, depth)
        if key is not None:
            out[i] = by_key[key]
            used.add(key)
    return pd.Series(out, index=df.index, dtype=object), len(by_key) - len(used)


def _match(pair_id: str, paths: tuple[str, ...], group: str, by_key: dict[str, str], depth: int) -> str | None:
    if pair_id in by_key:
        return pair_id
    for path in paths:
        if path in by_key:
            return path
        parts = path.rsplit("/", depth)
        for d in range(1, len(parts)):
            suffix = "/".join(parts[-d:])
            if suffix in by_key:
                return suffix
    if group in by_key:
        return group
    for path in (paths[1], paths[0], paths[2]):  # the target's stem is the photo's id
        stem = posixpath.splitext(path.rpartition("/")[2])[0]
        if stem in by_key:
            return stem
    return None
