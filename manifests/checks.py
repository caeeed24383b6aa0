"""Checks of the files a manifest references: existence, mask statistics, decodable images.

All the work here is I/O or OpenCV decoding, both of which release the GIL, so a thread pool
runs it in parallel without the cost of starting processes. Existence is answered from one
directory listing per busy folder (a list file of 40,000 composites in one folder costs one
`scandir`, not 40,000 `stat` calls) and from parallel `stat` calls for the rest.
"""
from __future__ import annotations

import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import cv2
import numpy as np

from rdhcore.errors import RdhError
from rdhcore.progress import Progress, as_progress
from rdhcore.imageio import decode, mask_levels, read_image_bytes, read_mask_gray

MASK_THRESHOLD = 127  # foreground = mask value > 127 (iHarmony4 masks are not strictly 0/255)
LIST_MIN_REFS = 16    # folders referenced this often are listed once instead of stat-ed per file
SHOWN_PROBLEMS = 10


def default_workers() -> int:
    """Threads for file checks and decoding: enough to overlap I/O, bounded for shared machines."""
    return max(2, min(16, 2 * (os.cpu_count() or 1)))


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a source, with where it comes from (`list.txt:17`, `pairs.parquet row 3`)."""

    origin: str
    message: str

    def __str__(self) -> str:
        return f"{self.origin}: {self.message}"


def raise_problems(problems: Sequence[Problem], what: str = "the sources") -> None:
    """Raise one RdhError listing the first problems and how many more there are; no-op when none."""
    if not problems:
        return
    shown = "; ".join(str(p) for p in problems[:SHOWN_PROBLEMS])
    more = f" (and {len(problems) - SHOWN_PROBLEMS} more)" if len(problems) > SHOWN_PROBLEMS else ""
    raise RdhError(f"{len(problems)} problem(s) in {what}, no manifest written: {shown}{more}")


class FileIndex:
    """Answers 'is this a file?' for many absolute paths, listing busy folders once.

    Listings are cached, so importers that probe file names (an extension that may be .jpg
    or .png) and the final check share the work.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or default_workers()
        self._listings: dict[str, frozenset[str]] = {}

    def listing(self, folder: str) -> frozenset[str]:
        """Names of the files in `folder` (empty when it does not exist), cached."""
        names = self._listings.get(folder)
        if names is None:
            names = self._listings[folder] = _list_files(folder)
        return names

    def prefetch(self, folders: Iterable[str]) -> None:
        """List these folders in parallel (those not listed yet)."""
        todo = [f for f in dict.fromkeys(folders) if f not in self._listings]
        if not todo:
            return
        with ThreadPoolExecutor(min(self.workers, len(todo))) as pool:
            for folder, names in zip(todo, pool.map(_list_files, todo)):
                self._listings[folder] = names

    def exists(self, path: str) -> bool:
        """Whether `path` (absolute) is a file; from a cached listing when its folder has one."""
        folder, _, name = path.rpartition("/")
        names = self._listings.get(folder)
        return name in names if names is not None else os.path.isfile(path)

    def first_existing(self, candidates: Sequence[str]) -> str | None:
        """The first candidate path that is a file, or None."""
        for path in candidates:
            if self.exists(path):
                return path
        return None

    def exists_many(self, paths: Sequence[str], progress: Progress | None = None, stage: str = "check files") -> np.ndarray:
        """A bool per path. Busy folders are listed (in parallel), the rest are stat-ed in parallel."""
        folders = Counter(p.rpartition("/")[0] for p in paths)
        self.prefetch(f for f, n in folders.items() if n >= LIST_MIN_REFS)
        result = np.zeros(len(paths), bool)
        lone: list[int] = []
        for i, path in enumerate(paths):
            folder, _, name = path.rpartition("/")
            names = self._listings.get(folder)
            if names is None:
                lone.append(i)
            else:
                result[i] = name in names
        progress = as_progress(progress)
        progress.start(len(paths), stage=stage)
        progress(len(paths) - len(lone))
        if lone:
            with ThreadPoolExecutor(self.workers) as pool:
                for start in range(0, len(lone), 1024):
                    chunk = lone[start:start + 1024]
                    result[chunk] = list(pool.map(os.path.isfile, (paths[i] for i in chunk)))
                    progress(len(chunk))
        return result


def _list_files(folder: str) -> frozenset[str]:
    try:
        with os.scandir(folder) as entries:
            return frozenset(e.name for e in entries if e.is_file())
    except (FileNotFoundError, NotADirectoryError):
        return frozenset()


@dataclass(frozen=True)
class MaskStats:
    """Size and foreground fraction of one decoded mask."""

    height: int
    width: int
    fg_ratio: float


