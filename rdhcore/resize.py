"""Resizing, one rule everywhere: area averaging when a side shrinks, bilinear otherwise.

Training (harmonize.data) and inference (harmonize.inference) both bring images to the model's
square size with `to_square`, so a non-square image is filtered the same way in both.
"""
from __future__ import annotations

import cv2
import numpy as np


def filter_for(shape: tuple[int, ...], size: tuple[int, int]) -> int:
    """The OpenCV filter to bring an image of `shape` (h, w, ...) to `size` (w, h)."""
    shrinks = size[0] < shape[1] or size[1] < shape[0]
    return cv2.INTER_AREA if shrinks else cv2.INTER_LINEAR


def to_square(img: np.ndarray, size: int) -> np.ndarray:
    """`img` (HxW or HxWxC) resized to size x size; returned as it is when it has that size."""
    if img.shape[0] == size and img.shape[1] == size:
        return img
    return cv2.resize(img, (size, size), interpolation=filter_for(img.shape, (size, size)))


def mask_to_square(mask: np.ndarray, size: int) -> np.ndarray:
    """Bool mask -> bool mask of size x size (area-weighted, then >= half covered)."""
    if mask.shape[0] == size and mask.shape[1] == size:
        return mask
    return to_square(mask.astype(np.float32), size) >= 0.5


def fit_max_side(img: np.ndarray, max_side: int | None, nearest: bool = False) -> np.ndarray:
    """`img` shrunk (aspect kept) so its longer side is at most `max_side`; None keeps it."""
    if max_side is None or max(img.shape[:2]) <= max_side:
        return img
    h, w = img.shape[:2]
    scale = max_side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(img, size, interpolation=cv2.INTER_NEAREST if nearest else cv2.INTER_AREA)
