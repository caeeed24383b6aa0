"""The options of `rdh build-manifest` (BuildConfig), each field with its default and help; light
to import, so the CLI reads them without loading pandas or pyarrow."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rdhcore.image_header import MAX_PIXELS_HELP
from rdhcore.options import opt


@dataclass
class BuildConfig:
    """Options of `rdh build-manifest`. Each source option can be repeated."""

    out: Path = opt(help="The manifest file to write.")
    pairs: list[Path] = opt([], "A pair dataset from `rdh make-composites` (folder or pairs.parquet), or a manifest.")
    prefix_pairs: bool = opt(False, "Prefix pair and group ids of --pairs sources with their folder name (to merge "
                                    "separate render runs).")
    iharmony4: list[Path] = opt([], "iHarmony4 root with HCOCO/ HAdobe5k/ HFlickr/ Hday2night/ (or one subset folder).")
    iharmony4_subsets: list[str] | None = opt(None, "Only these subsets, comma-separated (default: all present).")
    rdharmony: list[Path] = opt([], "RdHarmony release root (the list's paths are relative to it).")
    rdharmony_lists: list[Path] = opt([], "RdHarmony list: path<TAB>soft label joined by _<TAB>harmonized style id.")
    rdharmony_categories: list[str] = opt([], "Category of the pairs of each --rdharmony-list (one for all, or one "
                                              "per list).")
    rdharmony_style_map: str | None = opt(None, "Map the release's style ids onto rdh's (RELEASE_ID=RDH_ID for all "
                                                "ten, e.g. 1=1,2=4,..., or 'same'); needed to mix release pairs with "
                                                "rdh-rendered ones (docs/manifests.md).")
    csv: list[Path] = opt([], "CSV with composite,target,mask columns (+ optional category, split, domain, ...).")
    categories: Path | None = opt(None, "CSV of (path or image id, category) for pairs without one; others get "
                                        "'unknown'.")
    novel_categories: list[str] = opt([], "Add a boolean 'novel' column: category is one of these (e.g. human).")
    rendered_categories: list[str] | None = opt(None, "Keep only rendered pairs of these categories, comma-separated.")
    test_fraction: float = opt(0.0, "Pairs without a split: this fraction of groups (scenes/photos) per source goes "
                                    "to test.")
    seed: int = opt(0, "Seed of the group split and of --sample-rendered.")
    sample_rendered: int | None = opt(None, "Keep N rendered training pairs, drawn from --seed (the paper: 65000).")
    verify_images: bool = opt(False, "Decode every image and check its size against its mask (slower).")
    workers: int | None = opt(None, "Threads for file checks and decoding (default: 2 x CPU cores, at most 16).")
    max_pixels: int | None = opt(None, MAX_PIXELS_HELP)
