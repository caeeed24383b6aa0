"""Manifest rows -> training batches: the pair Dataset, its augmentation, resumable samplers, loaders.

A training item is drawn by a sampler that yields (row, epoch, position): the augmentation of that
item is seeded by (seed, domain, epoch, position), so a batch is the same whether it is loaded by
0 or 8 workers, by 1 or G processes at a given rank, or after a resume in the middle of an epoch.
Images stay uint8 until the device; harmonize.normalization turns them into network inputs.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from rdhcore.errors import RdhError
from rdhcore.imageio import decode_gray, decode_rgb, mask_levels, read_image_bytes
from rdhcore.resize import mask_to_square, to_square
from manifests.schema import K, read_manifest, resolve_paths, validate_manifest

PATH_COLUMNS = ("composite_path", "target_path", "mask_path")
DOMAIN_SALT = {"rendered": 1, "real": 2, "all": 3}


# ---------------------------------------------------------------- rows

FILTER_SYNTAX = ("write COLUMN=VALUE or COLUMN!=VALUE terms (VALUE may be A|B), AND-ed with ',' and OR-ed "
                 "in groups with ';', e.g. domain=rendered;domain=real,novel=false")
Term = tuple[str, bool, set[str]]   # (column, equal, {values}): equal=False for !=


def parse_filter(expr: str | None) -> list[list[Term]]:
    """'domain=rendered;domain=real,novel=false' -> one list of terms per ';'-group.

    A row matches when it matches every term of some group; [] (no filter) matches every row.
    """
    if not expr or not expr.strip():
        return []
    groups = []
    for k, group in enumerate(expr.split(";"), start=1):
        terms = [_parse_term(part.strip()) for part in group.split(",") if part.strip()]
        if not terms:
            raise RdhError(f"--filter {expr!r}: group {k} (between ';') is empty: {FILTER_SYNTAX}")
        groups.append(terms)
    return groups


def _parse_term(part: str) -> Term:
    neg = "!=" in part
    key, sep, value = part.partition("!=" if neg else "=")
    values = {v.strip().lower() for v in value.split("|")}
    if not sep or not key.strip() or "" in values:
        raise RdhError(f"--filter term {part!r}: {FILTER_SYNTAX}")
    return key.strip(), not neg, values


def apply_filter(df: pd.DataFrame, expr: str | None, name: str = "manifest") -> pd.DataFrame:
    """The rows of df that match a --filter expression (values compared as lowercase text)."""
    groups = parse_filter(expr)
    if not groups:
        return df
    for column in dict.fromkeys(term[0] for group in groups for term in group):
        if column not in df.columns:
            raise RdhError(f"--filter: {name} has no column {column!r}; columns: {', '.join(map(str, df.columns))}")
    texts: dict[str, pd.Series] = {}
    keep = pd.Series(False, index=df.index)
    for group in groups:
        match = pd.Series(True, index=df.index)
        for column, equal, values in group:
            if column not in texts:
                texts[column] = df[column].map(lambda v: "none" if v is None or (isinstance(v, float) and math.isnan(v))
                                               else str(v).lower())
            hit = texts[column].isin(values)
            match &= hit if equal else ~hit
        keep |= match
    return df[keep]


def load_rows(manifest: str | Path, filter_expr: str | None = None) -> pd.DataFrame:
    """Read a manifest, resolve its paths to absolute ones and apply --filter."""
    df = read_manifest(manifest)
    validate_manifest(df, name=str(manifest))  # NaN labels or a style id of true must not reach a loss
    df = resolve_paths(df, manifest)
    return apply_filter(df, filter_expr, name=str(manifest)).reset_index(drop=True)


def check_files(df: pd.DataFrame, name: str) -> None:
    """RdhError naming the first image of df that is not on disk."""
    for col in PATH_COLUMNS:
        for pid, path in zip(df["pair_id"], df[col]):
            if not os.path.isfile(path):
                raise RdhError(f"{name}: {col} of pair {pid!r} not found: {path}: "
                               "rebuild the pair dataset or fix the manifest's paths")


def pick_validation(df: pd.DataFrame, limit: int, seed: int) -> pd.DataFrame:
    """At most `limit` rows, drawn with `seed` and kept in pair_id order."""
    if len(df) > limit:
        df = df.sample(n=limit, random_state=seed)
    return df.sort_values("pair_id", kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------- augmentation

def random_resized_crop(rng: np.random.Generator, height: int, width: int, scale=(0.5, 1.0),
                        ratio=(3 / 4, 4 / 3)) -> tuple[int, int, int, int]:
    """(top, left, h, w) of a crop covering scale of the area with aspect in ratio (torchvision rule)."""
    area = height * width
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target = area * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(*log_ratio))
        w = int(round(math.sqrt(target * aspect)))
        h = int(round(math.sqrt(target / aspect)))
        if 0 < w <= width and 0 < h <= height:
            return int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1)), h, w
    in_ratio = width / height
    if in_ratio < ratio[0]:
        w, h = width, int(round(width / ratio[0]))
    elif in_ratio > ratio[1]:
        h, w = height, int(round(height * ratio[1]))
    else:
        h, w = height, width
    return (height - h) // 2, (width - w) // 2, h, w


@dataclass(frozen=True)
class Augment:
    """One random resized crop (scale 0.5-1) and one horizontal flip, the same for the three images."""

    scale: tuple[float, float] = (0.5, 1.0)
    flip: bool = True
    tries: int = 10   # crops drawn until one keeps some foreground (the official code retries empty crops)

    def __call__(self, rng: np.random.Generator, images: list[np.ndarray], mask: np.ndarray, size: int):
        h, w = mask.shape
        for _ in range(self.tries):
            top, left, ch, cw = random_resized_crop(rng, h, w, self.scale)
            if mask[top:top + ch, left:left + cw].any():
                break
        images = [to_square(im[top:top + ch, left:left + cw], size) for im in images]
        mask = mask_to_square(mask[top:top + ch, left:left + cw], size)
        if self.flip and rng.random() < 0.5:
            images = [im[:, ::-1] for im in images]
            mask = mask[:, ::-1]
        return images, mask


# ---------------------------------------------------------------- dataset

def _decoded(decode, path: str, what: str, pair_id: str) -> np.ndarray:
    """A whole image file decoded by `decode` (truncated files refused: libjpeg only warns about them)."""
    try:
        data = read_image_bytes(path)
    except RdhError as exc:
        raise RdhError(f"{exc} (the {what} of pair {pair_id!r}): rebuild the pair dataset or drop the pair") from None
    try:
        img = decode(data, path)
    except RdhError as exc:  # over the pixel budget, or the decoder failed
        raise RdhError(f"{exc} (the {what} of pair {pair_id!r})") from None
    if img is None:
        raise RdhError(f"{path}: cannot read the {what} of pair {pair_id!r} (missing or corrupt image): "
                       "rebuild the pair dataset or drop the pair from the manifest")
    return img


def read_rgb_file(path: str, what: str, pair_id: str) -> np.ndarray:
    return _decoded(decode_rgb, path, what, pair_id)


def read_mask_file(path: str, pair_id: str) -> np.ndarray:
    """Foreground = value > 127; a mask stored as 0/1 counts its 1s (never read as empty)."""
    return mask_levels(_decoded(decode_gray, path, "mask", pair_id)) > 127


def _label(value) -> np.ndarray | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    arr = np.array(value, np.float32)  # a writable copy (Arrow buffers are read-only)
    return arr if arr.shape == (K,) else None


class PairDataset(Dataset):
    """Manifest rows (absolute paths) -> dicts of uint8 tensors and style labels.

    item: a row index (validation: the whole image resized to image_size) or a tuple
    (row, epoch, position) from ResumableSampler (training: augmented with a derived seed).
    Returns {"composite", "target": uint8 [3,S,S] RGB, "mask": uint8 [1,S,S] in {0,1},
    "label_in", "label_out": float32 [K] (zeros without labels), "has_label": bool, "row": int}.
    """

    def __init__(self, rows: pd.DataFrame, image_size: int, augment: Augment | None = None,
                 seed: int = 0, salt: int = 0):
        self.rows = rows.reset_index(drop=True)
        self.image_size = int(image_size)
        self.augment = augment
        self.seed, self.salt = int(seed), int(salt)
        self._paths = self.rows[list(PATH_COLUMNS)].astype(str).to_numpy()
        self._ids = self.rows["pair_id"].astype(str).to_numpy()
        self._labels_in = [_label(v) for v in self.rows["composite_label"]]
        self._labels_out = [_label(v) for v in self.rows["target_label"]]

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, item):
        if isinstance(item, tuple):
            row, epoch, position = item
            rng = np.random.default_rng([self.seed, self.salt, int(epoch), int(position)])
        else:
            row, rng = int(item), None
        comp_path, target_path, mask_path = self._paths[row]
        pid = self._ids[row]
        comp = read_rgb_file(comp_path, "composite", pid)
        target = read_rgb_file(target_path, "target", pid)
        mask = read_mask_file(mask_path, pid)
        if comp.shape != target.shape or mask.shape != target.shape[:2]:
            raise RdhError(f"pair {pid!r}: composite {comp.shape[1]}x{comp.shape[0]}, target "
                           f"{target.shape[1]}x{target.shape[0]} and mask {mask.shape[1]}x{mask.shape[0]} differ in size: "
                           "rebuild the pair")
        if rng is not None and self.augment is not None:
            (comp, target), mask = self.augment(rng, [comp, target], mask, self.image_size)
        else:
            comp, target = to_square(comp, self.image_size), to_square(target, self.image_size)
            mask = mask_to_square(mask, self.image_size)
        lab_in, lab_out = self._labels_in[row], self._labels_out[row]
        has = lab_in is not None and lab_out is not None
        zeros = np.zeros(K, np.float32)
        return {
            "composite": torch.from_numpy(np.ascontiguousarray(comp.transpose(2, 0, 1))),
            "target": torch.from_numpy(np.ascontiguousarray(target.transpose(2, 0, 1))),
            "mask": torch.from_numpy(np.ascontiguousarray(mask[None]).astype(np.uint8)),
            "label_in": torch.from_numpy(lab_in if has else zeros),
            "label_out": torch.from_numpy(lab_out if has else zeros),
            "has_label": has,
            "row": row,
        }


# ---------------------------------------------------------------- sampling

class ResumableSampler(DistributedSampler):
    """DistributedSampler that yields (row, epoch, position) and can start inside an epoch.

    `start` is the number of this rank's items already consumed in the current epoch; the
    permutation depends only on (seed, epoch), as in DistributedSampler.
    """

    def __init__(self, dataset: Dataset, num_replicas: int, rank: int, seed: int, drop_last: bool = False):
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed, drop_last=drop_last)
        self.start = 0

    def __iter__(self):
        indices = list(super().__iter__())
        for k in range(self.start, len(indices)):
            yield indices[k], self.epoch, k * self.num_replicas + self.rank


def _worker_init(_worker_id: int) -> None:
    cv2.setNumThreads(1)  # decode in parallel across workers, not inside each


def make_train_loader(dataset: PairDataset, batch_size: int, workers: int, world_size: int, rank: int,
                      seed: int, pin_memory: bool) -> tuple[DataLoader, ResumableSampler]:
    sampler = ResumableSampler(dataset, num_replicas=world_size, rank=rank, seed=seed)
    drop_last = sampler.num_samples >= batch_size
    loader = DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=workers,
                        pin_memory=pin_memory, drop_last=drop_last, persistent_workers=workers > 0,
                        worker_init_fn=_worker_init, prefetch_factor=4 if workers > 0 else None,
                        generator=torch.Generator().manual_seed(seed))  # leaves the global RNG alone
    return loader, sampler


def make_eval_loader(dataset: PairDataset, batch_size: int, workers: int, pin_memory: bool) -> DataLoader:
    return DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=workers,
                      pin_memory=pin_memory, worker_init_fn=_worker_init, generator=torch.Generator())


class DomainStream:
    """An endless stream of training batches of one domain; restarts its loader at each epoch end.

    state() / restore() give the (epoch, batches) position so that a resumed run reads the same
    batches as an uninterrupted one.
    """

    def __init__(self, loader: DataLoader, sampler: ResumableSampler, batch_size: int):
        self.loader, self.sampler, self.batch_size = loader, sampler, batch_size
        n = sampler.num_samples
        self.batches_per_epoch = n // batch_size if loader.drop_last else math.ceil(n / batch_size)
        self.epoch = 0
        self.batches = 0
        self._it = None

    def state(self) -> dict:
        return {"epoch": self.epoch, "batches": self.batches, "world_size": self.sampler.num_replicas}

    def restore(self, state: dict) -> None:
        self.epoch, self.batches = int(state["epoch"]), int(state["batches"])
        saved_world = int(state.get("world_size", self.sampler.num_replicas))
        if saved_world != self.sampler.num_replicas:
            # Same number of items seen in total, counted in this world size's batches.
            self.batches = self.batches * saved_world // self.sampler.num_replicas
        self._it = None

    def next(self) -> dict:
        for _ in range(2):
            if self._it is None:
                self.sampler.set_epoch(self.epoch)
                self.sampler.start = min(self.batches * self.batch_size, self.sampler.num_samples)
                self._it = iter(self.loader)
            try:
                batch = next(self._it)
            except StopIteration:
                self.epoch += 1
                self.batches = 0
                self._it = None
                continue
            self.batches += 1
            return batch
        raise RuntimeError("training loader yields no batch")  # guarded by the row checks in train.py

    def close(self) -> None:
        self._it = None
