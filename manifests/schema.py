"""The Parquet manifest schema `rdh.manifest/1`: columns, file metadata, read, write, validate.

One row per (composite, target, mask) pair; the same schema serves rendered and real pairs.
Paths are stored relative to the manifest file's folder (absolute paths are allowed).
"""
from __future__ import annotations

import json
import posixpath
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from rdhcore.atomic import atomic_path
from rdhcore.errors import RdhError, first_line, is_utf8
from rdhcore.files import check_regular

SCHEMA_VERSION = "rdh.manifest/1"
K = 10
# Kept here (not imported from datagen) so that manifests stands alone; datagen.styles checks they agree.
STYLE_NAMES = (
    "clear_sunrise_sunset", "clear_noon", "clear_other",
    "partly_cloudy_sunrise_sunset", "partly_cloudy_noon", "partly_cloudy_other",
    "cloudy_sunrise_sunset", "cloudy_noon", "cloudy_other", "night",
)
DOMAINS = ("rendered", "real")
SPLITS = ("train", "val", "test")  # val: rows `rdh train` validates on (optional)

FIELDS = [
    pa.field("pair_id", pa.string(), nullable=False),
    pa.field("domain", pa.string(), nullable=False),
    pa.field("source", pa.string(), nullable=False),
    pa.field("category", pa.string(), nullable=False),
    pa.field("split", pa.string(), nullable=False),
    pa.field("group_id", pa.string(), nullable=False),
    pa.field("composite_path", pa.string(), nullable=False),
    pa.field("target_path", pa.string(), nullable=False),
    pa.field("mask_path", pa.string(), nullable=False),
    pa.field("width", pa.int32(), nullable=False),
    pa.field("height", pa.int32(), nullable=False),
    pa.field("fg_ratio", pa.float32(), nullable=False),
    pa.field("fg_style", pa.int8()),
    pa.field("bg_style", pa.int8()),
    pa.field("composite_label", pa.list_(pa.float32())),
    pa.field("target_label", pa.list_(pa.float32())),
]
COLUMNS = [f.name for f in FIELDS]
ARROW_SCHEMA = pa.schema(FIELDS)
PATH_COLUMNS = ("composite_path", "target_path", "mask_path")
PATHS_KEY = b"rdh.paths"   # "inside": every path stays in the manifest's folder; "outside": some lie elsewhere
METADATA = {b"rdh.schema": SCHEMA_VERSION.encode(), b"rdh.styles": json.dumps(list(STYLE_NAMES)).encode()}


def to_table(df: pd.DataFrame) -> pa.Table:
    """A pandas frame with at least the required columns -> an Arrow table in the schema.

    Extra columns are kept after the required ones.
    """
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise RdhError(f"manifest is missing column(s) {missing}")
    extra = [c for c in df.columns if c not in COLUMNS]
    arrays, fields = [], []
    for f in FIELDS:
        col = df[f.name]
        if pa.types.is_list(f.type):
            values = [None if v is None or (isinstance(v, float) and np.isnan(v)) else np.asarray(v, np.float32) for v in col]
            arrays.append(pa.array(values, type=f.type))
        elif pa.types.is_integer(f.type) and f.nullable:
            arrays.append(pa.array(pd.array(col, dtype="Int64").to_numpy(dtype=object, na_value=None), type=f.type))
        else:
            arrays.append(pa.array(col.to_numpy() if not pa.types.is_string(f.type) else col.astype(str).tolist(), type=f.type))
        fields.append(f)
    extra_table = pa.Table.from_pandas(df[extra], preserve_index=False) if extra else None
    if extra_table is not None:
        for name in extra:
            arrays.append(extra_table.column(name))
            fields.append(pa.field(name, extra_table.schema.field(name).type))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata=METADATA))


def write_manifest(df: pd.DataFrame, path: str | Path, validate: bool = True) -> Path:
    """Validate (by default) and write a manifest atomically; returns the path."""
    path = Path(path)
    if validate:
        validate_manifest(df, name=str(path))
    table = to_table(df)
    # whether the paths stay in the manifest's folder: a file edited later to point out of it is refused
    where = b"outside" if any(leaves_folder(p) for c in PATH_COLUMNS for p in df[c].astype(str)) else b"inside"
    table = table.replace_schema_metadata({**table.schema.metadata, PATHS_KEY: where})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")
    return path


