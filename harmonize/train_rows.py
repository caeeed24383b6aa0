"""Which manifest rows `rdh train` trains on and which it validates on.

Training reads split=train rows, and validates on split=val rows when the manifest (after
--filter) has any. Without them, a group-disjoint `--val-fraction` of the training groups (scenes,
photos) is set aside to validate and is not trained on. split=test rows are never read here:
they belong to `rdh evaluate`, so choosing best.pt cannot leak them.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from harmonize.data import check_files, load_rows, pick_validation
from harmonize.train_config import TrainConfig
from harmonize.steps import STEPS
from rdhcore.errors import RdhError
from manifests.splits import assign_group_split
from manifests.style_tables import check_one_table


@dataclass
class Rows:
    train: dict            # stream name ("all" | "rendered", "real") -> DataFrame
    val: pd.DataFrame      # maybe empty
    val_domain: str        # generator branch used for validation: "real", "rendered" or "all"
    val_source: str        # "split=val" | "val-fraction" | "none"
    val_groups: int = 0    # groups (scenes, photos) the validation rows come from, before --val-max
    note: str | None = None  # why there is no validation, when the user may not expect it


def carve_validation(rows: pd.DataFrame, fraction: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, val): `fraction` of the groups of rows (at least one, never all) go to val.

    Groups are drawn by manifests.splits.assign_group_split, a hash of (seed, group), so the same
    settings give the same validation rows in a resumed run. Fewer than 2 groups: val is empty.
    """
    if fraction <= 0 or rows["group_id"].nunique() < 2:
        return rows, rows.iloc[:0]
    side = assign_group_split(rows["group_id"], fraction, seed)  # "test" here means: validate
    return rows[side == "train"], rows[side == "test"]


def select_rows(cfg: TrainConfig, world_size: int = 1) -> Rows:
    """The training streams and validation rows of cfg (RdhError when they cannot train)."""
    name = str(cfg.manifest)
    df = load_rows(cfg.manifest, cfg.filter)
    where = f" (after --filter {cfg.filter})" if cfg.filter else ""
    train = df[df["split"] == "train"]
    val_rows = df[df["split"] == "val"]
    if STEPS[cfg.model].domains == ("all",):   # one stream of every row (iDIH)
        if len(train) == 0:
            raise RdhError(f"{name}: no split=train rows{where}: nothing to train on")
        streams = {"all": train}
        candidates = {"all": val_rows}
    else:
        streams = {d: train[train["domain"] == d] for d in ("rendered", "real")}
        for d, rows in streams.items():
            if len(rows) == 0:
                raise RdhError(f"{name}: CharmNet needs split=train rows of both domains and has no "
                               f"domain={d} rows{where}: add {d} pairs (e.g. with build-manifest) or train --model idih")
        _check_labels(streams["rendered"], name)
        check_one_table(streams["rendered"], name)  # P_in and P_out must read one numbering of the styles
        # Validate on the real domain, the one the model is for; rendered rows only when there are no real ones.
        candidates = {d: val_rows[val_rows["domain"] == d] for d in ("real", "rendered")}

    note = None
    val_domain = next((d for d, rows in candidates.items() if len(rows)), None)
    if val_domain is not None:
        val, source = candidates[val_domain], "split=val"
    else:
        val, val_domain, source = val_rows.iloc[:0], next(iter(candidates)), "none"
        if cfg.val_fraction > 0:
            for d in candidates:  # the same order: real first for CharmNet
                kept, carved = carve_validation(streams[d], cfg.val_fraction, cfg.seed)
                if len(carved):
                    note = (f"{name}: no split=val rows{where}: --val-fraction {cfg.val_fraction} set aside "
                            f"{carved['group_id'].nunique()} of {streams[d]['group_id'].nunique()} {'' if d == 'all' else d + ' '}"
                            "groups (scenes or photos) "
                            f"({len(carved)} of {len(streams[d])} pairs) to validate on; they are not trained on "
                            "(--val-fraction 0 trains on all of them)")
                    streams[d], val, val_domain, source = kept, carved, d, "val-fraction"
                    break
            else:
                note = (f"{name}: no split=val rows{where} and a single group (scene or photo) in the train rows, "
                        "so --val-fraction has nothing to set aside: no validation, best.pt is the final weights")

    for d, rows in streams.items():
        if len(rows) < 2 * world_size:
            each = " per process" if world_size > 1 else ""
            aside = (f" once --val-fraction {cfg.val_fraction} set aside {len(val)} for validation (lower it, or "
                     "give the manifest split=val rows)" if source == "val-fraction" and d == val_domain else "")
            raise RdhError(f"{name}: only {len(rows)} split=train row(s) for {d}{where}{aside}: need at least 2{each} "
                           "(batch norm needs two images a batch)")
    val_groups = int(val["group_id"].nunique())
    val = pick_validation(val, cfg.val_max, cfg.seed)
    for rows in list(streams.values()) + [val]:
        check_files(rows, name)
    return Rows({d: r.reset_index(drop=True) for d, r in streams.items()}, val, val_domain, source, val_groups, note)


def _check_labels(rendered: pd.DataFrame, name: str) -> None:
    unlabeled = rendered["composite_label"].isna() | rendered["target_label"].isna()
    if unlabeled.any():
        raise RdhError(f"{name}: rendered pair {rendered.loc[unlabeled, 'pair_id'].iloc[0]!r} has no style labels: "
                       "CharmNet's style losses need composite_label and target_label on rendered rows")
