"""`rdh inspect`: what a manifest holds (manifests.stats does the counting)."""
from __future__ import annotations

from pathlib import Path

import typer

INSPECT_HELP = """Print what a manifest holds: counts by domain, source, category, split and novel; the fg_ratio distribution (0-5%, 5-15%, 15-100%); the style distribution of rendered pairs.

[bold]Examples[/bold]

  rdh inspect data/train.parquet

  rdh inspect pairs/ --json > stats.json
"""


def register(app: typer.Typer) -> None:
    app.command("inspect", help=INSPECT_HELP, no_args_is_help=True)(inspect_cmd)


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

    from rdh.commands.console import say, show_table

    say(f"{stats['manifest']}: {stats['pairs']} pairs")
    for column, counts in stats["counts"].items():
        table = Table(title=f"by {column}")
        names = (column, "total") if column == "split" else (column, "total", *stats["splits"])
        for name in names:
            table.add_column(name, justify="left" if name == column else "right")
        for value, row in counts.items():
            table.add_row(value, *(str(row[name]) for name in names[1:]))
        show_table(table)
    table = Table(title="fg_ratio (foreground / image area)")
    domains = list(stats["fg_ratio"]["by_domain"])
    for name in ("bin", "all", "%", *domains):
        table.add_column(name, justify="left" if name == "bin" else "right")
    for i, b in enumerate(stats["fg_ratio"]["bins"]):
        per_domain = [str(stats["fg_ratio"]["by_domain"][d][i]["count"]) for d in domains]
        table.add_row(b["bin"], str(b["count"]), f"{100 * b['fraction']:.1f}", *per_domain)
    show_table(table)
    if stats["styles"]["rendered_pairs"]:
        table = Table(title=f"styles of the {stats['styles']['rendered_pairs']} rendered pairs")
        for name in ("id", "style", "as foreground", "as background"):
            table.add_column(name, justify="left" if name == "style" else "right")
        for s in stats["styles"]["by_style"]:
            table.add_row(str(s["id"]), s["name"], str(s["fg"]), str(s["bg"]))
        show_table(table)
    else:
        say("no rendered pairs: no style distribution")
