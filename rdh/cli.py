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

    try:
        app()
    except (RdhError, BridgeError) as exc:
        print(f"rdh: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("rdh: interrupted; finished work is kept and a rerun resumes", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
