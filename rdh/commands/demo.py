"""`rdh demo`: the paper's Table 2 in miniature on the built-in engine (reality_gap does the work)."""
from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Optional

import typer

from rdh.commands.console import ProgressBar, console, say, show_table
from rdh.commands.options import option
from reality_gap.presets import FULL, QUICK
from reality_gap.presets import DemoConfig as D

HELP = f"""Run the paper's Table 2 in miniature on the built-in renderer and write OUT/report.md, OUT/summary.json, OUT/grid.png and OUT/curves.png.

It renders scenes (the novel category as renders only), builds a STAND-IN real domain from other renders (not real photos: see --gap), trains every row for the same budget and evaluates on the stand-in's novel and base test sets. Rows: input composite, iDIH on base real pairs only, iDIH dataset fusion, iDIH two-stage, CharmNet, the upper bound (iDIH with real novel pairs of its own scenes added) and iDIH on rendered novel pairs only (Table 1).

--gap picks the stand-in: 0 (the default) = relit composites with a photographic look (the renders' own task: little reality gap to bridge); 1 = composites made the way iHarmony4's were (colour transfer toward another instance of the category, expert retouches), before noise and JPEG; 2 = 1 plus a camera pipeline developed per photo (auto exposure and white balance, highlight clipping, demosaicing, chroma noise); 3 = 2 on scenes of a second generator that the renders never use (warped meshes, patterned materials, more clutter, a continuous sun and sky: render-scenes --generator second). At the demo's budget no level meets the reality-gap target and levels 1-3 are barely learned; docs/training.md has the calibration.

About 6 minutes on 2 idle CPU cores ({FULL.steps} steps a model); --quick keeps the composite, base-only, fusion and CharmNet rows at a toy size ({QUICK.steps} steps, about 2 minutes). A rerun skips finished stages. For several seeds and paired statistics run python bench/reality_gap.py; for the paper's protocol on iHarmony4 and RdHarmony see docs/reproduce.md.

[bold]Examples[/bold]

  rdh demo

  rdh demo --quick --out /tmp/demo

  rdh demo --novel-category cow --seed 1 --out demo_cow

  rdh demo --gap 1 --out demo_iharmony4_like

  rdh demo --out demo_gpu --device cuda --steps 3000
"""


def stand_in_line(gap: int) -> str:
    """The line the demo prints first: what its real domain is."""
    from reality_gap.presets import GAP_NAMES

    return (f"The real domain of this demo is a STAND-IN made from renders (gap level {gap}: {GAP_NAMES[gap]}). "
            "It is not real photographs.")


class RichReporter:
    """reality_gap.stages.Reporter on rich progress bars (stderr; logs get the summary only)."""

    @contextlib.contextmanager
    def task(self, description: str, total: int | None):
        with ProgressBar(description, total=total, show=rate_of) as progress:
            yield progress


def rate_of(stats: dict) -> str:
    """A training step's figures, as the demo shows them: its speed."""
    rate = stats.get("images_per_s")
    return f"{rate:.1f} images/s" if rate else ""


def register(app: typer.Typer) -> None:
    app.command("demo", help=HELP)(demo_cmd)


def demo_cmd(
    out_dir: Path = option(D, "out"),
    quick: bool = option(D, "quick"),
    seed: int = option(D, "seed"),
    novel_category: str = option(D, "novel_category"),
    device: str = option(D, "device"),
    workers: int = option(D, "workers", "--workers|-j"),
    steps: Optional[int] = option(D, "steps"),
    gap: int = option(D, "gap"),
) -> None:
    from reality_gap.stages import check_options, layout_of, run_demo

    cfg = D(out=out_dir, quick=quick, seed=seed, novel_category=novel_category, device=device,
             workers=workers, steps=steps, gap=gap)
    paths = layout_of(cfg)
    check_options(cfg, paths)  # a wrong option fails before anything is printed or made
    console.print("[bold yellow]Note:[/bold yellow] ", end="")
    say(stand_in_line(cfg.gap), err=True)
    report = run_demo(cfg, RichReporter())
    print_table(cfg, paths)
    say("", f"report:  {report}", f"summary: {paths.summary}", f"grid:    {paths.grid}", f"curves:  {paths.curves}")


def print_table(cfg, paths) -> None:
    from rich.table import Table

    from reality_gap.report import print_rows

    rows = json.loads(paths.summary.read_text())["rows"]
    table = Table(title=f"rdh demo: test sets of the STAND-IN real domain (novel = {cfg.novel_category}; not real photos)")
    for col in ("method", "novel MSE", "novel fMSE", "novel PSNR", "base MSE", "base fMSE", "base PSNR"):
        table.add_column(col, justify="left" if col == "method" else "right")
    for cells in print_rows(cfg, rows):
        table.add_row(*cells)
    show_table(table)
