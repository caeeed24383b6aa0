"""`rdh evaluate`: score the split=test rows of a manifest, per image and per subset.

Predictions come from a checkpoint (run through `harmonize.inference`, exactly as
`rdh harmonize` would write them, or the network's own output with `Protocol.raw_output`) or
from a folder of `<pair_id>.png` files. A run folder given as the checkpoint is scored from its
last.pt (best.pt with `best`). Every image is scored twice with the same protocol: the prediction, and the input
composite itself (the "Input Composite" row of the paper's Table 2). Results are means over
images, overall and grouped by domain, source, category, novel and foreground-ratio bin.
"""
from __future__ import annotations

import contextlib

import json
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from harmonize.data import apply_filter
from harmonize.options import EvalConfig
from harmonize.checkpoint import checkpoint_file
from harmonize.inference import harmonize_images, load_harmonizer, run_model
from harmonize.metrics import Protocol, check_triple, prepare, resize_image, resize_mask, roundtrip, score_prepared
from rdhcore.atomic import write_bytes_atomic, write_text_atomic
from rdhcore.errors import RdhError
from rdhcore.imageio import encode, read_mask_gray, read_rgb, within_budget
from rdhcore.locks import output_lock
from rdhcore.names import id_path
from rdhcore.outputs import Inputs
from rdhcore.sweep import sweep_beside
from rdhcore.progress import Progress, as_progress
from manifests.schema import SPLITS, manifest_file, read_manifest, resolve_paths, validate_manifest

EVAL_SCHEMA = "rdh.eval/1"
GROUP_KEYS = ("domain", "source", "category", "novel", "fg_bin")
FG_BINS = ((0.0, 0.05, "0-5%"), (0.05, 0.15, "5-15%"), (0.15, 1.0 + 1e-9, "15-100%"))
METRICS = ("mse", "fmse", "psnr", "ssim")


@dataclass
class EvalResult:
    per_image: pd.DataFrame              # one row per pair: ids, group columns, scores, composite_* scores
    overall: dict
    groups: list[dict]
    protocol: Protocol
    source: dict                         # what was scored: manifest, checkpoint or predictions folder
    seconds: float = 0.0

    def to_json_dict(self) -> dict:
        return _finite({"schema": EVAL_SCHEMA, **self.source, "protocol": self.protocol.to_dict(),
                        "protocol_text": self.protocol.describe(), "overall": self.overall, "groups": self.groups})

    def write_json(self, path: Path) -> None:
        write_text_atomic(path, json.dumps(self.to_json_dict(), indent=2) + "\n")

    def table(self) -> pd.DataFrame:
        """Overall and every group as rows: group, value, count, mse, fmse, psnr, composite_*."""
        return pd.DataFrame([{"group": "overall", "value": "all", **self.overall}, *self.groups])

    def write_csv(self, path: Path) -> None:
        write_text_atomic(path, self.table().to_csv(index=False, float_format="%.6g"))

    def write_per_image(self, path: Path) -> None:
        write_text_atomic(path, self.per_image.to_csv(index=False, float_format="%.6g"))

    def group(self, key: str, value) -> dict | None:
        """The row of one group, e.g. group("novel", True); None when absent."""
        for g in self.groups:
            if g["group"] == key and g["value"] == value:
                return g
        return None


def _finite(obj):
    """JSON has no NaN or infinity: write null for them."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj


# ---- selecting rows ----

def fg_bin(ratio: float) -> str:
    for lo, hi, name in FG_BINS:
        if lo <= ratio < hi:
            return name
    return FG_BINS[-1][2]


def select_rows(df: pd.DataFrame, cfg: EvalConfig) -> pd.DataFrame:
    """The rows to score, with `novel` (when known) and `fg_bin` columns added."""
    df = df.copy()
    if "novel" not in df.columns and cfg.novel:
        df["novel"] = df["category"].isin(cfg.novel)
    if "novel" in df.columns:
        df["novel"] = df["novel"].astype(bool)
    df["fg_bin"] = [fg_bin(float(r)) for r in df["fg_ratio"]]
    if cfg.split != "all":
        if cfg.split not in SPLITS:
            raise RdhError(f"--split {cfg.split!r}: use test, val, train or all")
        df = df[df["split"] == cfg.split]
    df = apply_filter(df, cfg.filter, name=str(cfg.manifest))  # the same --filter syntax as `rdh train`
    if cfg.limit is not None:
        df = df.head(cfg.limit)
    if df.empty:
        raise RdhError(f"{cfg.manifest}: no rows with split={cfg.split}"
                       f"{' and ' + cfg.filter if cfg.filter else ''}: check --split/--filter, "
                       "or give the manifest a test split (make-composites --test-fraction)")
    return df.reset_index(drop=True)


# ---- where predictions come from ----

def prediction_path(folder: Path, pair_id: str) -> Path:
    """folder/<pair_id>.png; the id may name sub-folders ('a/b'), never leave the folder (rdhcore.names)."""
    return id_path(folder, pair_id, ".png", what="pair_id")


def check_predictions(folder: Path, pair_ids: list[str]) -> None:
    if not Path(folder).is_dir():
        raise RdhError(f"--predictions {folder}: not a folder: pass a folder of <pair_id>.png files")
    missing = [p for p in pair_ids if not prediction_path(folder, p).is_file()]
    if missing:
        raise RdhError(f"--predictions {folder}: {len(missing)} of {len(pair_ids)} predictions are missing, e.g. "
                       f"{prediction_path(folder, missing[0]).name}: write one <pair_id>.png per test pair")


def read_pair(row) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(composite RGB, target RGB, mask HxW uint8 0-255) of a manifest row with absolute paths."""
    composite, target, mask = read_rgb(row.composite_path), read_rgb(row.target_path), read_mask_gray(row.mask_path)
    check_triple(composite, target, mask, name=str(row.composite_path))
    return composite, target, mask


