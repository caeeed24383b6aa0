"""The options of `rdh make-composites`: ComposeConfig (rendered scenes) and PhotoConfig
(`--from-photos`), each field with its default and help; light to import, so the CLI reads them
without loading the compositors."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from datagen.render_config import RayOptions
from rdhcore.image_header import MAX_PIXELS_HELP
from rdhcore.options import opt


@dataclass
class ComposeConfig:
    """Options of `rdh make-composites` for rendered scenes."""

    captures: Path
    out: Path
    format: str = opt("png", "png (exact; default for scenes) or jpg (default for --from-photos, like iHarmony4).")
    quality: int = opt(95, "JPEG quality, 1-100.")
    max_side: int | None = opt(None, "Downscale so the longer side is at most this many pixels.")
    min_fg_ratio: float = opt(0.0, "Skip foregrounds covering less than this fraction of the image.")
    max_fg_ratio: float = opt(1.0, "Skip foregrounds covering more than this fraction.")
    per_target: int | None = opt(None, "Foreground styles per ground truth, drawn from --seed (default: all 9 others).")
    seed: int = opt(0, "Seed for --per-target, splits and photo references.")
    min_fg_change: float = opt(0.0, "Skip pairs whose mean |composite - ground truth| inside the mask (0-255) is "
                                    "below this.")
    test_fraction: float = opt(0.0, "Fraction of scenes (or photos) put in split=test.")
    workers: int = opt(1, "Parallel worker processes; output is identical to one worker's.")
    executor: str = opt("local", "local (--workers processes) or ray (a Ray task per scene; pip install -e '.[ray]' in the rdh checkout).")
    ray: RayOptions = field(default_factory=RayOptions)
    charmnet_list: str | None = opt(None, "Also write OUT/NAME_labeled.txt in the official CharmNet list format.")
    source: str | None = None        # manifest `source`; default rdh-<engine>
    max_pixels: int | None = opt(None, MAX_PIXELS_HELP)

    def output_options(self) -> dict:
        """The options that decide the content of the output; a rerun must match them."""
        keys = ("format", "quality", "max_side", "min_fg_ratio", "max_fg_ratio", "per_target",
                "seed", "min_fg_change", "source")
        return {k: getattr(self, k) for k in keys}


@dataclass
class PhotoConfig:
    """Options of `rdh make-composites --from-photos`."""

    images: Path = opt(help="Folder of your own photos: build real pairs by color transfer instead.")
    masks: Path = opt(help="With --from-photos: folder of masks named <photo>.png or <photo>_<id>.png.")
    out: Path = opt(help="The pair dataset folder to write.")
    variants: int = opt(1, "With --from-photos: composites per mask, each toward another reference photo.")
    strength: tuple[float, float] = (0.6, 1.0)  # fraction of the full statistics transfer
    format: str = "jpg"
    quality: int = 95
    max_side: int | None = None
    min_fg_ratio: float = 0.0
    max_fg_ratio: float = 1.0
    min_fg_change: float = 0.0
    category: str = opt("unknown", "With --from-photos: the foreground category of these photos.")
    test_fraction: float = 0.0
    seed: int = 0
    max_pixels: int | None = None

    def output_options(self) -> dict:
        """The options that decide the files written; a rerun into the same OUT must match them."""
        keys = ("variants", "strength", "format", "quality", "max_side", "min_fg_ratio", "max_fg_ratio",
                "min_fg_change", "category", "seed")
        return {k: (list(v) if isinstance(v := getattr(self, k), tuple) else v) for k in keys}
