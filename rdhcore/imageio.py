"""Image reading and writing with OpenCV, RGB in memory, with errors that name the file."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from rdhcore.atomic import write_bytes_atomic
from rdhcore.errors import RdhError

cv2.setNumThreads(1)  # workers parallelize across items; per-call threads only oversubscribe
try:  # a corrupt file is reported once, by us, with its name; silence libpng's own warnings
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
except AttributeError:
    pass


def read_rgb(path: str | Path) -> np.ndarray:
    """Decode an 8-bit image to an HxWx3 RGB uint8 array; RdhError when unreadable."""
    data = _read_bytes(path)
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise RdhError(f"{path}: cannot decode image (corrupt or truncated?): re-render or replace the file")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def read_gray(path: str | Path) -> np.ndarray:
    """Decode an image to an HxW uint8 array (first channel of a color file)."""
    data = _read_bytes(path)
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise RdhError(f"{path}: cannot decode mask (corrupt or truncated?): re-render or replace the file")
    return img


def read_mask(path: str | Path) -> np.ndarray:
    """A binary mask (values 0 or 255 on disk) as a bool HxW array; RdhError if not binary."""
    mask = read_gray(path)
    if not np.isin(mask, (0, 255)).all():
        raise RdhError(f"{path}: mask is not binary (values other than 0 and 255): threshold it at 128 and save as PNG")
    return mask > 127


def _read_bytes(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise RdhError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise RdhError(f"{path}: is a folder, expected an image file") from None


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