def _from_folder(rows: pd.DataFrame, folder: Path) -> Iterator[tuple]:
    for row in rows.itertuples(index=False):
        composite, target, mask = read_pair(row)
        yield row, read_rgb(prediction_path(folder, row.pair_id)), composite, target, mask


def _from_model(rows: pd.DataFrame, cfg: EvalConfig, harmonizer) -> Iterator[tuple]:
    """The deliverable: full-resolution outputs with the background kept (what `rdh harmonize` writes)."""
    for start in range(0, len(rows), cfg.batch_size):
        chunk = list(rows.iloc[start:start + cfg.batch_size].itertuples(index=False))
        pairs = [read_pair(row) for row in chunk]
        for row, (composite, target, mask), pred in zip(
                chunk, pairs, harmonize_images(harmonizer, [p[0] for p in pairs], [p[2] > 127 for p in pairs],
                                               batch_size=cfg.batch_size)):
            if cfg.save_outputs is not None:
                write_bytes_atomic(prediction_path(cfg.save_outputs, row.pair_id), encode(pred, "png"))
            yield row, pred, composite, target, mask


def _raw_from_model(rows: pd.DataFrame, cfg: EvalConfig, harmonizer) -> Iterator[tuple]:
    """The network's own SxS output (float, 0-255) for inputs prepared as the protocol says; the
    network sees the mask it is scored with (soft under mask="soft", as iDIH's evaluation does)."""
    p = cfg.protocol
    for start in range(0, len(rows), cfg.batch_size):
        chunk = list(rows.iloc[start:start + cfg.batch_size].itertuples(index=False))
        pairs = [read_pair(row) for row in chunk]
        comps = np.stack([np.clip(resize_image(c, p.size, p.resize_filter, p.resize_8bit) / 255.0, 0, 1) for c, _, _ in pairs])
        masks = np.stack([resize_mask(m, p.size, p) for _, _, m in pairs])
        outputs = run_model(harmonizer, comps.astype(np.float32), masks.astype(np.float32)) * 255.0
        for row, (composite, target, mask), pred in zip(chunk, pairs, outputs):
            if cfg.save_outputs is not None:
                write_bytes_atomic(prediction_path(cfg.save_outputs, row.pair_id),
                                   encode(np.clip(np.rint(pred), 0, 255).astype(np.uint8), "png"))
            yield row, pred, composite, target, mask


def check_outputs(cfg: EvalConfig, rows: pd.DataFrame) -> list[Path]:
    """RdhError before the first write when --save-outputs or a report would write over an input:
    the manifest, the checkpoint, the predictions folder, or an image of a scored pair (iHarmony4-style
    pair ids equal the composites' stems, so --save-outputs PAIRS/composite_images would replace them).
    Returns the --save-outputs files of the rows (none without it), every pair id a safe name."""
    if cfg.save_outputs is None and not any(path is not None for _, path in cfg.reports):
        return []
    inputs = Inputs().add_file(manifest_file(cfg.manifest), "--manifest").add_folder(cfg.predictions, "--predictions")
    if cfg.checkpoint is not None:
        inputs.add_file(cfg.checkpoint if not Path(cfg.checkpoint).is_dir()
                        else checkpoint_file(cfg.checkpoint, cfg.best), "--checkpoint")
    for col in ("composite_path", "target_path", "mask_path"):
        inputs.add_files(rows[col], f"{col.split('_')[0]} image")
    inputs.refuse(cfg.reports)
    if cfg.save_outputs is None:
        return []
    inputs.refuse([("--save-outputs", cfg.save_outputs)])
    outputs = [prediction_path(cfg.save_outputs, pid) for pid in rows["pair_id"]]
    inputs.refuse(("--save-outputs", path) for path in outputs)
    return outputs


# ---- scoring and grouping ----

