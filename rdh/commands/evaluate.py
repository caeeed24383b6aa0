"""Not yet built: this command is registered by its own issue."""
import typer


def register(app: typer.Typer) -> None:
    pass
