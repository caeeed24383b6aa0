"""`rdh build-manifest`: sources -> one Parquet manifest (manifests.build does the work)."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

BUILD_HELP = """Merge pair sources into one Parquet manifest (schema rdh.manifest/1) with a split column.

Every source option can be repeated. Paths in the manifest are relative to its folder. Every
referenced file must exist (checked in parallel); a missing file, a size mismatch
(--verify-images) or a list line that names nothing is reported with its source and line, and
no manifest is written.

[bold]Examples[/bold]

  rdh build-manifest data/real.parquet --iharmony4 iHarmony4/

  rdh build-manifest data/train.parquet --pairs pairs/ --iharmony4 iHarmony4/ --categories coco_categories.csv --novel-category human

  rdh build-manifest data/rdharmony.parquet --rdharmony RdHarmony/ --rdharmony-list human_labeled.txt --rdharmony-category human --sample-rendered 65000 --seed 0

  rdh build-manifest data/mine.parquet --csv my_pairs.csv --test-fraction 0.1 --verify-images
"""

def register(app: typer.Typer) -> None:
    app.command("build-manifest", help=BUILD_HELP, no_args_is_help=True)(build_manifest_cmd)


def _split_names(values: Optional[List[str]]) -> Optional[List[str]]:
    if values is None:
        return None
    return [name.strip() for v in values for name in v.split(",") if name.strip()]


def build_manifest_cmd(
    out_path: Path = typer.Argument(..., metavar="OUT.parquet", help="The manifest file to write."),
    pairs: Optional[List[Path]] = typer.Option(None, "--pairs", help="A pair dataset from `rdh make-composites` (folder or pairs.parquet), or a manifest."),
    prefix_pairs: bool = typer.Option(False, "--prefix-pairs", help="Prefix pair and group ids of --pairs sources with their folder name (to merge separate render runs)."),
    iharmony4: Optional[List[Path]] = typer.Option(None, "--iharmony4", help="iHarmony4 root with HCOCO/ HAdobe5k/ HFlickr/ Hday2night/ (or one subset folder)."),
    iharmony4_subsets: Optional[List[str]] = typer.Option(None, "--iharmony4-subsets", help="Only these subsets, comma-separated (default: all present)."),
    rdharmony: Optional[List[Path]] = typer.Option(None, "--rdharmony", help="RdHarmony release root (the list's paths are relative to it)."),
    rdharmony_list: Optional[List[Path]] = typer.Option(None, "--rdharmony-list", help="RdHarmony list: path<TAB>soft label joined by _<TAB>harmonized style id."),
    rdharmony_category: Optional[List[str]] = typer.Option(None, "--rdharmony-category", help="Category of the pairs of each --rdharmony-list (one for all, or one per list)."),
    rdharmony_style_map: Optional[str] = typer.Option(None, "--rdharmony-style-map", help="Map the release's style ids onto rdh's (RELEASE_ID=RDH_ID for all ten, e.g. 1=1,2=4,..., or 'same'); needed to mix release pairs with rdh-rendered ones (docs/manifests.md)."),
    csv: Optional[List[Path]] = typer.Option(None, "--csv", help="CSV with composite,target,mask columns (+ optional category, split, domain, ...)."),
    categories: Optional[Path] = typer.Option(None, "--categories", help="CSV of (path or image id, category) for pairs without one; others get 'unknown'."),
    novel_category: Optional[List[str]] = typer.Option(None, "--novel-category", help="Add a boolean 'novel' column: category is one of these (e.g. human)."),
    rendered_categories: Optional[List[str]] = typer.Option(None, "--rendered-categories", help="Keep only rendered pairs of these categories, comma-separated."),
    test_fraction: float = typer.Option(0.0, "--test-fraction", help="Pairs without a split: this fraction of groups (scenes/photos) per source goes to test."),
    seed: int = typer.Option(0, "--seed", help="Seed of the group split and of --sample-rendered."),
    sample_rendered: Optional[int] = typer.Option(None, "--sample-rendered", help="Keep N rendered training pairs, drawn from --seed (the paper: 65000)."),
    verify_images: bool = typer.Option(False, "--verify-images", help="Decode every image and check its size against its mask (slower)."),
    workers: Optional[int] = typer.Option(None, "--workers", "-j", help="Threads for file checks and decoding (default: 2 x CPU cores, at most 16)."),
) -> None:
    from manifests.build import BuildConfig, build_manifest
    from rdh.commands.console import ProgressBar, console

    cfg = BuildConfig(
        out=out_path, pairs=list(pairs or []), prefix_pairs=prefix_pairs, iharmony4=list(iharmony4 or []),
        iharmony4_subsets=_split_names(iharmony4_subsets), rdharmony=list(rdharmony or []),
        rdharmony_lists=list(rdharmony_list or []), rdharmony_categories=list(rdharmony_category or []),
        rdharmony_style_map=rdharmony_style_map,
        csv=list(csv or []), categories=categories, novel_categories=_split_names(novel_category) or [],
        rendered_categories=_split_names(rendered_categories), test_fraction=test_fraction, seed=seed,
        sample_rendered=sample_rendered, verify_images=verify_images, workers=workers,
    )
    with ProgressBar("build-manifest", "files") as progress:
        summary = build_manifest(cfg, progress)
    _print_build_summary(summary)
    if summary.category_keys_unmatched:
        console.print(f"[yellow]note:[/yellow] {summary.category_keys_unmatched} key(s) of {categories} named no pair")


def _print_build_summary(summary) -> None:
    from rich.table import Table

    from rdh.commands.console import out

    table = Table(title=f"build-manifest: {summary.out}")
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
    out.print(table)
