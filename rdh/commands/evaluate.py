"""`rdh evaluate`: MSE, fMSE and PSNR of a model (or of saved predictions) on a manifest's test pairs."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from rdh.commands.console import console, out, progress_bar, rate_text

HELP = """Score split=test pairs of a manifest: MSE, fMSE, PSNR (optionally SSIM), overall and per
domain, source, category, novel and foreground ratio (0-5%, 5-15%, 15-100%). Each group also
shows the input composite's own scores (the "Input Composite" row of the paper's Table 2).

--protocol picks one published evaluation as a whole (docs/metrics.md cites the file of each):

  rdh       the full-resolution result (background kept), 256x256, images resized
            bilinear, binary mask, PSNR peak 255 (DESIGN.md; the default)
  charmnet  CharmNet test.py (Table 2): the network's 256x256 output truncated to
            8 bits, 8-bit bilinear resize, the ground truth read back through the
            ImageNet normalization, PIL 1-bit mask, PSNR peak = output max - min
  iharm     iDIH evaluate_model.py: the raw float output, 8-bit bilinear resize,
            soft mask (the network sees it too), PSNR peak = target max
  dovenet   DoveNet test.py: the output truncated to 8 bits, PIL bilinear resize,
            the ground truth read back through (x - 0.5) / 0.5, PIL 1-bit mask,
            PSNR peak = output max - min

--raw-output, --resize-filter, --resize-8bit, --mask, --quantize, --roundtrip,
--psnr-peak and --eval-size each override their part of the preset. A run folder given to --checkpoint
is scored from its last.pt (best.pt with --best); the output names the file scored.

[bold]Examples[/bold]

  rdh evaluate --checkpoint runs/charmnet --manifest data/all.parquet --json scores.json

  rdh evaluate --checkpoint runs/charmnet --manifest data/all.parquet --protocol charmnet

  rdh evaluate --predictions my_outputs/ --manifest data/all.parquet --filter domain=real --csv scores.csv

  rdh evaluate --checkpoint runs/idih/last.pt --manifest m.parquet --protocol iharm --psnr-peak 255
