"""`rdh build-manifest` and `rdh inspect` run as a user runs them, in a subprocess."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from manifests.schema import read_manifest
from tests.cli import rdh_process
from tests.test_manifest_trees import make_iharmony4, make_rdharmony


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.strip() and not set(line) <= set("━ ")]
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    errors = [line for line in lines if line.startswith("rdh: error:")]
    assert len(errors) == 1, proc.stderr
    return errors[0]


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    base = tmp_path_factory.mktemp("cli")
    make_iharmony4(base / "iHarmony4")
    make_rdharmony(base / "RdHarmony", n_groups=4)
    (base / "cats.csv").write_text("c1,human\nd9_0002,human\n")
    return base


def test_build_then_inspect_json(sources, tmp_path):
    out = tmp_path / "data" / "train.parquet"
    proc = rdh_process("build-manifest", out, "--iharmony4", sources / "iHarmony4",
               "--rdharmony", sources / "RdHarmony", "--rdharmony-list", "human_labeled.txt", "--rdharmony-category", "human",
               "--categories", sources / "cats.csv", "--novel-category", "human",
               "--test-fraction", "0.5", "--seed", "7", "--sample-rendered", "3")
    assert proc.returncode == 0, proc.stderr
    assert "in manifest" in proc.stdout
    df = read_manifest(out)
    stats = json.loads(rdh_process("inspect", out, "--json").stdout)
    assert stats["pairs"] == len(df) == 9 + 2 * 3 + 3  # real + rendered test (2 of 4 scenes) + 3 sampled train
    assert stats["counts"]["domain"]["rendered"] == {"total": 9, "train": 3, "test": 6}
    assert stats["counts"]["domain"]["real"] == {"total": 9, "train": 6, "test": 3}
    assert stats["counts"]["novel"]["true"]["total"] == 9 + 3 + 1  # rendered humans, c1's 3 pairs, d9_0002's 1
    assert stats["counts"]["source"]["HCOCO"]["total"] == 6
    assert sum(b["count"] for b in stats["fg_ratio"]["bins"]) == len(df)
    assert stats["fg_ratio"]["bins"][0]["count"] == int((df["fg_ratio"] < 0.05).sum())
    styles = {s["id"]: s for s in stats["styles"]["by_style"]}
    assert styles[2]["bg"] == int((df["bg_style"] == 2).sum()) and styles[5]["fg"] == int((df["fg_style"] == 5).sum())
    # the tables show the same numbers
    text = rdh_process("inspect", out).stdout
    for title in ("by domain", "by source", "by category", "by split", "by novel", "fg_ratio", "styles of the 9 rendered pairs"):
        assert title in text
    assert "clear_noon" in text and "15-100%" in text


def test_errors_are_one_line_and_nothing_is_written(sources, tmp_path):
    out = tmp_path / "m.parquet"
    bad = tmp_path / "bad.txt"
    bad.write_text("composite_images/scene0_0-2_5.jpg\t0.5_0.5\t2\n")
    line = one_error_line(rdh_process("build-manifest", out, "--iharmony4", sources / "iHarmony4",
                              "--rdharmony", sources / "RdHarmony", "--rdharmony-list", bad))
    assert "bad.txt:1: label '0.5_0.5' has 2 values, expected 10" in line
    assert not out.exists() and list(tmp_path.iterdir()) == [bad]
    line = one_error_line(rdh_process("inspect", bad))
    assert "bad.txt: not a Parquet file" in line


def test_help_has_examples():
    from typer.testing import CliRunner

    from rdh.cli import app

    runner = CliRunner()
    text = runner.invoke(app, ["build-manifest", "--help"], terminal_width=200).output
    assert "--iharmony4" in text and "--sample-rendered" in text and "rdh build-manifest data/" in text
    assert "rdh inspect" in runner.invoke(app, ["inspect", "--help"], terminal_width=200).output
    result = runner.invoke(app, ["build-manifest", str(Path("m.parquet"))])
    assert "no source given" in str(result.exception)
