"""`rdh make-composites`: capture store -> pair dataset (or photos + masks -> real pairs)."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from datagen.render_config import RayOptions, default_of, help_of
from rdh.commands.console import ProgressBar, console, out

HELP = """Paste the foreground of one style onto another style inside each scene.

Writes composite_images/, real_images/, masks/ and pairs.parquet (manifest schema rdh.manifest/1),
laid out like iHarmony4 and RdHarmony. A rerun skips finished scenes and pairs.

[bold]Examples[/bold]

  rdh make-composites captures/ pairs/

  rdh make-composites captures/ pairs/ --format jpg --quality 95 --per-target 3 --workers 2 --charmnet-list train

  rdh make-composites --from-photos photos/ --masks masks/ photo_pairs/ --variants 2
"""


def register(app: typer.Typer) -> None:
    app.command("make-composites", help=HELP, no_args_is_help=True)(make_composites_cmd)


def make_composites_cmd(
    paths: List[Path] = typer.Argument(..., metavar="CAPTURES OUT", help="Capture store and output folder (only OUT with --from-photos)."),
    format: Optional[str] = typer.Option(None, "--format", help="png (exact; default for scenes) or jpg (default for --from-photos, like iHarmony4)."),
    quality: int = typer.Option(95, "--quality", help="JPEG quality, 1-100."),
    max_side: Optional[int] = typer.Option(None, "--max-side", help="Downscale so the longer side is at most this many pixels."),
    min_fg_ratio: float = typer.Option(0.0, "--min-fg-ratio", help="Skip foregrounds covering less than this fraction of the image."),
    max_fg_ratio: float = typer.Option(1.0, "--max-fg-ratio", help="Skip foregrounds covering more than this fraction."),
    per_target: Optional[int] = typer.Option(None, "--per-target", help="Foreground styles per ground truth, drawn from --seed (default: all 9 others)."),
    min_fg_change: float = typer.Option(0.0, "--min-fg-change", help="Skip pairs whose mean |composite - ground truth| inside the mask (0-255) is below this."),
    test_fraction: float = typer.Option(0.0, "--test-fraction", help="Fraction of scenes (or photos) put in split=test."),
    seed: int = typer.Option(0, "--seed", help="Seed for --per-target, splits and photo references."),
    workers: int = typer.Option(1, "--workers", "-j", help="Parallel worker processes; output is identical to one worker's."),
    charmnet_list: Optional[str] = typer.Option(None, "--charmnet-list", help="Also write OUT/NAME_labeled.txt in the official CharmNet list format."),
    from_photos: Optional[Path] = typer.Option(None, "--from-photos", help="Folder of your own photos: build real pairs by color transfer instead."),
    masks: Optional[Path] = typer.Option(None, "--masks", help="With --from-photos: folder of masks named <photo>.png or <photo>_<id>.png."),
    variants: int = typer.Option(1, "--variants", help="With --from-photos: composites per mask."),
    category: str = typer.Option("unknown", "--category", help="With --from-photos: the foreground category of these photos."),
    executor: str = typer.Option("local", "--executor", help="local (--workers processes) or ray (a Ray task per scene; pip install 'rdh[ray]')."),
    ray_address: Optional[str] = typer.Option(default_of(RayOptions, "address"), "--ray-address", help=help_of(RayOptions, "address")),
    ray_cpus: float = typer.Option(default_of(RayOptions, "cpus_per_scene"), "--ray-cpus-per-scene", help=help_of(RayOptions, "cpus_per_scene")),
    ray_retries: int = typer.Option(default_of(RayOptions, "max_retries"), "--ray-max-retries", help=help_of(RayOptions, "max_retries")),
) -> None:
    from datagen.compose import ComposeConfig, make_composites
    from rdhcore.errors import RdhError

    if from_photos is not None:
        if len(paths) != 1 or masks is None:
            raise RdhError("--from-photos takes one positional OUT folder and needs --masks MASKS")
        from datagen.photos import PhotoConfig, make_photo_pairs

        cfg = PhotoConfig(images=from_photos, masks=masks, out=paths[0], variants=variants,
                          format=format or "jpg", quality=quality,
                          max_side=max_side, min_fg_ratio=min_fg_ratio, max_fg_ratio=max_fg_ratio,
                          min_fg_change=min_fg_change, category=category, test_fraction=test_fraction, seed=seed)
        with console.status("making photo pairs"):
            summary = make_photo_pairs(cfg)
        _print_summary(summary, "photo pairs")
        return
    if len(paths) != 2:
        raise RdhError("make-composites takes CAPTURES OUT (or --from-photos IMAGES --masks MASKS OUT)")
    cfg = ComposeConfig(captures=paths[0], out=paths[1], format=format or "png", quality=quality, max_side=max_side,
                        min_fg_ratio=min_fg_ratio, max_fg_ratio=max_fg_ratio, per_target=per_target,
                        seed=seed, min_fg_change=min_fg_change, test_fraction=test_fraction,
                        workers=workers, charmnet_list=charmnet_list, executor=executor,
                        ray=RayOptions(address=ray_address, cpus_per_scene=ray_cpus, max_retries=ray_retries))
    with ProgressBar("composites", "pairs") as progress:
        summary = make_composites(cfg, progress)
    _print_summary(summary, "pairs")


def _print_summary(summary, what: str) -> None:
    from rich.table import Table

    table = Table(title=f"make-composites: {summary.out}", show_header=True)
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
    out.print(table)
