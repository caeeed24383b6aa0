"""RUN/log.jsonl: one JSON record a line, appended by rank 0 while a run trains."""
from __future__ import annotations

import json
from pathlib import Path

from rdhcore.atomic import write_text_atomic


class RunLog:
    """log.jsonl: append one record a line (rank 0); a resume drops records past the checkpoint."""

    def __init__(self, path: Path, enabled: bool):
        self.path, self.enabled = path, enabled
        self._fh = None

    def truncate_after(self, step: int) -> None:
        if not self.enabled or not self.path.exists():
            return
        kept = [line for line, rec in _lines(self.path) if rec.get("step", 0) <= step]
        write_text_atomic(self.path, "".join(line + "\n" for line in kept))

    def write(self, record: dict) -> None:
        if not self.enabled:
            return
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "a", encoding="utf-8")
        self._fh.write(json.dumps(record, allow_nan=True) + "\n")
        self._fh.flush()  # readers (curves.png, a watching user) see every record at once

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def read_records(path: Path) -> list[dict]:
    """The records of a log.jsonl, skipping a last line cut by a crash."""
    return [rec for _, rec in _lines(path)]


def _lines(path: Path):
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            yield line, json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by a crash
