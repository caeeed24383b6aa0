"""The 10 rendering styles of RdHarmony: (weather, time-of-day phase), and their time ranges.

Times are minutes since midnight on a 5-minute grid from 05:00 to 21:00. A phase is a union
of half-open or closed intervals; drawing a time for a style picks uniformly among the grid
points of its phase.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rdhcore.errors import RdhError
from rdhcore.files import read_text

GRID_MINUTES = 5
DAY_START = 5 * 60
DAY_END = 21 * 60
WEATHERS = ("Clear", "Partly Cloudy", "Cloudy")
PHASES = ("sunrise_sunset", "noon", "other", "night")


@dataclass(frozen=True)
class Style:
    id: int          # 1-based, as in file names and manifest columns
    name: str
    weather: str     # one of WEATHERS, or "any" for night
    phase: str       # one of PHASES

    @property
    def index(self) -> int:
        """0-based position in a label vector."""
        return self.id - 1


STYLES: tuple[Style, ...] = (
    Style(1, "clear_sunrise_sunset", "Clear", "sunrise_sunset"),
    Style(2, "clear_noon", "Clear", "noon"),
    Style(3, "clear_other", "Clear", "other"),
    Style(4, "partly_cloudy_sunrise_sunset", "Partly Cloudy", "sunrise_sunset"),
    Style(5, "partly_cloudy_noon", "Partly Cloudy", "noon"),
    Style(6, "partly_cloudy_other", "Partly Cloudy", "other"),
    Style(7, "cloudy_sunrise_sunset", "Cloudy", "sunrise_sunset"),
    Style(8, "cloudy_noon", "Cloudy", "noon"),
    Style(9, "cloudy_other", "Cloudy", "other"),
    Style(10, "night", "any", "night"),
)
K = len(STYLES)
STYLE_NAMES: tuple[str, ...] = tuple(s.name for s in STYLES)
_BY_ID = {s.id: s for s in STYLES}
_BY_NAME = {s.name: s for s in STYLES}


def style_by_id(style_id: int) -> Style:
    """The style with this 1-based id; RdhError when out of range."""
    try:
        return _BY_ID[int(style_id)]
    except (KeyError, ValueError, TypeError):
        raise RdhError(f"style id {style_id!r} is out of range: use 1..{K}") from None


def parse_styles(spec: str | None) -> list[int]:
    """Parse a --styles option ('all', '1,2,10', or names) into sorted style ids."""
    if spec is None or spec.strip().lower() in ("", "all"):
        return [s.id for s in STYLES]
    ids = set()
    for token in spec.split(","):
        token = token.strip()
        if not token:
            continue
        if token.isdigit():
            ids.add(style_by_id(int(token)).id)
        elif token in _BY_NAME:
            ids.add(_BY_NAME[token].id)
        else:
            raise RdhError(f"--styles: unknown style {token!r}: use ids 1..{K} or names like {STYLES[0].name}")
    return sorted(ids)


# An interval is (start, end, closed_end) in minutes; start is always inclusive.
Interval = tuple[int, int, bool]


def format_time(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_time(text: str, where: str = "time") -> int:
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", str(text).strip())
    if not m or int(m.group(2)) >= 60 or int(m.group(1)) >= 24:
        raise RdhError(f"{where}: {text!r} is not a time: write HH:MM")
    return int(m.group(1)) * 60 + int(m.group(2))


DEFAULT_PHASES: dict[str, tuple[Interval, ...]] = {
    "sunrise_sunset": ((5 * 60 + 30, 7 * 60, False), (17 * 60 + 30, 19 * 60, False)),
    "noon": ((11 * 60, 13 * 60, True),),
    # (13:00, 17:30): 13:00 belongs to noon, so "other" starts at the next grid point.
    "other": ((7 * 60, 11 * 60, False), (13 * 60 + GRID_MINUTES, 17 * 60 + 30, False)),
    "night": ((5 * 60, 5 * 60 + 30, False), (19 * 60, 21 * 60, True)),
}


@dataclass(frozen=True)
class StyleConfig:
    """Phase time ranges (and the weathers in use); the default follows the paper."""

    phases: dict[str, tuple[Interval, ...]] = field(default_factory=lambda: dict(DEFAULT_PHASES))
    weathers: tuple[str, ...] = WEATHERS

    def grid_times(self, phase: str) -> np.ndarray:
        """All grid times (minutes) that fall in the phase, ascending."""
        grid = np.arange(DAY_START, DAY_END + 1, GRID_MINUTES)
        keep = np.zeros(grid.shape, bool)
        for start, end, closed in self.phases[phase]:
            keep |= (grid >= start) & ((grid <= end) if closed else (grid < end))
        return grid[keep]

    def draw_time(self, style_id: int, rng: np.random.Generator) -> int:
        """A time (minutes since midnight) for the style, drawn uniformly from its phase's grid."""
        times = self.grid_times(style_by_id(style_id).phase)
        return int(times[rng.integers(len(times))])

    def phase_of(self, minutes: int) -> str | None:
        for phase in PHASES:
            if minutes in set(self.grid_times(phase).tolist()):
                return phase
        return None


