"""`rdh build-manifest` (sources -> one Parquet manifest) and `rdh inspect` (what a manifest holds)."""
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

INSPECT_HELP = """Print what a manifest holds: counts by domain, source, category, split and novel; the
fg_ratio distribution (0-5%, 5-15%, 15-100%); the style distribution of rendered pairs.

[bold]Examples[/bold]

  rdh inspect data/train.parquet

  rdh inspect pairs/ --json > stats.json
"""


def register(app: typer.Typer) -> None:
    app.command("build-manifest", help=BUILD_HELP, no_args_is_help=True)(build_manifest_cmd)
    app.command("inspect", help=INSPECT_HELP, no_args_is_help=True)(inspect_cmd)


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
    import time

    from manifests.build import BuildConfig, build_manifest
    from rdh.commands.console import console, progress_bar, rate_text

    cfg = BuildConfig(
        out=out_path, pairs=list(pairs or []), prefix_pairs=prefix_pairs, iharmony4=list(iharmony4 or []),
        iharmony4_subsets=_split_names(iharmony4_subsets), rdharmony=list(rdharmony or []),
        rdharmony_lists=list(rdharmony_list or []), rdharmony_categories=list(rdharmony_category or []),
        rdharmony_style_map=rdharmony_style_map,
        csv=list(csv or []), categories=categories, novel_categories=_split_names(novel_category) or [],
        rendered_categories=_split_names(rendered_categories), test_fraction=test_fraction, seed=seed,
        sample_rendered=sample_rendered, verify_images=verify_images, workers=workers,
    )
    start = time.perf_counter()
    with progress_bar() as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, n: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total, rate="")
            task = tasks[stage]
            bar.advance(task, n)
            done = bar.tasks[task].completed
            bar.update(task, rate=rate_text(done, time.perf_counter() - start, "files" if stage != "read sources" else "sources"))

        summary = build_manifest(cfg, progress=progress)
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


def inspect_cmd(
    manifest: Path = typer.Argument(..., metavar="MANIFEST", help="A manifest file, or a pair dataset folder holding pairs.parquet."),
    as_json: bool = typer.Option(False, "--json", help="Print the same numbers as JSON on stdout."),
) -> None:
    import json

    from manifests.schema import read_manifest
    from manifests.stats import manifest_stats

    columns = ["domain", "source", "category", "split", "fg_ratio", "fg_style", "bg_style"]
    df = read_manifest(manifest)
    stats = manifest_stats(df[[c for c in [*columns, "novel"] if c in df.columns]])
    stats = {"manifest": str(manifest), **stats}
    if as_json:
        print(json.dumps(stats, indent=2))
        return
    _print_stats(stats)


def _print_stats(stats: dict) -> None:
    from rich.table import Table

    from rdh.commands.console import out

    out.print(f"[bold]{stats['manifest']}[/bold]: {stats['pairs']} pairs")
    for column, counts in stats["counts"].items():
        table = Table(title=f"by {column}")
        names = (column, "total") if column == "split" else (column, "total", *stats["splits"])
        for name in names:
            table.add_column(name, justify="left" if name == column else "right")
        for value, row in counts.items():
            table.add_row(value, *(str(row[name]) for name in names[1:]))
        out.print(table)
    table = Table(title="fg_ratio (foreground / image area)")
    domains = list(stats["fg_ratio"]["by_domain"])
    for name in ("bin", "all", "%", *domains):
        table.add_column(name, justify="left" if name == "bin" else "right")
    for i, b in enumerate(stats["fg_ratio"]["bins"]):
        per_domain = [str(stats["fg_ratio"]["by_domain"][d][i]["count"]) for d in domains]
        table.add_row(b["bin"], str(b["count"]), f"{100 * b['fraction']:.1f}", *per_domain)
    out.print(table)
    if stats["styles"]["rendered_pairs"]:
        table = Table(title=f"styles of the {stats['styles']['rendered_pairs']} rendered pairs")
        for name in ("id", "style", "as foreground", "as background"):
            table.add_column(name, justify="left" if name == "style" else "right")
        for s in stats["styles"]["by_style"]:
            table.add_row(str(s["id"]), s["name"], str(s["fg"]), str(s["bg"]))
        out.print(table)
    else:
        out.print("no rendered pairs: no style distribution")
