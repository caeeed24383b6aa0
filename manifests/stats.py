"""Summary statistics of a manifest, for `rdh inspect` (tables) and `rdh inspect --json`."""
from __future__ import annotations

import numpy as np
import pandas as pd

from manifests.schema import K, SPLITS, STYLE_NAMES

FG_BINS = ((0.0, 0.05, "0-5%"), (0.05, 0.15, "5-15%"), (0.15, 1.0, "15-100%"))
COUNT_COLUMNS = ("domain", "source", "category", "split", "novel")


def shown_splits(df: pd.DataFrame) -> list[str]:
    """The split columns of the tables: train and test always, val only when some row has it."""
    return [s for s in SPLITS if s != "val" or (df["split"] == "val").any()]


def count_table(df: pd.DataFrame, column: str) -> dict[str, dict[str, int]]:
    """{value: {"total", "train", ("val",) "test"}} for one column, values sorted by count (descending)."""
    splits = shown_splits(df)
    values = df[column].astype(str).str.lower() if column == "novel" else df[column].astype(str)
    table = pd.crosstab(values, df["split"].astype(str))
    for split in splits:
        if split not in table.columns:
            table[split] = 0
    table["total"] = table[splits].sum(axis=1)
    table = table.sort_values(["total"], ascending=False, kind="stable")
    return {str(v): {"total": int(r["total"]), **{s: int(r[s]) for s in splits}} for v, r in table.iterrows()}


def fg_ratio_bins(ratios: pd.Series) -> list[dict]:
    """Counts in 0-5%, 5-15%, 15-100% (lower edge included; 100% falls in the last bin)."""
    r = pd.to_numeric(ratios).to_numpy(np.float64)
    total = max(len(r), 1)
    bins = []
    for lo, hi, name in FG_BINS:
        inside = (r >= lo) & ((r < hi) if hi < 1.0 else (r <= hi))
        n = int(inside.sum())
        bins.append({"bin": name, "low": lo, "high": hi, "count": n, "fraction": n / total})
    return bins


def style_counts(df: pd.DataFrame) -> list[dict]:
    """Per style id 1..K: how many rendered pairs take their foreground / background from it."""
    rendered = df.loc[df["domain"] == "rendered"]
    fg = pd.to_numeric(rendered["fg_style"]).value_counts()
    bg = pd.to_numeric(rendered["bg_style"]).value_counts()
    return [{"id": sid, "name": STYLE_NAMES[sid - 1], "fg": int(fg.get(sid, 0)), "bg": int(bg.get(sid, 0))}
            for sid in range(1, K + 1)]


def manifest_stats(df: pd.DataFrame) -> dict:
    """Everything `rdh inspect` shows, as plain JSON-ready values."""
    ratios = pd.to_numeric(df["fg_ratio"])
    return {
        "pairs": int(len(df)),
        "splits": shown_splits(df),
        "counts": {c: count_table(df, c) for c in COUNT_COLUMNS if c in df.columns},
        "fg_ratio": {
            "bins": fg_ratio_bins(ratios),
            "by_domain": {d: fg_ratio_bins(ratios[df["domain"] == d]) for d in sorted(df["domain"].unique())},
            "min": float(ratios.min()) if len(df) else None,
            "median": float(ratios.median()) if len(df) else None,
            "max": float(ratios.max()) if len(df) else None,
        },
        "styles": {"rendered_pairs": int((df["domain"] == "rendered").sum()), "by_style": style_counts(df)},
    }
