"""`rdh render-scenes`: render 2D scenes under the 10 styles into a capture store."""
from __future__ import annotations

import time
from pathlib import Path
from typing import List, Optional

import typer

from rdh.commands.console import out, progress_bar, rate_text

HELP = """Render each 2D scene under weather x time-of-day styles, with exact foreground masks.

Writes the capture store OUT/scenes/<scene_id>/ (scene.json, 01.png..10.png, fg_0.png) and
OUT/captures.parquet. Scenes are written whole; a rerun skips finished scenes.

[bold]Examples[/bold]

  rdh render-scenes captures/ --engine builtin --scenes 20 --seed 0 --resolution 256 --spp 64

  rdh render-scenes captures/ --scenes 1000 --categories human --workers 2 --shard 0/4

  rdh render-scenes captures/ --engine unity --unity-build ~/builds/city.x86_64 --scenes 100 --workers 2
"""


def register(app: typer.Typer) -> None:
    app.command("render-scenes", help=HELP, no_args_is_help=True)(render_scenes_cmd)


def render_scenes_cmd(
    out_dir: Path = typer.Argument(..., metavar="OUT", help="Capture store folder to write."),
    engine: str = typer.Option("builtin", "--engine", help="builtin (Mitsuba 3, no Unity needed) or unity."),
    scenes: int = typer.Option(10, "--scenes", help="Number of 2D scenes in the whole run (all shards)."),
    seed: int = typer.Option(0, "--seed", help="Base seed; scene i uses a seed derived from (seed, i)."),
    resolution: int = typer.Option(256, "--resolution", help="Image width and height in pixels."),
    spp: int = typer.Option(64, "--spp", help="Samples per pixel (builtin)."),
    categories: str = typer.Option("all", "--categories", help="Foreground categories, e.g. human,cow (default: all six)."),
    styles: str = typer.Option("all", "--styles", help="Style ids or names, e.g. 1,2,10 (default: all 10)."),
    styles_file: Optional[Path] = typer.Option(None, "--styles-file", help="TOML file overriding the phase time ranges."),
    workers: int = typer.Option(1, "--workers", "-j", help="Parallel workers (builtin processes, or Unity players)."),
    shard: str = typer.Option("0/1", "--shard", help="i/N: render only scene indices congruent to i mod N."),
    variant: str = typer.Option("auto", "--variant", help="Mitsuba variant: auto (LLVM if libLLVM >= 16, else scalar), scalar or llvm."),
    min_fg_ratio: float = typer.Option(0.01, "--min-fg-ratio", help="Re-draw scenes whose foreground covers less than this."),
    max_fg_ratio: float = typer.Option(0.6, "--max-fg-ratio", help="Re-draw scenes whose foreground covers more than this."),
    assets: Optional[Path] = typer.Option(None, "--assets", help="Folder of your meshes: <category>/*.obj|*.ply (builtin)."),
    unity_build: Optional[Path] = typer.Option(None, "--unity-build", help="Unity player executable to launch (unity)."),
    unity_editor: bool = typer.Option(False, "--unity-editor", help="Attach to a Unity Editor in Play mode on port 5004 (unity)."),
    unity_arg: List[str] = typer.Option([], "--unity-arg", help="Extra player argument; repeat for several (unity)."),
    unity_log_dir: Optional[Path] = typer.Option(None, "--unity-log-dir", help="Folder for player logs (unity)."),
    base_port: int = typer.Option(5005, "--base-port", help="Worker w listens on base port + w (unity)."),
    bind_address: str = typer.Option("127.0.0.1", "--bind-address", help="Address the bridge listens on; change only for a remote player (unity)."),
    connect_timeout: float = typer.Option(60.0, "--connect-timeout", help="Seconds to wait for a player to connect (unity)."),
    reply_timeout: float = typer.Option(60.0, "--reply-timeout", help="Seconds to wait for each reply (unity)."),
    max_restarts: int = typer.Option(3, "--max-restarts", help="Restarts of a crashed player before giving up (unity)."),
    settle_frames: int = typer.Option(5, "--settle-frames", help="Frames the sky settles before a capture (unity)."),
) -> None:
    from datagen.render_config import (RenderConfig, UnityOptions, parse_categories, parse_shard, render,
                                       shard_indices)
    from datagen.styles import parse_styles

    cfg = RenderConfig(
        out=out_dir, engine=engine, scenes=scenes, seed=seed, resolution=resolution, spp=spp,
        categories=parse_categories(categories), styles=tuple(parse_styles(styles)), styles_file=styles_file,
        workers=workers, shard=parse_shard(shard), variant=variant, min_fg_ratio=min_fg_ratio,
        max_fg_ratio=max_fg_ratio, assets_dir=assets,
        unity=UnityOptions(build=unity_build, editor=unity_editor, player_args=list(unity_arg),
                           log_dir=unity_log_dir, base_port=base_port, bind_address=bind_address,
                           connect_timeout=connect_timeout, reply_timeout=reply_timeout,
                           max_restarts=max_restarts, settle_frames=settle_frames),
    )
    total = len(shard_indices(cfg)) * len(cfg.styles)
    start = time.perf_counter()
    with progress_bar() as bar:
        task = bar.add_task(f"render ({engine})", total=total, rate="")

        def advance(n: int) -> None:
            bar.advance(task, n)
            bar.update(task, rate=rate_text(bar.tasks[0].completed, time.perf_counter() - start, "images"))

        summary = render(cfg, advance)
    from rich.table import Table

    table = Table(title=f"render-scenes: {out_dir}")
    table.add_column("")
    table.add_column("value", justify="right")
    table.add_row("scenes rendered now", str(summary.rendered))
    table.add_row("scenes finished earlier", str(summary.skipped))
    table.add_row("images rendered", str(summary.images))
    if summary.redraws:
        table.add_row("layouts re-drawn (fg ratio)", str(summary.redraws))
    if summary.failed:
        table.add_row("scenes without a fitting layout", f"{len(summary.failed)} ({', '.join(summary.failed[:5])}{' ...' if len(summary.failed) > 5 else ''})")
    if summary.variant:
        table.add_row("variant", summary.variant)
    table.add_row("time", f"{summary.seconds:.1f} s")
    if summary.images and summary.seconds:
        table.add_row("speed", f"{summary.seconds / summary.images:.2f} s/image")
    out.print(table)