def score_row(pred, composite, target, mask, protocol: Protocol, name: str = "prediction") -> dict:
    """Scores of the prediction and of the composite, both against the target, one protocol."""
    ours_pred, t, m = prepare(pred, target, mask, protocol, name)
    ours = score_prepared(ours_pred, t, m, protocol)
    small = resize_image(composite, protocol.size, protocol.resize_filter, protocol.resize_8bit)
    comp = score_prepared(roundtrip(small, protocol.roundtrip), t, m, protocol)
    scores = {"mse": ours.mse, "fmse": ours.fmse, "psnr": ours.psnr,
              "composite_mse": comp.mse, "composite_fmse": comp.fmse, "composite_psnr": comp.psnr}
    if protocol.ssim:
        scores.update(ssim=ours.ssim, composite_ssim=comp.ssim)
    return scores


def summarize(frame: pd.DataFrame, metric_cols: list[str]) -> dict:
    """count and the mean of each metric over images (NaN fMSE of masks lost in resizing skipped)."""
    out = {"count": int(len(frame))}
    for col in metric_cols:
        values = frame[col].to_numpy(dtype=np.float64)
        out[col] = float(np.nanmean(values)) if np.isfinite(values).any() else math.nan
    return out


def group_scores(per_image: pd.DataFrame, metric_cols: list[str]) -> list[dict]:
    groups = []
    for key in GROUP_KEYS:
        if key not in per_image.columns:
            continue
        values = per_image[key].unique().tolist()
        if key == "fg_bin":
            values = [name for _, _, name in FG_BINS if name in values]
        else:
            values = sorted(values, key=str)
        for value in values:
            value = bool(value) if isinstance(value, (bool, np.bool_)) else value
            groups.append({"group": key, "value": value, **summarize(per_image[per_image[key] == value], metric_cols)})
    return groups


@within_budget  # --max-pixels, for this call only
def evaluate(cfg: EvalConfig, progress: Progress | None = None) -> EvalResult:
    """Score the selected rows of cfg.manifest; `progress` starts once the rows are chosen and
    counts the images scored."""
    start = time.perf_counter()
    protocol = cfg.protocol.check()
    if (cfg.checkpoint is None) == (cfg.predictions is None):
        raise RdhError("evaluate needs exactly one of --checkpoint CKPT or --predictions DIR")
    if cfg.batch_size < 1:
        raise RdhError(f"--batch-size {cfg.batch_size}: use 1 or more")
    manifest = read_manifest(cfg.manifest)
    validate_manifest(manifest, name=str(cfg.manifest))
    rows = select_rows(resolve_paths(manifest, cfg.manifest), cfg)
    outputs = check_outputs(cfg, rows)
    if cfg.predictions is not None:
        if protocol.raw_output and protocol.size is None:
            raise RdhError("--raw-output with --predictions scores files at the network's size: "
                           "give that size with --eval-size (e.g. 256)")
        check_predictions(cfg.predictions, rows["pair_id"].tolist())
        stream, source = _from_folder(rows, cfg.predictions), {"predictions": str(cfg.predictions)}
    else:
        harmonizer = load_harmonizer(cfg.checkpoint, device=cfg.device, best=cfg.best)
        source = {"checkpoint": str(harmonizer.path), "model": harmonizer.model_name, "step": harmonizer.step,
                  "model_size": harmonizer.image_size, "raw_output": protocol.raw_output}
        if protocol.raw_output:
            if protocol.size not in (None, harmonizer.image_size):
                raise RdhError(f"--raw-output scores the network's {harmonizer.image_size}x{harmonizer.image_size} "
                               f"output: use --eval-size {harmonizer.image_size} (not {protocol.size})")
            protocol = replace(protocol, size=harmonizer.image_size)
            cfg = replace(cfg, protocol=protocol)
            stream = _raw_from_model(rows, cfg, harmonizer)
        else:
            stream = _from_model(rows, cfg, harmonizer)
    progress = as_progress(progress)
    progress.start(len(rows))
    keys = [k for k in ("pair_id", "domain", "source", "category", "novel", "fg_ratio", "fg_bin") if k in rows.columns]
    records = []
    with contextlib.ExitStack() as stack:
        if cfg.save_outputs is not None:
            for row in rows.itertuples(index=False):  # every pair readable before the first output
                read_pair(row)
            lock = stack.enter_context(output_lock(cfg.save_outputs, "rdh evaluate --save-outputs"))
            sweep_beside(outputs, cfg.save_outputs, lock.path)
        for row, pred, composite, target, mask in stream:
            records.append({k: getattr(row, k) for k in keys}
                           | score_row(pred, composite, target, mask, protocol, name=f"prediction {row.pair_id}"))
            progress(1)
    per_image = pd.DataFrame(records)
    metric_cols = [c for c in per_image.columns if c.replace("composite_", "") in METRICS]
    return EvalResult(per_image=per_image, overall=summarize(per_image, metric_cols),
                      groups=group_scores(per_image, metric_cols), protocol=protocol,
                      source={"manifest": str(cfg.manifest), "split": cfg.split, "filter": cfg.filter, **source},
                      seconds=time.perf_counter() - start)