def read_manifest(path: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a manifest into pandas; RdhError when the file is not `rdh.manifest/1`.

    Unknown extra columns are kept (callers ignore what they do not know).
    """
    path = manifest_file(path)
    if not path.exists():
        raise RdhError(f"{path}: manifest not found")
    check_regular(path, "manifest (.parquet)")  # a FIFO would block the Parquet reader
    try:
        meta = pq.read_schema(path).metadata or {}
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise RdhError(f"{path}: not a Parquet file ({first_line(exc, 120)}): pass a manifest written by rdh") from None
    version = meta.get(b"rdh.schema", b"").decode(errors="replace") or None
    if version != SCHEMA_VERSION:
        raise RdhError(
            f"{path}: manifest schema is {version or 'unknown (no rdh.schema metadata)'}, "
            f"this rdh reads {SCHEMA_VERSION}: rebuild it with `rdh build-manifest`")
    try:
        table = pq.read_table(path, columns=columns)
        check_column_types(table, path)
        df = table.to_pandas()
    except (pa.ArrowException, OSError, ValueError, MemoryError) as exc:  # a damaged page, a bad length
        raise RdhError(f"{path}: damaged Parquet data ({first_line(exc, 120)}): restore the file or rebuild it with "
                       "`rdh build-manifest` (or `rdh make-composites`)") from None
    df.attrs[PATHS_KEY.decode()] = meta.get(PATHS_KEY, b"").decode(errors="replace") or None
    return df


INT32_MAX = 2**31 - 1


def check_column_types(table: pa.Table, path: str | Path) -> None:
    """RdhError when a column of the schema holds another kind of value than the schema's: text
    columns (ids, paths) must be text, and width/height whole numbers that fit int32."""
    for f in FIELDS:
        if f.name not in table.column_names:
            continue
        kind = table.schema.field(f.name).type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        if pa.types.is_string(f.type) and not (pa.types.is_string(kind) or pa.types.is_large_string(kind)
                                              or pa.types.is_null(kind)):
            raise RdhError(f"{path}: column {f.name} holds {kind} values, not text: ids and paths are strings; "
                           "fix the column or rebuild the manifest with `rdh build-manifest`")
        if f.name in ("width", "height") and pa.types.is_integer(kind):
            import pyarrow.compute as pc

            top = pc.max(table.column(f.name)).as_py()
            if top is not None and top > INT32_MAX:
                raise RdhError(f"{path}: column {f.name} holds {top}, more than the schema's int32 allows "
                               f"({INT32_MAX}): fix the value or rebuild the manifest")


def manifest_file(path: str | Path) -> Path:
    """The manifest a path names: a pair-dataset folder names its pairs.parquet, a file itself."""
    path = Path(path)
    return path / "pairs.parquet" if path.is_dir() and (path / "pairs.parquet").exists() else path


def leaves_folder(path: str) -> bool:
    """Whether a manifest path (relative to the manifest's folder, or absolute) points out of that folder."""
    path = path.replace("\\", "/")
    norm = posixpath.normpath(path)
    return posixpath.isabs(path) or norm == ".." or norm.startswith("../")


def check_paths_inside(df: pd.DataFrame, name: str) -> None:
    """RdhError when a manifest that was written with every path inside its folder now points out of it.

    A manifest whose sources lie elsewhere (build-manifest from an iHarmony4 tree: '../iHarmony4/...')
    records that when written, and its paths are read as they are; so do manifests of older rdh."""
    if df.attrs.get(PATHS_KEY.decode()) != "inside":
        return
    for col in PATH_COLUMNS:
        for pid, p in zip(df["pair_id"], df[col].astype(str)):
            if leaves_folder(p):
                raise RdhError(f"{name}: {col} {p!r} of pair {pid!r} leaves the manifest's folder, which this manifest "
                               "was written not to do (edited by hand?): fix the path, or rebuild the manifest with "
                               "`rdh build-manifest`, which records sources that lie elsewhere")


def resolve_paths(df: pd.DataFrame, manifest_path: str | Path) -> pd.DataFrame:
    """A copy of df whose path columns are absolute, resolved against the manifest's folder."""
    check_paths_inside(df, str(manifest_path))
    base = Path(manifest_path)
    base = base if base.is_dir() else base.parent
    out = df.copy()
    for col in ("composite_path", "target_path", "mask_path"):
        out[col] = [p if Path(p).is_absolute() else str(base / p) for p in out[col]]
    return out


def validate_manifest(df: pd.DataFrame, name: str = "manifest") -> None:
    """Check columns, types, labels, unique ids, split and domain values, group-disjoint splits."""
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise RdhError(f"{name}: missing column(s) {missing}")
    if df["pair_id"].duplicated().any():
        dup = df.loc[df["pair_id"].duplicated(), "pair_id"].iloc[0]
        raise RdhError(f"{name}: pair_id {dup!r} appears more than once: pair ids must be unique")
    for col, allowed in (("split", SPLITS), ("domain", DOMAINS)):
        bad = ~df[col].isin(allowed)
        if bad.any():
            raise RdhError(f"{name}: {col} {df.loc[bad, col].iloc[0]!r} in pair {df.loc[bad, 'pair_id'].iloc[0]!r}: use one of {', '.join(allowed)}")
    for col in ("pair_id", "source", "category", "group_id", "composite_path", "target_path", "mask_path"):
        if df[col].isna().any():
            raise RdhError(f"{name}: column {col} has empty values")
        _check_text(df, col, name)
    for col in ("width", "height"):
        if not pd.api.types.is_integer_dtype(df[col]) or (df[col] <= 0).any():
            raise RdhError(f"{name}: column {col} must hold positive integers")
    ratio = pd.to_numeric(df["fg_ratio"], errors="coerce")
    if ratio.isna().any() or ((ratio < 0) | (ratio > 1)).any():
        raise RdhError(f"{name}: fg_ratio must be a number in [0, 1]")
    for col in ("fg_style", "bg_style"):
        _check_style_ids(df, col, name)
    same = pd.to_numeric(df["fg_style"], errors="coerce") == pd.to_numeric(df["bg_style"], errors="coerce")
    if same.any():
        i = same[same].index[0]
        raise RdhError(f"{name}: pair {df.loc[i, 'pair_id']!r} has fg_style == bg_style ({df.loc[i, 'fg_style']}): a "
                       "composite of a style onto itself is its own ground truth; fix the styles or drop the pair")
    for col in ("composite_label", "target_label"):
        _check_labels(df, col, name)
    if "novel" in df.columns and not pd.api.types.is_bool_dtype(df["novel"]):
        raise RdhError(f"{name}: column novel must be boolean (true when the category is a novel one)")
    splits = df.groupby("group_id")["split"].unique()
    straddling = splits[splits.map(len) > 1]
    if len(straddling):
        found = [s for s in SPLITS if s in set(straddling.iloc[0])]
        where = f"both {found[0]} and {found[1]}" if len(found) == 2 else f"{', '.join(found[:-1])} and {found[-1]}"
        raise RdhError(f"{name}: group {straddling.index[0]!r} appears in {where}: split by group")


def _check_text(df: pd.DataFrame, col: str, name: str) -> None:
    """Ids and paths: non-empty text that UTF-8 can hold (a file name read with a lone surrogate cannot)."""
    values = df[col].astype(str)
    empty = values == ""
    if empty.any():
        i = empty[empty].index[0]
        raise RdhError(f"{name}: {col} is empty (row {i}): every pair needs an id, a group and three paths")
    try:
        "".join(values).encode("utf-8")
    except UnicodeEncodeError:
        bad = values.map(lambda v: not is_utf8(v))
        i = bad[bad].index[0]
        raise RdhError(f"{name}: {col} {values[i]!r} (row {i}) is not text UTF-8 can hold (a lone surrogate, e.g. "
                       "a file name in another encoding): rename the file or fix the value") from None


def _check_style_ids(df: pd.DataFrame, col: str, name: str) -> None:
    """Style ids: empty (null, or NaN as pandas shows a null), or whole numbers 1..K; not booleans,
    text, inf or fractions."""
    column = df[col]
    if pd.api.types.is_bool_dtype(column):
        raise RdhError(f"{name}: {col} holds true/false: style ids are whole numbers 1..{K}")
    if pd.api.types.is_integer_dtype(column):
        values = pd.to_numeric(column).dropna()
        bad = (values < 1) | (values > K)
    else:
        bad = pd.Series([not _style_ok(v) for v in column], index=column.index, dtype=bool)
    if bad.any():
        i = bad[bad].index[0]
        value = column.loc[i]
        shown = repr(value.item() if isinstance(value, np.generic) else value)
        raise RdhError(f"{name}: {col} {shown} in pair {df.loc[i, 'pair_id']!r}: style ids are whole numbers "
                       f"1..{K} (or empty for real pairs)")


def _style_ok(value) -> bool:
    if value is None or value is pd.NA:
        return True
    if isinstance(value, (bool, np.bool_, str, bytes)):
        return False
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    if np.isnan(number):
        return True  # a null read into a float column
    return bool(np.isfinite(number) and number == int(number) and 1 <= number <= K)


def _check_labels(df: pd.DataFrame, col: str, name: str) -> None:
    present = df[col].map(lambda v: v is not None and not (isinstance(v, float) and np.isnan(v)))
    rendered = df["domain"] == "rendered"
    if (rendered & ~present).any():
        pid = df.loc[rendered & ~present, "pair_id"].iloc[0]
        raise RdhError(f"{name}: rendered pair {pid!r} has no {col}: rendered pairs need style labels")
    if not present.any():
        return
    values = df.loc[present, col].tolist()
    if any(np.asarray(v).dtype.kind == "b" for v in values):
        raise RdhError(f"{name}: {col} holds true/false values: labels are {K} numbers summing to 1")
    lengths = np.fromiter((len(v) for v in values), int, len(values))
    if (lengths != K).any():
        pid = df.loc[present, "pair_id"].iloc[int(np.argmax(lengths != K))]
        raise RdhError(f"{name}: {col} of pair {pid!r} has length {lengths[lengths != K][0]}, expected {K}")
    try:
        labels = np.stack([np.asarray(v, np.float64) for v in values])
    except (TypeError, ValueError):
        raise RdhError(f"{name}: {col} holds values that are not numbers: labels are {K} numbers summing to 1") from None
    sums = labels.sum(axis=1)
    bad = ~np.isfinite(labels).all(axis=1) | (np.abs(sums - 1) > 1e-5) | (labels < 0).any(axis=1)
    if bad.any():
        pid = df.loc[present, "pair_id"].iloc[int(np.argmax(bad))]
        raise RdhError(f"{name}: {col} of pair {pid!r} sums to {sums[bad][0]:.6f}: labels must be non-negative and sum to 1")