"""


def register(app: typer.Typer) -> None:
    app.command("evaluate", help=HELP, no_args_is_help=True)(evaluate_cmd)


def evaluate_cmd(
    manifest: Path = typer.Option(..., "--manifest", "-m", help="Manifest (.parquet) or pair-dataset folder."),
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", "-c", help="Model checkpoint to run: a file, or a run folder (its last.pt)."),
    best: bool = typer.Option(False, "--best", help="With a run folder as --checkpoint: score best.pt (chosen on validation rows) instead of last.pt."),
    predictions: Optional[Path] = typer.Option(None, "--predictions", help="Folder of <pair_id>.png at the target's size (at --eval-size with --raw-output), instead of a model."),
    split: str = typer.Option("test", "--split", help="Rows to score: test, val, train or all."),
    filter: Optional[str] = typer.Option(None, "--filter", help="Keep matching rows: COLUMN=VALUE or COLUMN!=VALUE (VALUE may be A|B); ',' ANDs terms, ';' ORs groups, e.g. domain=real,novel=true or domain=rendered;novel=false."),
    novel: Optional[str] = typer.Option(None, "--novel", help="Categories counted as novel when the manifest has no novel column, e.g. human."),
    protocol: str = typer.Option("rdh", "--protocol", help="Evaluation preset: rdh, charmnet, iharm or dovenet (above)."),
    eval_size: Optional[int] = typer.Option(None, "--eval-size", help="Score at this square size (presets: 256); 0 scores at the target's own size."),
    raw_output: Optional[bool] = typer.Option(None, "--raw-output/--full-result", help="With --checkpoint: score the network's own output at its training size, or the full-resolution result with the background kept."),
    resize_filter: Optional[str] = typer.Option(None, "--resize-filter", help="nearest, bilinear, bicubic, area, lanczos (OpenCV) or pil-bilinear, pil-bicubic (PIL, antialiased)."),
    resize_8bit: Optional[bool] = typer.Option(None, "--resize-8bit/--resize-float", help="Resize 8-bit images as 8-bit (rounded), as published scripts do, or in floating point."),
    mask: Optional[str] = typer.Option(None, "--mask", help="binary (>= 0.5, nearest), soft (in [0, 1], image filter) or pil-1bit (PIL convert('1'), nearest)."),
    quantize: Optional[str] = typer.Option(None, "--quantize", help="Raw output to 8 bits before scoring: none, round or truncate."),
    roundtrip: Optional[str] = typer.Option(None, "--roundtrip", help="Read target and composite back as the script's loader and tensor2im do (float32 normalize, truncate): none, imagenet (CharmNet) or half (DoveNet)."),
    psnr_peak: Optional[str] = typer.Option(None, "--psnr-peak", help="PSNR peak: 255, target-max (iDIH) or pred-range (CharmNet, DoveNet)."),
    ssim: bool = typer.Option(False, "--ssim", help="Also compute SSIM."),
    json_path: Optional[Path] = typer.Option(None, "--json", help="Write {overall, groups, protocol} here."),
    csv_path: Optional[Path] = typer.Option(None, "--csv", help="Write overall and groups as CSV rows here."),
    per_image: Optional[Path] = typer.Option(None, "--per-image", help="Write every image's scores as CSV here."),
    save_outputs: Optional[Path] = typer.Option(None, "--save-outputs", help="With --checkpoint: write harmonized images as <pair_id>.png here."),
    batch_size: int = typer.Option(8, "--batch-size", help="Images per model call."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda[:N]."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Score only the first N selected rows."),
) -> None:
    from harmonize.evaluate import EvalConfig, evaluate
    from harmonize.metrics import protocol_from
    from rdhcore.errors import RdhError

    if save_outputs is not None and checkpoint is None:
        raise RdhError("--save-outputs needs --checkpoint: with --predictions the images exist already")
    if best and checkpoint is None:
        raise RdhError("--best picks RUN/best.pt of a run folder: it needs --checkpoint RUN")
    given = {k: v for k, v in dict(raw_output=raw_output, resize_filter=resize_filter, resize_8bit=resize_8bit, mask=mask,
                                   quantize=quantize, roundtrip=roundtrip, psnr_peak=psnr_peak,
                                   ssim=ssim or None).items() if v is not None}
    if eval_size is not None:
        given["size"] = eval_size or None  # 0: the target's own size
    chosen = protocol_from(protocol, given)
    cfg = EvalConfig(manifest=manifest, checkpoint=checkpoint, predictions=predictions, protocol=chosen,
                     split=split, filter=filter, batch_size=batch_size, device=device, save_outputs=save_outputs,
                     best=best, novel=tuple(c.strip() for c in (novel or "").split(",") if c.strip()), limit=limit)
    start = time.perf_counter()
    with progress_bar() as bar:
        task = bar.add_task("evaluate", total=None, rate="")

        def advance(n: int) -> None:
            bar.advance(task, n)
            bar.update(task, rate=rate_text(bar.tasks[0].completed, time.perf_counter() - start, "images"))

        result = evaluate(cfg, progress=advance, started=lambda total: bar.update(task, total=total))
    print_result(result)
    for path, write in ((json_path, result.write_json), (csv_path, result.write_csv), (per_image, result.write_per_image)):
        if path is not None:
            write(path)
            console.print(f"wrote {path}")


def print_result(result) -> None:
    from rich.table import Table

    what = result.source.get("checkpoint") or result.source.get("predictions")
    table = Table(title=f"evaluate {what} on {result.source['manifest']} ({result.source['split']})",
                  caption=f"protocol: {result.protocol.describe()}; composite = the input composite's own scores")
    metrics = [m for m in ("mse", "fmse", "psnr", "ssim") if m in result.overall]
    for col in ("group", "value", "count"):
        table.add_column(col, justify="right" if col == "count" else "left")
    for m in metrics:
        name = "fMSE" if m == "fmse" else m.upper()
        table.add_column(name, justify="right")
        table.add_column(f"composite {name}", justify="right", style="dim")
    for row in result.table().to_dict("records"):
        cells = [str(row["group"]), str(row["value"]), str(row["count"])]
        for m in metrics:
            cells += [_fmt(row.get(m), m), _fmt(row.get(f"composite_{m}"), m)]
        table.add_row(*cells)
    out.print(table)
    if "checkpoint" in result.source:
        out.print(f"scored {result.source['checkpoint']} ({result.source['model']}, step {result.source['step']})")
    n = result.overall["count"]
    console.print(f"{n} images in {result.seconds:.1f} s ({n / max(result.seconds, 1e-9):.1f} images/s)")


def _fmt(value, metric: str) -> str:
    if value is None or value != value:
        return "-"
    return f"{value:.4f}" if metric == "ssim" else f"{value:.2f}"
