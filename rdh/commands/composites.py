"""`rdh make-composites`: capture store -> pair dataset (or photos + masks -> real pairs)."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from datagen.pair_options import ComposeConfig as C
from datagen.pair_options import PhotoConfig as P
from datagen.render_config import RayOptions as R
from rdh.commands.console import ProgressBar, console, say, show_table
from rdh.commands.options import option

HELP = """Paste the foreground of one style onto another style inside each scene.

Writes composite_images/, real_images/, masks/ and pairs.parquet (manifest schema rdh.manifest/1), laid out like iHarmony4 and RdHarmony. A rerun skips finished scenes and pairs.

[bold]Examples[/bold]

  rdh make-composites captures/ pairs/

  rdh make-composites captures/ pairs/ --format jpg --quality 95 \\
      --per-target 3 --workers 2 --charmnet-list train

  rdh make-composites --from-photos photos/ --masks masks/ photo_pairs/ \\
      --variants 2
"""


def register(app: typer.Typer) -> None:
    app.command("make-composites", help=HELP, no_args_is_help=True)(make_composites_cmd)


def make_composites_cmd(
    paths: List[Path] = typer.Argument(..., metavar="CAPTURES OUT", help="Capture store and output folder (only OUT with --from-photos)."),
    format: Optional[str] = option(C, "format", default=None),
    quality: int = option(C, "quality"),
    max_side: Optional[int] = option(C, "max_side"),
    min_fg_ratio: float = option(C, "min_fg_ratio"),
    max_fg_ratio: float = option(C, "max_fg_ratio"),
    per_target: Optional[int] = option(C, "per_target"),
    min_fg_change: float = option(C, "min_fg_change"),
    test_fraction: float = option(C, "test_fraction"),
    seed: int = option(C, "seed"),
    workers: int = option(C, "workers", "--workers|-j"),
    charmnet_list: Optional[str] = option(C, "charmnet_list"),
    from_photos: Optional[Path] = option(P, "images", "--from-photos", default=None),
    masks: Optional[Path] = option(P, "masks", default=None),
    variants: int = option(P, "variants"),
    category: str = option(P, "category"),
    executor: str = option(C, "executor"),
    ray_address: Optional[str] = option(R, "address", "--ray-address"),
    ray_cpus: float = option(R, "cpus_per_scene", "--ray-cpus-per-scene"),
    ray_retries: int = option(R, "max_retries", "--ray-max-retries"),
    ray_timeout: float = option(R, "timeout", "--ray-timeout"),
    max_pixels: Optional[int] = option(C, "max_pixels"),
) -> None:
    from datagen.compose import make_composites
    from rdhcore.errors import RdhError

    if from_photos is not None:
        if len(paths) != 1 or masks is None:
            raise RdhError("--from-photos takes one positional OUT folder and needs --masks MASKS")
        from datagen.photos import make_photo_pairs

        cfg = P(images=from_photos, masks=masks, out=paths[0], variants=variants,
                format=format or "jpg", quality=quality,
                max_side=max_side, min_fg_ratio=min_fg_ratio, max_fg_ratio=max_fg_ratio,
                min_fg_change=min_fg_change, category=category, test_fraction=test_fraction, seed=seed,
                max_pixels=max_pixels)
        with console.status("making photo pairs"):
            summary = make_photo_pairs(cfg)
        _print_summary(summary, "photo pairs")
        return
    if len(paths) != 2:
        raise RdhError("make-composites takes CAPTURES OUT (or --from-photos IMAGES --masks MASKS OUT)")
    cfg = C(captures=paths[0], out=paths[1], format=format or "png", quality=quality, max_side=max_side,
            min_fg_ratio=min_fg_ratio, max_fg_ratio=max_fg_ratio, per_target=per_target,
            seed=seed, min_fg_change=min_fg_change, test_fraction=test_fraction,
            workers=workers, charmnet_list=charmnet_list, executor=executor, max_pixels=max_pixels,
            ray=R(address=ray_address, cpus_per_scene=ray_cpus, max_retries=ray_retries, timeout=ray_timeout))
    with ProgressBar("composites", "pairs") as progress:
        summary = make_composites(cfg, progress)
    _print_summary(summary, "pairs")


def _print_summary(summary, what: str) -> None:
    from rich.table import Table

    say(f"make-composites: {summary.out}")
    table = Table(show_header=True)
    table.add_column("")
    table.add_column("count", justify="right")
    table.add_row(f"{what} in pairs.parquet", str(summary.pairs))
    table.add_row("pairs written now", str(summary.written))
    table.add_row("pairs already on disk", str(summary.existing))
    if summary.scenes_resumed:
        table.add_row("scenes finished earlier", str(summary.scenes_resumed))
    for reason, n in sorted(summary.skipped.items()):
        table.add_row(f"skipped: {reason}", str(n))
    table.add_row("time", f"{summary.seconds:.1f} s")
    show_table(table)
