"""The `rdh` command line: parse options, call the packages, print.

Each command lives in its own module under rdh/commands and registers itself on the app.
Heavy libraries (torch, mitsuba, mlagents_envs) are imported inside the commands that use
them, so `rdh --help` stays fast.
"""
from __future__ import annotations

import sys

import typer

from rdh.commands import composites, demo, evaluate, harmonize_cmd, inspect_cmd, manifest, render, train

app = typer.Typer(
    name="rdh",
    help="Rendered data for image harmonization: render scenes under 10 weather x time styles, "
         "make composite/ground-truth pairs, build Parquet manifests, train CharmNet or iDIH.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode="rich",
)


def _print_version(value: bool) -> None:
    if value:
        from rdhcore import __version__

        print(f"rdh {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version,
                                 help="Print the rdh version and exit."),
) -> None:
    """rdh: rendered data for image harmonization."""


for module in (render, composites, manifest, inspect_cmd, train, evaluate, harmonize_cmd, demo):
    module.register(app)


def main() -> None:
    """Entry point: user errors print one line and exit 2; bugs keep their traceback."""
    from rdhcore.errors import RdhError
    from unity_bridge.errors import BridgeError

    click = _click_exceptions()

    try:
        code = app(standalone_mode=False)  # usage errors come back here, to be printed on one line
    except click.NoArgsIsHelpError:
        app()  # no arguments: the help, printed as typer prints it
        return
    except click.ClickException as exc:  # a bad option value, an unknown option, a missing argument
        print(f"rdh: error: {usage_line(exc)}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except (_abort_type(), KeyboardInterrupt):
        print(INTERRUPTED, file=sys.stderr)
        sys.exit(130)
    except RecursionError:
        print("rdh: error: an input is nested too deeply to read (a JSON or TOML file?): fix the file", file=sys.stderr)
        sys.exit(2)
    except (RdhError, BridgeError) as exc:
        print(f"rdh: error: {_one_line(exc)}", file=sys.stderr)
        sys.exit(2)
    except OSError as exc:
        message = os_error_message(exc)
        if message is None:
            raise
        print(f"rdh: error: {message}", file=sys.stderr)
        sys.exit(2)
    if isinstance(code, int) and code:
        if code == 130:
            print(INTERRUPTED, file=sys.stderr)
        sys.exit(code)


def _click_exceptions():
    """The click exceptions typer raises (typer >= 0.20 vendors click as typer._click)."""
    try:
        from typer._click import exceptions
    except ImportError:
        from click import exceptions
    return exceptions


def _abort_type() -> type:
    try:
        from typer.exceptions import Abort
    except ImportError:
        from click.exceptions import Abort
    return Abort


def usage_line(exc) -> str:
    """A click usage error as one line, with the command's help to read."""
    ctx = getattr(exc, "ctx", None)
    where = f" (see `{ctx.command_path.replace('python -m rdh.cli', 'rdh')} --help`)" if ctx is not None else ""
    return f"{_one_line(exc.format_message())}{where}"


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


INTERRUPTED = "rdh: interrupted; finished work is kept and a rerun resumes"

def os_error_message(exc: OSError) -> str | None:
    """One line for an OSError a user causes (permissions, a full disk, a loop), naming its file or
    the output folder this process holds; None for others."""
    from rdhcore.errors import os_error_message as message

    return message(exc, getattr(exc, "rdh_output", None))


if __name__ == "__main__":
    main()