def _parse_interval(text: str, where: str) -> Interval:
    """'[05:30, 07:00)' or '(13:00, 17:30)' or a two-item list ['05:30', '07:00'] (half-open)."""
    m = re.fullmatch(r"\s*([\[(])\s*([0-9:]+)\s*,\s*([0-9:]+)\s*([\])])\s*", text)
    if not m:
        raise RdhError(f"{where}: {text!r} is not an interval: write '[HH:MM, HH:MM)' or '[HH:MM, HH:MM]'")
    start, end = parse_time(m.group(2), where), parse_time(m.group(3), where)
    for t in (start, end):
        if t % GRID_MINUTES:
            raise RdhError(f"{where}: {format_time(t)} is off the {GRID_MINUTES}-minute grid: use a multiple of {GRID_MINUTES} minutes")
        if not DAY_START <= t <= DAY_END:
            raise RdhError(f"{where}: {format_time(t)} is outside 05:00-21:00")
    if m.group(1) == "(":
        start += GRID_MINUTES
    if end < start:
        raise RdhError(f"{where}: interval {text!r} ends before it starts")
    return (start, end, m.group(4) == "]")


def load_style_config(path: str | Path) -> StyleConfig:
    """Read a TOML styles file that overrides phase ranges; validated, RdhError on any fault.

    Format::

        weathers = ["Clear", "Partly Cloudy", "Cloudy"]   # optional: a subset of the known ones
        [phases]
        noon = ["[11:00, 13:00]"]
        sunrise_sunset = ["[05:30, 07:00)", "[17:30, 19:00)"]
    """
    path = Path(path)
    try:
        data = tomllib.loads(read_text(path, "styles file"))
    except tomllib.TOMLDecodeError as exc:
        raise RdhError(f"{path}: not valid TOML ({exc}): fix the syntax") from None
    except RecursionError:
        raise RdhError(f"{path}: nested too deeply to be a styles file: fix the file") from None
    unknown_keys = set(data) - {"phases", "weathers"}
    if unknown_keys:
        raise RdhError(f"{path}: unknown key(s) {sorted(unknown_keys)}: only [phases] and weathers are allowed")
    weathers = tuple(data.get("weathers", WEATHERS))
    for w in weathers:
        if w not in WEATHERS:
            raise RdhError(f"{path}: unknown weather {w!r}: use one of {', '.join(WEATHERS)}")
    phases = dict(DEFAULT_PHASES)
    for phase, intervals in dict(data.get("phases", {})).items():
        if phase not in PHASES:
            raise RdhError(f"{path}: unknown phase {phase!r}: use one of {', '.join(PHASES)}")
        if isinstance(intervals, str):
            intervals = [intervals]
        phases[phase] = tuple(_parse_interval(str(iv), f"{path} [phases].{phase}") for iv in intervals)
    config = StyleConfig(phases=phases, weathers=weathers)
    _check_disjoint(config, path)
    return config


def _check_disjoint(config: StyleConfig, path: Path) -> None:
    seen: dict[int, str] = {}
    for phase in PHASES:
        times = config.grid_times(phase)
        if len(times) == 0:
            raise RdhError(f"{path}: phase {phase!r} holds no time on the grid: widen its range")
        for t in times.tolist():
            if t in seen:
                raise RdhError(f"{path}: phases {seen[t]!r} and {phase!r} overlap at {format_time(t)}: make the ranges disjoint")
            seen[t] = phase
