"""What rdh prints reads right at 80 columns and at 200, in a pipe (no terminal): paths are never
broken across lines, help keeps its brackets and reflows its paragraphs, and it cites files that
users have."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from datagen.compose import ComposeConfig, make_composites
from tests.conftest import NARROW, WIDE
from tests.synth import make_store

WIDTHS = [NARROW, WIDE]


def run_cli(columns: str, *args) -> subprocess.CompletedProcess:
    """`rdh ARGS` in a subprocess whose stdout and stderr are pipes, at `columns` columns."""
    env = {**os.environ, "COLUMNS": columns}
    env.pop("LINES", None)
    return subprocess.run([sys.executable, "-m", "rdh.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=600)


@pytest.fixture(scope="module")
def deep(tmp_path_factory):
    """Pairs under a folder whose path is far longer than 80 columns (with brackets and spaces)."""
    root = tmp_path_factory.mktemp("w")
    for part in ("a folder with a long name [v2]", "and another level that keeps going", "x" * 40):
        root = root / part
    store = make_store(root / "captures", n_scenes=4, size=(32, 32), styles=[1, 2])
    make_composites(ComposeConfig(captures=store, out=root / "pairs"))
    return root


def printed_path(text: str, label: str) -> Path:
    """The path on the line that starts with `label` (after spaces), up to ' (' when annotated."""
    for line in text.splitlines():
        if line.strip().startswith(label):
            return Path(line.strip()[len(label):].strip().split(" (")[0])
    raise AssertionError(f"no line starting with {label!r}:\n{text}")


@pytest.mark.parametrize("columns", WIDTHS)
def test_train_prints_whole_paths_that_open(deep, columns):
    run = deep / f"run-{columns}"
    assert len(str(run)) > 120
    proc = run_cli(columns, "train", "--model", "idih", "--manifest", deep / "pairs", "--out", run,
                   "--image-size", "32", "--depth", "4", "--width", "8", "--batch-size", "2", "--workers", "0",
                   "--max-steps", "2", "--val-every", "1", "--val-fraction", "0.5")
    assert proc.returncode == 0, proc.stderr
    for label, name in (("last:", "last.pt"), ("best:", "best.pt"), ("log:", "log.jsonl")):
        shown = printed_path(proc.stdout, label)
        assert shown == run / name and shown.is_file(), proc.stdout
    # the validation rows set aside by --val-fraction are said, on stderr and in the log
    assert "set aside 2 of 4 groups (scenes or photos) (4 of 8 pairs)" in proc.stderr, proc.stderr
    start = json.loads((run / "log.jsonl").read_text().splitlines()[0])
    assert "set aside 2 of 4" in start["val_note"]


def test_train_json_names_the_run_files(deep):
    run = deep / "run-json"
    proc = run_cli(NARROW, "train", "--model", "idih", "--manifest", deep / "pairs", "--out", run, "--image-size", "32",
                   "--depth", "4", "--width", "8", "--batch-size", "2", "--workers", "0", "--max-steps", "1", "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["steps"] == 1 and summary["model"] == "idih"
    assert Path(summary["last"]) == run.absolute() / "last.pt" and Path(summary["last"]).is_file()
    assert Path(summary["log"]).is_file()


@pytest.mark.parametrize("columns", WIDTHS)
def test_summaries_print_whole_paths(deep, tmp_path, columns):
    out = deep / f"manifest-{columns}.parquet"
    proc = run_cli(columns, "build-manifest", out, "--pairs", deep / "pairs")
    assert proc.returncode == 0, proc.stderr
    assert printed_path(proc.stdout, "build-manifest:") == out and out.is_file()
    # table rows are never squeezed into a second line in a pipe
    assert any(re.search(r"source rdh-synthetic\s+│\s+8 │", line) for line in proc.stdout.splitlines()), proc.stdout

    proc = run_cli(columns, "inspect", out)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == f"{out}: {len(__import__('pandas').read_parquet(out))} pairs"


def test_help_keeps_brackets_and_cites_files_users_have():
    for columns in WIDTHS:
        train = run_cli(columns, "train", "--help").stdout
        assert ".[tensorboard]" in train, train
        evaluate = run_cli(columns, "evaluate", "--help").stdout
        assert not re.search(r"(?<!docs/)DESIGN\.md", evaluate) and "docs/design.md" in evaluate
    assert (Path(__file__).resolve().parents[1] / "docs" / "design.md").is_file()


def test_help_paragraphs_are_reflowed_not_pre_broken():
    """At 200 columns each paragraph and list item of the help is one line: the text was not
    broken by hand (which rich would break again at 80)."""
    text = run_cli(WIDE, "evaluate", "--help").stdout
    flat = [" ".join(line.split()) for line in text.splitlines()]
    assert any(line.startswith("- rdh (the default): the full-resolution result") and line.endswith("peak 255 "
               "(docs/design.md, \"Metrics\").") for line in flat), text
    assert "--protocol picks one published evaluation as a whole (docs/metrics.md cites the file of each):" in flat


@pytest.mark.parametrize("command", ["render-scenes", "make-composites", "build-manifest", "inspect", "train",
                                     "evaluate", "harmonize", "demo"])
def test_help_examples_fit_80_columns(command):
    text = run_cli(NARROW, command, "--help").stdout
    examples = text.split("Examples", 1)[1].split("╭", 1)[0]
    for line in examples.splitlines():
        assert len(line.rstrip()) <= 80, line
    # an example line never starts with a fragment of the line before: each begins with a command,
    # a comment, or an indented continuation of a line that ended with a backslash
    lines = [line.strip() for line in examples.splitlines() if line.strip()]
    for before, line in zip([""] + lines, lines):
        assert line.startswith(("rdh ", "torchrun ", "#")) or before.endswith("\\"), (before, line)


@pytest.mark.parametrize("columns", WIDTHS)
def test_a_wide_table_is_not_squeezed_in_a_pipe(deep, columns):
    """evaluate's table has 9 columns: in a pipe it keeps its natural width, one line a row, and
    the files it names are printed whole."""
    run = deep / f"run-eval-{columns}"
    assert run_cli(columns, "train", "--model", "idih", "--manifest", deep / "pairs", "--out", run, "--image-size", "32",
                   "--depth", "4", "--width", "8", "--batch-size", "2", "--workers", "0", "--max-steps", "1",
                   "--val-fraction", "0").returncode == 0
    scores = deep / f"scores-{columns}.json"
    proc = run_cli(columns, "evaluate", "--checkpoint", run, "--manifest", deep / "pairs", "--split", "all",
                   "--json", scores)
    assert proc.returncode == 0, proc.stderr
    table = [line for line in proc.stdout.splitlines() if line[:1] in "┏┃┡│└"]
    assert len({len(line) for line in table}) == 1, proc.stdout    # a box: no cell wrapped onto a line of its own
    overall = [line for line in table if line.startswith("│ overall")]
    assert len(overall) == 1 and len(re.findall(r"\d+\.\d+", overall[0])) >= 6, proc.stdout
    assert printed_path(proc.stdout, "scored") == run / "last.pt"
    assert printed_path(proc.stderr, "wrote") == scores and scores.is_file()
