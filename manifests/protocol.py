"""The paper's experimental protocol on a merged frame: category filters, novel flag, splits, sampling.

"human" is the novel category and the others are base categories; rendered training pairs are
sampled (65,000 of 135,000 in the paper). Every draw comes from a hash of (seed, id), so the
result does not depend on the order of the sources or rows, and adding pairs later keeps the
earlier choices as far as possible.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from manifests.checks import SHOWN_PROBLEMS, Problem
from rdhcore.errors import RdhError
from manifests.schema import SPLITS
from manifests.splits import assign_group_split, group_score


def keep_rendered_categories(df: pd.DataFrame, categories: list[str]) -> pd.DataFrame:
    """Drop rendered pairs whose category is not in `categories`; real pairs are kept."""
    keep = (df["domain"] != "rendered") | df["category"].isin(categories)
    return df.loc[keep].reset_index(drop=True)


def fill_splits(df: pd.DataFrame, test_fraction: float, seed: int) -> pd.Series:
    """The split column with empty values filled: by group, per source, `test_fraction` to test.

    A group that already has a split (from other rows) keeps it for its unsplit rows.
    """
    split = df["split"].astype(object).where(df["split"].notna(), None)
    missing = split.isna()
    if not missing.any():
        return split
    known = df.loc[~missing].groupby("group_id")["split"].first()
    inherited = df.loc[missing, "group_id"].map(known)
    split.loc[inherited.dropna().index] = inherited.dropna()
    for _, part in df.loc[split.isna()].groupby("source", sort=True):
        split.loc[part.index] = assign_group_split(part["group_id"], test_fraction, seed).to_numpy()
    return split


def straddling_groups(df: pd.DataFrame, origin: str = "origin") -> list[Problem]:
    """A problem per group that has pairs in both splits, naming one line of each side."""
    counts = df.groupby("group_id")["split"].nunique()
    problems = []
    for k, group in enumerate(counts.index[counts > 1]):
        if k >= SHOWN_PROBLEMS:  # only the shown ones need their lines looked up
            problems.append(Problem(f"group {group!r}", "is in more than one split"))
            continue
        rows = df.loc[df["group_id"] == group]
        first, second = [s for s in SPLITS if (rows["split"] == s).any()][:2]  # e.g. train, then test
        here = rows.loc[rows["split"] == second, origin].iloc[0]
        there = rows.loc[rows["split"] == first, origin].iloc[0]
        problems.append(Problem(here, f"group {group!r} is in {second} here and in {first} at {there}: "
                                      "a photo or scene must sit in one split; fix the split of these pairs"))
    return problems


def pair_scores(pair_ids: pd.Series, seed: int) -> np.ndarray:
    return np.fromiter((group_score(str(p), seed) for p in pair_ids), float, len(pair_ids))


def sample_rendered(df: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """Keep `n` rendered training pairs (the n lowest hash scores of (seed, pair_id)); other rows are kept."""
    candidates = df.index[(df["domain"] == "rendered") & (df["split"] == "train")]
    if n > len(candidates):
        raise RdhError(f"--sample-rendered {n}: only {len(candidates)} rendered training pairs after filtering: "
                       "ask for at most that many")
    scores = pair_scores(df.loc[candidates, "pair_id"], seed)
    dropped = candidates[np.argsort(scores, kind="stable")[n:]]
    return df.drop(index=dropped).reset_index(drop=True)


def novel_flags(df: pd.DataFrame, novel: list[str]) -> pd.Series:
    """The boolean `novel` column: the pair's category is one of the novel categories."""
    return df["category"].isin(novel).astype(bool)
