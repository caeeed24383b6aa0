"""A contact sheet of a capture store: a few scenes as rows, their styles as columns, each
foreground outlined, so a person can look at the data in one image.

    from datagen.contact_sheet import write_contact_sheet
    write_contact_sheet("captures/", "captures/contact_sheet.png", max_scenes=4)
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from datagen.capture_store import list_scene_ids, read_scene
from rdhcore.imageio import write_image
from datagen.styles import STYLES
from rdhcore.errors import RdhError

OUTLINE = (255, 0, 255)          # magenta: rare in rendered streets and parks
BACKGROUND = (24, 24, 24)
TEXT = (235, 235, 235)
MISSING = (70, 70, 70)
LABELS = {s.id: s.name.replace("partly_cloudy", "p.cloudy").replace("_sunrise_sunset", " sunrise/set")
          .replace("_", " ") for s in STYLES}


def outline(img: np.ndarray, mask: np.ndarray, color=OUTLINE, thickness: int = 1) -> np.ndarray:
    """The image with the mask's boundary drawn over it."""
    out = np.ascontiguousarray(img.copy())
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(out, contours, -1, color, thickness)
    return out


def _text(canvas: np.ndarray, text: str, x: int, y: int, scale: float = 0.36) -> None:
    cv2.putText(canvas, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, TEXT, 1, cv2.LINE_AA)


def contact_sheet(captures_root: str | Path, max_scenes: int = 4, tile: int = 160,
                  scene_ids: list[str] | None = None) -> np.ndarray:
    """The sheet as an RGB array: one row per scene (first `max_scenes`), one column per style."""
    root = Path(captures_root)
    ids = scene_ids if scene_ids is not None else list_scene_ids(root)[:max_scenes]
    if not ids:
        raise RdhError(f"{root}: no scenes to show: render some with `rdh render-scenes {root}`")
    scenes = [read_scene(root, sid) for sid in ids]
    styles = sorted({sid for sc in scenes for sid in sc.style_ids})
    head, left, gap = 22, 118, 4
    width = left + len(styles) * (tile + gap)
    height = head + len(scenes) * (tile + gap)
    canvas = np.full((height, width, 3), BACKGROUND, np.uint8)
    for c, sid in enumerate(styles):
        _text(canvas, f"{sid:02d} {LABELS[sid]}"[: max(4, tile // 7)], left + c * (tile + gap) + 2, 15)
    for r, scene in enumerate(scenes):
        y = head + r * (tile + gap)
        fg = scene.foregrounds[0]
        _text(canvas, scene.scene_id, 4, y + 16)
        _text(canvas, f"{fg['category']}", 4, y + 32)
        _text(canvas, f"fg {100 * float(fg.get('area_ratio', 0)):.1f}%", 4, y + 48)
        mask = cv2.resize(scene.load_mask(fg).astype(np.uint8), (tile, tile), interpolation=cv2.INTER_NEAREST) > 0
        for c, sid in enumerate(styles):
            x = left + c * (tile + gap)
            if sid not in scene.style_ids:
                canvas[y:y + tile, x:x + tile] = MISSING
                continue
            img = cv2.resize(scene.load_image(sid), (tile, tile), interpolation=cv2.INTER_AREA)
            canvas[y:y + tile, x:x + tile] = outline(img, mask)
            entry = scene.style_entry(sid)
            _text(canvas, f"{entry['time']} {entry['weather']}"[: max(4, tile // 7)], x + 3, y + tile - 5, 0.32)
    return canvas


def write_contact_sheet(captures_root: str | Path, out_png: str | Path, max_scenes: int = 4, tile: int = 160) -> Path:
    """Write the contact sheet of a capture store as a PNG (atomically) and return its path."""
    out = Path(out_png)
    if out.suffix.lower() != ".png":
        raise RdhError(f"{out}: the contact sheet is a PNG: give a path ending in .png")
    write_image(out, contact_sheet(captures_root, max_scenes, tile))
    return out
