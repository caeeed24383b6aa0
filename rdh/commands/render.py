"""`rdh render-scenes`: render 2D scenes under the 10 styles into a capture store.

Every option's default and help come from the config dataclasses of datagen.render_config.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer

from datagen.render_config import BuiltinOptions as B
from datagen.render_config import RayOptions as R
from datagen.render_config import RenderConfig as C
from datagen.render_config import UnityOptions as U
from rdh.commands.console import ProgressBar, say, show_table
from rdh.commands.options import option, refuse_inapplicable

HELP = """Render each 2D scene under weather x time-of-day styles, with exact foreground masks.

Writes the capture store OUT/scenes/<scene_id>/ (scene.json, 01.png..10.png, fg_0.png) and OUT/captures.parquet. Scenes are written whole; a rerun skips finished scenes.

[bold]Examples[/bold]

  rdh render-scenes captures/ --scenes 20 --seed 0 --resolution 256

  [dim]# the images of before the denoiser[/dim]
  rdh render-scenes captures/ --spp 64 --no-denoise --sampler independent

  rdh render-scenes captures/ --scenes 1000 --categories human \\
      --workers 2 --shard 0/4

  rdh render-scenes captures/ --scenes 1500 --executor ray \\
      --ray-address auto

  [dim]# the second scene generator (the demo's stand-in at --gap 3)[/dim]
  rdh render-scenes captures_second/ --scenes 20 --generator second

  rdh render-scenes captures/ --engine unity \\
      --unity-build ~/builds/city.x86_64 --scenes 100 --workers 2
"""

RUN, BUILTIN, UNITY = "Common", "Built-in engine", "Unity engine"


def register(app: typer.Typer) -> None:
    app.command("render-scenes", help=HELP, no_args_is_help=True)(render_scenes_cmd)


def render_scenes_cmd(
    ctx: typer.Context,
    out_dir: Path = typer.Argument(..., metavar="OUT", help="Capture store folder to write."),
    engine: str = option(C, "engine", panel=RUN),
    scenes: int = option(C, "scenes", panel=RUN),
    seed: int = option(C, "seed", panel=RUN),
    resolution: int = option(C, "resolution", panel=RUN),
    categories: str = option(C, "categories", panel=RUN, default="all"),
    styles: str = option(C, "styles", panel=RUN, default="all"),
    styles_file: Optional[Path] = option(C, "styles_file", panel=RUN),
    workers: int = option(C, "workers", "--workers|-j", RUN),
    shard: str = option(C, "shard", panel=RUN, default="0/1"),
    min_fg_ratio: float = option(C, "min_fg_ratio", panel=RUN),
    max_fg_ratio: float = option(C, "max_fg_ratio", panel=RUN),
    executor: str = option(C, "executor", panel=RUN),
    ray_address: Optional[str] = option(R, "address", "--ray-address", RUN),
    ray_cpus: float = option(R, "cpus_per_scene", "--ray-cpus-per-scene", RUN),
    ray_retries: int = option(R, "max_retries", "--ray-max-retries", RUN),
    ray_timeout: float = option(R, "timeout", "--ray-timeout", RUN),
    spp: Optional[int] = option(B, "spp", panel=BUILTIN),
    sampler: Optional[str] = option(B, "sampler", panel=BUILTIN),
    denoise: Optional[bool] = option(B, "denoise", "--denoise/--no-denoise", BUILTIN),
    guides: Optional[bool] = option(B, "guides", "--denoise-guides/--no-denoise-guides", BUILTIN),
    variant: str = option(B, "variant", panel=BUILTIN),
    assets: Optional[Path] = option(B, "assets_dir", "--assets", BUILTIN),
    generator: str = option(B, "generator", panel=BUILTIN),
    unity_build: Optional[Path] = option(U, "build", "--unity-build", UNITY),
    unity_editor: bool = option(U, "editor", "--unity-editor", UNITY),
    unity_arg: List[str] = option(U, "player_args", "--unity-arg", UNITY),
    unity_log_dir: Optional[Path] = option(U, "log_dir", "--unity-log-dir", UNITY),
    base_port: int = option(U, "base_port", panel=UNITY),
    bind_address: str = option(U, "bind_address", panel=UNITY),
    connect_timeout: float = option(U, "connect_timeout", panel=UNITY),
    reply_timeout: float = option(U, "reply_timeout", panel=UNITY),
    max_restarts: int = option(U, "max_restarts", panel=UNITY),
    settle_frames: int = option(U, "settle_frames", panel=UNITY),
    settle_seconds: float = option(U, "settle_seconds", panel=UNITY),
    mask_tolerance: float = option(U, "mask_tolerance", panel=UNITY),
) -> None:
    from datagen.render import render
    from datagen.render_config import parse_categories, parse_shard
    from datagen.styles import parse_styles

    refuse_inapplicable(ctx, {"engine": engine, "executor": executor})
    cfg = C(
        out=out_dir, engine=engine, scenes=scenes, seed=seed, resolution=resolution,
        categories=parse_categories(categories), styles=tuple(parse_styles(styles)), styles_file=styles_file,
        workers=workers, shard=parse_shard(shard), min_fg_ratio=min_fg_ratio, max_fg_ratio=max_fg_ratio,
        executor=executor,
        builtin=B(spp=spp, sampler=sampler, denoise=denoise, guides=guides, variant=variant, assets_dir=assets,
                    generator=generator),
        unity=U(build=unity_build, editor=unity_editor, player_args=list(unity_arg), log_dir=unity_log_dir,
                base_port=base_port, bind_address=bind_address, connect_timeout=connect_timeout,
                reply_timeout=reply_timeout, max_restarts=max_restarts, settle_frames=settle_frames,
                settle_seconds=settle_seconds, mask_tolerance=mask_tolerance),
        ray=R(address=ray_address, cpus_per_scene=ray_cpus, max_retries=ray_retries, timeout=ray_timeout),
    )
    with ProgressBar(f"render ({engine})", "images") as progress:
        summary = render(cfg, progress)
    print_summary(cfg, summary)
    if summary.faults:  # the other scenes are written; the status tells scripts that some are not
        print(f"rdh: error: {len(summary.faults)} scene(s) not rendered (first: {summary.faults[0]}); the other "
              "scenes are kept: rerun to retry them, and report an error that is not a crash of the machine",
              file=sys.stderr)
        raise typer.Exit(1)


def print_summary(cfg, summary) -> None:
    from rich.table import Table

    say(f"render-scenes: {cfg.out}")
    table = Table()
    table.add_column("")
    table.add_column("value", justify="right")
    table.add_row("scenes rendered now", str(summary.rendered))
    table.add_row("scenes finished earlier", str(summary.skipped))
    table.add_row("images rendered", str(summary.images))
    if summary.redraws:
        table.add_row("layouts re-drawn (fg ratio)", str(summary.redraws))
    if summary.failed:
        table.add_row("scenes not rendered", f"{len(summary.failed)} ({', '.join(summary.failed[:5])}{' ...' if len(summary.failed) > 5 else ''})")
    if summary.variant:
        table.add_row("variant", summary.variant)
    if cfg.engine == "builtin":
        b = cfg.builtin.for_size(cfg.resolution)
        table.add_row("sampling", f"{b.spp} spp {b.sampler}, {'denoised (oidn)' if b.denoise else 'not denoised'}")
    table.add_row("time", f"{summary.seconds:.1f} s")
    if summary.images and summary.seconds:
        table.add_row("speed", f"{summary.seconds / summary.images:.2f} s/image")
    show_table(table)
