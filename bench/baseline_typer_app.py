"""The start-up floor for ``rtf --help``: a two-command typer app with rich help.

It is built the way rtf's own app is (``Annotated`` options, rich markup in the help, no shell
completion, ``-h``/``--help``), so the ratio ``rtf --help`` / this app measures what rtf adds on
top of the typer and rich it cannot avoid. Run: ``python bench/baseline_typer_app.py --help``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="baseline",
    help="A [bold]baseline[/bold] app: two commands, rich help, nothing else.",
    rich_markup_mode="rich",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.command("greet")
def greet(
    name: Annotated[str, typer.Argument(help="Who to greet.")],
    loud: Annotated[bool, typer.Option("--loud", help="Shout the greeting.")] = False,
) -> None:
    """Greet [green]someone[/green] by name."""
    text = f"hello {name}"
    typer.echo(text.upper() if loud else text)


@app.command("count")
def count(
    path: Annotated[Path, typer.Argument(help="A text file.")],
    limit: Annotated[int, typer.Option("--limit", min=1, help="Stop after this many lines.")] = 10,
) -> None:
    """Count the lines of a [italic]file[/italic], up to a limit."""
    with path.open(encoding="utf-8") as handle:
        total = sum(1 for _, _ in zip(range(limit), handle, strict=False))
    typer.echo(str(total))


if __name__ == "__main__":
    app()
