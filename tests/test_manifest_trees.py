"""Small fake iHarmony4 and RdHarmony trees with real image files, for the manifest tests.

Each writer returns what a correct import must produce for every pair, so tests can assert
the exact mapping row by row. (Helpers only; pytest finds no tests here.)
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

K = 10


def write_jpg(path: Path, h: int, w: int, value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = np.full((h, w, 3), value, np.uint8)
    img[:, : w // 2, 1] = 255 - value
    assert cv2.imwrite(str(path), img)


def write_png_mask(path: Path, mask: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), mask.astype(np.uint8))


def soft_mask(h: int, w: int, full_rows: int, edge: int = 0) -> tuple[np.ndarray, int]:
    """A mask with `full_rows` rows at 255, then one row of 128 (counts) and one of 127 (does not).

    Returns the mask and its exact foreground pixel count at threshold 127. `edge` adds a few
    pixels of 200 elsewhere, to vary the count.
    """
    m = np.zeros((h, w), np.uint8)
    m[:full_rows] = 255
    m[full_rows, :] = 128
    m[full_rows + 1, :] = 127
    m[h - 1, :edge] = 200
    return m, full_rows * w + w + edge


# subset -> (height, width, {real name: (split, {mask id: (full rows, edge, [composite ks])})})
IHARMONY4 = {
    "HCOCO": (20, 30, {
        "c1": ("train", {1: (3, 0, [1, 2]), 2: (6, 5, [1])}),
        "c2": ("train", {1: (1, 2, [1])}),
        "c3": ("test", {1: (10, 0, [1, 2])}),
    }),
    "Hday2night": (16, 24, {
        "d9_0001": ("train", {1: (2, 1, [1, 3])}),
        "d9_0002": ("test", {4: (5, 0, [2])}),
    }),
}


def make_iharmony4(root: Path) -> dict[str, dict]:
    """Write the IHARMONY4 layout under root; returns {pair_id: expected row values}.

    Lists use the three accepted line forms, a blank line and CRLF line ends.
    """
    expected = {}
    for subset, (h, w, reals) in IHARMONY4.items():
        base = root / subset
        lines = {"train": [], "test": []}
        for r, (name, (split, masks)) in enumerate(reals.items()):
            write_jpg(base / "real_images" / f"{name}.jpg", h, w, 40 + 10 * r)
            for mask_id, (rows, edge, ks) in masks.items():
                mask, count = soft_mask(h, w, rows, edge)
                write_png_mask(base / "masks" / f"{name}_{mask_id}.png", mask)
                for k in ks:
                    comp = f"{name}_{mask_id}_{k}.jpg"
                    write_jpg(base / "composite_images" / comp, h, w, 100 + k)
                    form = len(lines[split]) % 3
                    lines[split].append([comp, f"composite_images/{comp}", f"{subset}/composite_images/{comp}"][form])
                    expected[f"{subset}/{name}_{mask_id}_{k}"] = {
                        "source": subset, "split": split, "group_id": f"{subset}/{name}",
                        "composite": f"{subset}/composite_images/{comp}", "target": f"{subset}/real_images/{name}.jpg",
                        "mask": f"{subset}/masks/{name}_{mask_id}.png", "fg_ratio": count / (h * w),
                        "width": w, "height": h,
                    }
        for split, names in lines.items():
            text = "\r\n".join(names[:1] + [""] + names[1:]) + "\r\n"
            (base / f"{subset}_{split}.txt").write_text(text, newline="")
    return expected


def label_text(label: np.ndarray, decimals: int = 4) -> str:
    return "_".join(f"{v:.{decimals}f}".rstrip("0").rstrip(".") if v else "0" for v in label)


def make_rdharmony(root: Path, n_groups: int = 6, styles=((2, 5), (7, 1), (10, 3)), h: int = 18, w: int = 26,
                   zero_based: bool = False, list_name: str = "human_labeled.txt") -> dict[str, dict]:
    """Write an RdHarmony-release-like tree: composite_images/X-Y_Z.jpg, real_images/X-Y.jpg,
    masks/X.png and a list file. Returns {composite stem: expected values}."""
    expected, lines = {}, []
    for g in range(n_groups):
        x = f"scene{g}_0"
        mask = np.zeros((h, w), np.uint8)
        mask[2:2 + g + 2, 3:13] = 255
        ratio = float((mask > 127).mean())
        write_png_mask(root / "masks" / f"{x}.png", mask)
        for bg, fg in styles:
            y, z = (bg - 1, fg - 1) if zero_based else (bg, fg)
            write_jpg(root / "real_images" / f"{x}-{y}.jpg", h, w, 20 * bg)
            write_jpg(root / "composite_images" / f"{x}-{y}_{z}.jpg", h, w, 20 * bg + fg)
            label = np.zeros(K)
            label[fg - 1] += ratio
            label[bg - 1] += 1 - ratio
            lines.append(f"composite_images/{x}-{y}_{z}.jpg\t{label_text(label)}\t{bg}")
            expected[f"{x}-{y}_{z}"] = {
                "group": x, "fg": fg, "bg": bg, "label": label, "fg_ratio": ratio,
                "composite": f"composite_images/{x}-{y}_{z}.jpg", "target": f"real_images/{x}-{y}.jpg",
                "mask": f"masks/{x}.png", "width": w, "height": h,
            }
    (root / list_name).write_text("\n".join(lines) + "\n")
    return expected
