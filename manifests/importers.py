"""Importers shared by build-manifest: the row builder, pair datasets / manifests (`--pairs`), CSV tables (`--csv`).

Every importer returns a frame in the manifest's columns plus `origin` (the list line or row
a pair came from, for error messages), with ABSOLUTE paths; unknown values are left empty
for the build to fill: fg_ratio/width/height (from the mask), split (by group), category.
The iHarmony4 and RdHarmony importers live in their own modules.
"""
from __future__ import annotations

import csv
import io
import math
import os
import posixpath
from pathlib import Path

import numpy as np
import pandas as pd

from manifests.checks import Problem
from rdhcore.errors import RdhError
from rdhcore.files import read_text
from manifests.paths import absolute, absolute_all
from manifests.schema import COLUMNS, DOMAINS, K, SPLITS, check_paths_inside, read_manifest, validate_manifest

ORIGIN = "origin"
# columns a build recomputes, never carried over from an imported manifest
PROTOCOL_COLUMNS = ("novel",)


class RowBuilder:
    """Collects rows column by column (cheap for 100,000 rows) and returns them as a frame."""

    def __init__(self) -> None:
        self.columns: dict[str, list] = {c: [] for c in [*COLUMNS, ORIGIN]}

    def add(self, **values) -> None:
        for name, column in self.columns.items():
            column.append(values.get(name))

    def __len__(self) -> int:
        return len(self.columns["pair_id"])

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({c: pd.Series(v, dtype=object) for c, v in self.columns.items()})


def onehot(style: int) -> np.ndarray:
    label = np.zeros(K, np.float32)
    label[style - 1] = 1.0
    return label


def soft_label(fg: int, bg: int, ratio: float) -> np.ndarray:
    """The area-weighted composite label r * onehot(fg) + (1 - r) * onehot(bg) (docs/design.md)."""
    label = np.zeros(K, np.float32)
    label[bg - 1] += 1.0 - ratio
    label[fg - 1] += ratio
    return label


def parse_label(text: str, sep: str = "_") -> np.ndarray:
    """A soft label written as K numbers joined by `sep`, renormalized to sum 1.

    Lists written with a few decimals sum to 1 only approximately; sums within 0.01 of 1
    are renormalized, anything else is an error (ValueError with the reason).
    """
    parts = [p for p in text.strip().split(sep) if p != ""]
    if len(parts) != K:
        raise ValueError(f"label {text!r} has {len(parts)} values, expected {K}")
    try:
        values = np.array([float(p) for p in parts], np.float64)
    except ValueError:
        raise ValueError(f"label {text!r} is not {K} numbers joined by {sep!r}") from None
    total = values.sum()
    if (values < 0).any() or not np.isfinite(values).all() or abs(total - 1.0) > 1e-2:
        raise ValueError(f"label {text!r} sums to {total:.4f}: a label is {K} non-negative numbers summing to 1")
    return (values / total).astype(np.float32)


# ---- --pairs: a pair dataset folder, its pairs.parquet, or any rdh manifest ----

def manifest_file(path: Path) -> Path:
    """The Parquet file behind --pairs PATH (a folder holding pairs.parquet, or a file)."""
    path = Path(path)
    if path.is_dir():
        if not (path / "pairs.parquet").is_file():
            raise RdhError(f"--pairs {path}: folder has no pairs.parquet: pass a folder made by `rdh make-composites` or a manifest file")
        return path / "pairs.parquet"
    if not path.is_file():
        raise RdhError(f"--pairs {path}: no such file or folder")
    return path


def pairs_prefix(path: Path) -> str:
    """The id prefix of a --pairs source under --prefix-pairs: its folder name, or the manifest's stem."""
    path = Path(path)
    mpath = manifest_file(path)
    return mpath.parent.resolve().name if mpath.name == "pairs.parquet" else mpath.stem


def import_pairs(path: Path, prefix: bool = False) -> tuple[pd.DataFrame, list[Problem]]:
    """Rows of a pair dataset or manifest, with paths made absolute against its own folder.

    With `prefix`, pair_id and group_id become '<dataset folder name>/<id>', so that datasets
    rendered in separate runs (which reuse scene ids) can be merged.
    """
    mpath = manifest_file(path)
    df = read_manifest(mpath)
    validate_manifest(df, name=str(mpath))
    check_paths_inside(df, str(mpath))
    df = df.drop(columns=[c for c in PROTOCOL_COLUMNS if c in df.columns])
    if prefix:
        tag = pairs_prefix(mpath)
        for col in ("pair_id", "group_id"):
            df[col] = [f"{tag}/{v}" for v in df[col]]
    base = os.path.abspath(mpath.parent)
    for col in ("composite_path", "target_path", "mask_path"):
        df[col] = absolute_all(df[col].astype(str).tolist(), base)
    df[ORIGIN] = [f"{mpath} pair {pid}" for pid in df["pair_id"]]
    for col in ("composite_label", "target_label"):
        df[col] = pd.Series([None if v is None else np.asarray(v, np.float32) for v in df[col]], index=df.index, dtype=object)
    return df, []


