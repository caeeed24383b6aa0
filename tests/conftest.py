"""Shared fixtures."""
from __future__ import annotations

import sys

import pytest


NARROW, WIDE = "80", "200"


@pytest.fixture(autouse=True)
def narrow_output(monkeypatch):
    """Every test runs the CLI at a fixed 80 columns, whatever the developer's terminal says: rich
    reads COLUMNS live, and subprocesses inherit it. Tests of the wide case set WIDE themselves."""
    monkeypatch.setenv("COLUMNS", NARROW)
    monkeypatch.delenv("LINES", raising=False)


@pytest.fixture
def rdh_main(capsys, monkeypatch):
    """Run the real `rdh` entry point (rdh.cli:main) in this process (torch is imported once);
    returns a function of the CLI arguments giving (exit code, stdout, stderr). For a separate
    process, as a user runs it, use tests.cli.rdh_process."""
    from rdh.cli import main

    def run(*args):
        monkeypatch.setattr(sys, "argv", ["rdh", *map(str, args)])
        capsys.readouterr()
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code or 0
        captured = capsys.readouterr()
        return code, captured.out, captured.err
    return run
