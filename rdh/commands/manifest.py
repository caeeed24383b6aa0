"""`rdh build-manifest`: sources -> one Parquet manifest (manifests.build does the work)."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from manifests.build_options import BuildConfig as B
from rdh.commands.options import help_of, option

BUILD_HELP = """Merge pair sources into one Parquet manifest (schema rdh.manifest/1) with a split column.

Every source option can be repeated. Paths in the manifest are relative to its folder. Every referenced file must exist (checked in parallel); a missing file, a size mismatch (--verify-images) or a list line that names nothing is reported with its source and line, and no manifest is written.

[bold]Examples[/bold]

  rdh build-manifest data/real.parquet --iharmony4 iHarmony4/

  rdh build-manifest data/train.parquet --pairs pairs/ \\
      --iharmony4 iHarmony4/ --categories coco_categories.csv \\
      --novel-category human

  rdh build-manifest data/rdharmony.parquet --rdharmony RdHarmony/ \\
      --rdharmony-list human_labeled.txt --rdharmony-category human \\
      --sample-rendered 65000 --seed 0

  rdh build-manifest data/mine.parquet --csv my_pairs.csv \\
      --test-fraction 0.1 --verify-images
"""

def register(app: typer.Typer) -> None:
    app.command("build-manifest", help=BUILD_HELP, no_args_is_help=True)(build_manifest_cmd)


def _split_names(values: Optional[List[str]]) -> Optional[List[str]]:
    if values is None:
        return None
    return [name.strip() for v in values for name in v.split(",") if name.strip()]


def build_manifest_cmd(
    out_path: Path = typer.Argument(..., metavar="OUT.parquet", help=help_of(B, "out")),
    pairs: Optional[List[Path]] = option(B, "pairs", default=None),
    prefix_pairs: bool = option(B, "prefix_pairs"),
    iharmony4: Optional[List[Path]] = option(B, "iharmony4", default=None),
    iharmony4_subsets: Optional[List[str]] = option(B, "iharmony4_subsets"),
    rdharmony: Optional[List[Path]] = option(B, "rdharmony", default=None),
    rdharmony_list: Optional[List[Path]] = option(B, "rdharmony_lists", "--rdharmony-list", default=None),
    rdharmony_category: Optional[List[str]] = option(B, "rdharmony_categories", "--rdharmony-category", default=None),
    rdharmony_style_map: Optional[str] = option(B, "rdharmony_style_map"),
    csv: Optional[List[Path]] = option(B, "csv", default=None),
    categories: Optional[Path] = option(B, "categories"),
    novel_category: Optional[List[str]] = option(B, "novel_categories", "--novel-category", default=None),
    rendered_categories: Optional[List[str]] = option(B, "rendered_categories"),
    test_fraction: float = option(B, "test_fraction"),
    seed: int = option(B, "seed"),
    sample_rendered: Optional[int] = option(B, "sample_rendered"),
    verify_images: bool = option(B, "verify_images"),
    workers: Optional[int] = option(B, "workers", "--workers|-j"),
    max_pixels: Optional[int] = option(B, "max_pixels"),
) -> None:
    from manifests.build import build_manifest
    from rich.markup import escape

    from rdh.commands.console import ProgressBar, console

    cfg = B(
        out=out_path, pairs=list(pairs or []), prefix_pairs=prefix_pairs, iharmony4=list(iharmony4 or []),
        iharmony4_subsets=_split_names(iharmony4_subsets), rdharmony=list(rdharmony or []),
        rdharmony_lists=list(rdharmony_list or []), rdharmony_categories=list(rdharmony_category or []),
        rdharmony_style_map=rdharmony_style_map,
        csv=list(csv or []), categories=categories, novel_categories=_split_names(novel_category) or [],
        rendered_categories=_split_names(rendered_categories), test_fraction=test_fraction, seed=seed,
        sample_rendered=sample_rendered, verify_images=verify_images, workers=workers, max_pixels=max_pixels,
    )
    with ProgressBar("build-manifest", "files") as progress:
        summary = build_manifest(cfg, progress)
    _print_build_summary(summary)
    if summary.category_keys_unmatched:
        console.print(f"[yellow]note:[/yellow] {summary.category_keys_unmatched} key(s) of {escape(str(categories))} named no pair")


def _print_build_summary(summary) -> None:
    from rich.table import Table

    from rdh.commands.console import say, show_table

    say(f"build-manifest: {summary.out}")
    table = Table()
    table.add_column("")
    table.add_column("pairs", justify="right")
    for source, n in sorted(summary.by_source.items()):
        table.add_row(f"source {source}", str(n))
    for split, n in sorted(summary.by_split.items()):
        table.add_row(f"split {split}", str(n))
    if summary.dropped_by_category:
        table.add_row("dropped: rendered category not kept", str(summary.dropped_by_category))
    if summary.dropped_by_sampling:
        table.add_row("dropped: not sampled", str(summary.dropped_by_sampling))
    table.add_row("[bold]in manifest[/bold]", f"[bold]{summary.pairs}[/bold]")
    table.add_row("masks read", str(summary.masks_read))
    if summary.images_decoded:
        table.add_row("images decoded", str(summary.images_decoded))
    table.add_row("time", f"{summary.seconds:.1f} s")
    show_table(table)