# ---- --csv: a generic table of composite, target and mask paths ----

CSV_ALIASES = {
    "composite_path": ("composite", "composite_path", "comp"),
    "target_path": ("target", "target_path", "real", "gt"),
    "mask_path": ("mask", "mask_path"),
}
CSV_OPTIONAL = ("pair_id", "group_id", "source", "category", "split", "domain",
                "fg_style", "bg_style", "composite_label", "target_label")


def import_csv(path: Path) -> tuple[pd.DataFrame, list[Problem]]:
    """Rows of a CSV with a header naming composite, target and mask (paths relative to the CSV's
    folder or absolute) and optionally pair_id, group_id, source, category, split, domain,
    fg_style, bg_style, composite_label, target_label (labels: K numbers joined by '_').

    Rendered rows need labels or fg_style and bg_style (the label is then computed from the mask).
    """
    path = Path(path)
    if not path.is_file():
        raise RdhError(f"--csv {path}: no such file")
    with io.StringIO(read_text(path, "CSV file"), newline="") as f:
        reader = csv.reader(f)
        try:
            header = [h.strip().lower() for h in next(reader)]
        except StopIteration:
            raise RdhError(f"--csv {path}: file is empty: it needs a header with composite,target,mask") from None
        index = _csv_columns(path, header)
        records = [(lineno, row) for lineno, row in enumerate(reader, start=2) if any(c.strip() for c in row)]
    base = os.path.abspath(path.parent)
    rows, problems = RowBuilder(), []
    for lineno, row in records:
        origin = f"{path}:{lineno}"
        cell = {name: (row[i].strip() if i < len(row) else "") for name, i in index.items()}
        try:
            rows.add(**_csv_row(cell, base, path.stem), origin=origin)
        except ValueError as exc:
            problems.append(Problem(origin, str(exc)))
    return rows.frame(), problems


def _csv_columns(path: Path, header: list[str]) -> dict[str, int]:
    index = {}
    for name, aliases in CSV_ALIASES.items():
        found = [header.index(a) for a in aliases if a in header]
        if not found:
            raise RdhError(f"--csv {path}: header has no {aliases[0]!r} column (also accepted: {', '.join(aliases[1:])}); "
                           f"header is {','.join(header)}")
        index[name] = found[0]
    for name in CSV_OPTIONAL:
        if name in header:
            index[name] = header.index(name)
    return index


def _csv_row(cell: dict[str, str], base: str, stem: str) -> dict:
    for name in CSV_ALIASES:
        if not cell[name]:
            raise ValueError(f"empty {name.removesuffix('_path')} path")
    domain = cell.get("domain") or "real"
    if domain not in DOMAINS:
        raise ValueError(f"domain {domain!r}: use one of {', '.join(DOMAINS)}")
    split = cell.get("split") or None
    if split is not None and split not in SPLITS:
        raise ValueError(f"split {split!r}: use one of {', '.join(SPLITS)} or leave it empty")
    fg, bg = _style(cell.get("fg_style")), _style(cell.get("bg_style"))
    comp_label = parse_label(cell["composite_label"]) if cell.get("composite_label") else None
    target_label = parse_label(cell["target_label"]) if cell.get("target_label") else None
    if domain == "rendered" and comp_label is None and (fg is None or bg is None):
        raise ValueError("rendered pair needs composite_label, or fg_style and bg_style to compute it")
    if domain == "rendered" and target_label is None and bg is None:
        raise ValueError("rendered pair needs target_label or bg_style")
    comp, target = absolute(cell["composite_path"], base), absolute(cell["target_path"], base)
    return {
        "pair_id": cell.get("pair_id") or f"{stem}/{_id_path(comp, base)}",
        "domain": domain, "source": cell.get("source") or stem,
        "category": cell.get("category") or None, "split": split,
        "group_id": cell.get("group_id") or f"{stem}/{_id_path(target, base)}",
        "composite_path": comp, "target_path": target,
        "mask_path": absolute(cell["mask_path"], base),
        "fg_style": fg, "bg_style": bg, "composite_label": comp_label,
        "target_label": target_label if target_label is not None else (onehot(bg) if bg is not None and domain == "rendered" else None),
    }


def _id_path(path: str, base: str) -> str:
    """A file's path relative to the CSV's folder, without extension: the default id."""
    return posixpath.splitext(posixpath.relpath(path, base))[0]


def _style(text: str | None) -> int | None:
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"style id {text!r} is not a number 1..{K}") from None
    if not math.isfinite(number) or number != int(number):
        raise ValueError(f"style id {text!r} is not a whole number 1..{K}")
    value = int(number)
    if not 1 <= value <= K:
        raise ValueError(f"style id {value} out of range 1..{K}")
    return value
