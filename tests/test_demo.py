"""`rdh demo --quick`: the whole chain on the built-in renderer, as CI runs it."""
from __future__ import annotations

import json
import re

import pytest

from rdhcore.imageio import read_rgb
from datagen.standin import PROCESSES
from manifests.schema import read_manifest
from reality_gap.presets import DEFAULT_GAP

pytestmark = pytest.mark.slow  # the demo end to end




def table_numbers(report: str) -> dict[str, list[float]]:
    """method -> the six scores of its row in report.md's result table (MSE, fMSE, PSNR; novel then base)."""
    rows = {}
    for line in report.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 9 and re.fullmatch(r"-?\d+\.\d+", cells[2]):
            rows[cells[0]] = [float(c) for c in cells[1:4] + cells[5:8]]
    return rows


def test_demo_quick_end_to_end_and_resume(tmp_path, rdh_main):
    out = tmp_path / "demo"
    code, stdout, err = rdh_main("demo", "--quick", "--out", out)
    assert code == 0, err
    assert "STAND-IN" in err and "CharmNet" in stdout

    report = (out / "report.md").read_text()
    assert "STAND-IN, not real photographs" in report
    rows = table_numbers(report)
    assert set(rows) == {"Input composite", "iDIH, base real only", "iDIH, dataset fusion", "CharmNet"}
    for method, values in rows.items():
        mse_n, fmse_n, psnr_n, mse_b, fmse_b, psnr_b = values
        assert 0 < mse_n <= fmse_n and 0 < mse_b <= fmse_b, method       # fMSE: error over the foreground only
        assert 10 < psnr_n < 110 and 10 < psnr_b < 110, method

    # summary.json (rdh.demo/1) holds the table's numbers, which are the evaluation's
    summary = json.loads((out / "summary.json").read_text())
    assert summary["schema"] == "rdh.demo/1" and summary["novel_category"] == "human" and summary["seed"] == 0
    by = {r["method"]: r for r in summary["rows"]}
    assert list(by) == ["composite", "idih_base", "idih_fusion", "charmnet"]
    names = {"composite": "Input composite", "idih_base": "iDIH, base real only", "idih_fusion": "iDIH, dataset fusion",
             "charmnet": "CharmNet"}
    for method, row in by.items():
        expected = [row[side][k] for side in ("novel", "base") for k in ("mse", "fmse", "psnr")]
        assert rows[names[method]] == pytest.approx(expected, abs=0.051), method
        assert row["novel"]["count"] == by["composite"]["novel"]["count"] > 0
    result = json.loads((out / "results" / "charmnet.json").read_text())
    novel = next(g for g in result["groups"] if g["group"] == "novel" and g["value"] is True)
    assert by["charmnet"]["novel"]["fmse"] == pytest.approx(novel["fmse"])
    assert by["composite"]["novel"]["fmse"] == pytest.approx(novel["composite_fmse"])
    assert result["filter"] == "domain=real" and result["checkpoint"].endswith("last.pt")

    df = read_manifest(out / "manifest.parquet")
    real = df[df["domain"] == "real"]
    assert real["stand_in"].all()
    if DEFAULT_GAP == 0:
        assert (real["source"] == "standin-relight").all()
    else:   # composites made as iHarmony4's were, each pair naming its process
        assert set(real["source"]) <= set(PROCESSES) and {"HCOCO_like", "HAdobe5k_like"} <= set(real["source"])
        assert (real["gap"] == DEFAULT_GAP).all()
    # the upper bound's real novel pairs come from scenes of their own, never rendered for the rendered domain
    seeds = {name: {json.loads(p.read_text())["seed"] for p in (out / "captures" / name / "scenes").glob("*/scene.json")}
             for name in ("human_rendered", "human_upper", "human_test")}
    assert seeds["human_upper"] and not seeds["human_upper"] & (seeds["human_rendered"] | seeds["human_test"])
    upper_rows = real[real["novel"] & (real["split"] == "train")]
    assert len(upper_rows) and upper_rows["target_path"].str.startswith("pairs/standin_real_human_train/").all()
    assert set(df.loc[df["domain"] == "rendered", "category"]) == {"human"}
    assert set(df.loc[df["domain"] == "rendered", "split"]) == {"train"}
    assert set(real.loc[~real["novel"], "split"]) == {"train", "val", "test"}
    assert novel["count"] == int((real["novel"] & (real["split"] == "test")).sum())
    # no model of the quick table trains on real human pairs; only their test split is scored
    for run in ("idih_base", "idih_fusion", "charmnet"):
        start = json.loads((out / "runs" / run / "log.jsonl").read_text().splitlines()[0])
        assert start["val_rows"] == int((real["split"] == "val").sum()), run

    grid = read_rgb(out / "grid.png")
    assert grid.shape[1] > 5 * 128 and grid.shape[0] > 2 * 128
    curves = read_rgb(out / "curves.png")
    assert curves.shape[0] > 100 and curves.std() > 5     # a drawn figure, not a blank image
    assert (out / "pairs" / "standin_real_base" / "STAND_IN.txt").exists()

    # a rerun finds every stage done: nothing is retrained or re-rendered
    stamps = {p: p.stat().st_mtime_ns for p in [*out.glob("runs/*/last.pt"), *out.glob("captures/*/scenes/*/scene.json")]}
    code, _, err = rdh_main("demo", "--quick", "--out", out)
    assert code == 0, err
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    assert table_numbers((out / "report.md").read_text()) == rows

    code, _, err = rdh_main("demo", "--quick", "--steps", "3", "--out", out)
    lines = [l for l in err.splitlines() if l.strip() and "error" in l]
    assert code == 2 and len(lines) == 1 and "other options" in lines[0], err


def test_demo_refuses_an_unknown_gap_level(tmp_path, rdh_main):
    code, _, err = rdh_main("demo", "--quick", "--gap", "7", "--out", tmp_path / "d")
    lines = [l for l in err.splitlines() if l.strip()]
    assert code == 2 and len(lines) == 1 and "--gap 7" in lines[0], err
    assert not (tmp_path / "d").exists()


def test_demo_refuses_unknown_novel_category(tmp_path, rdh_main):
    code, _, err = rdh_main("demo", "--quick", "--novel-category", "giraffe", "--out", tmp_path / "d")
    lines = [l for l in err.splitlines() if l.strip()]
    assert code == 2 and len(lines) == 1 and "--novel-category" in lines[0], err
    assert not (tmp_path / "d").exists()


def test_the_report_reads_the_gap_and_table_1_off_the_numbers():
    from reality_gap.presets import DemoConfig
    from reality_gap.report import reading, stand_in_text

    def row(method, novel, base=1000.0):
        return {"method": method, "novel": {"fmse": novel}, "base": {"fmse": base}}

    cfg = DemoConfig(gap=2)
    rows = [row("composite", 2000.0), row("idih_base", 1500.0), row("idih_fusion", 1300.0), row("charmnet", 1400.0),
            row("idih_upper", 1000.0), row("idih_rendered", 2100.0), row("idih_two_stage", 1450.0)]
    text = reading(cfg, rows)
    assert "**does not hold**" in text and "1.30x the upper bound's" in text and "+5.0%" in text
    assert "camera pipeline" in stand_in_text(cfg) and "camera pipeline" not in stand_in_text(DemoConfig(gap=1))
    assert "gap level 0" in stand_in_text(DemoConfig(gap=0))
