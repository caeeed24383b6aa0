"""Importer for the official RdHarmony release and its list format (`--rdharmony ROOT --rdharmony-list FILE`).

A list line is tab-separated: the composite path relative to ROOT, its soft style label (K
numbers joined by '_') and the harmonized (ground-truth) style id, 1-based, as the official
CharmNet loader reads it::

    composite_images/X-Y_Z.jpg<TAB>0_0.31_0_0_0_0.69_0_0_0_0<TAB>6

Composite `X-Y_Z` maps to the ground truth `real_images/X-Y.jpg` and the mask `masks/X.png`:
Y is the background (harmonized) style and Z the foreground style. X is the 2D scene with its
foreground, so it is the group that must not straddle splits. The release files may use 1-based
or 0-based style numbers in names; the list's style id tells which.
"""
from __future__ import annotations

import io
import os
import posixpath
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from manifests.checks import FileIndex, Problem
from rdhcore.errors import RdhError
from rdhcore.files import read_text
from manifests.importers import RowBuilder, onehot, parse_label
from manifests.paths import absolute
from manifests.schema import K

SOURCE = "RdHarmony"
TARGET_EXTS = (".jpg", ".png", ".jpeg")
MASK_EXTS = (".png", ".jpg")


@dataclass(frozen=True)
class ListLine:
    """One parsed list line."""

    path: str            # composite path as written, '/'-separated
    label: np.ndarray    # soft label of the composite, float32[K], sums to 1
    style: int           # harmonized style id, 1..K


def parse_list_line(line: str) -> ListLine | None:
    """Parse one list line; None for a blank line; ValueError saying what is wrong."""
    text = line.rstrip("\r\n")
    if not text.strip():
        return None
    parts = text.split("\t") if "\t" in text else text.split()
    parts = [p.strip() for p in parts if p.strip()]
    if len(parts) != 3:
        raise ValueError(f"expected 3 tab-separated fields (path, label, style id), found {len(parts)}")
    path, label_text, style_text = parts
    label = parse_label(label_text, "_")
    try:
        style = int(style_text)
    except ValueError:
        raise ValueError(f"style id {style_text!r} is not a whole number") from None
    if not 1 <= style <= K:
        raise ValueError(f"style id {style} out of range 1..{K}")
    return ListLine(path.replace("\\", "/"), label, style)


def name_parts(path: str) -> tuple[str, int, int]:
    """'composite_images/X-Y_Z.jpg' -> (X, Y, Z) as written in the name; ValueError if not that form."""
    stem = posixpath.splitext(posixpath.basename(path))[0]
    x, dash, styles = stem.rpartition("-")
    y, underscore, z = styles.partition("_")
    if not (x and dash and underscore) or not (y.isdigit() and z.isdigit()):
        raise ValueError(f"composite name {posixpath.basename(path)!r} is not X-Y_Z (Y, Z style numbers)")
    return x, int(y), int(z)


def styles_of(y: int, z: int, harmonized: int) -> tuple[int, int]:
    """(fg_style, bg_style), 1-based, from the name's Y, Z and the list's harmonized style id."""
    if y == harmonized and 1 <= z <= K:
        return z, y
    if y + 1 == harmonized and 1 <= z + 1 <= K:  # names numbered from 0
        return z + 1, y + 1
    raise ValueError(f"name says background style {y} but the list says harmonized style {harmonized}")


def resolve_list(root: Path, list_file: Path) -> Path:
    """The list file as given, or relative to ROOT."""
    for candidate in (Path(list_file), Path(root) / list_file):
        if candidate.is_file():
            return candidate
    raise RdhError(f"--rdharmony-list {list_file}: no such file (looked as given and under {root})")


def import_rdharmony(root: Path, list_file: Path, files: FileIndex, category: str | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """One rendered pair per list line; labels from the list; split left for the build to assign."""
    root = Path(root)
    if not root.is_dir():
        raise RdhError(f"--rdharmony {root}: not a folder: pass the unpacked RdHarmony release")
    list_path = resolve_list(root, list_file)
    base = os.path.abspath(root).replace("\\", "/")
    rows, problems = RowBuilder(), []
    seen: dict[str, str] = {}
    # the release ships one archive per category, whose names may repeat across archives
    prefix = f"{SOURCE}/{category}" if category else SOURCE
    with io.StringIO(read_text(list_path, "list file")) as f:
        lines = list(enumerate(f, start=1))
    for lineno, raw in lines:
        origin = f"{list_path}:{lineno}"
        try:
            line = parse_list_line(raw)
            if line is None:
                continue
            rel = line.path if "/" in line.path else f"composite_images/{line.path}"
            x, y, z = name_parts(rel)
            fg, bg = styles_of(y, z, line.style)
        except ValueError as exc:
            problems.append(Problem(origin, str(exc)))
            continue
        comp = absolute(rel, base)
        if comp in seen:
            problems.append(Problem(origin, f"{rel} is listed again (first at {seen[comp]})"))
            continue
        seen[comp] = origin
        comp_dir, _, comp_name = comp.rpartition("/")
        parent = comp_dir.rpartition("/")[0] if comp_dir.endswith("/composite_images") else base
        real_dir, mask_dir = f"{parent}/real_images", f"{parent}/masks"
        files.prefetch([comp_dir, real_dir, mask_dir])
        y_text = posixpath.splitext(comp_name)[0].rpartition("-")[2].partition("_")[0]
        ext = posixpath.splitext(comp_name)[1]
        target = files.first_existing([f"{real_dir}/{x}-{y_text}{e}" for e in dict.fromkeys((*TARGET_EXTS, ext))])
        mask = files.first_existing([f"{mask_dir}/{x}{e}" for e in MASK_EXTS])
        rows.add(
            pair_id=f"{prefix}/{posixpath.splitext(comp_name)[0]}", domain="rendered", source=SOURCE,
            category=category, split=None, group_id=f"{prefix}/{x}",
            composite_path=comp, target_path=target or f"{real_dir}/{x}-{y_text}.jpg",
            mask_path=mask or f"{mask_dir}/{x}.png",
            fg_style=fg, bg_style=bg, composite_label=line.label, target_label=onehot(bg),
            origin=origin,
        )
    return rows.frame(), problems
