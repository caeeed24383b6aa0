"""Image reading and writing with OpenCV, RGB in memory, with errors that name the file.

Every decode stays within a pixel budget (`--max-pixels`): the size an image's header claims is
read before decoding (rdhcore.image_header) and an image over the budget is refused with one line;
decodes running at once in threads share the budget, so N threads never hold N budgets of pixels.
The default fits the machine: its memory over BYTES_PER_PIXEL (what harmonizing one full-resolution
image takes at most), capped at OpenCV's own limit of 2**30 pixels.
"""
from __future__ import annotations

import contextlib
import functools
import os
import threading
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

from rdhcore.atomic import write_bytes_atomic
from rdhcore.errors import RdhError
from rdhcore.files import read_regular
from rdhcore.image_header import image_size

cv2.setNumThreads(1)  # workers parallelize across items; per-call threads only oversubscribe
try:  # a corrupt file is reported once, by us, with its name; silence libpng's own warnings
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
except AttributeError:
    pass


OPENCV_MAX_PIXELS = 2**30
BYTES_PER_PIXEL = 48  # harmonize: uint8 and float32 copies of the image, its correction and result


def default_max_pixels() -> int:
    """The pixel budget that fits this machine's memory (at most OpenCV's 2**30)."""
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        memory = 16 * 2**30
    return int(max(2**20, min(OPENCV_MAX_PIXELS, memory // BYTES_PER_PIXEL)))


class PixelBudget:
    """The most pixels decoded images may hold at once in this process (all threads together)."""

    def __init__(self, limit: int) -> None:
        self.limit, self.used = int(limit), 0
        self._cond = threading.Condition()

    def set(self, limit: int | None) -> None:
        self.limit = default_max_pixels() if limit is None else int(limit)

    def check(self, size: tuple[int, int], path: str | Path) -> int:
        """Pixels of an image of `size` (w, h); RdhError naming the file when over the budget."""
        pixels = int(size[0]) * int(size[1])
        if pixels > self.limit:
            raise RdhError(f"{path}: image is {size[0]}x{size[1]} ({pixels:,} pixels), over the pixel budget of "
                           f"{self.limit:,} (--max-pixels): downscale it, or raise --max-pixels if this machine "
                           "has the memory")
        return pixels

    @contextlib.contextmanager
    def share(self, pixels: int) -> Iterator[None]:
        """Hold `pixels` of the budget while decoding: wait while other threads hold too much."""
        with self._cond:
            self._cond.wait_for(lambda: self.used == 0 or self.used + pixels <= self.limit)
            self.used += pixels
        try:
            yield
        finally:
            with self._cond:
                self.used -= pixels
                self._cond.notify_all()


BUDGET = PixelBudget(default_max_pixels())


def set_max_pixels(limit: int | None) -> None:
    """The pixel budget of this process (None: default_max_pixels()); RdhError when not positive."""
    if limit is not None and limit < 1:
        raise RdhError(f"--max-pixels {limit}: use a positive number of pixels, e.g. 100000000")
    BUDGET.set(limit)


def within_budget(fn: Callable) -> Callable:
    """Run a command's entry function `fn(cfg, ...)` under the pixel budget `cfg.max_pixels`, and put
    the previous budget back when it returns (worker processes it starts inherit the budget)."""
    @functools.wraps(fn)
    def run(cfg, *args, **kwargs):
        previous = BUDGET.limit
        set_max_pixels(getattr(cfg, "max_pixels", None))
        try:
            return fn(cfg, *args, **kwargs)
        finally:
            BUDGET.limit = previous
    return run


def decode(data: bytes, flags: int, path: str | Path = "image") -> np.ndarray | None:
    """cv2.imdecode within the pixel budget; None when undecodable; RdhError naming the file when the
    header claims more pixels than the budget, or the decoder fails (its own limit, memory)."""
    size = image_size(data)
    pixels = BUDGET.check(size, path) if size is not None else 0
    try:
        with BUDGET.share(pixels):
            return cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    except cv2.error as exc:
        reason = str(exc).strip().splitlines()[-1][:120] if str(exc).strip() else "cv2.error"
        raise RdhError(f"{path}: cannot decode image ({reason}): replace the file, or downscale it") from None
    except MemoryError:
        raise RdhError(f"{path}: not enough memory to decode this image: downscale it, or lower --max-pixels so "
                       "such images are refused before decoding") from None


def read_rgb(path: str | Path) -> np.ndarray:
    """Decode an image to an HxWx3 RGB uint8 array; RdhError when unreadable or truncated."""
    img = decode_rgb(read_image_bytes(path), path)
    if img is None:
        raise RdhError(f"{path}: cannot decode image (corrupt or truncated?): re-render or replace the file")
    return img


def decode_rgb(data: bytes, path: str | Path = "image") -> np.ndarray | None:
    """Bytes of a whole image file -> HxWx3 RGB uint8 (any bit depth, gray or alpha made 8-bit RGB); None if undecodable."""
    img = decode(data, cv2.IMREAD_COLOR, path)
    return None if img is None else cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def decode_gray(data: bytes, path: str | Path = "image") -> np.ndarray | None:
    """Bytes of a whole image file -> HxW uint8 (a color file converted to gray); None if undecodable."""
    img = decode(data, cv2.IMREAD_GRAYSCALE, path)
    return None if img is None or img.size == 0 else img


def read_gray(path: str | Path) -> np.ndarray:
    """Decode an image to an HxW uint8 array (a color file converted to gray)."""
    img = decode_gray(read_image_bytes(path), path)
    if img is None:
        raise RdhError(f"{path}: cannot decode mask (corrupt or truncated?): re-render or replace the file")
    return img


def mask_levels(gray: np.ndarray) -> np.ndarray:
    """A gray mask on the 0-255 scale: a mask stored as 0/1 (max value 1) is scaled to 0/255.

    A 0/255 mask whose brightest pixel is 1 would be empty anyway, so reading 1 as foreground
    never turns a real mask into another; it only stops 0/1 masks from reading as empty.
    """
    if gray.size and int(gray.max()) == 1:
        return gray * np.uint8(255)
    return gray


def read_mask_gray(path: str | Path) -> np.ndarray:
    """A mask as HxW uint8 on the 0-255 scale (0/1 masks scaled, see mask_levels)."""
    return mask_levels(read_gray(path))


def read_mask(path: str | Path) -> np.ndarray:
    """A binary mask (0/255 on disk, or 0/1) as a bool HxW array; RdhError if not binary."""
    mask = read_mask_gray(path)
    if not np.isin(mask, (0, 255)).all():
        raise RdhError(f"{path}: mask is not binary (values other than 0 and 255): threshold it at 128 and save as PNG")
    return mask > 127


def read_image_bytes(path: str | Path) -> bytes:
    """The bytes of a regular, complete image file; RdhError for anything else (missing, a folder,
    a FIFO or device, a PNG without its IEND chunk, a JPEG without its end-of-image marker)."""
    data = read_regular(path, "image file")
    reason = truncation(data)
    if reason:
        raise RdhError(f"{path}: cannot decode image: truncated ({reason}): re-render or replace the file")
    return data


PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8"


def truncation(data: bytes) -> str | None:
    """Why PNG or JPEG bytes are incomplete (a truncated JPEG decodes with only a libjpeg
    warning, so decoding alone does not tell), or None. Other formats: None."""
    if data.startswith(PNG_MAGIC):
        if data.rfind(b"IEND", max(0, len(data) - 64)) < 0:
            return "no IEND chunk at its end"
    elif data.startswith(JPEG_MAGIC):
        # entropy-coded data never holds FF D9, and some writers append a little after the marker
        if b"\xff\xd9" not in data[-1024:]:
            return "no end-of-image marker"
    return None


def encode(img: np.ndarray, ext: str, quality: int = 95) -> bytes:
    """Encode an RGB (HxWx3) or gray (HxW) uint8 array as png or jpg bytes."""
    ext = ext.lower().lstrip(".")
    bgr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR) if img.ndim == 3 else img
    if ext in ("jpg", "jpeg"):
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    elif ext == "png":
        ok, buf = cv2.imencode(".png", bgr)  # OpenCV's default PNG settings are both faster and smaller here
    else:
        raise RdhError(f"image format {ext!r} is not supported: use png or jpg")
    if not ok:
        raise RdhError(f"could not encode image as {ext}")
    return buf.tobytes()


def write_image(path: str | Path, img: np.ndarray, quality: int = 95) -> None:
    """Write an RGB or gray uint8 array atomically; the format follows the suffix."""
    write_bytes_atomic(path, encode(img, Path(path).suffix, quality))


def write_mask(path: str | Path, mask: np.ndarray) -> None:
    """Write a bool/0-1/0-255 mask as an 8-bit PNG of 0 and 255."""
    write_image(path, np.where(np.asarray(mask) > 0, 255, 0).astype(np.uint8))
