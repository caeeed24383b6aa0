"""Typer options built from config dataclass fields (rdhcore.options): the default and the help
are the field's, so each is written once. Options that do not apply to the chosen model or
engine are refused with one line."""
from __future__ import annotations

from dataclasses import MISSING

import typer

from rdhcore.errors import RdhError
from rdhcore.options import applies_of, default_of
from rdhcore.options import help_of as field_help

# flag -> (setting, value) it needs, filled as the commands declare their options
APPLIES: dict[str, tuple[str, str]] = {}


def help_of(cls, name: str) -> str:
    """The help of field `name` of `cls` as typer's rich mode shows it: brackets escaped, so
    "pip install -e '.[ray]'" keeps its extra instead of reading [ray] as markup."""
    from rich.markup import escape

    return escape(field_help(cls, name))


def option(cls, name: str, flags: str | None = None, panel: str | None = None, default=MISSING, **kw):
    """The typer option of field `name` of `cls`; flags like "--workers|-j" (default: --<name>)."""
    flags = flags or "--" + name.replace("_", "-")
    value = default_of(cls, name) if default is MISSING else default
    applies = applies_of(cls, name)
    if applies is not None:
        APPLIES[flags.split("|")[0].split("/")[0]] = applies
    return typer.Option(... if value is MISSING else value, *flags.split("|"), help=help_of(cls, name),
                        rich_help_panel=panel, **kw)


def refuse_inapplicable(ctx: typer.Context, chosen: dict[str, str]) -> None:
    """RdhError for an option given on the command line, away from its default, that needs
    another value of a setting in `chosen` (e.g. {"model": "idih"})."""
    for param in ctx.command.params:
        flag = param.opts[0] if param.opts else ""
        source = ctx.get_parameter_source(param.name)
        if flag not in APPLIES or getattr(source, "name", "") != "COMMANDLINE":  # typer's click or click's
            continue
        setting, needed = APPLIES[flag]
        value, default = ctx.params[param.name], param.default
        if setting in chosen and chosen[setting] != needed and _differs(value, default):
            raise RdhError(f"{flag} applies to --{setting} {needed} only, not --{setting} {chosen[setting]}: "
                           f"drop {flag} or use --{setting} {needed}")


def given_on_command_line(ctx: typer.Context) -> list[str]:
    """The names of the parameters the user typed (not defaults, not the environment)."""
    return [p.name for p in ctx.command.params if getattr(ctx.get_parameter_source(p.name), "name", "") == "COMMANDLINE"]


def _differs(value, default) -> bool:
    if isinstance(value, (list, tuple)):
        return list(value) != list(default or [])
    return value != default