def read_mask_stats(path: str) -> MaskStats | None:
    """Decode a mask (any bit depth or channel count, read as 8-bit gray); None if unreadable.

    fg_ratio = pixels > 127 / all pixels, exact (no reduced decoding); a mask stored as 0/1 is
    read as 0/255 (rdhcore.imageio.mask_levels), never as empty.
    """
    try:
        gray = read_mask_gray(path)
    except RdhError:
        return None
    _, binary = cv2.threshold(gray, MASK_THRESHOLD, 255, cv2.THRESH_BINARY)
    h, w = gray.shape
    return MaskStats(h, w, cv2.countNonZero(binary) / float(h * w))


@dataclass(frozen=True)
class ImageInfo:
    """What --verify-images learns from a full decode: the size, and whether it looks like a mask."""

    height: int
    width: int
    gray: bool       # one channel, or three equal ones
    binary: float    # the fraction of pixels close to black or white (after 0/1 is read as 0/255)
    fg_ratio: float = 0.0  # as a mask: pixels > 127 / all pixels (whole image, one channel); 0 for a colour image


def image_info(path: str) -> ImageInfo | str:
    """Decode an image whole; its ImageInfo, or why it cannot be used (truncated, undecodable)."""
    try:
        img = decode(read_image_bytes(path), cv2.IMREAD_UNCHANGED, path)  # within the pixel budget, shared by the threads
    except RdhError as exc:
        text = str(exc)
        return text.split(": ", 1)[1] if text.startswith(f"{path}: ") else text
    if img is None or img.size == 0:
        return "cannot be decoded"
    if img.dtype != np.uint8:  # 16-bit: judge its 8-bit view
        img = (img.astype(np.float64) / (65535.0 if img.dtype == np.uint16 else max(float(img.max()), 1.0)) * 255).astype(np.uint8)
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[..., :3]
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    h, w = img.shape[:2]
    step = max(1, int(np.sqrt(h * w / 65536)))  # a subsample is enough to tell a photo from a mask
    sample = img[::step, ::step]
    if sample.ndim == 3:
        spread = sample.max(axis=2).astype(np.int16) - sample.min(axis=2)
        gray = float((spread <= GRAY_TOLERANCE).mean()) >= KIND_FRACTION
        sample = sample[..., 1]
    else:
        gray = True
    sample = mask_levels(sample)
    binary = float(((sample <= BINARY_TOLERANCE) | (sample >= 255 - BINARY_TOLERANCE)).mean())
    fg_ratio = 0.0     # read only for a mask, and a colour image is refused as a mask before (manifests.build.wrong_kind)
    if gray:
        plane = mask_levels(img if img.ndim == 2 else img[..., 1])
        fg_ratio = cv2.countNonZero((plane > MASK_THRESHOLD).astype(np.uint8)) / float(h * w)
    return ImageInfo(int(h), int(w), gray, binary, fg_ratio)


GRAY_TOLERANCE = 16      # JPEG-saved masks differ a little between channels
BINARY_TOLERANCE = 24    # and ring a little around edges
KIND_FRACTION = 0.97      # of pixels: gray channels; black-or-white for an image taken as a mask in the wrong column
MASK_FRACTION = 0.8       # black-or-white pixels a mask needs at least (soft edges are a thin band)


def map_parallel(fn: Callable, items: Sequence, workers: int, progress: Progress | None, stage: str) -> list:
    """fn over items in a thread pool, in order; each task takes a run of items (less pool overhead)."""
    if not items:
        return []
    progress = as_progress(progress)
    progress.start(len(items), stage=stage)
    size = max(16, min(512, len(items) // (8 * workers) + 1))
    runs = [items[i:i + size] for i in range(0, len(items), size)]

    def run(part: Sequence) -> list:
        return [fn(item) for item in part]

    out: list = []
    with ThreadPoolExecutor(workers) as pool:
        for part, results in zip(runs, pool.map(run, runs)):
            out.extend(results)
            progress(len(part))
    return out


def mask_stats(paths: Sequence[str], workers: int, progress: Progress | None = None) -> dict[str, MaskStats | None]:
    """MaskStats for each distinct path (decoded once each, in parallel)."""
    unique = list(dict.fromkeys(paths))
    return dict(zip(unique, map_parallel(read_mask_stats, unique, workers, progress, "read masks")))


def image_infos(paths: Sequence[str], workers: int, progress: Progress | None = None) -> dict[str, ImageInfo | str]:
    """image_info for each distinct path, in parallel."""
    unique = list(dict.fromkeys(paths))
    return dict(zip(unique, map_parallel(image_info, unique, workers, progress, "decode images")))
