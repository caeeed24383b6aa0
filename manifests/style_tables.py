"""Which style table a rendered pair's style ids and labels use, and mapping one table onto another.

A rendered row's `fg_style`, `bg_style`, `composite_label` and `target_label` name styles by
number. rdh numbers them as docs/design.md's table (`schema.STYLE_NAMES`: weather-major, night last).
The RdHarmony release numbers its styles 1..10 as well (its loader turns a list's id into the
label index `id - 1`), but neither its code, its README nor the paper says which number is which
(weather, time of day) condition (docs/manifests.md, "Style numbering"). So the two tables are
kept apart: the manifest column `style_table` records the table of each rendered row, and a
manifest whose rendered rows use both is refused unless the release's ids are mapped onto rdh's
explicitly (`--rdharmony-style-map`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from rdhcore.errors import RdhError

COLUMN = "style_table"
RDH = "rdh"                   # docs/design.md's table
RELEASE = "RdHarmony"         # the RdHarmony release's own numbering
TABLES = (RDH, RELEASE)
RELEASE_SOURCE = "RdHarmony"  # the `source` of rows imported from the release
K = 10                        # the schema's K (manifests.schema checks the labels' length)


def default_table(source: str) -> str:
    """The table of a rendered row from a manifest written before the column existed."""
    return RELEASE if source == RELEASE_SOURCE else RDH


def style_tables(df: pd.DataFrame) -> pd.Series:
    """The style table of every row: the column where it has a value, else by source; None for real rows."""
    given = df[COLUMN] if COLUMN in df.columns else pd.Series([None] * len(df), index=df.index, dtype=object)
    by_source = df["source"].map(default_table)
    tables = given.where(given.notna(), by_source).astype(object)
    return tables.where(df["domain"] == "rendered", None)


def parse_style_map(text: str) -> dict[int, int]:
    """'1=4,2=5,...' (release id = rdh id, all ten) or 'same' -> {release id: rdh id}, a permutation of 1..K."""
    option = "--rdharmony-style-map"
    if text.strip().lower() == "same":
        return {i: i for i in range(1, K + 1)}
    mapping: dict[int, int] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        left, eq, right = part.partition("=")
        if not eq or not left.strip().isdigit() or not right.strip().isdigit():
            raise RdhError(f"{option} {text!r}: {part!r} is not RELEASE_ID=RDH_ID: write e.g. 1=1,2=4,...,10=10, or 'same'")
        src, dst = int(left), int(right)
        if src in mapping:
            raise RdhError(f"{option} {text!r}: release style {src} is mapped twice")
        mapping[src] = dst
    if sorted(mapping) != list(range(1, K + 1)) or sorted(mapping.values()) != list(range(1, K + 1)):
        raise RdhError(f"{option} {text!r}: map each release style 1..{K} to a different rdh style 1..{K} "
                       "(a permutation), or write 'same'")
    return mapping


def map_release_styles(df: pd.DataFrame, mapping: dict[int, int]) -> pd.DataFrame:
    """A copy of df whose release-table rows use rdh's table: ids mapped, label vectors permuted."""
    df = df.copy()
    tables = style_tables(df)
    rows = df.index[tables == RELEASE]
    # new_label[mapping[r] - 1] = old_label[r - 1] for every release id r
    dest = np.array([mapping[r] - 1 for r in range(1, K + 1)])

    def permute(label):
        if label is None or (isinstance(label, float) and np.isnan(label)):
            return label
        old = np.asarray(label, np.float32)
        new = np.empty_like(old)
        new[dest] = old
        return new

    for col in ("fg_style", "bg_style"):
        df[col] = df[col].astype(object)
        df.loc[rows, col] = [None if pd.isna(v) else mapping[int(v)] for v in df.loc[rows, col]]
    for col in ("composite_label", "target_label"):
        df[col] = df[col].astype(object)
        df.loc[rows, col] = pd.Series([permute(v) for v in df.loc[rows, col]], index=rows, dtype=object)
    df[COLUMN] = style_tables(df)
    df.loc[rows, COLUMN] = RDH
    return df


def mixed_tables_problem(df: pd.DataFrame, name: str = "manifest") -> str | None:
    """A one-line refusal when the rendered rows use more than one style table, else None."""
    tables = style_tables(df)
    used = sorted(t for t in tables.dropna().unique())
    if len(used) < 2:
        return None
    counts = ", ".join(f"{int((tables == t).sum())} pairs in the {t} table" for t in used)
    return (f"{name}: rendered pairs number their styles in two tables ({counts}); the RdHarmony release does not "
            "say which of its style ids is which condition, so its labels cannot be mixed with rdh's: map them with "
            "--rdharmony-style-map RELEASE_ID=RDH_ID,... (or 'same'), or keep the sources in separate manifests "
            "(docs/manifests.md, Style numbering)")


def check_one_table(df: pd.DataFrame, name: str = "manifest") -> None:
    problem = mixed_tables_problem(df, name)
    if problem:
        raise RdhError(problem)
