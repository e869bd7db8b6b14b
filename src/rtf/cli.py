"""The command line: parse options, build collaborators, call one function, map errors.

Kept thin and cheap to import: the core, rich and questionary load inside the commands.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from rtf._version import __version__

app = typer.Typer(
    name="rtf",
    help="Runtime Testing Factory: test a pipeline's scripts on your machine before you deploy it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class _State:
    debug = False


class OutputFormat(str, Enum):
    table = "table"
    json = "json"


@contextmanager
def boundary() -> Iterator[None]:
    """The one error boundary: expected errors, Ctrl-C and bugs become one line and an exit code."""
    from rtf.errors import ExitCode, RtfError

    try:
        yield
    except typer.Exit:
        raise
    except RtfError as exc:
        if _State.debug:
            import traceback

            traceback.print_exc()
        _say_error(str(exc), exc.hint)
        raise typer.Exit(int(exc.exit_code)) from None
    except KeyboardInterrupt:
        sys.stderr.write("rtf: cancelled\n")
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    except Exception as exc:  # a bug: one line, the traceback behind --debug
        if _State.debug:
            import traceback

            traceback.print_exc()
        _say_error(
            f"internal error: {type(exc).__name__}: {exc}", "rerun with --debug for the traceback"
        )
        raise typer.Exit(int(ExitCode.INTERNAL)) from None


def _say_error(message: str, hint: str | None) -> None:
    line = f"rtf: error: {message}"
    if hint:
        line += f" (hint: {hint})"
    sys.stderr.write(line.replace("\n", " ") + "\n")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rtf {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", "-V", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    _State.debug = debug


SourceRoots = Annotated[
    list[Path] | None,
    typer.Option(
        "--source-root", metavar="DIR", help="A folder to search for scripts (repeatable)."
    ),
]


@app.command("list-scripts")
def list_scripts(
    dag: Annotated[
        Path | None, typer.Argument(metavar="DAG", help="The DAG file (YAML or JSON).")
    ] = None,
    config: Annotated[
        Path | None, typer.Argument(metavar="CONFIG", help="The pipeline config JSON.")
    ] = None,
    spec: Annotated[
        Path | None,
        typer.Option("--spec", metavar="FILE", help="Take DAG and CONFIG from this spec file."),
    ] = None,
    source_root: SourceRoots = None,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", help="table or json.")
    ] = OutputFormat.table,
) -> None:
    """Show which DAG nodes have scripts, which are skipped and why, and what each script needs."""
    with boundary():
        from rtf.commands_discover import list_scripts_command

        list_scripts_command(dag, config, spec=spec, source_roots=source_root or [], fmt=fmt.value)


@app.command("inspect")
def inspect(
    script: Annotated[Path, typer.Argument(help="The script file to read.")],
    fmt: Annotated[
        OutputFormat, typer.Option("--format", help="table or json.")
    ] = OutputFormat.table,
) -> None:
    """Show what one script reads: inputs, outputs, env vars, job args, entry mode."""
    with boundary():
        from rtf.commands_discover import inspect_command

        inspect_command(script, fmt=fmt.value)


@app.command("schema")
def schema() -> None:
    """Print the JSON Schema of the spec file."""
    with boundary():
        import json

        from rtf.spec import spec_json_schema

        sys.stdout.write(json.dumps(spec_json_schema(), indent=2) + "\n")


@app.command("run")
def run(
    spec: Annotated[
        Path, typer.Option("--spec", metavar="FILE", help="The spec file to run.")
    ] = Path("rtf-spec.yaml"),
    only: Annotated[
        list[str] | None,
        typer.Option("--only", metavar="STEP", help="Run only this step (repeatable)."),
    ] = None,
    from_step: Annotated[
        str | None,
        typer.Option(
            "--from", metavar="STEP", help="Run this step and everything downstream of it."
        ),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs", "-j", min=1, metavar="N", help="Steps run at once (default: CPU count)."
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            min=0,
            metavar="SECONDS",
            help="Seconds per step, for steps without their own.",
        ),
    ] = None,
    fail_fast: Annotated[
        bool, typer.Option("--fail-fast", help="Stop at the first failure.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan; run nothing.")] = False,
    json_out: Annotated[
        Path | None,
        typer.Option("--json", metavar="FILE", help="Also write the run report (JSON) here."),
    ] = None,
    junit_xml: Annotated[
        Path | None,
        typer.Option("--junit-xml", metavar="FILE", help="Also write a JUnit XML report here."),
    ] = None,
) -> None:
    """Run a saved spec: each script in its own process, in DAG order, with real data flowing."""
    with boundary():
        from rtf.commands_run import run_command
        from rtf.render import make_console

        code = run_command(
            spec,
            only=only or [],
            from_step=from_step,
            jobs=jobs,
            timeout=timeout,
            fail_fast=fail_fast,
            dry_run=dry_run,
            json_out=json_out,
            junit_out=junit_xml,
            console=make_console(),
            err_console=make_console(stderr=True),
        )
    raise typer.Exit(code)


@app.command("wizard")
def wizard(
    dag: Annotated[Path, typer.Argument(metavar="DAG", help="The DAG file (YAML or JSON).")],
    config: Annotated[Path, typer.Argument(metavar="CONFIG", help="The pipeline config JSON.")],
    out: Annotated[
        Path, typer.Option("--out", metavar="FILE", help="Where to save the spec.")
    ] = Path("rtf-spec.yaml"),
    source_root: SourceRoots = None,
    data_root: Annotated[
        Path | None,
        typer.Option(
            "--data-root",
            metavar="DIR",
            help="Default folder of input data (default: test_data/ beside the config).",
        ),
    ] = None,
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            metavar="DIR",
            help="Where outputs and runs go (default: .rtf/ beside the spec).",
        ),
    ] = None,
    defaults: Annotated[
        bool, typer.Option("--defaults", "-y", help="Accept every prefilled value; ask nothing.")
    ] = False,
    answers: Annotated[
        Path | None,
        typer.Option(
            "--answers", metavar="FILE", help="Take answers from this YAML file; ask nothing."
        ),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue from the saved partial answers.")
    ] = False,
    run_now: Annotated[
        bool | None,
        typer.Option(
            "--run/--no-run", help="Run the spec when saved (default: ask; yes with --defaults)."
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing spec.")] = False,
) -> None:
    """Find the scripts, ask only what is left, save a replayable spec, and run it."""
    with boundary():
        from rtf.commands_wizard import wizard_command

        code = wizard_command(
            dag,
            config,
            out=out,
            source_roots=source_root or [],
            data_root=data_root,
            workspace=workspace,
            defaults=defaults,
            answers=answers,
            resume=resume,
            run_now=run_now,
            force=force,
        )
    raise typer.Exit(code)


def run_cli(args: list[str]) -> int:
    """Run the app on ``args`` and return the exit code instead of exiting."""
    try:
        app(args=args, prog_name="rtf")
    except SystemExit as exc:
        code = exc.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code
        sys.stderr.write(f"{code}\n")
        return 1
    return 0
