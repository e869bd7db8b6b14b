"""The body of ``rtf wizard``: choose how to ask, run the wizard, then (maybe) run the spec."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from rtf.errors import ExitCode, NeedsTerminalError

if TYPE_CHECKING:
    from rich.console import Console

    from rtf.prompts import Prompter
    from rtf.wizard import FactoryMaker


def needs_terminal_error() -> NeedsTerminalError:
    return NeedsTerminalError(
        "the wizard asks questions and needs a terminal, but stdin or stdout is not one",
        hint="pass --defaults or --answers FILE",
    )


def _is_tty(stream: TextIO | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


def choose_prompter(
    *,
    defaults: bool,
    answers: Path | None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> Prompter:
    """``--defaults`` or ``--answers``: ask nothing; otherwise ask in the terminal.

    Without a terminal to ask in (stdin, to read the answers; stdout, to show the questions)
    this raises :class:`NeedsTerminalError` (exit 4) before anything else happens.
    """
    from rtf.prompts import DefaultsPrompter, QuestionaryPrompter

    if defaults or answers is not None:
        return DefaultsPrompter()
    streams = (stdin or sys.stdin, stdout or sys.stdout)
    if not all(_is_tty(stream) for stream in streams):
        raise needs_terminal_error()
    return QuestionaryPrompter()


def wizard_command(
    dag: Path,
    config: Path,
    *,
    out: Path,
    source_roots: list[Path],
    data_root: Path | None,
    workspace: Path | None,
    defaults: bool,
    answers: Path | None,
    resume: bool,
    run_now: bool | None,
    force: bool,
    prompter: Prompter | None = None,
    console: Console | None = None,
    err_console: Console | None = None,
    factory_maker: FactoryMaker | None = None,
) -> int:
    """Run the wizard and, when asked to, the saved spec; return the exit code (SPEC 6).

    Ctrl-C at a prompt returns 130 with the answers so far kept for ``--resume``.
    """
    chosen = prompter or choose_prompter(defaults=defaults, answers=answers)
    from rtf.render import make_console
    from rtf.wizard import WizardRequest, make_factory, partial_path, run_wizard, show_path

    console = console or make_console()
    err_console = err_console or make_console(stderr=True)
    request = WizardRequest(
        dag=dag,
        config=config,
        out=out,
        source_roots=list(source_roots),
        data_root=data_root,
        workspace=workspace,
        answers=answers,
        resume=resume,
        run_now=run_now,
        force=force,
    )
    try:
        result = run_wizard(request, chosen, console, factory_maker=factory_maker or make_factory)
    except (KeyboardInterrupt, EOFError):
        partial = partial_path(out)
        message = "rtf: cancelled"
        if partial.exists():
            message += (
                f"; your answers so far are kept in {show_path(partial)}"
                " (rerun with --resume to continue)"
            )
        err_console.print(message, markup=False, highlight=False)
        return int(ExitCode.INTERRUPTED)
    if not result.run:
        console.print(
            f"Run it any time with: [info]rtf run --spec {show_path(result.spec_path)}[/info]"
        )
        return int(ExitCode.OK)
    from rtf.commands_run import run_command

    console.print()
    return run_command(
        result.spec_path,
        only=[],
        from_step=None,
        jobs=None,
        timeout=None,
        fail_fast=False,
        dry_run=False,
        json_out=None,
        junit_out=None,
        console=console,
        err_console=err_console,
    )
