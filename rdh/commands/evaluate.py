"""`rdh evaluate`: MSE, fMSE and PSNR of a model (or of saved predictions) on a manifest's test pairs."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from harmonize.options import EvalConfig as E
from harmonize.metrics import Protocol as P
from rdh.commands.console import ProgressBar, console, say, show_table
from rdh.commands.options import option
from rdhcore.errors import RdhError

HELP = """Score split=test pairs of a manifest: MSE, fMSE, PSNR (optionally SSIM), overall and per domain, source, category, novel and foreground ratio (0-5%, 5-15%, 15-100%). Each group also shows the input composite's own scores (the "Input Composite" row of the paper's Table 2).

--protocol picks one published evaluation as a whole (docs/metrics.md cites the file of each):

  - [bold]rdh[/bold] (the default): the full-resolution result (background kept), 256x256, images resized bilinear, binary mask, PSNR peak 255 (docs/design.md, "Metrics").
  - [bold]charmnet[/bold]: CharmNet test.py (Table 2): the network's 256x256 output truncated to 8 bits, 8-bit bilinear resize, the ground truth read back through the ImageNet normalization, PIL 1-bit mask, PSNR peak = output max - min.
  - [bold]iharm[/bold]: iDIH evaluate_model.py: the raw float output, 8-bit bilinear resize, soft mask (the network sees it too), PSNR peak = target max.
  - [bold]dovenet[/bold]: DoveNet test.py: the output truncated to 8 bits, PIL bilinear resize, the ground truth read back through (x - 0.5) / 0.5, PIL 1-bit mask, PSNR peak = output max - min.

--raw-output, --resize-filter, --resize-8bit, --mask, --quantize, --roundtrip, --psnr-peak and --eval-size each override their part of the preset. A run folder given to --checkpoint is scored from its last.pt (best.pt with --best); the output names the file scored.

[bold]Examples[/bold]

  rdh evaluate --checkpoint runs/charm --manifest all.parquet \\
      --json scores.json

  rdh evaluate --checkpoint runs/charm --manifest all.parquet \\
      --protocol charmnet

  rdh evaluate --predictions outputs/ --manifest all.parquet \\
      --filter domain=real --csv scores.csv

  rdh evaluate --checkpoint runs/idih/last.pt --manifest m.parquet \\
      --protocol iharm --psnr-peak 255
"""


PROTOCOL, OUTPUTS = "Protocol", "Outputs"


def register(app: typer.Typer) -> None:
    app.command("evaluate", help=HELP, no_args_is_help=True)(evaluate_cmd)


def evaluate_cmd(
    manifest: Path = option(E, "manifest", "--manifest|-m"),
    checkpoint: Optional[Path] = option(E, "checkpoint", "--checkpoint|-c"),
    best: bool = option(E, "best"),
    predictions: Optional[Path] = option(E, "predictions"),
    split: str = option(E, "split"),
    filter: Optional[str] = option(E, "filter"),
    novel: Optional[str] = option(E, "novel", default=None),
    batch_size: int = option(E, "batch_size"),
    device: str = option(E, "device"),
    limit: Optional[int] = option(E, "limit"),
    max_pixels: Optional[int] = option(E, "max_pixels"),
    protocol: str = typer.Option("rdh", "--protocol", rich_help_panel=PROTOCOL,
                                 help="Evaluation preset: rdh, charmnet, iharm or dovenet (above)."),
    eval_size: Optional[int] = option(P, "size", "--eval-size", PROTOCOL, default=None),
    raw_output: Optional[bool] = option(P, "raw_output", "--raw-output/--full-result", PROTOCOL, default=None),
    resize_filter: Optional[str] = option(P, "resize_filter", panel=PROTOCOL, default=None),
    resize_8bit: Optional[bool] = option(P, "resize_8bit", "--resize-8bit/--resize-float", PROTOCOL, default=None),
    mask: Optional[str] = option(P, "mask", panel=PROTOCOL, default=None),
    quantize: Optional[str] = option(P, "quantize", panel=PROTOCOL, default=None),
    roundtrip: Optional[str] = option(P, "roundtrip", panel=PROTOCOL, default=None),
    psnr_peak: Optional[str] = option(P, "psnr_peak", panel=PROTOCOL, default=None),
    ssim: bool = option(P, "ssim", panel=PROTOCOL),
    json_path: Optional[Path] = typer.Option(None, "--json", rich_help_panel=OUTPUTS,
                                             help="Write {overall, groups, protocol} here."),
    csv_path: Optional[Path] = typer.Option(None, "--csv", rich_help_panel=OUTPUTS,
                                            help="Write overall and groups as CSV rows here."),
    per_image: Optional[Path] = typer.Option(None, "--per-image", rich_help_panel=OUTPUTS,
                                             help="Write every image's scores as CSV here."),
    save_outputs: Optional[Path] = option(E, "save_outputs", panel=OUTPUTS),
) -> None:
    from harmonize.evaluate import evaluate
    from harmonize.metrics import protocol_from

    if save_outputs is not None and checkpoint is None:
        raise RdhError("--save-outputs needs --checkpoint: with --predictions the images exist already")
    if best and checkpoint is None:
        raise RdhError("--best picks RUN/best.pt of a run folder: it needs --checkpoint RUN")
    given = {k: v for k, v in dict(raw_output=raw_output, resize_filter=resize_filter, resize_8bit=resize_8bit, mask=mask,
                                   quantize=quantize, roundtrip=roundtrip, psnr_peak=psnr_peak,
                                   ssim=ssim or None).items() if v is not None}
    if eval_size is not None:
        given["size"] = eval_size or None  # 0: the target's own size
    cfg = E(manifest=manifest, checkpoint=checkpoint, predictions=predictions, protocol=protocol_from(protocol, given),
            split=split, filter=filter, batch_size=batch_size, device=device, save_outputs=save_outputs,
            best=best, novel=tuple(c.strip() for c in (novel or "").split(",") if c.strip()), limit=limit,
            reports=(("--json", json_path), ("--csv", csv_path), ("--per-image", per_image)), max_pixels=max_pixels)
    with ProgressBar("evaluate", "images") as progress:
        result = evaluate(cfg, progress)
    print_result(result)
    for path, write in ((json_path, result.write_json), (csv_path, result.write_csv), (per_image, result.write_per_image)):
        if path is not None:
            write(path)
            say(f"wrote {path}", err=True)


def print_result(result) -> None:
    from rich.table import Table

    what = result.source.get("checkpoint") or result.source.get("predictions")
    say(f"evaluate {what}", f"on {result.source['manifest']} ({result.source['split']})")
    table = Table(caption=f"protocol: {result.protocol.describe()}; composite = the input composite's own scores")
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
    show_table(table)
    if "checkpoint" in result.source:
        say(f"scored {result.source['checkpoint']} ({result.source['model']}, step {result.source['step']})")
    n = result.overall["count"]
    console.print(f"{n} images in {result.seconds:.1f} s ({n / max(result.seconds, 1e-9):.1f} images/s)")


def _fmt(value, metric: str) -> str:
    if value is None or value != value:
        return "-"
    return f"{value:.4f}" if metric == "ssim" else f"{value:.2f}"
