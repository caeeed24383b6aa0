"""Outputs never over inputs: a command names what it reads and what it will write, and before its
first write `Inputs.refuse` stops an output that is one of its input files, or that equals or lies
inside one of its input folders (an `evaluate --save-outputs` into the composites folder, a
`harmonize -o` onto the masks).

Places are compared after resolving symlinks in the folder part: an atomic write replaces the
name itself (a symlink there is replaced, not followed), so an output meets an input when both
name one entry of one real folder, or when the output's entry is the file an input link leads to.
Folders are resolved once each, so checking every pair of a large manifest costs a few syscalls
per distinct folder.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from rdhcore.errors import RdhError


class Inputs:
    """The files and folders a command reads, each with the option or argument that names it."""

    def __init__(self) -> None:
        self._real: dict[str, str] = {}
        self.files: dict[tuple[str, str], str] = {}     # (real folder, name) -> what it is
        self.folders: list[tuple[str, str]] = []        # (real folder, what it is)

    def _real_dir(self, folder: str) -> str:
        real = self._real.get(folder)
        if real is None:
            real = self._real[folder] = os.path.realpath(folder or ".")
        return real

    def place(self, path: str | Path) -> tuple[str, str]:
        """(real folder, name) of the entry a write to `path` replaces."""
        folder, name = os.path.split(os.path.abspath(os.fspath(path)))
        return self._real_dir(folder), name

    def add_file(self, path: str | Path | None, what: str, links: bool = True) -> "Inputs":
        """An input file (ignored when None): its own entry and, through a link, the file it leads to
        (`links=False` skips that lstat, for bulk lists checked against a single output file)."""
        if path is not None:
            self.files.setdefault(self.place(path), what)
            if links and os.path.islink(path):  # one lstat; the link's target is an input too
                real = os.path.realpath(path)
                self.files.setdefault((os.path.dirname(real), os.path.basename(real)), what)
        return self

    def add_files(self, paths: Iterable[str | Path], what: str, links: bool = True) -> "Inputs":
        for path in paths:
            self.add_file(path, what, links)
        return self

    def add_folder(self, path: str | Path | None, what: str) -> "Inputs":
        """An input folder (ignored when None): no output may be it or lie inside it."""
        if path is not None:
            self.folders.append((os.path.realpath(path), what))
        return self

    def clash(self, output: str | Path) -> str | None:
        """How `output` would write over an input ("is the input MASK", "lies inside the input
        COMPOSITE folder /x"), or None."""
        folder, name = self.place(output)
        what = self.files.get((folder, name))
        if what is not None:
            return f"is the input {what}"
        full = os.path.join(folder, name)
        for real, label in self.folders:
            if full == real:
                return f"is the input {label} folder"
            if full.startswith(real.rstrip(os.sep) + os.sep):
                return f"lies inside the input {label} folder {real}"
        return None

    def refuse(self, outputs: Iterable[tuple[str, str | Path | None]]) -> None:
        """RdhError for the first output (label, path; None is skipped) that is or lies inside an input."""
        for label, path in outputs:
            if path is None:
                continue
            reason = self.clash(path)
            if reason is not None:
                raise RdhError(f"{label} {path}: {reason}, so writing there would change an input: "
                               "choose an output outside the inputs")
