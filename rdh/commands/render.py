"""`rdh render-scenes`: render 2D scenes under the 10 styles into a capture store.

Every option's default and help come from the config dataclasses of datagen.render_config.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import List, Optional

import typer

from datagen.render_config import BuiltinOptions as B
from datagen.render_config import RayOptions as R
from datagen.render_config import RenderConfig as C
from datagen.render_config import UnityOptions as U
from datagen.render_config import default_of, help_of
from rdh.commands.console import out, progress_bar, rate_text

HELP = """Render each 2D scene under weather x time-of-day styles, with exact foreground masks.

Writes the capture store OUT/scenes/<scene_id>/ (scene.json, 01.png..10.png, fg_0.png) and
OUT/captures.parquet. Scenes are written whole; a rerun skips finished scenes.

[bold]Examples[/bold]

  rdh render-scenes captures/ --engine builtin --scenes 20 --seed 0 --resolution 256

  rdh render-scenes captures/ --spp 64 --no-denoise --sampler independent     # the pre-denoiser images

  rdh render-scenes captures/ --scenes 1000 --categories human --workers 2 --shard 0/4

  rdh render-scenes captures/ --scenes 1500 --executor ray --ray-address auto

  rdh render-scenes captures/ --engine unity --unity-build ~/builds/city.x86_64 --scenes 100 --workers 2
"""

RUN, BUILTIN, UNITY, RAY = "Run", "Built-in engine (Mitsuba 3)", "Unity engine", "Ray executor"


def register(app: typer.Typer) -> None:
    app.command("render-scenes", help=HELP, no_args_is_help=True)(render_scenes_cmd)


def _o(cls, name: str, flag: str, panel: str, default=None, **kw):
    """A typer option whose default and help are the dataclass field's."""
    value = default_of(cls, name) if default is None else default
    return typer.Option(value, *flag.split("|"), help=help_of(cls, name), rich_help_panel=panel, **kw)


def render_scenes_cmd(
    out_dir: Path = typer.Argument(..., metavar="OUT", help="Capture store folder to write."),
    engine: str = _o(C, "engine", "--engine", RUN),
    scenes: int = _o(C, "scenes", "--scenes", RUN),
    seed: int = _o(C, "seed", "--seed", RUN),
    resolution: int = _o(C, "resolution", "--resolution", RUN),
    categories: str = _o(C, "categories", "--categories", RUN, default="all"),
    styles: str = _o(C, "styles", "--styles", RUN, default="all"),
    styles_file: Optional[Path] = _o(C, "styles_file", "--styles-file", RUN),
    workers: int = _o(C, "workers", "--workers|-j", RUN),
    shard: str = _o(C, "shard", "--shard", RUN, default="0/1"),
    min_fg_ratio: float = _o(C, "min_fg_ratio", "--min-fg-ratio", RUN),
    max_fg_ratio: float = _o(C, "max_fg_ratio", "--max-fg-ratio", RUN),
    executor: str = _o(C, "executor", "--executor", RUN),
    spp: int = _o(B, "spp", "--spp", BUILTIN),
    sampler: str = _o(B, "sampler", "--sampler", BUILTIN),
    denoise: bool = _o(B, "denoise", "--denoise/--no-denoise", BUILTIN),
    guides: bool = _o(B, "guides", "--denoise-guides/--no-denoise-guides", BUILTIN),
    variant: str = _o(B, "variant", "--variant", BUILTIN),
    assets: Optional[Path] = _o(B, "assets_dir", "--assets", BUILTIN),
    ray_address: Optional[str] = _o(R, "address", "--ray-address", RAY),
    ray_cpus: float = _o(R, "cpus_per_scene", "--ray-cpus-per-scene", RAY),
    ray_retries: int = _o(R, "max_retries", "--ray-max-retries", RAY),
    unity_build: Optional[Path] = _o(U, "build", "--unity-build", UNITY),
    unity_editor: bool = _o(U, "editor", "--unity-editor", UNITY),
    unity_arg: List[str] = _o(U, "player_args", "--unity-arg", UNITY),
    unity_log_dir: Optional[Path] = _o(U, "log_dir", "--unity-log-dir", UNITY),
    base_port: int = _o(U, "base_port", "--base-port", UNITY),
    bind_address: str = _o(U, "bind_address", "--bind-address", UNITY),
    connect_timeout: float = _o(U, "connect_timeout", "--connect-timeout", UNITY),
    reply_timeout: float = _o(U, "reply_timeout", "--reply-timeout", UNITY),
    max_restarts: int = _o(U, "max_restarts", "--max-restarts", UNITY),
    settle_frames: int = _o(U, "settle_frames", "--settle-frames", UNITY),
    settle_seconds: float = _o(U, "settle_seconds", "--settle-seconds", UNITY),
    mask_tolerance: float = _o(U, "mask_tolerance", "--mask-tolerance", UNITY),
) -> None:
    from datagen.render_config import (BuiltinOptions, RayOptions, RenderConfig, UnityOptions, parse_categories,
                                       parse_shard, render, shard_indices)
    from datagen.styles import parse_styles

    cfg = RenderConfig(
        out=out_dir, engine=engine, scenes=scenes, seed=seed, resolution=resolution,
        categories=parse_categories(categories), styles=tuple(parse_styles(styles)), styles_file=styles_file,
        workers=workers, shard=parse_shard(shard), min_fg_ratio=min_fg_ratio, max_fg_ratio=max_fg_ratio,
        executor=executor,
        builtin=BuiltinOptions(spp=spp, sampler=sampler, denoise=denoise, guides=guides, variant=variant,
                               assets_dir=assets),
        unity=UnityOptions(build=unity_build, editor=unity_editor, player_args=list(unity_arg),
                           log_dir=unity_log_dir, base_port=base_port, bind_address=bind_address,
                           connect_timeout=connect_timeout, reply_timeout=reply_timeout,
                           max_restarts=max_restarts, settle_frames=settle_frames,
                           settle_seconds=settle_seconds, mask_tolerance=mask_tolerance),
        ray=RayOptions(address=ray_address, cpus_per_scene=ray_cpus, max_retries=ray_retries),
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
        table.add_row("scenes not rendered", f"{len(summary.failed)} ({', '.join(summary.failed[:5])}{' ...' if len(summary.failed) > 5 else ''})")
    if summary.variant:
        table.add_row("variant", summary.variant)
    if engine == "builtin":
        table.add_row("sampling", f"{spp} spp {sampler}, {'denoised (oidn)' if denoise else 'not denoised'}")
    table.add_row("time", f"{summary.seconds:.1f} s")
    if summary.images and summary.seconds:
        table.add_row("speed", f"{summary.seconds / summary.images:.2f} s/image")
    out.print(table)
