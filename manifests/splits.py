"""Train/test splits by group, so that no scene or photo straddles the two."""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd


def group_score(group_id: str, seed: int) -> float:
    """A stable pseudo-random number in [0, 1) per (group, seed), independent of row order."""
    digest = hashlib.sha256(f"{int(seed)}:{group_id}".encode()).digest()
    return int.from_bytes(digest[:8], "little") / 2.0**64


def assign_group_split(groups: pd.Series, test_fraction: float, seed: int) -> pd.Series:
    """'train'/'test' per row; the `test_fraction` of groups with the lowest scores go to test.

    Exactly round(test_fraction * n_groups) groups are test (at least 1 when the fraction > 0
    and there are 2+ groups), chosen by a hash of (seed, group), so adding groups later keeps
    the existing ones where they were as far as possible.
    """
    unique = pd.unique(groups)
    n_test = int(round(test_fraction * len(unique)))
    if test_fraction > 0 and len(unique) > 1:
        n_test = min(max(n_test, 1), len(unique) - 1)
    scores = np.array([group_score(str(g), seed) for g in unique])
    test_groups = set(unique[np.argsort(scores, kind="stable")[:n_test]].tolist())
    return pd.Series(np.where(groups.isin(test_groups), "test", "train"), index=groups.index)
