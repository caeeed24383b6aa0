"""Options declared once: a config dataclass field carries its default and its help, and the CLI
reads both from it (rdh.commands.options builds the typer option of a field).

    spp: int = opt(12, "Samples per pixel.", applies=("engine", "builtin"))

`applies=(setting, value)` (or a class attribute APPLIES for all its fields) marks an option that only means something when another setting has
that value (e.g. CharmNet's loss weights with --model charmnet); the CLI refuses it otherwise.
"""
from __future__ import annotations

from dataclasses import MISSING, field


def opt(default=MISSING, help: str = "", **meta):
    """A dataclass field with its CLI help; no default makes the option required."""
    meta = {"help": help, **meta}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


def help_of(cls, name: str) -> str:
    return cls.__dataclass_fields__[name].metadata["help"]


def default_of(cls, name: str):
    """A field's default (MISSING when it has none)."""
    f = cls.__dataclass_fields__[name]
    return f.default_factory() if callable(f.default_factory) else f.default


def applies_of(cls, name: str) -> tuple[str, str] | None:
    """(setting, value) the option needs (the field's, else its class's APPLIES), or None: always."""
    return cls.__dataclass_fields__[name].metadata.get("applies") or getattr(cls, "APPLIES", None)
