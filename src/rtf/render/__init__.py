"""Everything rtf draws for people: one theme, one place. Imports rich; the core never does."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console
    from rich.theme import Theme

THEME_STYLES = {
    "success": "bold green",
    "error": "bold red",
    "warning": "yellow",
    "skipped": "dim",
    "running": "cyan",
    "waiting": "dim",
    "info": "cyan",
    "muted": "dim",
    "step": "bold",
    "path": "blue",
    "source": "magenta",
}


def theme() -> Theme:
    from rich.theme import Theme

    return Theme(THEME_STYLES)


def make_console(
    file: TextIO | None = None,
    *,
    stderr: bool = False,
    width: int | None = None,
    color: bool | None = None,
) -> Console:
    """A console with rtf's theme. ``color=False`` (or NO_COLOR) gives plain text for tests."""
    from rich.console import Console

    stream = file if file is not None else (sys.stderr if stderr else sys.stdout)
    if color is False:
        return Console(
            file=stream,
            theme=theme(),
            width=width,
            highlight=False,
            no_color=True,
            color_system=None,
        )
    return Console(file=stream, theme=theme(), width=width, highlight=False)
